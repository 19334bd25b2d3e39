"""Persistence functions. Every function over tenant-owned rows takes the tenant and filters by it.

The only cross-tenant reads are the key lookup used for authentication (before a tenant is known)
and ``pooled_aggregates``, which returns nothing but counts over at least ``k`` tenants.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from risk_engine.api.models import ApiKey, AuditEvent, Decision, ListResult, Match, SupplierList
from risk_engine.errors import InputError, NotFoundError

ROLES = ("member", "analyst", "auditor", "admin")
_KEY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: prefixes are read aloud and typed
PREFIX_LENGTH = 10


# --- API keys (operator level: used by the ``keys`` CLI and by authentication) --------------------


def hash_key(salt: str, key: str) -> str:
    """The stored form of a key: HMAC-SHA256 of the whole key under a per-key random salt."""
    return hmac.new(bytes.fromhex(salt), key.encode(), hashlib.sha256).hexdigest()


def new_key_material() -> tuple[str, str]:
    """A fresh ``(key, prefix)``; the key is ``rk_<prefix>_<43 url-safe chars>`` (256 bits of secret)."""
    prefix = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(PREFIX_LENGTH))
    return f"rk_{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_api_key(
    session: Session, *, tenant: str, role: str, name: str, expires_at: datetime | None, now: datetime
) -> tuple[str, ApiKey]:
    """Store a new key and return it in plain text (the only time it exists outside the caller)."""
    if role not in ROLES:
        msg = f"unknown role {role!r}; expected one of {', '.join(ROLES)}"
        raise InputError(msg)
    if not tenant or len(tenant) > 64 or not tenant.replace("-", "").replace("_", "").isalnum():
        msg = f"tenant {tenant!r} must be 1-64 letters, digits, '-' or '_'"
        raise InputError(msg)
    key, prefix = new_key_material()
    salt = secrets.token_hex(16)
    row = ApiKey(
        prefix=prefix,
        tenant=tenant,
        role=role,
        name=name[:200],
        salt=salt,
        secret_hash=hash_key(salt, key),
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return key, row


def find_api_key(session: Session, prefix: str) -> ApiKey | None:
    """The key with this prefix, if any (authentication looks keys up before a tenant is known)."""
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (operator view: prefixes and metadata, never secrets)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, prefix: str, *, now: datetime) -> bool:
    """Revoke the key with this prefix; False when there is no such active key."""
    result = session.execute(
        update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


# --- supplier lists ------------------------------------------------------------------------------


def create_list(
    session: Session,
    *,
    tenant: str,
    list_id: str,
    filename: str,
    content_sha256: str,
    idempotency_key: str | None,
    created_by: str,
    snapshot_id: str,
    rows_read: int,
    rejects: list[dict[str, Any]],
    rows_rejected: int,
    now: datetime,
) -> SupplierList:
    """Record a new upload, queued for screening."""
    row = SupplierList(
        id=list_id,
        tenant=tenant,
        filename=filename[:255],
        content_sha256=content_sha256,
        idempotency_key=idempotency_key,
        status="queued",
        created_by=created_by,
        created_at=now,
        updated_at=now,
        finished_at=None,
        snapshot_id=snapshot_id,
        rows_read=rows_read,
        rows_rejected=rows_rejected,
        rows_matched=0,
        rows_review=0,
        rejects=rejects,
        error=None,
    )
    session.add(row)
    session.flush()
    return row


def get_list(session: Session, *, tenant: str, list_id: str) -> SupplierList:
    """The tenant's list ``list_id``; NotFoundError for a missing or another tenant's list."""
    row = session.scalars(
        select(SupplierList).where(SupplierList.tenant == tenant, SupplierList.id == list_id)
    ).one_or_none()
    if row is None:
        msg = "No list with this id is visible to you."
        raise NotFoundError(msg)
    return row


def find_list_by_idempotency_key(session: Session, *, tenant: str, key: str) -> SupplierList | None:
    """The tenant's list created with this Idempotency-Key, if any."""
    return session.scalars(
        select(SupplierList).where(SupplierList.tenant == tenant, SupplierList.idempotency_key == key)
    ).one_or_none()


def set_list_status(
    session: Session, *, tenant: str, list_id: str, status: str, now: datetime, error: str | None = None
) -> None:
    """Move a list to ``status`` (``running``, ``failed`` ...)."""
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status in ("done", "failed"):
        values["finished_at"] = now
    if error is not None:
        values["error"] = error[:2000]
    session.execute(
        update(SupplierList).where(SupplierList.tenant == tenant, SupplierList.id == list_id).values(**values)
    )


