"""Run artefacts on disk: run ids, atomic writes, the output-directory lock, stage checkpoints, resume.

Layout of an output directory::

    DIR/.lock                      held (flock) by the one run writing DIR; names its pid
    DIR/.run.json                  run id, stages completed (rewritten atomically after each stage)
    DIR/.stages/<run_id>/<stage>/  one parquet per frame of a completed stage + ``_DONE`` written last
    DIR/scores.parquet ...         outputs, each written to a temp file and renamed into place
    DIR/_SUCCESS                   written last, holds the run id; absent while a run is in progress

A directory without ``_SUCCESS`` (or with another run id in it) is never taken for a complete result.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from risk_engine.errors import RunError

SUCCESS_MARKER = "_SUCCESS"
LOCK_FILE = ".lock"
STATE_FILE = ".run.json"
STAGES_DIR = ".stages"
_STAGE_DONE = "_DONE"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace variation, so equal values hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_run_id(
    *, inputs: Mapping[str, str | None], parameters: Mapping[str, Any], versions: Mapping[str, Any]
) -> str:
    """A run id from the sha256 of every input, the parameters and the code/data versions.

    Same inputs, parameters and versions give the same id; any change gives another.
    """
    payload = canonical_json({"inputs": dict(inputs), "parameters": dict(parameters), "versions": versions})
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    A crash leaves either the old file or the new one, never a truncated one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates 0600; outputs get the usual permissions of a new file under the umask.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write a parquet file atomically (zstd, statistics on; deterministic for equal frames)."""
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)


class OutputLock:
    """An exclusive lock on an output directory, so two runs never write the same files.

    Uses ``flock`` on ``DIR/.lock``: the kernel releases it when the holder dies, so a killed run never
    leaves a stale lock behind. The file records the holder's pid and host for the refusal message.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> OutputLock:
        """Take the lock or raise ``RunError`` naming the run that holds it."""
        self.out.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            msg = (
                f"output directory {self.out} is in use by another risk-engine run ({holder}); "
                "wait for it to finish or choose another --out"
            )
            raise RunError(msg) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Release the lock (the lock file stays; it is harmless and reused)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class RunState:
    """What ``DIR/.run.json`` says about the run that last wrote the directory."""

    run_id: str | None = None
    stages: list[str] = field(default_factory=list)


class RunDirectory:
    """An output directory seen as a sequence of checkpointed stages ending in ``_SUCCESS``."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out
        self.run_id = run_id

    # -- state -----------------------------------------------------------------------------------------
    def read_state(self) -> RunState:
        """The recorded state; an empty state when there is none or it is unreadable."""
        path = self.out / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return RunState(run_id=str(data["run_id"]), stages=[str(s) for s in data.get("stages", [])])
        except (OSError, ValueError, KeyError, TypeError):
            return RunState()

    def _write_state(self, stages: list[str]) -> None:
        atomic_write_text(
            self.out / STATE_FILE, canonical_json({"run_id": self.run_id, "stages": stages}) + "\n"
        )

    def success_run_id(self) -> str | None:
        """The run id in ``_SUCCESS``, or None when the directory holds no complete run."""
        try:
            return (self.out / SUCCESS_MARKER).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def is_complete(self) -> bool:
        """True when ``_SUCCESS`` names this run id."""
        return self.success_run_id() == self.run_id

    def completed_stages(self) -> list[str]:
        """Stages of this run id whose checkpoint is complete (in order of completion)."""
        state = self.read_state()
        if state.run_id != self.run_id:
            return []
        return [s for s in state.stages if (self._stage_dir(s) / _STAGE_DONE).exists()]

    # -- lifecycle -------------------------------------------------------------------------------------
    def begin(self, *, resume: bool) -> list[str]:
        """Start (or resume) this run; return the stages already done that will be reused.

        Removes ``_SUCCESS`` first, so a run interrupted from here on is never taken for complete.
        Without ``resume`` every earlier checkpoint is discarded.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / SUCCESS_MARKER).unlink(missing_ok=True)
        state = self.read_state()
        if resume and state.run_id not in (None, self.run_id):
            msg = (
                f"cannot resume in {self.out}: its interrupted run ({state.run_id}) used other inputs, "
                f"parameters or versions than this one ({self.run_id}); run without --resume to start over"
            )
            raise RunError(msg)
        done = self.completed_stages() if resume else []
        # Checkpoints of other run ids are never useful again.
        stages_root = self.out / STAGES_DIR
        if stages_root.exists():
            for child in stages_root.iterdir():
                if child.name != self.run_id or not resume:
                    shutil.rmtree(child, ignore_errors=True)
        self._write_state(done)
        return done

    def save_stage(self, stage: str, frames: Mapping[str, pl.DataFrame], meta: Mapping[str, Any]) -> None:
        """Checkpoint a completed stage: its frames, then its metadata, then the done marker, then state."""
        stage_dir = self._stage_dir(stage)
        shutil.rmtree(stage_dir, ignore_errors=True)
        stage_dir.mkdir(parents=True)
        for name, frame in frames.items():
            atomic_write_parquet(frame, stage_dir / f"{name}.parquet")
        atomic_write_text(stage_dir / "meta.json", canonical_json(dict(meta)))
        atomic_write_text(stage_dir / _STAGE_DONE, canonical_json(sorted(frames)) + "\n")
        state = self.read_state()
        stages = [s for s in state.stages if s != stage] if state.run_id == self.run_id else []
        self._write_state([*stages, stage])

    def load_stage(self, stage: str) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
        """The frames and metadata of a completed stage."""
        stage_dir = self._stage_dir(stage)
        try:
            names = json.loads((stage_dir / _STAGE_DONE).read_text(encoding="utf-8"))
            frames = {name: pl.read_parquet(stage_dir / f"{name}.parquet") for name in names}
            meta = json.loads((stage_dir / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"checkpoint of stage {stage!r} in {stage_dir} is unreadable ({exc}); run without --resume"
            raise RunError(msg) from exc
        return frames, meta

    def finish(self, *, keep_checkpoints: bool = False) -> None:
        """Write ``_SUCCESS`` (last) and drop the checkpoints, which the outputs now supersede."""
        atomic_write_text(self.out / SUCCESS_MARKER, self.run_id + "\n")
        if not keep_checkpoints:
            shutil.rmtree(self.out / STAGES_DIR, ignore_errors=True)

    def _stage_dir(self, stage: str) -> Path:
        return self.out / STAGES_DIR / self.run_id / stage
