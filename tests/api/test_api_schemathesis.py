"""Property-based tests of every operation against the app's own OpenAPI schema (in-process ASGI).

The schema is the committed ``openapi.json`` (``test_api_openapi`` proves it is the app's own).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from api_testkit import make_snapshot
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from risk_engine.api.app import create_app
from risk_engine.api.db import make_engine, migrate, session_factory, utcnow
from risk_engine.api.repository import create_api_key
from risk_engine.config import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis.specs.openapi.checks import positive_data_acceptance

ROOT = Path(__file__).resolve().parents[2]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Generated XLSX bodies are sent as the raw bytes Hypothesis produced (the binary serializer).
schemathesis.serializer.alias(XLSX, "application/octet-stream")
schema = schemathesis.openapi.from_path(str(ROOT / "openapi.json"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, str]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    config = Settings(data_dir=data_dir, rate_limit_per_minute=10_000_000, aggregate_min_members=1)
    engine = make_engine(config)
    migrate(engine)
    with session_factory(engine).begin() as session:
        key, _ = create_api_key(
            session, tenant="fuzz", role="admin", name="schemathesis", expires_at=None, now=utcnow()
        )
    engine.dispose()
    return create_app(config, snapshot=make_snapshot()), key


# Operations whose inputs carry meaning a JSON schema cannot state: a file's content, a country
# name that must exist, a cursor this server issued. For them a schema-valid request may rightly get
# 422, so the "valid data is accepted" check does not apply; every other check still does.
SEMANTIC_422 = {
    ("POST", "/v1/lists"),
    ("POST", "/v1/score"),
    ("GET", "/v1/lists/{list_id}/results"),
    ("GET", "/v1/matches"),
    # A reason of only whitespace ("\u0085") is schema-valid (minLength 1) but stripped, then refused.
    ("POST", "/v1/matches/{match_id}/decision"),
}


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case, fuzz_app: tuple[FastAPI, str]) -> None:
    app, key = fuzz_app
    case.operation.app = app
    case.operation.schema.app = app  # also for the probes that checks send (e.g. ignored_auth)
    excluded = [positive_data_acceptance] if (case.method.upper(), case.path) in SEMANTIC_422 else []
    case.call_and_validate(
        base_url="http://localhost", headers={"Authorization": f"Bearer {key}"}, excluded_checks=excluded
    )


@pytest.mark.slow
def test_stateful_sequences(fuzz_app: tuple[FastAPI, str]) -> None:
    """Sequences along the links Schemathesis infers (upload -> list -> results, matches -> decision)."""
    from hypothesis import stateful

    app, key = fuzz_app
    stateful_schema = schemathesis.openapi.from_path(str(ROOT / "openapi.json"))
    stateful_schema.app = app
    machine = stateful_schema.as_state_machine()

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": "http://localhost", "headers": {"Authorization": f"Bearer {key}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):  # type: ignore[no-untyped-def]
            excluded = [positive_data_acceptance] if (case.method.upper(), case.path) in SEMANTIC_422 else []
            case.validate_response(response, excluded_checks=excluded)

    stateful.run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