def claim_list(session: Session, *, tenant: str, list_id: str, now: datetime) -> bool:
    """Atomically move a queued list to running; False if someone else has it."""
    result = session.execute(
        update(SupplierList)
        .where(SupplierList.tenant == tenant, SupplierList.id == list_id, SupplierList.status == "queued")
        .values(status="running", updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def fail_stale_lists(session: Session, *, tenant: str | None, older_than: datetime, now: datetime) -> int:
    """Mark queued/running lists not touched since ``older_than`` as failed (their worker died)."""
    stmt = update(SupplierList).where(
        SupplierList.status.in_(("queued", "running")), SupplierList.updated_at < older_than
    )
    if tenant is not None:
        stmt = stmt.where(SupplierList.tenant == tenant)
    result = session.execute(
        stmt.values(
            status="failed",
            finished_at=now,
            updated_at=now,
            error="screening was interrupted (server restart); upload the list again",
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def store_screening(
    session: Session,
    *,
    tenant: str,
    list_id: str,
    results: Sequence[Mapping[str, Any]],
    matches: Sequence[Mapping[str, Any]],
    rows_matched: int,
    rows_review: int,
    now: datetime,
) -> None:
    """Write a finished screening (results, proposed matches, counters) in the caller's transaction."""
    session.execute(delete(ListResult).where(ListResult.tenant == tenant, ListResult.list_id == list_id))
    session.execute(delete(Match).where(Match.tenant == tenant, Match.list_id == list_id))
    if results:
        session.execute(insert(ListResult), [{**r, "tenant": tenant, "list_id": list_id} for r in results])
    if matches:
        session.execute(
            insert(Match),
            [{**m, "tenant": tenant, "list_id": list_id, "created_at": now} for m in matches],
        )
    session.execute(
        update(SupplierList)
        .where(SupplierList.tenant == tenant, SupplierList.id == list_id)
        .values(
            status="done",
            rows_matched=rows_matched,
            rows_review=rows_review,
            finished_at=now,
            updated_at=now,
        )
    )


def page_results(
    session: Session, *, tenant: str, list_id: str, after_seq: int, limit: int
) -> list[ListResult]:
    """Up to ``limit`` results of a list after sequence number ``after_seq``."""
    return list(
        session.scalars(
            select(ListResult)
            .where(ListResult.tenant == tenant, ListResult.list_id == list_id, ListResult.seq > after_seq)
            .order_by(ListResult.seq)
            .limit(limit)
        )
    )


def get_result(session: Session, *, tenant: str, list_id: str, seq: int) -> ListResult | None:
    """One result row of a list."""
    return session.scalars(
        select(ListResult).where(
            ListResult.tenant == tenant, ListResult.list_id == list_id, ListResult.seq == seq
        )
    ).one_or_none()


# --- matches and decisions -------------------------------------------------------------------------


def page_matches(
    session: Session, *, tenant: str, status: str | None, after_id: str, limit: int
) -> list[Match]:
    """Up to ``limit`` of the tenant's proposed matches (optionally of one status), by id."""
    stmt = select(Match).where(Match.tenant == tenant, Match.id > after_id)
    if status is not None:
        stmt = stmt.where(Match.status == status)
    return list(session.scalars(stmt.order_by(Match.id).limit(limit)))


def get_match(session: Session, *, tenant: str, match_id: str) -> Match:
    """The tenant's match ``match_id``; NotFoundError for a missing or another tenant's match."""
    row = session.scalars(select(Match).where(Match.tenant == tenant, Match.id == match_id)).one_or_none()
    if row is None:
        msg = "No match with this id is visible to you."
        raise NotFoundError(msg)
    return row


def record_decision(
    session: Session,
    *,
    tenant: str,
    match_id: str,
    decision: str,
    reason: str,
    decided_by: str,
    now: datetime,
) -> tuple[Match, Decision]:
    """Store a confirm/reject of a match and set the match's status; returns both rows."""
    match = get_match(session, tenant=tenant, match_id=match_id)
    match.status = "confirmed" if decision == "confirm" else "rejected"
    if decision == "confirm":
        # A record is one entity: confirming one candidate rejects its other open candidates.
        session.execute(
            update(Match)
            .where(
                Match.tenant == tenant,
                Match.list_id == match.list_id,
                Match.seq == match.seq,
                Match.id != match.id,
                Match.status.in_(("match", "review")),
            )
            .values(status="rejected")
        )
    row = Decision(
        tenant=tenant,
        match_id=match.id,
        fingerprint=match.fingerprint,
        record_key=match.record_key,
        entity_id=match.entity_id,
        decision=decision,
        reason=reason,
        decided_by=decided_by,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    return match, row


def update_result(
    session: Session, *, tenant: str, list_id: str, seq: int, values: Mapping[str, Any]
) -> None:
    """Overwrite fields of one result row (after a decision)."""
    session.execute(
        update(ListResult)
        .where(ListResult.tenant == tenant, ListResult.list_id == list_id, ListResult.seq == seq)
        .values(**values)
    )


def open_candidates(session: Session, *, tenant: str, list_id: str, seq: int) -> list[Match]:
    """The remaining (not rejected) candidates of one row, most probable first."""
    return list(
        session.scalars(
            select(Match)
            .where(
                Match.tenant == tenant,
                Match.list_id == list_id,
                Match.seq == seq,
                Match.status != "rejected",
            )
            .order_by(Match.probability.desc(), Match.id)
        )
    )


@dataclass(frozen=True)
class RememberedDecision:
    """The latest decision of a tenant on one (record fingerprint, entity) pair."""

    fingerprint: str
    entity_id: str
    decision: str
    reason: str
    decided_at: datetime


def tenant_decisions(session: Session, *, tenant: str) -> list[RememberedDecision]:
    """The tenant's decisions, the latest per (fingerprint, entity) pair winning."""
    rows = session.execute(
        select(
            Decision.fingerprint, Decision.entity_id, Decision.decision, Decision.reason, Decision.decided_at
        )
        .where(Decision.tenant == tenant)
        .order_by(Decision.decided_at, Decision.id)
    ).all()
    latest: dict[tuple[str, str], RememberedDecision] = {}
    for fp, entity_id, decision, reason, at in rows:
        latest[(fp, entity_id)] = RememberedDecision(fp, entity_id, decision, reason, at)
    return list(latest.values())


# --- aggregates and audit log ---------------------------------------------------------------------

AGGREGATE_DIMENSIONS = {"country": ListResult.country, "band": ListResult.band}


def pooled_aggregates(
    session: Session, *, by: Sequence[str], min_members: int
) -> tuple[list[dict[str, Any]], int]:
    """Counts over the latest finished list of every tenant, grouped by ``by``.

    Returns the cells with at least ``min_members`` distinct tenants and the number of suppressed
    cells. Nothing tenant-identifying leaves this function.
    """
    for dim in by:
        if dim not in AGGREGATE_DIMENSIONS:
            msg = f"unknown aggregate dimension {dim!r}"
            raise InputError(msg)
    latest = (
        select(SupplierList.tenant, func.max(SupplierList.created_at).label("created_at"))
        .where(SupplierList.status == "done")
        .group_by(SupplierList.tenant)
        .subquery()
    )
    latest_lists = (
        select(SupplierList.id)
        .join(
            latest,
            (SupplierList.tenant == latest.c.tenant) & (SupplierList.created_at == latest.c.created_at),
        )
        .where(SupplierList.status == "done")
    )
    dims = [AGGREGATE_DIMENSIONS[d].label(d) for d in by]
    band_counts = [
        func.sum(case((ListResult.band == band, 1), else_=0)).label(f"band_{band}")
        for band in ("low", "medium", "high", "critical")
    ]
    stmt = (
        select(
            *dims,
            func.count(func.distinct(ListResult.tenant)).label("members"),
            func.count().label("suppliers"),
            func.avg(ListResult.score).label("mean_score"),
            *band_counts,
        )
        .where(ListResult.list_id.in_(latest_lists))
        .group_by(*dims)
        .order_by(*dims)
    )
    cells: list[dict[str, Any]] = []
    suppressed = 0
    for row in session.execute(stmt).mappings():
        if int(row["members"]) < min_members:
            suppressed += 1
            continue
        cells.append(
            {
                "key": {d: row[d] for d in by},
                "members": int(row["members"]),
                "suppliers": int(row["suppliers"]),
                "mean_score": None if row["mean_score"] is None else round(float(row["mean_score"]), 6),
                "bands": {b: int(row[f"band_{b}"] or 0) for b in ("low", "medium", "high", "critical")},
            }
        )
    return cells, suppressed


def write_audit_events(session: Session, events: Iterable[Mapping[str, Any]]) -> int:
    """Append audit-log entries (each names its tenant); returns how many were written."""
    rows = [dict(e) for e in events]
    if rows:
        session.execute(insert(AuditEvent), rows)
    return len(rows)


def audit_events(session: Session, *, tenant: str, action: str | None = None) -> list[AuditEvent]:
    """The tenant's audit log, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.tenant == tenant)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt.order_by(AuditEvent.id)))
