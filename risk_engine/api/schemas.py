"""Request and response models of the API. Requests forbid unknown fields (no mass assignment)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Band = Literal["low", "medium", "high", "critical"]
Role = Literal["member", "analyst", "auditor", "admin"]
MatchStatus = Literal["match", "review", "confirmed", "rejected"]
ListStatus = Literal["queued", "running", "done", "failed"]

ShortText = Annotated[str, Field(min_length=1, max_length=512)]
Key = Annotated[str, Field(min_length=1, max_length=128)]
HsCode = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[0-9][0-9. ]{1,15}$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identifiers(_Request):
    """Strong identifiers of a supplier; any of them may be given."""

    lei: Annotated[str, Field(min_length=20, max_length=20, pattern=r"^[0-9A-Za-z]{20}$")] | None = None
    duns: Annotated[str, Field(min_length=9, max_length=13, pattern=r"^[0-9-]{9,13}$")] | None = None
    os_id: Annotated[str, Field(min_length=3, max_length=32)] | None = None
    tax_id: Annotated[str, Field(min_length=3, max_length=64)] | None = None


class AuditFindingIn(_Request):
    """One audit finding carried inline with a record (see the audits input contract)."""

    finding_id: Annotated[str, Field(max_length=128)] | None = None
    audit_date: date
    scheme: Annotated[str, Field(max_length=64)] | None = None
    ilo_indicator: Annotated[int, Field(ge=1, le=11)] | None = None
    clause: Annotated[str, Field(max_length=128)] | None = None
    grade: Annotated[str, Field(max_length=32)] | None = None
    status: Annotated[str, Field(max_length=32)] | None = None
    status_date: date | None = None
    workers_affected: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    source: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def _indicator_or_clause(self) -> AuditFindingIn:
        if self.ilo_indicator is None and not self.clause:
            msg = "a finding needs ilo_indicator (1-11) or clause"
            raise ValueError(msg)
        return self


class UpstreamSupplierIn(_Request):
    """A declared supplier of the record (tier n+1), with the share of inputs it provides."""

    name: ShortText
    country: Annotated[str, Field(min_length=2, max_length=64)]
    address: Annotated[str, Field(max_length=1024)] | None = None
    identifiers: Identifiers | None = None
    hs_codes: Annotated[list[HsCode], Field(max_length=20)] = []
    share: Annotated[float, Field(gt=0.0, le=1.0)] | None = None


class ScoreRecord(_Request):
    """One supplier to resolve and score."""

    key: Key
    name: ShortText
    country: Annotated[str, Field(min_length=2, max_length=64)]
    address: Annotated[str, Field(max_length=1024)] | None = None
    identifiers: Identifiers | None = None
    hs_codes: Annotated[list[HsCode], Field(max_length=50)] = []
    audit_findings: Annotated[list[AuditFindingIn], Field(max_length=200)] = []
    upstream_suppliers: Annotated[list[UpstreamSupplierIn], Field(max_length=50)] = []


class ScoreRequest(_Request):
    """Up to 100 keyed records."""

    records: Annotated[list[ScoreRecord], Field(min_length=1, max_length=100)]

    @field_validator("records")
    @classmethod
    def _unique_keys(cls, records: list[ScoreRecord]) -> list[ScoreRecord]:
        seen: set[str] = set()
        for record in records:
            if record.key in seen:
                msg = f"duplicate record key {record.key[:128]!r}"
                raise ValueError(msg)
            seen.add(record.key)
        return records


class DecisionRequest(_Request):
    """A member's verdict on a proposed match."""

    decision: Literal["confirm", "reject"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class MatchCandidate(_Response):
    """A snapshot entity a record may be."""

    entity_id: str
    name: str | None
    country: str | None
    probability: float
    decision: Literal["match", "review"]


class EntityScore(_Response):
    """The fl-v1 score of one entity and what drives it."""

    entity_id: str | None
    name: str | None
    country: str | None
    tier: int | None = None
    score: float | None
    band: Band | None
    interval: list[float] | None
    coverage: float | None
    low_coverage: bool | None
    flags: list[dict[str, Any]]
    top_paths: list[dict[str, Any]]
    top_indicators: list[dict[str, Any]]
    methodology: str | None
    versions: dict[str, Any]


class ScoreResult(_Response):
    """The answer for one record."""

    key: str
    matches: list[MatchCandidate]
    scored_from: Literal["matched_entity", "matched_entity_and_record", "record", "none"] = Field(
        description=(
            "matched_entity: the snapshot's score of the matched entity; matched_entity_and_record: that score "
            "recomputed with the record's own audit findings and declared suppliers (request-scoped); "
            "record: no match, scored from what the record carries; none: nothing to score"
        )
    )
    result: EntityScore | None
    note: str | None = None


class ScoreResponse(_Response):
    """Answers in the order of the request."""

    snapshot_id: str
    results: list[ScoreResult]


class PathsResponse(_Response):
    """The upstream paths that carry an entity's risk, with the edges' evidence."""

    entity_id: str
    top_paths: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    versions: dict[str, Any]


class RejectedRow(_Response):
    """A row of an upload that could not be used."""

    row: int | None
    column: str | None
    value: str | None
    reason: str
    severity: str


class ListOut(_Response):
    """An uploaded supplier list and its screening state."""

    id: str
    filename: str
    status: ListStatus
    created_at: datetime
    finished_at: datetime | None
    snapshot_id: str | None
    rows_read: int
    rows_rejected: int
    rows_matched: int
    rows_review: int
    rejects: list[RejectedRow]
    error: str | None
    results_url: str


class ListResultOut(_Response):
    """The screening result of one row of a list."""

    row: int
    key: str
    name: str
    country: str | None
    entity_id: str | None
    probability: float | None
    match_status: Literal["match", "review", "confirmed", "rejected", "none"]
    scored_from: Literal["matched_entity", "record", "none"]
    score: float | None
    band: Band | None
    detail: dict[str, Any]


class ListResultsPage(_Response):
    """One page of results; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[ListResultOut]
    next_cursor: str | None


class MatchOut(_Response):
    """A proposed link between an uploaded row and a snapshot entity."""

    id: str
    list_id: str
    row_key: str
    record_name: str
    record_country: str | None
    entity_id: str
    entity_name: str | None
    entity_country: str | None
    probability: float
    status: MatchStatus
    created_at: datetime


class MatchesPage(_Response):
    """One page of the review queue."""

    items: list[MatchOut]
    next_cursor: str | None


class DecisionOut(_Response):
    """A recorded decision; it is re-applied to every later upload of the tenant."""

    match: MatchOut
    decision: Literal["confirm", "reject"]
    reason: str
    decided_by: str
    decided_at: datetime


class AggregateCell(_Response):
    """One cell of a pooled view: counts over at least ``k`` distinct members."""

    key: dict[str, str | None]
    members: int
    suppliers: int
    mean_score: float | None
    bands: dict[str, int]


class AggregatesOut(_Response):
    """A pooled view across members; cells with fewer than ``k`` members are suppressed."""

    by: list[str]
    k: int
    cells: list[AggregateCell]
    suppressed_cells: int


class MethodologyOut(_Response):
    """The methodology in force (from the same registry as ``risk-engine describe``) and the versions."""

    name: str
    snapshot_id: str
    versions: dict[str, Any]
    document: dict[str, Any]


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


class HealthOut(_Response):
    """Liveness or readiness."""

    status: Literal["ok", "ready", "not ready"]
    snapshot_id: str | None = None
    entities: int | None = None
    database: str | None = None
