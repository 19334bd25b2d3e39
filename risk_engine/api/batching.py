"""Continuous batching of scoring requests inside one worker.

Resolving a record costs a fixed overhead per matcher call plus a small cost per record, so
concurrent ``POST /v1/score`` requests are resolved together: while one batch runs in a thread,
new requests queue up and form the next batch. At low load a request runs alone at once (no added
wait); under load the per-call overhead is shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from risk_engine.api.screening import RecordOutcome, resolve_records
from risk_engine.api.snapshot import Snapshot

log = logging.getLogger("risk_engine.api.batching")


class ResolveBatcher:
    """Queues record lists and resolves them in shared batches of up to ``max_records``."""

    def __init__(self, snapshot: Callable[[], Snapshot], *, max_records: int = 256) -> None:
        self._snapshot = snapshot
        self._max_records = max_records
        self._queue: list[tuple[Sequence[Mapping[str, Any]], asyncio.Future[list[RecordOutcome]]]] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def resolve(self, records: Sequence[Mapping[str, Any]]) -> list[RecordOutcome]:
        """The outcomes of ``records`` (in order), resolved in a shared batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[RecordOutcome]] = loop.create_future()
        self._queue.append((records, future))
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[tuple[Sequence[Mapping[str, Any]], asyncio.Future[list[RecordOutcome]]]] = []
                size = 0
                while self._queue and (not batch or size + len(self._queue[0][0]) <= self._max_records):
                    item = self._queue.pop(0)
                    if item[1].done():  # the request was cancelled (timeout, client gone)
                        continue
                    batch.append(item)
                    size += len(item[0])
                if not batch:
                    continue
                records = [r for recs, _ in batch for r in recs]
                try:
                    outcomes = await asyncio.to_thread(resolve_records, self._snapshot(), records, None)
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for recs, future in batch:
                    if not future.done():
                        future.set_result(outcomes[start : start + len(recs)])
                    start += len(recs)
        finally:
            self._running = False
