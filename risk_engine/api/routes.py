"""The ``/v1`` routes: thin shells that check the caller, call screening/repository code, answer."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, Response

from risk_engine.api.audit import AuditBuffer, audit_event
from risk_engine.api.auth import QUERY_CREDENTIAL_NAMES, KeyAuthenticator, Principal, check_role
from risk_engine.api.batching import ResolveBatcher
from risk_engine.api.db import as_utc, utcnow
from risk_engine.api.jobs import JobRunner
from risk_engine.api.limits import Limiter
from risk_engine.api.models import Match, SupplierList
from risk_engine.api.problems import (
    IdempotencyKeyReusedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from risk_engine.api.repository import (
    create_list,
    find_list_by_idempotency_key,
    get_list,
    get_result,
    open_candidates,
    page_matches,
    page_results,
    pooled_aggregates,
    record_decision,
    update_result,
    write_audit_events,
)
from risk_engine.api.schemas import (
    AggregatesOut,
    DecisionOut,
    DecisionRequest,
    EntityScore,
    HealthOut,
    ListOut,
    ListResultsPage,
    MatchesPage,
    MethodologyOut,
    PathsResponse,
    Problem,
    ScoreRecord,
    ScoreRequest,
    ScoreResponse,
)
from risk_engine.api.screening import RecordOutcome, formula_cells, new_id, result_detail
from risk_engine.api.snapshot import Snapshot
from risk_engine.config import Settings
from risk_engine.errors import InputError, InputSchemaError, NotFoundError, RunError

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv"})
MAX_PAGE = 250
READERS = frozenset({"member", "auditor", "analyst", "admin"})
LIST_READERS = frozenset({"member", "auditor", "admin"})
LIST_WRITERS = frozenset({"member", "admin"})
ANALYSTS = frozenset({"analyst", "admin"})


@dataclass
class ApiState:
    """Everything a request handler needs, created by the app's lifespan."""

    settings: Settings
    sessions: sessionmaker[Session]
    auth: KeyAuthenticator
    limiter: Limiter
    audit: AuditBuffer
    jobs: JobRunner
    batcher: ResolveBatcher
    snapshot: Snapshot | None = None

    def current_snapshot(self) -> Snapshot:
        """The loaded snapshot, or RunError (503) while it is still loading."""
        if self.snapshot is None:
            msg = "the snapshot is not loaded yet"
            raise RunError(msg)
        return self.snapshot


