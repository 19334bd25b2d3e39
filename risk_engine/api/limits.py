"""Request limits: body size (enforced while streaming), request timeouts, per-key rate limits.

The body limit answers 413 from ``Content-Length`` before reading anything, and otherwise counts
bytes as they arrive, stopping at the first byte over the limit. Rate limits are token buckets per
key. ``serve`` creates one ``SharedRateLimiter`` in shared memory before forking its workers, so all
workers of a server draw from the same buckets; an app created without one (tests, embedding) keeps
its buckets in the process (``RateLimiter``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import mmap
import multiprocessing
import struct
import threading
import time
from collections.abc import Callable
from typing import Protocol

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from risk_engine.api.problems import RateLimitedError, ServiceBusyError, error_response, problem_response


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when the streamed body passes the limit (FastAPI re-raises HTTP errors)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"The request body is larger than the limit of {limit} bytes.")


class EdgeLimitsMiddleware:
    """Pure ASGI middleware: body-size limit per path and a request timeout."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for_path: Callable[[str], int],
        timeout_s: float,
    ) -> None:
        self.app = app
        self.limit_for_path = limit_for_path
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Apply the limits to one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for_path(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_problem(send, 413, f"The request body is larger than the limit of {limit} bytes.")
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, limited_receive, tracking_send), self.timeout_s)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_problem(send, 413, str(exc.detail))
        except TimeoutError:
            if started:
                raise
            busy = ServiceBusyError(
                f"The request took longer than {self.timeout_s:g} s and was stopped.", retry_after_s=5
            )
            response = error_response(busy)
            await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, status: int, detail: str) -> None:
    response = problem_response(
        status,
        slug="payload-too-large",
        title="Request body too large",
        detail=detail,
        headers={"Connection": "close"},
    )
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


class RateLimiter:
    """Token buckets per key: ``per_minute`` requests, bursts up to ``burst``."""

    def __init__(self, per_minute: int, *, burst: int | None = None) -> None:
        self.rate = max(per_minute, 1) / 60.0
        self.capacity = float(burst if burst is not None else max(per_minute // 6, 10))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, *, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise RateLimitedError with a Retry-After."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((cost - tokens) / self.rate)
                msg = f"Rate limit of {self.rate * 60:.0f} requests per minute for this key reached."
                raise RateLimitedError(msg, retry_after_s=wait)
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()


class Limiter(Protocol):
    """What the routes need of a rate limiter."""

    def check(self, key: str, *, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise RateLimitedError."""
        ...


_SLOT = struct.Struct("<Qdd")  # key hash (0 = free), tokens, last refill (time.monotonic, system-wide)


class SharedRateLimiter:
    """Token buckets per key in anonymous shared memory, shared by processes forked after creation.

    A fixed table of ``slots`` buckets with open addressing (``probe`` slots per key); when a key finds
    neither its bucket nor a free slot, the least recently used of the probed buckets is given to it
    (that key starts again with a full bucket: lenient, never wrong in the caller's disfavour). One
    process-shared lock guards the table; a worker that cannot get it within 50 ms lets the request
    through rather than stall (e.g. a worker killed while holding it).
    """

    def __init__(
        self, per_minute: int, *, burst: int | None = None, slots: int = 8192, probe: int = 16
    ) -> None:
        self.rate = max(per_minute, 1) / 60.0
        self.capacity = float(burst if burst is not None else max(per_minute // 6, 10))
        self.slots = slots
        self.probe = min(probe, slots)
        self._mem = mmap.mmap(-1, _SLOT.size * slots)  # MAP_SHARED | MAP_ANONYMOUS: survives fork
        self._lock = multiprocessing.get_context("fork").Lock()

    @staticmethod
    def _hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def _find(self, h: int) -> int:
        start = h % self.slots
        oldest, oldest_t = start, math.inf
        for i in range(self.probe):
            slot = (start + i) % self.slots
            k, _, last = _SLOT.unpack_from(self._mem, slot * _SLOT.size)
            if k == h or k == 0:
                return slot
            if last < oldest_t:
                oldest, oldest_t = slot, last
        _SLOT.pack_into(self._mem, oldest * _SLOT.size, 0, 0.0, 0.0)
        return oldest

    def check(self, key: str, *, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise RateLimitedError with a Retry-After."""
        h = self._hash(key)
        if not self._lock.acquire(timeout=0.05):
            return
        try:
            now = time.monotonic()
            slot = self._find(h)
            k, tokens, last = _SLOT.unpack_from(self._mem, slot * _SLOT.size)
            if k != h:
                tokens, last = self.capacity, now
            tokens = min(self.capacity, tokens + max(0.0, now - last) * self.rate)
            ok = tokens >= cost
            _SLOT.pack_into(self._mem, slot * _SLOT.size, h, tokens - cost if ok else tokens, now)
        finally:
            self._lock.release()
        if not ok:
            wait = math.ceil((cost - tokens) / self.rate)
            msg = f"Rate limit of {self.rate * 60:.0f} requests per minute for this key reached."
            raise RateLimitedError(msg, retry_after_s=wait)
