"""Snapshots on disk: loading with the real matcher, batched lookups, picking the latest one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from api_testkit import write_snapshot

from risk_engine.api.snapshot import find_latest_snapshot, load_snapshot, resolve_snapshot_dir
from risk_engine.config import Settings
from risk_engine.errors import RunError


@pytest.mark.slow
def test_load_snapshot_with_the_real_matcher(tmp_path: Path) -> None:
    snapshot = load_snapshot(write_snapshot(tmp_path / "snap"))
    assert snapshot.info.snapshot_id == "run-1" and snapshot.info.entities == 5
    records = [
        {"name": "DHAKA GARMENTS LIMITED", "country": "BD"},
        {"name": "Berlin Buttons GmbH", "country": "DE"},
        {"name": "Completely Different Name", "country": "US"},
    ]
    single = [snapshot.lookup(r) for r in records]
    batched = snapshot.lookup_many(records)
    assert [[c.entity_id for c in cs] for cs in single] == [[c.entity_id for c in cs] for cs in batched]
    assert single[0][0].entity_id == "ent:BD:0001"
    assert single[1][0].entity_id == "ent:DE:0001"
    assert single[2] == []
    view = snapshot.entity("ent:CN:0001")
    assert view is not None and view["band"] == "critical" and view["flags"][0]["type"] == "UFLPA_ENTITY"
    assert "parameters" in snapshot.methodology()


def test_incomplete_snapshot_is_refused(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "snap")
    (path / "_SUCCESS").unlink()
    with pytest.raises(RunError, match="_SUCCESS"):
        load_snapshot(path)


def test_latest_complete_snapshot_is_served(tmp_path: Path) -> None:
    root = tmp_path / "snapshots"
    old = write_snapshot(root / "a-old", run_id="old")
    new = write_snapshot(root / "b-new", run_id="new")
    past = time.time() - 3600
    os.utime(old / "_SUCCESS", (past, past))
    (root / "c-incomplete").mkdir()
    assert find_latest_snapshot(tmp_path) == new
    assert resolve_snapshot_dir(Settings(data_dir=tmp_path)) == new
    assert resolve_snapshot_dir(Settings(data_dir=tmp_path, snapshot_dir=old)) == old
