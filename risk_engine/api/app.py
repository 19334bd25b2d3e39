"""The FastAPI application factory. Nothing happens at import; the lifespan loads the snapshot once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from risk_engine import __version__
from risk_engine.api.audit import AuditBuffer
from risk_engine.api.auth import KeyAuthenticator
from risk_engine.api.batching import ResolveBatcher
from risk_engine.api.db import make_engine, migrate, session_factory, utcnow
from risk_engine.api.jobs import JobRunner
from risk_engine.api.limits import EdgeLimitsMiddleware, Limiter, RateLimiter
from risk_engine.api.problems import install_problem_handlers
from risk_engine.api.repository import fail_stale_lists
from risk_engine.api.routes import ApiState, router
from risk_engine.api.snapshot import Matcher, Snapshot
from risk_engine.config import Settings, load_settings

log = logging.getLogger("risk_engine.api")

JSON_BODY_LIMIT = 2 * 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024
STALE_JOB_AFTER = timedelta(minutes=30)

DESCRIPTION = """Forced-labour supply-chain risk screening: resolve suppliers to entities, read their
fl-v1 scores with the paths and ILO indicators behind them, screen whole supplier lists, review
uncertain matches, and read pooled aggregates. Authenticate with `Authorization: Bearer <key>`.
Every error is an RFC 9457 problem document. A score is a prioritisation signal for due diligence,
never a finding that forced labour exists."""


def create_app(
    settings: Settings,
    *,
    snapshot: Snapshot | None = None,
    matcher: Matcher | None = None,
    limiter: Limiter | None = None,
) -> FastAPI:
    """Build the API for ``settings``.

    ``snapshot`` replaces the configured one (tests, embedding); ``matcher`` is an entity index already
    loaded for the configured snapshot (``serve`` loads it once, before forking its workers);
    ``limiter`` is a rate limiter shared by the workers of one server.
    """
    workers = max(1, int(settings.extra.get("workers", "1")))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        await asyncio.to_thread(migrate, engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            fail_stale_lists(session, tenant=None, older_than=utcnow() - STALE_JOB_AFTER, now=utcnow())
        state = ApiState(
            settings=settings,
            sessions=sessions,
            auth=KeyAuthenticator(sessions),
            # Without a shared limiter each worker process keeps its own buckets, so each gets its
            # share of the budget.
            limiter=limiter or RateLimiter(max(1, settings.rate_limit_per_minute // workers)),
            audit=AuditBuffer(sessions),
            jobs=JobRunner(
                sessions=sessions,
                snapshot=lambda: app.state.api.current_snapshot(),
                per_tenant=settings.jobs_per_tenant,
            ),
            batcher=ResolveBatcher(lambda: app.state.api.current_snapshot()),
            snapshot=snapshot,
        )
        app.state.api = state
        if state.snapshot is None:
            from risk_engine.api.snapshot import open_configured_snapshot

            state.snapshot = await asyncio.to_thread(open_configured_snapshot, settings, matcher=matcher)
        stop = asyncio.Event()
        flusher = asyncio.create_task(state.audit.run(stop))
        try:
            yield
        finally:
            await state.jobs.drain()
            stop.set()
            await flusher
            engine.dispose()

    app = FastAPI(
        title="risk_engine API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.include_router(router)

    def limit_for_path(path: str) -> int:
        if path == "/v1/lists":
            return settings.max_upload_bytes + MULTIPART_OVERHEAD
        return JSON_BODY_LIMIT

    app.add_middleware(
        EdgeLimitsMiddleware,
        limit_for_path=limit_for_path,
        timeout_s=settings.request_timeout_s,
    )
    return app


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` (what ``risk-engine serve`` starts in each worker)."""
    settings = load_settings()
    extra = dict(settings.extra)
    if os.environ.get("RISK_ENGINE_WORKERS"):
        extra["workers"] = os.environ["RISK_ENGINE_WORKERS"]
    return create_app(load_settings(extra=extra))


def openapi_document() -> dict[str, object]:
    """The OpenAPI document of the API (no database or snapshot needed)."""
    return create_app(Settings()).openapi()


def write_openapi(path: str = "openapi.json") -> None:
    """Write the OpenAPI document (the committed ``openapi.json`` at the repository root)."""
    import json
    from pathlib import Path

    text = json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")
