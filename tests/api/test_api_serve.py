"""`risk-engine serve` end to end: a real process on 127.0.0.1 with two workers and a key from the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from api_testkit import write_snapshot

HOST = "127.0.0.1"


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshots" / "s1")
    env = {**os.environ, "RISK_ENGINE_DATA_DIR": str(tmp_path / "data")}
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
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "server exited"
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/readyz", timeout=2) as r:
                    if json.load(r)["status"] == "ready":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.5)
        body = json.dumps(
            {"records": [{"key": "a", "name": "Berlin Buttons GmbH", "country": "Germany"}]}
        ).encode()
        request = urllib.request.Request(
            f"http://{HOST}:{port}/v1/score",
            data=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            result = json.load(r)["results"][0]
        assert result["matches"][0]["entity_id"] == "ent:DE:0001"
        assert result["result"]["band"] == "low"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        if server.stderr is not None:
            server.stderr.close()
