"""`risk-engine serve` as a pre-fork server: index loaded once in the parent, workers forked and supervised."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from api_testkit import write_snapshot

from risk_engine.api.limits import SharedRateLimiter
from risk_engine.api.problems import RateLimitedError

HOST = "127.0.0.1"


def _ready(port: int, server: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        assert server.poll() is None, "server exited"
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/readyz", timeout=2) as r:
                if json.load(r)["status"] == "ready":
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "not ready"
        time.sleep(0.2)


def _score(port: int, key: str, record: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/v1/score",
        data=json.dumps({"records": [{"key": "a", **record}]}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        result: dict[str, object] = json.load(r)["results"][0]
    return result


def _workers(server: subprocess.Popen[bytes]) -> set[int]:
    """The forked workers (same command line as the parent; not multiprocessing's resource tracker)."""
    parent = psutil.Process(server.pid)
    return {
        c.pid
        for c in parent.children()
        if c.status() != psutil.STATUS_ZOMBIE and c.cmdline() == parent.cmdline()
    }


@pytest.mark.slow
def test_prefork_server_saves_index_restarts_workers_and_stops_cleanly(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshots" / "s1")
    env = {
        **os.environ,
        "RISK_ENGINE_DATA_DIR": str(tmp_path / "data"),
        "RISK_ENGINE_RATE_LIMIT_PER_MINUTE": "6000",
    }
    env.pop("RISK_ENGINE_DATABASE_URL", None)
    cli = [sys.executable, "-m", "risk_engine.cli"]
    key = subprocess.run(
        [*cli, "keys", "create", "--tenant", "t", "--role", "auditor"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "2", "--snapshot", str(snapshot)],
        env=env,
        start_new_session=True,
    )
    try:
        _ready(port, server, time.monotonic() + 120)
        # The parent built the index once (in a helper process) and saved it in the snapshot.
        assert (snapshot / "entity_index" / "manifest.json").exists()
        workers = _workers(server)
        assert len(workers) == 2
        matched = _score(port, key, {"name": "Berlin Buttons GmbH", "country": "Germany"})
        assert matched["matches"][0]["entity_id"] == "ent:DE:0001"  # type: ignore[index]
        # An unmatched record is scored with polars in the worker: no deadlock after the fork.
        unmatched = _score(port, key, {"name": "Nothing Like Any Entity Ltd", "country": "Bangladesh"})
        assert unmatched["scored_from"] == "record"
        # A worker that dies is replaced; the server keeps answering.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            now = _workers(server)
            if len(now) == 2 and victim not in now:
                break
            assert time.monotonic() < deadline, f"worker not restarted: {now}"
            time.sleep(0.2)
        _ready(port, server, time.monotonic() + 60)
        for _ in range(4):  # both workers answer (connections are spread over them)
            assert _score(port, key, {"name": "Berlin Buttons GmbH", "country": "DE"})["matches"]
        workers = _workers(server)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    assert not any(
        psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in workers
    )


def test_shared_rate_limit_holds_across_forked_processes() -> None:
    limiter = SharedRateLimiter(60, burst=3)
    pid = os.fork()
    if pid == 0:  # a second worker takes two of the three tokens
        code = 0
        try:
            limiter.check("rk_shared")
            limiter.check("rk_shared")
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    limiter.check("rk_shared")
    with pytest.raises(RateLimitedError) as caught:
        limiter.check("rk_shared")
    assert int(caught.value.headers["Retry-After"]) >= 1
    limiter.check("rk_other")  # other keys have their own buckets


def test_shared_rate_limit_table_never_refuses_for_lack_of_slots() -> None:
    limiter = SharedRateLimiter(60, burst=1, slots=8, probe=4)
    for i in range(100):
        limiter.check(f"key-{i}")  # more keys than slots: old buckets are recycled
    with pytest.raises(RateLimitedError):
        limiter.check("key-99")
