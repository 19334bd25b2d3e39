"""RFC 9457 problem documents, and the one table that maps the engine's errors to HTTP statuses.

Every error path of the API answers ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; headers the status needs (``Allow``, ``WWW-Authenticate``,
``Retry-After``) are kept. A 500 never reveals internals: the detail is generic and the exception
is logged server-side.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from risk_engine.errors import (
    InputError,
    InputSchemaError,
    MethodologyError,
    ModelArtifactError,
    NotFoundError,
    PermissionDeniedError,
    ReferenceDataError,
    RiskEngineError,
    RunError,
    UnreadableFileError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:risk-engine:problem:"

log = logging.getLogger("risk_engine.api")


class ApiError(RiskEngineError):
    """An error that only exists at the HTTP edge (auth, limits, content negotiation)."""

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        self.detail = detail
        self.headers = dict(headers or {})
        super().__init__(detail)


class AuthenticationError(ApiError):
    """No usable credentials: missing, malformed, unknown, expired or revoked key."""

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        challenge = 'Bearer realm="risk-engine"'
        if invalid_token:
            challenge += ', error="invalid_token"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class PayloadTooLargeError(ApiError):
    """The request body is larger than the limit of its route."""


class UnsupportedMediaTypeError(ApiError):
    """The request body's Content-Type is not one the route accepts."""


class MalformedRequestError(ApiError):
    """The request cannot be parsed at all (e.g. malformed JSON)."""


class IdempotencyKeyReusedError(ApiError):
    """An Idempotency-Key was sent again with a different request body."""


class RateLimitedError(ApiError):
    """The key has used up its request budget; retry after the given number of seconds."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


class ServiceBusyError(ApiError):
    """The server cannot take the work now (request timeout, job queue full)."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


@dataclass(frozen=True)
class ProblemType:
    """How one class of error is presented over HTTP."""

    error: type[BaseException]
    status: int
    slug: str
    title: str
    expose_detail: bool = True


# THE table: the first row whose class matches (most specific first) decides the status.
PROBLEM_TYPES: tuple[ProblemType, ...] = (
    ProblemType(AuthenticationError, 401, "unauthenticated", "Authentication required"),
    ProblemType(PermissionDeniedError, 403, "forbidden", "Operation not allowed for this role"),
    ProblemType(NotFoundError, 404, "not-found", "Not found"),
    ProblemType(PayloadTooLargeError, 413, "payload-too-large", "Request body too large"),
    ProblemType(UnsupportedMediaTypeError, 415, "unsupported-media-type", "Unsupported media type"),
    ProblemType(MalformedRequestError, 400, "malformed-request", "Malformed request"),
    ProblemType(IdempotencyKeyReusedError, 422, "idempotency-key-reused", "Idempotency key reused"),
    ProblemType(RateLimitedError, 429, "rate-limited", "Too many requests"),
    ProblemType(ServiceBusyError, 503, "busy", "Service busy"),
    ProblemType(UnreadableFileError, 422, "unreadable-file", "Unreadable file"),
    ProblemType(InputSchemaError, 422, "input-schema", "Input does not fit the contract"),
    ProblemType(InputError, 422, "invalid-input", "Invalid input"),
    ProblemType(RunError, 503, "run-error", "Screening could not run", expose_detail=False),
    ProblemType(ReferenceDataError, 500, "reference-data", "Reference data problem", expose_detail=False),
    ProblemType(ModelArtifactError, 500, "model-artifact", "Model artefact problem", expose_detail=False),
    ProblemType(MethodologyError, 500, "methodology", "Methodology problem", expose_detail=False),
    ProblemType(RiskEngineError, 500, "internal", "Internal error", expose_detail=False),
)

_GENERIC_DETAIL = "The server could not complete the request; the error has been logged."


def problem_type_for(exc: BaseException) -> ProblemType:
    """The row of ``PROBLEM_TYPES`` that applies to ``exc``."""
    for row in PROBLEM_TYPES:
        if isinstance(exc, row.error):
            return row
    return PROBLEM_TYPES[-1]


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A ``application/problem+json`` response."""
    body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    if extra:
        body.update(extra)
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def error_response(exc: BaseException) -> Response:
    """The problem response for an engine or edge error."""
    row = problem_type_for(exc)
    if not row.expose_detail:
        log.error("request failed", exc_info=exc)
    detail = (getattr(exc, "detail", None) or str(exc)) if row.expose_detail else _GENERIC_DETAIL
    headers = getattr(exc, "headers", None) if isinstance(exc, ApiError) else None
    extra: dict[str, Any] = {}
    if isinstance(exc, InputSchemaError):
        extra = {k: v for k, v in (("row", exc.row), ("column", exc.column)) if v is not None}
    return problem_response(
        row.status, slug=row.slug, title=row.title, detail=detail[:2000], headers=headers, extra=extra
    )


_HTTP_SLUGS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


def _http_exception_response(exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if status == 404 and detail == phrase:
        detail = "No resource at this path."
    return problem_response(
        status,
        slug=_HTTP_SLUGS.get(status, f"http-{status}"),
        title=phrase,
        detail=detail,
        headers=exc.headers,
    )


def _validation_response(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            400, slug="malformed-request", title="Malformed request", detail="The body is not valid JSON."
        )
    # Report where and why, never echo the offending input back (it may be huge or hostile).
    listed = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors[:50]
    ]
    first = listed[0] if listed else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
    return problem_response(
        422,
        slug="validation-error",
        title="Request validation failed",
        detail=detail[:2000],
        extra={"errors": listed, "error_count": len(errors)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error path of ``app`` answer with a problem document."""

    async def on_engine_error(_request: Request, exc: Exception) -> Response:
        return error_response(exc)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _http_exception_response(exc)

    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation_response(exc)

    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return problem_response(500, slug="internal", title="Internal error", detail=_GENERIC_DETAIL)

    app.add_exception_handler(RiskEngineError, on_engine_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
