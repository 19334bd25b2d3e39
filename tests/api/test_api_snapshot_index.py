"""The snapshot's saved entity index: built and saved once, loaded afterwards, rebuilt when stale."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from api_testkit import write_snapshot

from risk_engine.api.snapshot import (
    INDEX_DIR,
    load_saved_index,
    load_snapshot,
    prepare_snapshot_index,
)

RECORDS = [
    {"name": "DHAKA GARMENTS LIMITED", "country": "BD"},
    {"name": "Berlin Buttons GmbH", "country": "DE"},
]


def _ids(snapshot_path: Path) -> list[list[str]]:
    snapshot = load_snapshot(snapshot_path)
    return [[c.entity_id for c in found] for found in snapshot.lookup_many(RECORDS)]


@pytest.mark.slow
def test_missing_index_is_built_saved_and_then_loaded(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "snap")
    assert not (path / INDEX_DIR).exists()
    first = _ids(path)
    manifest = json.loads((path / INDEX_DIR / "manifest.json").read_text())
    assert manifest["rows"] == 5 and manifest["source"]["file"] == "entities.parquet"
    mtime = (path / INDEX_DIR / "manifest.json").stat().st_mtime_ns
    assert load_saved_index(path) is not None
    assert _ids(path) == first  # loaded, not rebuilt
    assert (path / INDEX_DIR / "manifest.json").stat().st_mtime_ns == mtime
    assert first[0][0] == "ent:BD:0001" and first[1][0] == "ent:DE:0001"


@pytest.mark.slow
def test_stale_or_foreign_index_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "snap")
    prepare_snapshot_index(path)
    manifest_file = path / INDEX_DIR / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["code_fingerprint"] = "outdated"
    manifest_file.write_text(json.dumps(manifest))
    assert load_saved_index(path) is None
    assert _ids(path)[1][0] == "ent:DE:0001"
    assert json.loads(manifest_file.read_text())["code_fingerprint"] != "outdated"  # re-saved
    # The entities changed under a saved index (another screen into the same directory): rebuilt.
    entities = pl.read_parquet(path / "entities.parquet")
    entities.with_columns(pl.col("name").str.to_uppercase()).write_parquet(path / "entities.parquet")
    assert load_saved_index(path) is None
    assert _ids(path)[1][0] == "ent:DE:0001"
    assert load_saved_index(path) is not None


@pytest.mark.slow
def test_read_only_snapshot_saves_the_index_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from risk_engine.matching.index import EntityIndex

    path = write_snapshot(tmp_path / "snap")
    save = EntityIndex.save

    def read_only(self: EntityIndex, target: Path, **kwargs: object) -> None:
        if Path(target).parent == path:
            raise PermissionError(13, "Permission denied", str(target))
        save(self, target, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(EntityIndex, "save", read_only)
    prepare_snapshot_index(path, data_dir=tmp_path / "data")
    assert not (path / INDEX_DIR).exists()
    assert (tmp_path / "data" / "indexes" / "snap" / "manifest.json").exists()
    assert load_saved_index(path, data_dir=tmp_path / "data") is not None


@pytest.mark.slow
def test_screen_with_api_index_writes_a_loadable_index(tmp_path: Path) -> None:
    from risk_engine.cli import main
    from risk_engine.io.run import demo_fixtures_dir

    fixtures = demo_fixtures_dir()
    out = tmp_path / "snap"
    code = main(["screen", "--suppliers", str(fixtures / "suppliers.csv"), "--out", str(out), "--api-index"])
    assert code == 0 and (out / "_SUCCESS").exists()
    index = load_saved_index(out)
    assert index is not None and len(index) == pl.read_parquet(out / "entities.parquet").height
