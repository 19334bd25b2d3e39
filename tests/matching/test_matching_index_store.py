"""Saved entity indexes: round trip, stale or damaged directories refused."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from risk_engine.matching import index_store
from risk_engine.matching.index import EntityIndex
from risk_engine.matching.index_store import IndexArtifactError
from risk_engine.matching.synth import generate_entities, perturb


@pytest.fixture(scope="module")
def ref() -> pl.DataFrame:
    frame = generate_entities(1500, seed=5)
    # Identifiers and a native name on a few rows, so every kind of field is saved.
    lei: list[str | None] = [None] * frame.height
    lei[3] = "HWUPKR0MPOU8FGXBT394"
    native: list[str | None] = [None] * frame.height
    native[7] = "广州华美服装有限公司"
    frame = frame.with_columns(pl.Series("lei", lei, pl.String), pl.Series("native_name", native, pl.String))
    # One name filed several times (at other addresses), so the blocks' same-name groups are saved too.
    copies = frame.slice(9, 1).select(pl.exclude("id", "address"))
    repeated = pl.concat([copies] * 4).with_columns(
        pl.Series("id", [f"copy{i}" for i in range(4)]),
        pl.Series("address", [f"{i} Copy Road" for i in range(4)]),
    )
    return pl.concat([frame, repeated.select(frame.columns)])


@pytest.fixture(scope="module")
def built(ref: pl.DataFrame) -> EntityIndex:
    return EntityIndex.build(ref)


@pytest.fixture(scope="module")
def saved(built: EntityIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idx") / "entity_index"
    built.save(path, source={"entities_sha256": "abc"})
    return path


def _queries(ref: pl.DataFrame, n: int) -> pl.DataFrame:
    rng = random.Random(11)
    rows = ref.sample(n, seed=3).to_dicts()
    return pl.DataFrame(
        {
            "id": [f"q{i}" for i in range(n)],
            "name": [perturb(r["name"], rng) for r in rows],
            "country": [r["country"] for r in rows],
            "address": [r["address"] for r in rows],
        }
    )


def test_round_trip_gives_identical_results(built: EntityIndex, saved: Path, ref: pl.DataFrame) -> None:
    loaded = EntityIndex.load(saved, source={"entities_sha256": "abc"})
    assert len(loaded) == len(built)
    assert loaded.ref.ids == built.ref.ids and loaded.ref.core == built.ref.core
    assert loaded.ref.identifiers == built.ref.identifiers and loaded.ref.native == built.ref.native
    assert np.array_equal(loaded.ref.truncated, built.ref.truncated)
    assert loaded.by_identifier == built.by_identifier
    assert loaded.candidates.token_vocab == built.candidates.token_vocab
    assert loaded.candidates.exact == built.candidates.exact
    assert (loaded.candidates.gram_matrix != built.candidates.gram_matrix).nnz == 0
    for a, b in [(loaded.candidates.everything, built.candidates.everything)] + [
        (loaded.candidates.blocks[c], built.candidates.blocks[c]) for c in built.candidates.blocks
    ]:
        assert np.array_equal(a.rows, b.rows)
        assert (a.members is None) == (b.members is None)
        if b.members is not None:
            assert np.array_equal(a.members, b.members) and np.array_equal(a.member_ptr, b.member_ptr)  # type: ignore[arg-type]
        assert np.array_equal(a.addr_rows, b.addr_rows)  # type: ignore[arg-type]
        assert a.addr_t is not None and b.addr_t is not None and (a.addr_t != b.addr_t).nnz == 0
    assert built.candidates.everything.members is not None
    assert loaded.candidates.address_vocab == built.candidates.address_vocab
    assert built.candidates.addresses is not None and loaded.candidates.addresses is not None
    assert np.array_equal(loaded.candidates.addresses.df, built.candidates.addresses.df)
    q = _queries(ref, 150)
    a, b = built.link(q, workers=1), loaded.link(q, workers=1)
    assert a.height > 100
    assert a.equals(b)
    for row in q.head(30).to_dicts():
        assert built.lookup(row) == loaded.lookup(row)
    ident = {"name": "Something Else Entirely", "country": "US", "lei": "HWUPKR0MPOU8FGXBT394"}
    assert loaded.lookup(ident)[0]["id"] == built.ref.ids[3]


def test_manifest_names_what_it_was_built_with(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format_version"] == index_store.FORMAT_VERSION
    assert manifest["rows"] == 1504
    assert manifest["code_fingerprint"] == index_store.code_fingerprint()
    assert len(manifest["model_sha256"]) == 64 and manifest["package_version"]
    assert manifest["records_layout"]["identifiers"]["kind"] == "dict"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("format_version", 0, "another version of the index format"),
        ("code_fingerprint", "0" * 64, "normalisation/comparison code changed"),
        ("model_sha256", "0" * 64, "match model changed"),
        ("package_version", "0.0.0", "another version of risk_engine"),
    ],
)
def test_stale_manifest_is_refused(saved: Path, tmp_path: Path, key: str, value: object, reason: str) -> None:
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(saved, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[key] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexArtifactError, match=reason):
        EntityIndex.load(copy)


def test_other_source_missing_and_damaged_directories_are_refused(saved: Path, tmp_path: Path) -> None:
    import shutil

    with pytest.raises(IndexArtifactError, match="another source"):
        EntityIndex.load(saved, source={"entities_sha256": "other"})
    with pytest.raises(IndexArtifactError, match="no saved entity index"):
        EntityIndex.load(tmp_path / "nothing-here")
    copy = tmp_path / "idx"
    shutil.copytree(saved, copy)
    (copy / "arrays.npz").write_bytes(b"not a zip")
    with pytest.raises(IndexArtifactError, match="unreadable"):
        EntityIndex.load(copy)
    (copy / "manifest.json").write_text("{")
    with pytest.raises(IndexArtifactError, match="unreadable index manifest"):
        EntityIndex.load(copy)


def test_save_replaces_an_existing_directory(built: EntityIndex, tmp_path: Path) -> None:
    path = tmp_path / "entity_index"
    built.save(path)
    (path / "stray").write_text("x")
    built.save(path)
    assert not (path / "stray").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entity_index"]
    assert len(EntityIndex.load(path)) == len(built)


def test_candidate_parameters_survive_the_round_trip(ref: pl.DataFrame, tmp_path: Path) -> None:
    import dataclasses

    index = EntityIndex.build(ref.head(300))
    index.candidates = dataclasses.replace(index.candidates, n_glued=3, k_glued=2, n_grams=12)
    path = tmp_path / "entity_index"
    index.save(path, source={"entities_sha256": "abc"})
    loaded = EntityIndex.load(path, source={"entities_sha256": "abc"})
    assert (loaded.candidates.n_glued, loaded.candidates.k_glued, loaded.candidates.n_grams) == (3, 2, 12)
