"""Records prepared for matching: the input table checked and normalised once, held column-wise."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from risk_engine.errors import InputSchemaError
from risk_engine.matching.identifiers import SCHEMES, valid_identifier
from risk_engine.matching.normalise import address_key, native_key, normalise_address, normalise_name, preload

OPTIONAL_COLUMNS = ("country", "address", "native_name", *SCHEMES)


@dataclass(frozen=True)
class PreparedRecords:
    """Normalised columns of one side of a match, aligned by position."""

    ids: list[str]
    names: list[str]  # original names (for output)
    core: list[str]  # normalised name without legal form
    key: list[str]  # sorted tokens
    phonetic: list[str]
    legal_form: list[str | None]
    legal_generic: list[str | None]
    numbers: list[str]  # digit tokens of the name and branch, sorted, space-joined ("" when none)
    branch: list[str]  # trailing branch/plant marker ("dongguan branch", "plant 2"), "" when none
    country: list[str | None]
    address: list[str]  # normalised, generic words left out (``address_key``); "" when missing
    address_numbers: list[str]  # distinct digit tokens of ``address``, sorted, space-joined ("" when none)
    native: list[str]  # native-script name key in its own script (``native_key``), "" when missing
    identifiers: dict[str, list[str | None]]
    truncated: np.ndarray  # bool per row: the name was cut to MAX_NAME_CHARS
    written: list[str]  # core as written without spaces when contractions were written out, else ""

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def empty_name(self) -> np.ndarray:
        """Rows whose name normalises to nothing (matched by identifier only)."""
        return np.fromiter((not c for c in self.core), dtype=bool, count=len(self.core))


def _country(values: pl.Series) -> list[str | None]:
    """ISO alpha-2 via the reference package when present; unknown spellings kept upper-cased."""
    if len(values) <= 64:  # single lookups: a dataframe round trip costs more than the work
        return [_country_one(v) for v in values.cast(pl.String).to_list()]
    s = values.cast(pl.String)
    raw = s.str.strip_chars().str.to_uppercase()
    try:
        from risk_engine.reference.countries import series_to_iso2

        mapped = series_to_iso2(s)
        # Two records with the same unknown spelling still agree on it.
        s = pl.select(pl.coalesce(mapped, raw)).to_series()
    except Exception:  # a reference-data problem must not stop matching; fall back to raw values
        s = raw
    return [v or None for v in s.to_list()]


def _country_one(value: str | None) -> str | None:
    raw = (value or "").strip().upper() or None
    try:
        from risk_engine.reference.countries import to_iso2

        return to_iso2(value) or raw
    except Exception:  # a reference-data problem must not stop matching; fall back to the raw value
        return raw


def check_frame(frame: pl.DataFrame, *, side: str) -> None:
    """Raise InputSchemaError for a frame that cannot be matched (missing columns, duplicate ids)."""
    for col in ("id", "name"):
        if col not in frame.columns:
            msg = f"{side}: required column {col!r} is missing (columns: {', '.join(frame.columns)})"
            raise InputSchemaError(msg, column=col)
    ids = frame["id"].cast(pl.String)
    if ids.null_count():
        row = int(ids.is_null().arg_true()[0])
        msg = f"{side}: empty id (every record needs an id)"
        raise InputSchemaError(msg, row=_row_number(frame, row), column="id")
    if ids.n_unique() != len(ids):
        dup, n = Counter(ids.to_list()).most_common(1)[0]
        rows = [_row_number(frame, int(i)) for i in (ids == dup).arg_true()[:5]]
        msg = f"{side}: duplicate id {dup!r} ({n} rows, e.g. rows {rows}); ids must be unique"
        raise InputSchemaError(msg, row=rows[0], column="id", value=dup)


def _row_number(frame: pl.DataFrame, index: int) -> int:
    if "row" in frame.columns:
        value = frame["row"][index]
        if value is not None:
            return int(value)
    return index + 2  # spreadsheet convention: header is row 1


_Normalised = tuple[
    list[str],
    list[str],
    list[str],
    list[str | None],
    list[str | None],
    list[str],
    list[bool],
    list[str],
    list[str],
    list[str],
    list[str],
]
PARALLEL_MIN_ROWS = 50_000


def _normalise_chunk(args: tuple[list[str], list[str | None]]) -> _Normalised:
    names, addresses = args
    core: list[str] = []
    key: list[str] = []
    phon: list[str] = []
    lform: list[str | None] = []
    lgen: list[str | None] = []
    numbers: list[str] = []
    trunc: list[bool] = []
    branch: list[str] = []
    written: list[str] = []
    tails: list[str] = []
    for name in names:
        nn = normalise_name(name)
        tails.append(nn.address_tail)
        core.append(nn.core)
        key.append(nn.key)
        phon.append(nn.phonetic)
        lform.append(nn.legal_form)
        lgen.append(nn.legal_generic)
        # Plant and branch numbers count too: "branch 1" and "branch 2" are different sites.
        digits = [t for t in (*nn.tokens, *nn.branch.split()) if t.isdigit()]
        numbers.append(" ".join(sorted(digits)))
        trunc.append(nn.truncated)
        branch.append(nn.branch)
        written.append(nn.written)
    # A record without an address takes the street address its name ran on into, if any ("Huali
    # Garments Co., Ltd. No. 5 Xinhe Road, Dongguan"): a shipper field that holds both.
    address = [
        address_key(normalise_address(a if a and a.strip() else tail))
        for a, tail in zip(addresses, tails, strict=True)
    ]
    # Numbers without leading zeros ("07" is house 7).
    address_numbers = [
        " ".join(sorted({t.lstrip("0") or "0" for t in a.split(" ") if t.isdigit()})) for a in address
    ]
    return core, key, phon, lform, lgen, numbers, trunc, address, branch, written, address_numbers


def _normalise_all(names: list[str], addresses: list[str | None], workers: int) -> _Normalised:
    """Normalise names and addresses, in ``workers`` forked processes for large tables."""
    if workers <= 1 or len(names) < PARALLEL_MIN_ROWS:
        return _normalise_chunk((names, addresses))
    import multiprocessing as mp

    step = -(-len(names) // workers)
    chunks = [(names[i : i + step], addresses[i : i + step]) for i in range(0, len(names), step)]
    # fork: the children inherit the loaded legal-form vocabulary and country index and touch no polars
    # state (loading the country index with polars in a child hung: ``normalise.preload``).
    preload()
    with mp.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_normalise_chunk, chunks)
    merged: list[list[Any]] = [[] for _ in range(11)]
    for part in parts:
        for k in range(11):
            merged[k].extend(part[k])
    return tuple(merged)  # type: ignore[return-value]


def prepare_records(
    frame: pl.DataFrame, *, side: str = "records", workers: int | None = None
) -> PreparedRecords:
    """Check and normalise a frame with ``id``, ``name`` and optional country/address/identifiers."""
    check_frame(frame, side=side)
    n = frame.height
    names = [v if isinstance(v, str) else ("" if v is None else str(v)) for v in frame["name"].to_list()]
    raw_addr: list[str | None] = (
        frame["address"].cast(pl.String).to_list() if "address" in frame.columns else [None] * n
    )
    nproc = workers if workers is not None else min(2, os.cpu_count() or 1)
    core, key, phon, lform, lgen, numbers, trunc_list, address, branch, written, address_numbers = (
        _normalise_all(names, raw_addr, nproc)
    )
    trunc = np.asarray(trunc_list, dtype=bool)

    def col(name: str) -> pl.Series | None:
        return frame[name] if name in frame.columns else None

    c = col("country")
    country: list[str | None] = _country(c) if c is not None else [None] * n
    nat = col("native_name")
    native = [native_key(v) for v in nat.cast(pl.String).to_list()] if nat is not None else [""] * n
    identifiers: dict[str, list[str | None]] = {}
    for scheme in SCHEMES:
        s = col(scheme)
        identifiers[scheme] = (
            [valid_identifier(scheme, v) for v in s.cast(pl.String).to_list()]
            if s is not None
            else [None] * n
        )
    return PreparedRecords(
        ids=frame["id"].cast(pl.String).to_list(),
        names=names,
        core=core,
        key=key,
        phonetic=phon,
        legal_form=lform,
        legal_generic=lgen,
        numbers=numbers,
        branch=branch,
        country=country,
        address=address,
        address_numbers=address_numbers,
        native=native,
        identifiers=identifiers,
        truncated=trunc,
        written=written,
    )


def _as_text(value: Any) -> str | None:
    """A cell as a polars ``String`` column would hold it (``None`` stays ``None``)."""
    return None if value is None else str(value)


def prepare_rows(rows: Sequence[Mapping[str, Any]]) -> PreparedRecords:
    """``prepare_records`` for a few records given as dicts, without building a DataFrame.

    The API's path: the same normalisation and the same values as ``prepare_records`` on a frame with
    ``id``, ``name`` and every optional column as strings (ids are the positions when absent).
    """
    n = len(rows)
    names: list[str] = []
    for r in rows:
        v = _as_text(r.get("name"))
        names.append("" if v is None else v)
    raw_addr = [_as_text(r.get("address")) for r in rows]
    core, key, phon, lform, lgen, numbers, trunc_list, address, branch, written, address_numbers = (
        _normalise_all(names, raw_addr, 1)
    )
    country = _country(pl.Series("country", [_as_text(r.get("country")) for r in rows], dtype=pl.String))
    native = [native_key(_as_text(r.get("native_name"))) for r in rows]
    identifiers: dict[str, list[str | None]] = {
        scheme: [valid_identifier(scheme, _as_text(r.get(scheme))) for r in rows] for scheme in SCHEMES
    }
    ids = [str(r["id"]) if r.get("id") is not None else str(i) for i, r in enumerate(rows)]
    if len(set(ids)) != n:
        dup, count = Counter(ids).most_common(1)[0]
        at = [i for i, v in enumerate(ids) if v == dup][:5]
        msg = f"records: duplicate id {dup!r} ({count} records, e.g. positions {at}); ids must be unique"
        raise InputSchemaError(msg, row=at[0], column="id", value=dup)
    return PreparedRecords(
        ids=ids,
        names=names,
        core=core,
        key=key,
        phonetic=phon,
        legal_form=lform,
        legal_generic=lgen,
        numbers=numbers,
        branch=branch,
        country=country,
        address=address,
        address_numbers=address_numbers,
        native=native,
        identifiers=identifiers,
        truncated=np.asarray(trunc_list, dtype=bool),
        written=written,
    )
