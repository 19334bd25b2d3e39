"""Background screening of uploaded lists, with a concurrency limit per tenant and per worker."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from risk_engine.api.db import utcnow
from risk_engine.api.problems import RateLimitedError
from risk_engine.api.repository import claim_list, set_list_status, store_screening, tenant_decisions
from risk_engine.api.screening import DecisionBook, screen_rows
from risk_engine.api.snapshot import Snapshot
from risk_engine.errors import RiskEngineError

log = logging.getLogger("risk_engine.api.jobs")


class JobRunner:
    """Runs list screenings in worker threads: at most ``per_tenant`` at once per tenant."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        snapshot: Callable[[], Snapshot],
        per_tenant: int,
        max_pending_per_tenant: int = 20,
        total: int = 2,
    ) -> None:
        self._sessions = sessions
        self._snapshot = snapshot
        self._per_tenant = max(1, per_tenant)
        self._max_pending = max(1, max_pending_per_tenant)
        self._tenant_slots: dict[str, asyncio.Semaphore] = {}
        self._total = asyncio.Semaphore(max(1, total))
        self._pending: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    def check_capacity(self, tenant: str) -> None:
        """RateLimitedError (429 + Retry-After) when the tenant already has too many lists waiting."""
        if self._pending[tenant] >= self._max_pending:
            msg = f"{self._pending[tenant]} lists of this tenant are still being screened; retry later."
            raise RateLimitedError(msg, retry_after_s=30)

    def submit(self, *, tenant: str, list_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Queue the screening of a stored list (call from the event loop)."""
        self._pending[tenant] += 1
        task = asyncio.get_running_loop().create_task(self._run(tenant, list_id, rows))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every queued job (shutdown and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, tenant: str, list_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        slots = self._tenant_slots.setdefault(tenant, asyncio.Semaphore(self._per_tenant))
        try:
            async with slots, self._total:
                await asyncio.to_thread(self.screen_list, tenant, list_id, rows)
        finally:
            self._pending[tenant] -= 1
            if self._pending[tenant] <= 0:
                del self._pending[tenant]

    def screen_list(self, tenant: str, list_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Screen one list and store everything in one transaction; on failure store only the error."""
        with self._sessions.begin() as session:
            if not claim_list(session, tenant=tenant, list_id=list_id, now=utcnow()):
                return
        try:
            snapshot = self._snapshot()
            with self._sessions() as session:
                book = DecisionBook.of(tenant_decisions(session, tenant=tenant))
            outcome = screen_rows(snapshot, rows, book)
            with self._sessions.begin() as session:
                store_screening(
                    session,
                    tenant=tenant,
                    list_id=list_id,
                    results=outcome.results,
                    matches=outcome.matches,
                    rows_matched=outcome.rows_matched,
                    rows_review=outcome.rows_review,
                    now=utcnow(),
                )
        except Exception as exc:
            log.exception("screening of list %s failed", list_id)
            detail = str(exc) if isinstance(exc, RiskEngineError) else "internal error during screening"
            with self._sessions.begin() as session:
                set_list_status(
                    session, tenant=tenant, list_id=list_id, status="failed", now=utcnow(), error=detail
                )
