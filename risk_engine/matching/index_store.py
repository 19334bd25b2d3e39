"""Saving and loading a built ``EntityIndex`` as a directory, so a server starts in seconds.

Layout of ``DIR`` (written to a temporary sibling and renamed into place, so a reader never sees
half of it):

    DIR/records.parquet     the prepared reference records, one column per ``PreparedRecords`` field
                            (dict fields such as ``identifiers`` as one column per key)
    DIR/vocab.parquet       the token vocabulary, in code order
    DIR/address_vocab.parquet  the address-token vocabulary, in code order (empty without addresses)
    DIR/exact.parquet       sorted-token keys shared by few entities, with their positions
    DIR/arrays.npz          the candidate index's numpy arrays and sparse matrices (uncompressed)
    DIR/manifest.json       written last: format version, row count, model checksum, code fingerprint,
                            package version, the records layout and the candidate index parameters

``load`` refuses a directory whose manifest does not match the running code (another format version,
normalisation/comparison code, model file or package version) with ``IndexArtifactError``; callers
rebuild then. Records are serialised generically over ``dataclasses.fields``, so a field added to
``PreparedRecords`` later is saved and loaded without changes here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from risk_engine.errors import ModelArtifactError
from risk_engine.matching.blocking import CandidateIndex, TfidfSpace, _Block
from risk_engine.matching.records import PreparedRecords

if TYPE_CHECKING:
    from risk_engine.matching.index import EntityIndex
    from risk_engine.matching.model import MatchModel

FORMAT = "risk_engine.entity_index"
FORMAT_VERSION = 3  # 2: blocks search distinct names (rows, member_ptr, members); 3: the address channel
MANIFEST = "manifest.json"
# The code whose output the saved index holds: any change to it makes a saved index stale.
FINGERPRINTED = ("normalise.py", "compare.py", "identifiers.py", "records.py", "blocking.py")
_SCALAR_PARAMS = (
    "n_grams",
    "k_grams",
    "n_tokens",
    "k_tokens",
    "max_token_df",
    "max_gram_df",
    "n_glued",
    "k_glued",
    "k_same",
    "n_addr",
    "k_addr",
    "max_addr_df",
)


class IndexArtifactError(ModelArtifactError):
    """A saved entity index that cannot be used (missing, corrupt, or built by other code/model)."""


def code_fingerprint() -> str:
    """sha256 over the matching code and data files a saved index depends on."""
    here = Path(__file__).resolve().parent
    files = [here / name for name in FINGERPRINTED]
    files += sorted(p for p in (here / "data").glob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def model_sha256(model: MatchModel) -> str:
    """sha256 of the model as its file stores it (canonical JSON of ``to_dict``)."""
    return hashlib.sha256(json.dumps(model.to_dict(), sort_keys=True).encode()).hexdigest()


def model_file_sha256() -> str | None:
    """sha256 of the default model file (``models/matcher-v1.json`` or ``$RISK_ENGINE_MATCHER_MODEL``)."""
    from risk_engine.matching.model import default_model_path

    path = default_model_path()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def expected_manifest(model: MatchModel) -> dict[str, Any]:
    """The manifest fields a saved index must carry to be loaded by this code with this model."""
    from risk_engine import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "model_sha256": model_sha256(model),
    }


# --- records ------------------------------------------------------------------------------------------


def _records_frame(rec: PreparedRecords) -> tuple[pl.DataFrame, dict[str, Any]]:
    columns: dict[str, pl.Series] = {}
    layout: dict[str, Any] = {}
    for f in dataclasses.fields(rec):
        value = getattr(rec, f.name)
        if isinstance(value, np.ndarray):
            columns[f.name] = pl.Series(f.name, value)
            layout[f.name] = {"kind": "array", "dtype": str(value.dtype)}
        elif isinstance(value, dict):
            keys = list(value)
            for k in keys:
                columns[f"{f.name}.{k}"] = pl.Series(f"{f.name}.{k}", list(value[k]), dtype=pl.String)
            layout[f.name] = {"kind": "dict", "keys": keys}
        elif isinstance(value, list):
            columns[f.name] = pl.Series(f.name, value, dtype=pl.String)
            layout[f.name] = {"kind": "list"}
        else:
            msg = f"PreparedRecords.{f.name}: cannot save a {type(value).__name__}"
            raise IndexArtifactError(msg)
    return pl.DataFrame(columns), layout


def _records_from(table: pa.Table, layout: Mapping[str, Any]) -> PreparedRecords:
    names = [f.name for f in dataclasses.fields(PreparedRecords)]
    if sorted(names) != sorted(layout):
        msg = f"saved records have fields {sorted(layout)}, the code expects {sorted(names)}"
        raise IndexArtifactError(msg)
    kwargs: dict[str, Any] = {}
    for name in names:
        spec = layout[name]
        if spec["kind"] == "array":
            kwargs[name] = table.column(name).to_numpy(zero_copy_only=False).astype(spec["dtype"])
        elif spec["kind"] == "dict":
            kwargs[name] = {k: table.column(f"{name}.{k}").to_pylist() for k in spec["keys"]}
        else:
            kwargs[name] = table.column(name).to_pylist()
    return PreparedRecords(**kwargs)


# --- arrays -------------------------------------------------------------------------------------------


def _put_csr(arrays: dict[str, np.ndarray], name: str, m: sp.csr_matrix) -> None:
    arrays[f"{name}.data"] = m.data
    arrays[f"{name}.indices"] = m.indices
    arrays[f"{name}.indptr"] = m.indptr
    arrays[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _get_csr(arrays: Mapping[str, np.ndarray], name: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{name}.shape"])
    m = sp.csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape
    )
    m.has_sorted_indices = True
    return m


def _put_block(arrays: dict[str, np.ndarray], name: str, block: _Block) -> None:
    arrays[f"{name}.rows"] = block.rows
    _put_csr(arrays, f"{name}.grams_t", block.grams_t)
    _put_csr(arrays, f"{name}.tokens_t", block.tokens_t)
    if block.member_ptr is not None and block.members is not None:
        arrays[f"{name}.member_ptr"] = block.member_ptr
        arrays[f"{name}.members"] = block.members
    if block.addr_rows is not None and block.addr_t is not None:
        arrays[f"{name}.addr_rows"] = block.addr_rows
        _put_csr(arrays, f"{name}.addr_t", block.addr_t)


def _get_block(arrays: Mapping[str, np.ndarray], name: str) -> _Block:
    return _Block(
        arrays[f"{name}.rows"],
        _get_csr(arrays, f"{name}.grams_t"),
        _get_csr(arrays, f"{name}.tokens_t"),
        arrays.get(f"{name}.member_ptr"),
        arrays.get(f"{name}.members"),
        arrays.get(f"{name}.addr_rows"),
        _get_csr(arrays, f"{name}.addr_t") if f"{name}.addr_rows" in arrays else None,
    )


def _put_space(arrays: dict[str, np.ndarray], name: str, space: TfidfSpace) -> None:
    arrays[f"{name}.vocab"] = space.vocab
    arrays[f"{name}.df"] = space.df
    arrays[f"{name}.idf"] = space.idf


def _get_space(arrays: Mapping[str, np.ndarray], name: str, n_docs: int) -> TfidfSpace:
    return TfidfSpace(arrays[f"{name}.vocab"], arrays[f"{name}.df"], arrays[f"{name}.idf"], n_docs)


# --- save / load --------------------------------------------------------------------------------------


def save_index(index: EntityIndex, path: Path, *, source: Mapping[str, Any] | None = None) -> Path:
    """Write ``index`` to the directory ``path`` (replaced atomically); ``source`` goes into the manifest."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        frame, layout = _records_frame(index.ref)
        frame.write_parquet(tmp / "records.parquet", compression="lz4", statistics=False)
        cand = index.candidates
        vocab = sorted(cand.token_vocab.items(), key=lambda kv: kv[1])
        if [c for _, c in vocab] != list(range(len(vocab))):
            msg = "token vocabulary codes are not 0..V-1"
            raise IndexArtifactError(msg)
        pl.DataFrame({"token": [t for t, _ in vocab]}, schema={"token": pl.String}).write_parquet(
            tmp / "vocab.parquet", compression="lz4", statistics=False
        )
        address_vocab = sorted((cand.address_vocab or {}).items(), key=lambda kv: kv[1])
        if [c for _, c in address_vocab] != list(range(len(address_vocab))):
            msg = "address vocabulary codes are not 0..V-1"
            raise IndexArtifactError(msg)
        pl.DataFrame({"token": [t for t, _ in address_vocab]}, schema={"token": pl.String}).write_parquet(
            tmp / "address_vocab.parquet", compression="lz4", statistics=False
        )
        exact = cand.exact or {}
        pl.DataFrame(
            {"key": list(exact), "positions": [list(p) for p in exact.values()]},
            schema={"key": pl.String, "positions": pl.List(pl.Int64)},
        ).write_parquet(tmp / "exact.parquet", compression="lz4", statistics=False)
        arrays: dict[str, np.ndarray] = {}
        _put_space(arrays, "grams", cand.grams)
        _put_space(arrays, "tokens", cand.tokens)
        if cand.addresses is not None:
            _put_space(arrays, "addresses", cand.addresses)
        _put_csr(arrays, "gram_matrix", cand.gram_matrix)
        _put_csr(arrays, "token_matrix", cand.token_matrix)
        blocks = sorted(cand.blocks)
        for i, c in enumerate(blocks):
            block = cand.blocks[c]
            _put_block(arrays, f"block{i}", block)
        _put_block(arrays, "everything", cand.everything)
        with open(tmp / "arrays.npz", "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        manifest = {
            **expected_manifest(index.model),
            "model_file_sha256": model_file_sha256(),
            "rows": len(index.ref),
            "records_layout": layout,
            "blocks": blocks,
            "n_docs": {
                "grams": cand.grams.n_docs,
                "tokens": cand.tokens.n_docs,
                **({"addresses": cand.addresses.n_docs} if cand.addresses is not None else {}),
            },
            "params": {p: getattr(cand, p) for p in _SCALAR_PARAMS},
            "exact": cand.exact is not None,
            "extra_columns": sorted(index.extra_columns),
            "source": dict(source or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_index_manifest(path: Path) -> dict[str, Any]:
    """The saved index's manifest, or IndexArtifactError when there is none or it is unreadable."""
    file = Path(path) / MANIFEST
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{path}: no saved entity index (missing {MANIFEST})"
        raise IndexArtifactError(msg) from exc
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"{file}: unreadable index manifest ({exc})"
        raise IndexArtifactError(msg) from exc
    if not isinstance(loaded, dict):
        msg = f"{file}: the index manifest is not a JSON object"
        raise IndexArtifactError(msg)
    return loaded


def check_manifest(manifest: Mapping[str, Any], model: MatchModel, *, path: Path) -> None:
    """IndexArtifactError naming the first field where a saved index differs from the running code."""
    expected = expected_manifest(model)
    reasons = {
        "format": "not an entity index",
        "format_version": "saved by another version of the index format",
        "package_version": "saved by another version of risk_engine",
        "code_fingerprint": "the normalisation/comparison code changed since it was saved",
        "model_sha256": "the match model changed since it was saved",
    }
    for key, want in expected.items():
        have = manifest.get(key)
        if have != want:
            msg = f"{path}: saved entity index is stale: {reasons[key]} ({key} {have!r}, expected {want!r}); rebuild it"
            raise IndexArtifactError(msg)


def load_index(
    path: Path, *, model: MatchModel | None = None, source: Mapping[str, Any] | None = None
) -> EntityIndex:
    """Load a saved index; IndexArtifactError if it is missing, corrupt, stale or of another ``source``."""
    from risk_engine.matching.index import EntityIndex, _identifier_table
    from risk_engine.matching.model import load_model

    path = Path(path)
    model = model or load_model()
    manifest = read_index_manifest(path)
    check_manifest(manifest, model, path=path)
    if source is not None:
        saved = manifest.get("source") or {}
        for key, want in source.items():
            if saved.get(key) != want:
                msg = f"{path}: saved entity index was built from another source ({key} {saved.get(key)!r}, expected {want!r})"
                raise IndexArtifactError(msg)
    try:
        # pyarrow, not polars: a server loads the index before forking its workers, and polars'
        # thread pool does not survive a fork (pyarrow's does).
        records = _records_from(pq.read_table(path / "records.parquet"), manifest["records_layout"])
        tokens = pq.read_table(path / "vocab.parquet").column("token").to_pylist()
        address_tokens = pq.read_table(path / "address_vocab.parquet").column("token").to_pylist()
        exact_table = pq.read_table(path / "exact.parquet")
        with np.load(path / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        n_docs = manifest["n_docs"]
        blocks = {c: _get_block(arrays, f"block{i}") for i, c in enumerate(manifest["blocks"])}
        n = int(manifest["rows"])
        exact = (
            dict(
                zip(
                    exact_table.column("key").to_pylist(),
                    map(tuple, exact_table.column("positions").to_pylist()),
                    strict=True,
                )
            )
            if manifest.get("exact")
            else None
        )
        cand = CandidateIndex(
            grams=_get_space(arrays, "grams", int(n_docs["grams"])),
            tokens=_get_space(arrays, "tokens", int(n_docs["tokens"])),
            token_vocab=dict(zip(tokens, range(len(tokens)), strict=True)),
            gram_matrix=_get_csr(arrays, "gram_matrix"),
            token_matrix=_get_csr(arrays, "token_matrix"),
            blocks=blocks,
            everything=_get_block(arrays, "everything"),
            exact=exact,
            addresses=(
                _get_space(arrays, "addresses", int(n_docs["addresses"])) if "addresses" in n_docs else None
            ),
            address_vocab=(
                dict(zip(address_tokens, range(len(address_tokens)), strict=True))
                if "addresses" in n_docs
                else None
            ),
            **manifest["params"],
        )
    except IndexArtifactError:
        raise
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException) as exc:
        msg = f"{path}: saved entity index is unreadable ({type(exc).__name__}: {exc}); rebuild it"
        raise IndexArtifactError(msg) from exc
    if len(records) != n or cand.gram_matrix.shape[0] != n:
        msg = f"{path}: saved entity index is inconsistent ({len(records)} records, manifest says {n})"
        raise IndexArtifactError(msg)
    return EntityIndex(
        ref=records,
        candidates=cand,
        by_identifier=_identifier_table(records),
        position={i: k for k, i in enumerate(records.ids)},
        model=model,
    )
