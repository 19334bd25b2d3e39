"""SQLAlchemy tables of the API. Every tenant-owned row carries its ``tenant`` column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the API tables."""


class ApiKey(Base):
    """An API key: only a salted hash of its secret is stored; the prefix is the visible handle."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    salt: Mapped[str] = mapped_column(String(64), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SupplierList(Base):
    """One uploaded supplier list and the state of its background screening."""

    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("tenant", "idempotency_key", name="uq_lists_tenant_idempotency"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snapshot_id: Mapped[str | None] = mapped_column(String(80))
    rows_read: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_matched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_review: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejects: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class ListResult(Base):
    """The screening result of one row of an uploaded list."""

    __tablename__ = "list_results"
    __table_args__ = (
        UniqueConstraint("list_id", "seq", name="uq_list_results_seq"),
        Index("ix_list_results_tenant_list", "tenant", "list_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    list_id: Mapped[str] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    row: Mapped[int] = mapped_column(Integer, nullable=False)
    record_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(600), nullable=False)
    name: Mapped[str] = mapped_column(String(1000), nullable=False)
    country: Mapped[str | None] = mapped_column(String(8))
    entity_id: Mapped[str | None] = mapped_column(String(255))
    probability: Mapped[float | None] = mapped_column(Float)
    match_status: Mapped[str] = mapped_column(String(16), nullable=False)
    scored_from: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)


class Match(Base):
    """A proposed link between an uploaded row and a snapshot entity that a member may review."""

    __tablename__ = "matches"
    __table_args__ = (Index("ix_matches_tenant_status", "tenant", "status", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    list_id: Mapped[str] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    record_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(600), nullable=False)
    record_name: Mapped[str] = mapped_column(String(1000), nullable=False)
    record_country: Mapped[str | None] = mapped_column(String(8))
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    entity_name: Mapped[str | None] = mapped_column(String(1000))
    entity_country: Mapped[str | None] = mapped_column(String(8))
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Decision(Base):
    """A member's confirm/reject of a (record fingerprint, entity) pair, re-applied on later uploads."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_tenant_fp", "tenant", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    match_id: Mapped[str] = mapped_column(String(40), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(600), nullable=False)
    record_key: Mapped[str] = mapped_column(String(255), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    decision: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_by: Mapped[str] = mapped_column(String(16), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditEvent(Base):
    """One entry of the audit log: who read which scores, who decided what, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str] = mapped_column(String(16), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    target: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
