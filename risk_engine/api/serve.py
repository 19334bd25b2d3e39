"""``risk-engine serve``: start uvicorn (httptools parser, uvloop) with N worker processes."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from risk_engine.config import load_settings


def serve(*, host: str, port: int, workers: int, snapshot: Path | None) -> int:
    """Prepare the database and snapshot once, then run the API in ``workers`` processes."""
    import uvicorn

    from risk_engine.api.db import make_engine, migrate
    from risk_engine.api.snapshot import resolve_snapshot_dir

    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings()
    if snapshot is not None:
        settings = dataclasses.replace(settings, snapshot_dir=snapshot)
    engine = make_engine(settings)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    # Resolve (or build from the bundled fixtures) before forking, so workers never race to build it.
    snapshot_dir = resolve_snapshot_dir(settings)
    os.environ["RISK_ENGINE_SNAPSHOT_DIR"] = str(snapshot_dir)
    os.environ["RISK_ENGINE_WORKERS"] = str(workers)
    os.environ.setdefault("RISK_ENGINE_DATA_DIR", str(settings.data_dir))
    print(
        f"serving snapshot {snapshot_dir} on http://{host}:{port} with {workers} worker(s)", file=sys.stderr
    )
    uvicorn.run(
        "risk_engine.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        loop="uvloop",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=30,
        # Loading a large snapshot keeps a worker busy for minutes; the supervisor must not kill it
        # for answering its health pings late meanwhile.
        timeout_worker_healthcheck=600,
        log_level="warning",
    )
    return 0
