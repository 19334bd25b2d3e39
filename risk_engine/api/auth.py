"""API-key authentication and role checks.

Keys travel only as ``Authorization: Bearer <key>``. The database holds a salted HMAC of each key,
the visible prefix, the tenant, the role, the expiry and the revocation time. Verified keys are
cached per worker for a few seconds (so a revocation from another process takes effect within
``CACHE_TTL_S``; within the same process it is immediate).
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from risk_engine.api.db import as_utc, utcnow
from risk_engine.api.problems import AuthenticationError
from risk_engine.api.repository import find_api_key, hash_key
from risk_engine.errors import PermissionDeniedError

CACHE_TTL_S = 5.0
_KEY_RE = re.compile(r"^rk_([a-z2-9]{10})_[A-Za-z0-9_-]{43}$")
# Credentials must never travel in URLs (they end up in logs and browser history).
QUERY_CREDENTIAL_NAMES = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: tenant, role and the key's visible prefix."""

    tenant: str
    role: str
    key_prefix: str


@dataclass(frozen=True)
class _CachedKey:
    salt: str
    secret_hash: str
    tenant: str
    role: str
    expires_at: datetime | None
    revoked: bool
    fetched: float


class KeyAuthenticator:
    """Verifies bearer keys against the database, with a short per-process cache."""

    def __init__(self, sessions: sessionmaker[Session], *, ttl_s: float = CACHE_TTL_S) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._cache: dict[str, _CachedKey | None] = {}
        self._fetched_missing: dict[str, float] = {}
        self._lock = threading.Lock()

    def forget(self, prefix: str | None = None) -> None:
        """Drop cached entries (all, or one prefix) so the next request reads the database."""
        with self._lock:
            if prefix is None:
                self._cache.clear()
            else:
                self._cache.pop(prefix, None)

    def _load(self, prefix: str) -> _CachedKey | None:
        now = time.monotonic()
        cached = self._cache.get(prefix)
        if cached is not None and now - cached.fetched < self._ttl_s:
            return cached
        with self._sessions() as session:
            row = find_api_key(session, prefix)
        entry = (
            None
            if row is None
            else _CachedKey(
                salt=row.salt,
                secret_hash=row.secret_hash,
                tenant=row.tenant,
                role=row.role,
                expires_at=as_utc(row.expires_at),
                revoked=row.revoked_at is not None,
                fetched=now,
            )
        )
        with self._lock:
            if entry is None:
                self._cache.pop(prefix, None)
            else:
                self._cache[prefix] = entry
        return entry

    def authenticate(self, authorization: str | None, query_names: frozenset[str] | set[str]) -> Principal:
        """The principal of a request's ``Authorization`` header, or AuthenticationError."""
        if query_names & QUERY_CREDENTIAL_NAMES:
            msg = "API keys are not accepted in the query string; send 'Authorization: Bearer <key>'."
            raise AuthenticationError(msg, invalid_token=True)
        if not authorization:
            raise AuthenticationError("Send 'Authorization: Bearer <key>'.")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("Use the Bearer scheme: 'Authorization: Bearer <key>'.")
        match = _KEY_RE.match(token)
        invalid = AuthenticationError("The key is unknown, expired or revoked.", invalid_token=True)
        if match is None:
            raise invalid
        entry = self._load(match.group(1))
        if entry is None:
            raise invalid
        if not hmac.compare_digest(hash_key(entry.salt, token), entry.secret_hash):
            raise invalid
        if entry.revoked or (entry.expires_at is not None and entry.expires_at <= utcnow()):
            raise invalid
        return Principal(tenant=entry.tenant, role=entry.role, key_prefix=match.group(1))


def check_role(principal: Principal, allowed: frozenset[str]) -> Principal:
    """``principal`` if its role is allowed, else PermissionDeniedError."""
    if principal.role not in allowed:
        msg = f"The role {principal.role!r} may not do this; allowed: {', '.join(sorted(allowed))}."
        raise PermissionDeniedError(msg)
    return principal


RoleCheck = Callable[[Principal], Principal]