async def api_state(request: Request) -> ApiState:
    """The app's state (async: FastAPI would run a plain function in its thread pool, ~50 us a call)."""
    state: ApiState = request.app.state.api
    return state


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rk_...`")


def caller(roles: frozenset[str]) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates the key, checks its role and charges its rate limit."""

    async def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        state: ApiState = request.app.state.api
        principal = state.auth.authenticate(
            request.headers.get("authorization"), set(request.query_params.keys())
        )
        state.limiter.check(principal.key_prefix)
        return check_role(principal, roles)

    return dependency


async def json_body(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        msg = "Send the body as application/json."
        raise UnsupportedMediaTypeError(msg)


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "model": Problem,
            "content": {"application/problem+json": {}},
            "description": "Problem",
        }
    return out


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _declared_query_names(dependant: Any) -> frozenset[str]:
    names = {getattr(p, "alias", None) or p.name for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query_names(sub)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """422 for query parameters the route does not declare (nothing is silently ignored).

    Credential-looking names are left to authentication, which refuses them with 401.
    """
    if not request.query_params:
        return
    route = request.scope.get("route")
    if route is None:
        return
    allowed = _QUERY_NAMES.get(id(route))
    if allowed is None:
        allowed = _QUERY_NAMES[id(route)] = _declared_query_names(route.dependant) | QUERY_CREDENTIAL_NAMES
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if unknown:
        shown = ", ".join(repr(u[:40]) for u in unknown[:5])
        msg = f"Unknown query parameter(s) {shown}; this route accepts: {', '.join(sorted(allowed - QUERY_CREDENTIAL_NAMES)) or 'none'}."
        raise InputError(msg)


_AUTH = (401, 403, 429, 503)
router = APIRouter(dependencies=[Depends(known_query_only)])

ReaderDep = Annotated[Principal, Depends(caller(READERS))]
ListReaderDep = Annotated[Principal, Depends(caller(LIST_READERS))]
ListWriterDep = Annotated[Principal, Depends(caller(LIST_WRITERS))]
AnalystDep = Annotated[Principal, Depends(caller(ANALYSTS))]
StateDep = Annotated[ApiState, Depends(api_state)]
EntityId = Annotated[str, Path(min_length=1, max_length=256)]
ObjectId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]


# --- scoring -------------------------------------------------------------------------------------


def _normalise_record(rec: ScoreRecord) -> dict[str, Any]:
    from risk_engine.reference.countries import to_iso2
    from risk_engine.reference.hs import clean_hs

    def country(value: str, where: str) -> str:
        code = to_iso2(value)
        if code is None:
            msg = f"{where}: unknown country {value[:64]!r}"
            raise InputSchemaError(msg, column="country")
        return code

    def hs_codes(values: list[str]) -> list[str]:
        return [code for code in (clean_hs(v) for v in values) if code]

    record: dict[str, Any] = {
        "id": rec.key,
        "name": rec.name,
        "country": country(rec.country, f"record {rec.key[:64]!r}"),
        "address": rec.address,
        "hs_codes": hs_codes(rec.hs_codes),
        "audit_findings": [f.model_dump() for f in rec.audit_findings],
        "upstream_suppliers": [
            {
                **u.model_dump(exclude={"identifiers", "country", "hs_codes"}),
                "country": country(u.country, f"record {rec.key[:64]!r} upstream {u.name[:64]!r}"),
                "hs_codes": hs_codes(u.hs_codes),
                **(u.identifiers.model_dump() if u.identifiers else {}),
            }
            for u in rec.upstream_suppliers
        ],
    }
    if rec.identifiers is not None:
        record.update(rec.identifiers.model_dump())
    return record


def _score_results(
    snapshot: Snapshot, records: list[ScoreRecord], outcomes: list[RecordOutcome]
) -> list[dict[str, Any]]:
    out = []
    for rec, outcome in zip(records, outcomes, strict=True):
        matches = []
        for c in outcome.candidates:
            entity = snapshot.entity(c.entity_id) or {}
            matches.append(
                {
                    "entity_id": c.entity_id,
                    "name": entity.get("name"),
                    "country": entity.get("country"),
                    "probability": c.probability,
                    "decision": c.decision,
                }
            )
        out.append(
            {
                "key": rec.key,
                "matches": matches,
                "scored_from": outcome.scored_from,
                "result": outcome.result,
                "note": outcome.note,
            }
        )
    return out


@router.post(
    "/v1/score",
    response_model=ScoreResponse,
    responses=_problems(400, *_AUTH, 413, 415, 422),
    summary="Resolve and score up to 100 supplier records",
    tags=["scoring"],
)
async def score(
    body: ScoreRequest,
    principal: ReaderDep,
    state: StateDep,
    _json: Annotated[None, Depends(json_body)],
) -> Any:
    """Resolve and score each record.

    For each record: the matched snapshot entities with probability, and the score of the best match
    (or, unmatched, a score from what the record carries).
    """
    snapshot = state.current_snapshot()
    outcomes = await state.batcher.resolve([_normalise_record(rec) for rec in body.records])
    results = _score_results(snapshot, body.records, outcomes)
    scored = [r["result"]["entity_id"] or r["key"] for r in results if r["result"] is not None]
    state.audit.record(principal, "score.read", "records=" + ",".join(s for s in scored if s))
    return {"snapshot_id": snapshot.info.snapshot_id, "results": results}


@router.get(
    "/v1/entities/{entity_id}",
    response_model=EntityScore,
    responses=_problems(*_AUTH, 404, 422),
    tags=["scoring"],
)
async def get_entity(entity_id: EntityId, principal: ReaderDep, state: StateDep) -> Any:
    """One entity's score, band, interval, coverage, flags, top paths and indicators, with versions."""
    view = state.current_snapshot().entity(entity_id)
    if view is None:
        raise NotFoundError("No entity with this id in the snapshot.")
    state.audit.record(principal, "entity.read", entity_id)
    return view


@router.get(
    "/v1/entities/{entity_id}/paths",
    response_model=PathsResponse,
    responses=_problems(*_AUTH, 404, 422),
    tags=["scoring"],
)
async def get_entity_paths(entity_id: EntityId, principal: ReaderDep, state: StateDep) -> Any:
    """The upstream paths that carry the entity's risk, with their edges' evidence, and its flags."""
    paths = state.current_snapshot().paths(entity_id)
    if paths is None:
        raise NotFoundError("No entity with this id in the snapshot.")
    state.audit.record(principal, "paths.read", entity_id)
    return paths


# --- lists ---------------------------------------------------------------------------------------


def _list_out(row: SupplierList) -> dict[str, Any]:
    created = as_utc(row.created_at)
    return {
        "id": row.id,
        "filename": row.filename,
        "status": row.status,
        "created_at": created,
        "finished_at": as_utc(row.finished_at),
        "snapshot_id": row.snapshot_id,
        "rows_read": row.rows_read,
        "rows_rejected": row.rows_rejected,
        "rows_matched": row.rows_matched,
        "rows_review": row.rows_review,
        "rejects": list(row.rejects or [])[:100],
        "error": row.error,
        "results_url": f"/v1/lists/{row.id}/results",
    }


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            },
        },
    }
}


async def _upload_bytes(request: Request, max_bytes: int) -> tuple[bytes, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in CSV_MEDIA_TYPES:
        return await request.body(), "upload.csv"
    if media_type == XLSX_MEDIA_TYPE:
        return await request.body(), "upload.xlsx"
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=1, max_part_size=max_bytes)
        try:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                msg = "The multipart body needs one file part named 'file'."
                raise InputError(msg)
            data = await upload.read()
            name = (upload.filename or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] or "upload"
            return data, name
        finally:
            await form.close()
    msg = f"Upload a supplier list as text/csv, {XLSX_MEDIA_TYPE} or multipart/form-data (field 'file')."
    raise UnsupportedMediaTypeError(msg)


def _rejects_json(rejects: Any) -> list[dict[str, Any]]:
    rows = []
    for r in rejects.head(100).iter_rows(named=True):
        value = r.get("value")
        rows.append(
            {
                "row": r.get("row"),
                "column": r.get("column"),
                "value": None if value is None else str(value)[:200],
                "reason": str(r.get("reason") or "")[:500],
                "severity": str(r.get("severity") or "error"),
            }
        )
    return rows


@router.post(
    "/v1/lists",
    status_code=202,
    response_model=ListOut,
    responses={
        202: {"headers": {"Location": {"schema": {"type": "string"}, "description": "the list's URL"}}},
        **_problems(400, *_AUTH, 413, 415, 422),
    },
    openapi_extra=_UPLOAD_BODY,
    tags=["lists"],
)
async def upload_list(
    request: Request,
    principal: ListWriterDep,
    state: StateDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Any:
    """Upload a supplier list (CSV or XLSX); it is checked now and screened in the background."""
    from risk_engine.io.readers import read_upload

    snapshot = state.current_snapshot()
    data, filename = await _upload_bytes(request, state.settings.max_upload_bytes)
    if len(data) > state.settings.max_upload_bytes:
        raise PayloadTooLargeError(f"The upload is larger than {state.settings.max_upload_bytes} bytes.")
    digest = hashlib.sha256(data).hexdigest()
    if idempotency_key is not None:
        existing = await run_in_threadpool(_find_idempotent, state, principal.tenant, idempotency_key, digest)
        if existing is not None:
            return _accepted(existing)
    state.jobs.check_capacity(principal.tenant)
    # The file is read and checked before anything is stored: a bad upload leaves no trace.
    result = await run_in_threadpool(
        read_upload, data, filename, "suppliers", max_bytes=state.settings.max_upload_bytes
    )
    if result.frame.height == 0:
        msg = f"{filename}: no usable supplier rows ({result.rejected_rows} rejected)"
        raise InputSchemaError(msg, path=filename)
    rows = result.frame.to_dicts()
    text_columns = [c for c, t in result.frame.schema.items() if t == pl.String]
    payloads = formula_cells(rows, text_columns)
    if payloads:
        row_no, column, value = payloads[0]
        msg = (
            f"{len(payloads)} cell(s) start like a spreadsheet formula (=, +, -, @); remove them and "
            "upload again (they would run when the list is opened in a spreadsheet)"
        )
        raise InputSchemaError(msg, path=filename, row=row_no, column=column, value=value[:40])
    list_id = new_id("lst")
    try:
        row = await run_in_threadpool(
            _store_new_list, state, principal, list_id, filename, digest, idempotency_key, snapshot, result
        )
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        assert idempotency_key is not None
        existing = await run_in_threadpool(_find_idempotent, state, principal.tenant, idempotency_key, digest)
        if existing is None:
            raise
        return _accepted(existing)
    state.jobs.submit(tenant=principal.tenant, list_id=list_id, rows=rows)
    return _accepted(row)


def _accepted(row: SupplierList) -> Response:
    body = ListOut.model_validate(_list_out(row)).model_dump_json().encode()
    return Response(
        body, status_code=202, media_type="application/json", headers={"Location": f"/v1/lists/{row.id}"}
    )


def _find_idempotent(state: ApiState, tenant: str, key: str, digest: str) -> SupplierList | None:
    with state.sessions() as session:
        existing = find_list_by_idempotency_key(session, tenant=tenant, key=key)
    if existing is not None and existing.content_sha256 != digest:
        msg = "This Idempotency-Key was already used with a different file."
        raise IdempotencyKeyReusedError(msg)
    return existing


def _store_new_list(
    state: ApiState,
    principal: Principal,
    list_id: str,
    filename: str,
    digest: str,
    idempotency_key: str | None,
    snapshot: Snapshot,
    result: Any,
) -> SupplierList:
    with state.sessions.begin() as session:
        row = create_list(
            session,
            tenant=principal.tenant,
            list_id=list_id,
            filename=filename,
            content_sha256=digest,
            idempotency_key=idempotency_key,
            created_by=principal.key_prefix,
            snapshot_id=snapshot.info.snapshot_id,
            rows_read=result.rows_read,
            rows_rejected=result.rejected_rows,
            rejects=_rejects_json(result.rejects),
            now=utcnow(),
        )
        write_audit_events(session, [audit_event(principal, "list.create", list_id)])
    return row


@router.get(
    "/v1/lists/{list_id}",
    response_model=ListOut,
    responses=_problems(*_AUTH, 404, 422),
    tags=["lists"],
)
def get_supplier_list(list_id: ObjectId, principal: ListReaderDep, state: StateDep) -> Any:
    """The state of one of the caller's lists."""
    with state.sessions() as session:
        row = get_list(session, tenant=principal.tenant, list_id=list_id)
    return _list_out(row)


def _decode_cursor(cursor: str | None, kind: str) -> str:
    if cursor is None:
        return ""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, _, value = raw.partition(":")
    if prefix != kind or not value:
        msg = "The cursor is not one this endpoint issued."
        raise InputError(msg)
    return value


def _encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


@router.get(
    "/v1/lists/{list_id}/results",
    response_model=ListResultsPage,
    responses=_problems(*_AUTH, 404, 422),
    tags=["lists"],
)
def get_list_results(
    list_id: ObjectId,
    principal: ListReaderDep,
    state: StateDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Any:
    """The screening results of a list, in row order, one page at a time."""
    raw = _decode_cursor(cursor, "r")
    if raw and not raw.isdigit():
        raise InputError("The cursor is not one this endpoint issued.")
    after = int(raw) if raw else 0
    with state.sessions() as session:
        get_list(session, tenant=principal.tenant, list_id=list_id)
        rows = page_results(
            session, tenant=principal.tenant, list_id=list_id, after_seq=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "row": r.row,
            "key": r.record_key,
            "name": r.name,
            "country": r.country,
            "entity_id": r.entity_id,
            "probability": r.probability,
            "match_status": r.match_status,
            "scored_from": r.scored_from,
            "score": r.score,
            "band": r.band,
            "detail": r.detail or {},
        }
        for r in rows
    ]
    state.audit.record(principal, "list_results.read", f"list={list_id} after={after} n={len(items)}")
    return {"items": items, "next_cursor": _encode_cursor("r", str(rows[-1].seq)) if more and rows else None}


# --- matches and decisions -------------------------------------------------------------------------


def _match_out(m: Match) -> dict[str, Any]:
    return {
        "id": m.id,
        "list_id": m.list_id,
        "row_key": m.record_key,
        "record_name": m.record_name,
        "record_country": m.record_country,
        "entity_id": m.entity_id,
        "entity_name": m.entity_name,
        "entity_country": m.entity_country,
        "probability": m.probability,
        "status": m.status,
        "created_at": as_utc(m.created_at),
    }


@router.get("/v1/matches", response_model=MatchesPage, responses=_problems(*_AUTH, 422), tags=["matches"])
def list_matches(
    principal: ListReaderDep,
    state: StateDep,
    status: Annotated[Literal["review", "match", "confirmed", "rejected"] | None, Query()] = "review",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Any:
    """The caller's proposed matches; by default the review queue."""
    after = _decode_cursor(cursor, "m")
    with state.sessions() as session:
        rows = page_matches(session, tenant=principal.tenant, status=status, after_id=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_match_out(m) for m in rows],
        "next_cursor": _encode_cursor("m", rows[-1].id) if more and rows else None,
    }


@router.post(
    "/v1/matches/{match_id}/decision",
    response_model=DecisionOut,
    responses=_problems(400, *_AUTH, 404, 413, 415, 422),
    tags=["matches"],
)
def decide_match(
    match_id: ObjectId,
    body: DecisionRequest,
    principal: ListWriterDep,
    state: StateDep,
    _json: Annotated[None, Depends(json_body)],
) -> Any:
    """Confirm or reject a proposed match, with a reason; the decision is remembered for later uploads."""
    snapshot = state.current_snapshot()
    with state.sessions.begin() as session:
        match, decision = record_decision(
            session,
            tenant=principal.tenant,
            match_id=match_id,
            decision=body.decision,
            reason=body.reason,
            decided_by=principal.key_prefix,
            now=utcnow(),
        )
        _refresh_result(session, snapshot, principal.tenant, match)
        write_audit_events(
            session,
            [
                audit_event(
                    principal,
                    "decision.create",
                    f"match={match.id} entity={match.entity_id} decision={body.decision}",
                )
            ],
        )
        out = {
            "match": _match_out(match),
            "decision": decision.decision,
            "reason": decision.reason,
            "decided_by": decision.decided_by,
            "decided_at": as_utc(decision.decided_at),
        }
    return out


def _refresh_result(session: Session, snapshot: Snapshot, tenant: str, match: Match) -> None:
    """Re-derive the list result of the decided row from its remaining candidates."""
    result = get_result(session, tenant=tenant, list_id=match.list_id, seq=match.seq)
    if result is None:
        return
    remaining = open_candidates(session, tenant=tenant, list_id=match.list_id, seq=match.seq)
    chosen = next((m for m in remaining if m.status == "confirmed"), remaining[0] if remaining else None)
    values: dict[str, Any]
    if chosen is not None and (view := snapshot.entity(chosen.entity_id)) is not None:
        status = chosen.status if chosen.status in ("confirmed", "match", "review") else "review"
        values = {"entity_id": chosen.entity_id, "probability": chosen.probability, "match_status": status}
    else:
        view = snapshot.score_unmatched(
            [{"name": result.name, "country": result.country, "id": result.record_key}]
        )[0]
        values = {"entity_id": None, "probability": None, "match_status": "none"}

    outcome = RecordOutcome([], {}, None, values["match_status"], "none", view, None)
    values.update(
        scored_from="none" if view is None else ("matched_entity" if values["entity_id"] else "record"),
        score=(view or {}).get("score"),
        band=(view or {}).get("band"),
        detail=result_detail(outcome),
    )
    update_result(session, tenant=tenant, list_id=match.list_id, seq=match.seq, values=values)


# --- aggregates, methodology, health -------------------------------------------------------------


@router.get(
    "/v1/aggregates", response_model=AggregatesOut, responses=_problems(*_AUTH, 422), tags=["aggregates"]
)
def get_aggregates(
    principal: AnalystDep,
    state: StateDep,
    by: Annotated[list[Literal["country", "band"]] | None, Query(max_length=2)] = None,
) -> Any:
    """Pooled results across members (each member's latest list), only in cells of at least k members."""
    dims = list(dict.fromkeys(by or ["country"]))
    k = state.settings.aggregate_min_members
    with state.sessions() as session:
        cells, suppressed = pooled_aggregates(session, by=dims, min_members=k)
    state.audit.record(principal, "aggregates.read", "by=" + ",".join(dims))
    return {"by": dims, "k": k, "cells": cells, "suppressed_cells": suppressed}


@router.get("/v1/methodology", response_model=MethodologyOut, responses=_problems(503), tags=["meta"])
def get_methodology(state: StateDep) -> Any:
    """The methodology, its parameters and the data versions behind every score (public)."""
    snapshot = state.current_snapshot()
    doc = snapshot.methodology()
    versions = dict(doc.get("versions") or {})
    return {
        "name": str(doc.get("name") or snapshot.info.methodology),
        "snapshot_id": snapshot.info.snapshot_id,
        "versions": versions,
        "document": {k: v for k, v in doc.items() if k not in ("versions",)},
    }


@router.get("/healthz", response_model=HealthOut, tags=["meta"])
async def healthz() -> Any:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": HealthOut}}, tags=["meta"])
def readyz(state: StateDep) -> Any:
    """Readiness: the snapshot is loaded and the database answers."""
    database = "ok"
    try:
        with state.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        database = "unavailable"
    snapshot = state.snapshot
    ready = snapshot is not None and database == "ok"
    body: Mapping[str, Any] = {
        "status": "ready" if ready else "not ready",
        "snapshot_id": snapshot.info.snapshot_id if snapshot else None,
        "entities": snapshot.info.entities if snapshot else None,
        "database": database,
    }
    return JSONResponse(dict(body), status_code=200 if ready else 503)
