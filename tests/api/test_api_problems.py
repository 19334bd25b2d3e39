"""Every error path answers an RFC 9457 problem document with the headers its status needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_testkit import Api

from risk_engine.api.problems import PROBLEM_TYPES, problem_type_for
from risk_engine.errors import (
    InputSchemaError,
    NotFoundError,
    PermissionDeniedError,
    RiskEngineError,
    RunError,
    UnreadableFileError,
)

PROBLEM = "application/problem+json"
ONE = {"records": [{"key": "a", "name": "Dhaka Garments Ltd", "country": "BD"}]}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP-edge behaviour does not depend on the database: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'api.sqlite3'}"


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:risk-engine:problem:")
    assert body["title"] and body["detail"]
    return body


def test_problem_table_maps_domain_errors_most_specific_first() -> None:
    assert problem_type_for(UnreadableFileError("f.csv", "zip bomb")).status == 422
    assert problem_type_for(InputSchemaError("bad")).status == 422
    assert problem_type_for(NotFoundError("x")).status == 404
    assert problem_type_for(PermissionDeniedError("x")).status == 403
    assert problem_type_for(RunError("x")).status == 503
    assert problem_type_for(RiskEngineError("x")).status == 500
    # A subclass never sits after its base class (it would be unreachable).
    for i, row in enumerate(PROBLEM_TYPES):
        for later in PROBLEM_TYPES[i + 1 :]:
            assert not issubclass(later.error, row.error), (later.error, row.error)


def test_unknown_path_is_404_problem(api: Api) -> None:
    assert_problem(api.client.get("/v1/nope"), 404)


def test_wrong_method_is_405_with_allow(api: Api) -> None:
    r = api.client.delete("/v1/score")
    assert_problem(r, 405)
    assert "POST" in r.headers["allow"]


def test_missing_key_is_401_with_challenge(api: Api) -> None:
    r = api.client.post("/v1/score", json=ONE)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer rk_short", "Bearer rk_aaaaaaaaaa_" + "x" * 43, "Token abc"],
)
def test_bad_keys_are_401(api: Api, authorization: str) -> None:
    r = api.client.post("/v1/score", json=ONE, headers={"Authorization": authorization})
    assert_problem(r, 401)
    assert "www-authenticate" in r.headers


def test_key_in_query_string_is_refused_even_when_valid(api: Api) -> None:
    key = api.key("acme")
    r = api.client.post(f"/v1/score?api_key={key}", json=ONE, headers={"Authorization": f"Bearer {key}"})
    body = assert_problem(r, 401)
    assert key not in json.dumps(body)


def test_wrong_role_is_403(api: Api) -> None:
    r = api.client.get("/v1/aggregates", headers=api.headers("acme", "member"))
    assert_problem(r, 403)


def test_malformed_json_is_400(api: Api) -> None:
    r = api.client.post(
        "/v1/score",
        content=b'{"records": [',
        headers={**api.headers("acme"), "Content-Type": "application/json"},
    )
    assert_problem(r, 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(api: Api, content_type: str) -> None:
    r = api.client.post(
        "/v1/score",
        content=json.dumps(ONE).encode(),
        headers={**api.headers("acme"), "Content-Type": content_type},
    )
    assert_problem(r, 415)


@pytest.mark.parametrize(
    "body",
    [
        {"records": [{"key": "a", "name": "X", "country": "BD", "is_admin": True}]},  # unknown field
        {"records": [{"key": "a", "name": "X", "country": "BD"}], "tenant": "other"},  # mass assignment
        {"records": [{"key": "a", "name": 5, "country": "BD"}]},  # wrong type
        {"records": []},
        {"records": [{"key": "a", "name": "X" * 5000, "country": "BD"}]},  # huge string
        {"records": [{"key": "a", "name": "X", "country": "BD"}] * 2},  # duplicate keys
        {"records": [{"key": str(i), "name": "X", "country": "BD"} for i in range(101)]},  # batch > 100
        [1, 2, 3],
    ],
)
def test_invalid_bodies_are_422_without_echoing_input(api: Api, body: object) -> None:
    r = api.client.post("/v1/score", json=body, headers=api.headers("acme"))
    problem = assert_problem(r, 422)
    assert "X" * 100 not in r.text
    assert problem["errors"]


def test_unknown_country_is_422(api: Api) -> None:
    body = {"records": [{"key": "a", "name": "X", "country": "Atlantis"}]}
    assert_problem(api.client.post("/v1/score", json=body, headers=api.headers("acme")), 422)


def test_declared_oversize_body_is_413_before_reading(api: Api) -> None:
    r = api.client.post(
        "/v1/score",
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={**api.headers("acme"), "Content-Type": "application/json"},
    )
    assert_problem(r, 413)


def test_streamed_oversize_body_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"records": ['
        for _ in range(4096):
            yield b" " * 1024

    r = api.client.post(
        "/v1/score", content=chunks(), headers={**api.headers("acme"), "Content-Type": "application/json"}
    )
    assert_problem(r, 413)


def test_rate_limit_is_429_with_retry_after(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(rate_limit_per_minute=1)  # bursts of 10, then one token a minute
    headers = api.headers("acme")
    statuses = [api.client.get("/v1/entities/ent:BD:0001", headers=headers).status_code for _ in range(12)]
    assert statuses[:10] == [200] * 10
    r = api.client.get("/v1/entities/ent:BD:0001", headers=headers)
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1
    # Another key has its own budget.
    assert api.client.get("/v1/entities/ent:BD:0001", headers=api.headers("acme")).status_code == 200


def test_unexpected_error_is_generic_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(entity_id: str) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(api.app.state.api.snapshot, "entity", boom)
    r = api.client.get("/v1/entities/x", headers=api.headers("acme"))
    body = assert_problem(r, 500)
    assert "secret" not in r.text and "passwd" not in json.dumps(body)


def test_engine_error_without_exposed_detail_is_generic(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(entity_id: str) -> None:
        raise RiskEngineError("internal path /srv/data leaked")

    monkeypatch.setattr(api.app.state.api.snapshot, "entity", broken)
    r = api.client.get("/v1/entities/x", headers=api.headers("acme"))
    assert_problem(r, 500)
    assert "/srv/data" not in r.text


def test_request_timeout_is_503_with_retry_after(make_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import time

    import risk_engine.io.readers

    api = make_api(request_timeout_s=0.3)
    headers = {**api.headers("acme"), "Content-Type": "text/csv"}

    def slow_reader(*args: object, **kwargs: object) -> None:
        time.sleep(1.0)
        raise AssertionError("the request should have timed out")

    monkeypatch.setattr(risk_engine.io.readers, "read_upload", slow_reader)
    r = api.client.post("/v1/lists", content=b"name,country\nA,BD\n", headers=headers)
    assert_problem(r, 503)
    assert "retry-after" in r.headers
    time.sleep(1.0)  # let the abandoned reader thread finish before teardown
