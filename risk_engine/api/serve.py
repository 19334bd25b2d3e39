"""``risk-engine serve``: load once, fork N workers that share the loaded index, supervise them.

Pre-fork, like ``gunicorn --preload``. The parent process does the expensive read-only work once:
database migrations, the snapshot directory (screening the bundled fixtures when there is none) and
the entity index (loaded from the snapshot's saved index; built and saved first when missing or
stale). It binds the listening socket, moves everything loaded so far out of the garbage
collector's reach (``gc.freeze``, so collections in the workers do not write to, and thereby copy,
the shared pages) and forks the workers. Each worker runs its own uvicorn server (httptools parser,
uvloop) on its own ``SO_REUSEPORT`` socket for the same port (the kernel spreads connections evenly;
where the option is missing, on one inherited socket) and creates all per-process state after the
fork, in the app's
lifespan: event loop, database engine and connection pool, key cache, audit buffer, background jobs
and the snapshot's score tables. The rate-limit buckets live in shared memory, so the configured
budget holds for the server as a whole. The parent restarts a worker that dies, forwards SIGTERM and
SIGINT to the workers and waits for them to finish their requests.

Polars is never used in the parent: its thread pool does not survive ``fork`` (a child would hang in
its first parallel operation). Work that needs polars before the fork (screening the demo fixtures,
building the index) runs in a spawned helper process, and the parent reads the saved index with
pyarrow and numpy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from risk_engine.config import Settings, load_settings

log = logging.getLogger("risk_engine.api.serve")

GRACEFUL_TIMEOUT_S = 30.0
CRASH_WINDOW_S = 10.0  # a worker that dies this soon after starting counts as a failed start
MAX_FAILED_STARTS = 5


def serve(*, host: str, port: int, workers: int, snapshot: Path | None) -> int:
    """Prepare the database, snapshot and index once, then run the API in ``workers`` forked processes."""
    from risk_engine.api.db import make_engine, migrate
    from risk_engine.api.snapshot import find_latest_snapshot, resolve_snapshot_dir

    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings(extra={"workers": str(workers)})
    if snapshot is not None:
        settings = dataclasses.replace(settings, snapshot_dir=snapshot)
    engine = make_engine(settings)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # no connection may cross the fork
    if settings.snapshot_dir is None and find_latest_snapshot(Path(settings.data_dir)) is None:
        print("no snapshot yet: screening the bundled demo fixtures first", file=sys.stderr)
        run_in_helper(_build_fixture_snapshot, Path(settings.data_dir))
    snapshot_dir = resolve_snapshot_dir(settings)
    if not (snapshot_dir / "_SUCCESS").exists():
        print(f"error: {snapshot_dir} is not a complete snapshot (no _SUCCESS)", file=sys.stderr)
        return 2
    settings = dataclasses.replace(settings, snapshot_dir=snapshot_dir)
    t0 = time.perf_counter()
    index = load_index_for_serving(snapshot_dir, Path(settings.data_dir))
    print(
        f"serving snapshot {snapshot_dir} ({len(index):,} entities, index ready in "
        f"{time.perf_counter() - t0:.1f} s) on http://{host}:{port} with {workers} worker(s)",
        file=sys.stderr,
    )
    from risk_engine.api import app as _app_module  # noqa: F401  (imported once, shared by the workers)
    from risk_engine.api.limits import SharedRateLimiter

    limiter = SharedRateLimiter(settings.rate_limit_per_minute)
    # With SO_REUSEPORT each worker listens on its own socket and the kernel spreads new connections
    # evenly over them; the parent only holds the port (bound, not listening, so it gets none).
    # Without it the workers accept from one inherited socket.
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    sock = bind_socket(host, port, reuse_port=reuse_port, listen=not reuse_port)
    gc.collect()
    gc.freeze()

    def worker(slot: int) -> int:
        own = bind_socket(host, port, reuse_port=True, listen=True) if reuse_port else sock
        return run_worker(own, settings, index, limiter, workers=workers)

    try:
        return Supervisor(workers, worker).run()
    finally:
        sock.close()


def load_index_for_serving(snapshot_dir: Path, data_dir: Path) -> Any:
    """The snapshot's saved index; built and saved first (in a helper process) when missing or stale."""
    from risk_engine.api.snapshot import load_saved_index, prepare_snapshot_index
    from risk_engine.errors import RunError

    index = load_saved_index(snapshot_dir, data_dir=data_dir)
    if index is None:
        print(f"building the entity index of {snapshot_dir} (saved for the next start)", file=sys.stderr)
        run_in_helper(prepare_snapshot_index, snapshot_dir, data_dir=data_dir)
        index = load_saved_index(snapshot_dir, data_dir=data_dir)
    if index is None:
        msg = f"could not save the entity index of {snapshot_dir} (neither there nor under {data_dir})"
        raise RunError(msg)
    return index


def _build_fixture_snapshot(data_dir: Path) -> None:
    from risk_engine.api.snapshot import build_fixture_snapshot

    build_fixture_snapshot(data_dir)


def _helper_main(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fn(*args, **kwargs)


def run_in_helper(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn`` in a freshly spawned interpreter (polars work the parent must not do itself)."""
    from risk_engine.errors import RunError

    proc = multiprocessing.get_context("spawn").Process(target=_helper_main, args=(fn, args, kwargs))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        msg = f"{getattr(fn, '__name__', fn)} failed in its helper process (exit code {proc.exitcode})"
        raise RunError(msg)


def bind_socket(host: str, port: int, *, reuse_port: bool, listen: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` (listening when ``listen``)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    if listen:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(sock: socket.socket, settings: Settings, index: Any, limiter: Any, *, workers: int) -> int:
    """One worker: a uvicorn server on the shared socket; per-process state comes from the lifespan."""
    import uvicorn

    from risk_engine.api.app import create_app
    from risk_engine.matching import compare

    if workers > 1:
        compare.set_threads(1)  # one process per core already
    app = create_app(settings, matcher=index, limiter=limiter)
    config = uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=30,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 1


class Supervisor:
    """Forks ``n`` workers running ``target(slot)``; restarts dead ones; stops them on SIGTERM/SIGINT."""

    def __init__(self, n: int, target: Callable[[int], int]) -> None:
        self.n = n
        self.target = target
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (slot, started at)
        self.stopping: int | None = None
        self.failed_starts = 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = signum

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = self.target(slot)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = (slot, time.monotonic())

    def _reap(self) -> list[tuple[int, int, float]]:
        """(slot, wait status, seconds it ran) of each worker that has exited."""
        dead = []
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.children:
                slot, started = self.children.pop(pid)
                dead.append((slot, status, time.monotonic() - started))
        return dead

    def run(self) -> int:
        """Supervise until a stop signal (exit code 0) or repeated failed starts (exit code 1)."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for slot in range(self.n):
                self._spawn(slot)
            while self.stopping is None:
                for slot, status, ran in self._reap():
                    print(
                        f"worker {slot} exited ({_describe(status)}) after {ran:.1f} s; restarting",
                        file=sys.stderr,
                    )
                    self.failed_starts = self.failed_starts + 1 if ran < CRASH_WINDOW_S else 0
                    if self.failed_starts >= MAX_FAILED_STARTS:
                        print("workers keep failing at start; stopping the server", file=sys.stderr)
                        self.stopping = signal.SIGTERM
                        code = 1
                        break
                    self._spawn(slot)
                time.sleep(0.1)
        finally:
            self._stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return code

    def _stop(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACEFUL_TIMEOUT_S
        while self.children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.children.pop(pid, None)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
