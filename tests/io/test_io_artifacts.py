import multiprocessing as mp
import os
from pathlib import Path

import polars as pl
import pytest

from risk_engine.errors import RunError
from risk_engine.io.artifacts import (
    SUCCESS_MARKER,
    OutputLock,
    RunDirectory,
    atomic_path,
    atomic_write_text,
    compute_run_id,
    sha256_file,
)


def test_run_id_is_stable_and_changes_with_any_input() -> None:
    base = {
        "inputs": {"suppliers": "a" * 64, "trade": None},
        "parameters": {"m": "fl-v1"},
        "versions": {"v": 1},
    }
    rid = compute_run_id(**base)
    assert rid == compute_run_id(
        inputs={"trade": None, "suppliers": "a" * 64}, parameters={"m": "fl-v1"}, versions={"v": 1}
    )
    assert rid != compute_run_id(
        inputs={"suppliers": "b" * 64, "trade": None}, parameters={"m": "fl-v1"}, versions={"v": 1}
    )
    assert rid != compute_run_id(inputs=base["inputs"], parameters={"m": "fl-v2"}, versions={"v": 1})
    assert rid != compute_run_id(inputs=base["inputs"], parameters={"m": "fl-v1"}, versions={"v": 2})


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_atomic_path_leaves_old_file_when_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(ZeroDivisionError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        _ = 1 / 0
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def _hold_lock(out: str, ready: "mp.synchronize.Event", release: "mp.synchronize.Event") -> None:
    with OutputLock(Path(out)):
        ready.set()
        release.wait(10)


def test_second_writer_is_refused_with_holder_pid(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    proc.start()
    try:
        assert ready.wait(20)
        with pytest.raises(RunError, match=rf"in use by another risk-engine run \(pid {proc.pid}"):
            OutputLock(tmp_path).acquire()
    finally:
        release.set()
        proc.join(10)
    # The holder is gone, so the lock is free again.
    with OutputLock(tmp_path):
        pass


def test_lock_is_freed_when_holder_is_killed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    proc.start()
    assert ready.wait(20)
    os.kill(proc.pid, 9)
    proc.join(10)
    with OutputLock(tmp_path):
        pass


def test_stage_checkpoints_resume_only_for_same_run(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    run = RunDirectory(tmp_path, "run1")
    assert run.begin(resume=False) == []
    run.save_stage("resolve", {"entities": frame}, {"rows": 2})
    assert run.completed_stages() == ["resolve"]
    frames, meta = run.load_stage("resolve")
    assert frames["entities"].equals(frame)
    assert meta == {"rows": 2}
    assert not run.is_complete()

    # Resuming the same run reuses the stage; starting afresh discards it.
    assert RunDirectory(tmp_path, "run1").begin(resume=True) == ["resolve"]
    assert RunDirectory(tmp_path, "run1").begin(resume=False) == []
    assert RunDirectory(tmp_path, "run1").completed_stages() == []


def test_resume_refuses_a_directory_of_another_run(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path, "run1")
    run.begin(resume=False)
    run.save_stage("resolve", {"e": pl.DataFrame({"a": [1]})}, {})
    with pytest.raises(RunError, match="used other inputs"):
        RunDirectory(tmp_path, "run2").begin(resume=True)


def test_stage_without_done_marker_is_not_complete(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path, "run1")
    run.begin(resume=False)
    run.save_stage("resolve", {"e": pl.DataFrame({"a": [1]})}, {})
    (tmp_path / ".stages" / "run1" / "resolve" / "_DONE").unlink()
    assert run.completed_stages() == []


def test_success_marker_is_written_last_and_removed_on_begin(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path, "run1")
    run.begin(resume=False)
    run.finish()
    assert run.is_complete()
    assert (tmp_path / SUCCESS_MARKER).read_text().strip() == "run1"
    assert not RunDirectory(tmp_path, "run2").is_complete()
    RunDirectory(tmp_path, "run1").begin(resume=False)
    assert not run.is_complete()
