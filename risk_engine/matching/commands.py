"""CLI shells of ``risk-engine match`` and ``risk-engine dedupe``: read, call the matcher, write.

Inputs are read with the project's reader as supplier-like tables (``id``, ``name``, ``country``,
optional ``address``, ``native_name`` and identifiers). Rows the reader rejects are never dropped
silently: they are counted on stderr and written next to the output as ``<out>.rejects.csv``.
The output format follows the extension (``.csv`` or ``.parquet``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from risk_engine.errors import InputError, InputSchemaError
from risk_engine.matching.cluster import dedupe_with_pairs, mark_same_cluster
from risk_engine.matching.decisions import normalise_decisions
from risk_engine.matching.index import EntityIndex

_FORMATS = (".csv", ".parquet")


def _check_out(out: Path) -> None:
    if out.suffix.lower() not in _FORMATS:
        msg = f"{out}: output format must be .csv or .parquet (got {out.suffix or 'no extension'!r})"
        raise InputError(msg)


def _read_records(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, rejects) of one input file."""
    from risk_engine.io.readers import read_table

    result = read_table(path, "suppliers")
    if result.rejected_rows:
        print(
            f"warning: {path}: {result.rejected_rows} of {result.rows_read} rows were rejected "
            f"(details in the .rejects.csv next to the output)",
            file=sys.stderr,
        )
    return result.frame, result.rejects


def read_decisions(path: Path | None) -> pl.DataFrame | None:
    """Read a decisions table (CSV or Parquet) and check it."""
    if path is None:
        return None
    if not path.exists():
        msg = f"{path}: decisions file not found"
        raise InputError(msg)
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema_length=0)
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"{path}: cannot read decisions ({exc})"
        raise InputSchemaError(msg, path=str(path)) from exc
    normalise_decisions(frame, file=str(path))  # fail early with the row and column of a bad cell
    return frame


def _write(frame: pl.DataFrame, out: Path) -> None:
    from risk_engine.io.writers import write_csv, write_parquet

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        write_parquet(frame, out)
    else:
        write_csv(frame, out)


def _write_rejects(out: Path, *rejects: pl.DataFrame) -> None:
    parts = [r for r in rejects if r.height]
    if parts:
        from risk_engine.io.writers import write_csv

        write_csv(pl.concat(parts, how="diagonal_relaxed"), out.with_name(out.name + ".rejects.csv"))


def _summary(pairs: pl.DataFrame) -> str:
    counts = dict(pairs.group_by("decision").len().iter_rows()) if pairs.height else {}
    return f"{counts.get('match', 0)} match, {counts.get('review', 0)} review"


def run_match(left: Path, right: Path, *, out: Path, decisions: Path | None) -> int:
    """``risk-engine match LEFT RIGHT --out F``: link LEFT records against the RIGHT reference."""
    _check_out(out)
    dec = read_decisions(decisions)
    query, rej_left = _read_records(left)
    ref, rej_right = _read_records(right)
    if ref.height == 0:
        msg = f"{right}: no usable records to match against"
        raise InputError(msg)
    index = EntityIndex.build(ref)
    pairs = index.link(query, decisions=dec, progress=sys.stderr.isatty() or query.height > 20_000)
    _write(pairs, out)
    _write_rejects(out, rej_left, rej_right)
    matched = pairs.filter(pl.col("decision") == "match")["left_id"].n_unique()
    print(
        f"{query.height} records linked against {ref.height}: {_summary(pairs)} pairs; "
        f"{matched} records with a match; wrote {out}",
        file=sys.stderr,
    )
    return 0


def run_dedupe(path: Path, *, out: Path, decisions: Path | None) -> int:
    """``risk-engine dedupe F --out F``: cluster one file; pairs go to ``<out stem>.pairs<ext>``."""
    _check_out(out)
    dec = read_decisions(decisions)
    frame, rejects = _read_records(path)
    clusters, pairs = dedupe_with_pairs(frame, decisions=dec, progress=frame.height > 20_000)
    pairs = mark_same_cluster(pairs, clusters)
    _write(clusters, out)
    pairs_out = out.with_name(out.stem + ".pairs" + out.suffix)
    _write(pairs, pairs_out)
    _write_rejects(out, rejects)
    n_clusters = clusters["cluster_id"].n_unique()
    across = pairs.filter((pl.col("decision") == "review") & ~pl.col("same_cluster")).height
    print(
        f"{frame.height} records in {n_clusters} clusters ({_summary(pairs)} pairs, {across} review pairs "
        f"across clusters); wrote {out} and {pairs_out}",
        file=sys.stderr,
    )
    return 0
