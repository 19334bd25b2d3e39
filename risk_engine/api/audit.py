"""The audit log: who read which scores and who decided what, and when.

Reads are buffered in memory and written in batches (at most ``flush_interval_s`` later, and on
shutdown) so the hot scoring path never waits for the database; decisions are written in the same
transaction as the decision itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from risk_engine.api.auth import Principal
from risk_engine.api.db import utcnow
from risk_engine.api.repository import write_audit_events

log = logging.getLogger("risk_engine.api.audit")
MAX_TARGET_CHARS = 4000


def audit_event(principal: Principal, action: str, target: str) -> dict[str, Any]:
    """One audit-log row."""
    return {
        "tenant": principal.tenant,
        "actor": principal.key_prefix,
        "role": principal.role,
        "action": action,
        "target": target[:MAX_TARGET_CHARS],
        "at": utcnow(),
    }


class AuditBuffer:
    """Collects audit events and writes them in batches."""

    def __init__(self, sessions: sessionmaker[Session], *, flush_interval_s: float = 0.5) -> None:
        self._sessions = sessions
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.flush_interval_s = flush_interval_s

    def record(self, principal: Principal, action: str, target: str) -> None:
        """Queue one event."""
        event = audit_event(principal, action, target)
        with self._lock:
            self._pending.append(event)

    def flush(self) -> int:
        """Write every queued event; returns how many."""
        # One flush at a time: a caller that flushes knows every earlier event is stored on return.
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                with self._sessions.begin() as session:
                    return write_audit_events(session, batch)
            except Exception:
                # Keep the events for the next attempt rather than lose them.
                with self._lock:
                    self._pending[:0] = batch
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Flush periodically until ``stop`` is set, then flush once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.flush_interval_s)
            try:
                await asyncio.to_thread(self.flush)
            except Exception:
                log.exception("audit log flush failed; will retry")
        await asyncio.to_thread(self.flush)
