"""Fixtures of the API tests: a tiny in-memory snapshot, both databases, keys, a client."""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi import FastAPI
from rapidfuzz import fuzz
from sqlalchemy import create_engine, text
from starlette.exceptions import StarletteDeprecationWarning

from risk_engine.api.app import create_app
from risk_engine.api.db import utcnow
from risk_engine.api.repository import create_api_key
from risk_engine.api.snapshot import FrameSnapshot, SnapshotInfo
from risk_engine.config import Settings
from risk_engine.matching.normalise import name_key

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client; httpx (a declared dependency) still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

ENTITIES: list[dict[str, Any]] = [
    {
        "entity_id": "ent:CN:0001",
        "name": "Kashgar Cotton Spinning Co., Ltd.",
        "country": "CN",
        "tier": 2,
        "score": 0.72,
        "band": "critical",
        "r_low": 0.6,
        "r_high": 0.85,
        "dci": 0.5,
        "flags": json.dumps([{"type": "UFLPA_ENTITY", "severity": "high", "distance": 0}]),
        "top_paths": json.dumps([{"path": ["ent:CN:0001"], "share_of_hazard": 1.0, "kind": "local"}]),
        "top_indicators": json.dumps([{"ilo_indicator": 7, "contribution": 0.3}]),
        "methodology": "fl-v1",
        "versions": json.dumps({"params": "fl-v1-test"}),
    },
    {
        "entity_id": "ent:BD:0001",
        "name": "Dhaka Garments Ltd",
        "country": "BD",
        "tier": 1,
        "score": 0.41,
        "band": "high",
        "r_low": 0.34,
        "r_high": 0.52,
        "dci": 0.58,
        "flags": "[]",
        "top_paths": json.dumps(
            [{"path": ["ent:BD:0001", "ent:CN:0001"], "share_of_hazard": 0.5, "edges": [{"hs4": "5205"}]}]
        ),
        "top_indicators": "[]",
        "methodology": "fl-v1",
        "versions": "{}",
    },
    {
        "entity_id": "ent:BD:0002",
        "name": "Dhaka Garment Limited Knitwear",
        "country": "BD",
        "tier": 1,
        "score": 0.18,
        "band": "medium",
        "r_low": 0.1,
        "r_high": 0.3,
        "dci": 0.3,
        "flags": "[]",
        "top_paths": "[]",
        "top_indicators": "[]",
        "methodology": "fl-v1",
        "versions": "{}",
    },
    {
        "entity_id": "ent:IN:0001",
        "name": "Tamil Nadu Fabrics Pvt Ltd",
        "country": "IN",
        "tier": 2,
        "score": 0.2,
        "band": "medium",
        "r_low": 0.15,
        "r_high": 0.3,
        "dci": 0.45,
        "flags": "[]",
        "top_paths": "[]",
        "top_indicators": "[]",
        "methodology": "fl-v1",
        "versions": "{}",
    },
    {
        "entity_id": "ent:DE:0001",
        "name": "Berlin Buttons GmbH",
        "country": "DE",
        "tier": 1,
        "score": 0.03,
        "band": "low",
        "r_low": 0.02,
        "r_high": 0.05,
        "dci": 0.8,
        "flags": "[]",
        "top_paths": "[]",
        "top_indicators": "[]",
        "methodology": "fl-v1",
        "versions": "{}",
    },
]


class FuzzyTestMatcher:
    """Test double of EntityIndex.lookup: exact name key in country -> match; a close name or the
    same first token -> review."""

    def __init__(self, entities: list[dict[str, Any]]) -> None:
        self.entities = entities
        self.keys = [(e["entity_id"], name_key(e["name"]), e["country"]) for e in entities]

    def lookup(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        key = name_key(str(record.get("name") or ""))
        out = []
        for entity_id, other, country in self.keys:
            if country != record.get("country"):
                continue
            if key == other:
                out.append({"right_id": entity_id, "probability": 0.97, "decision": "match"})
            elif fuzz.token_set_ratio(key, other) >= 80 or key.split()[:1] == other.split()[:1]:
                out.append({"right_id": entity_id, "probability": 0.75, "decision": "review"})
        return out


def make_snapshot(*, unmatched_scorer: Any = None) -> FrameSnapshot:
    scores = pl.DataFrame(ENTITIES)
    return FrameSnapshot(
        scores,
        matcher=FuzzyTestMatcher(ENTITIES),
        info=SnapshotInfo("snap-test", "memory", len(ENTITIES), "fl-v1", {"engine": "test"}),
        methodology_document={"description": "test methodology", "parameters": {"delta": 0.85}},
        unmatched_scorer=unmatched_scorer,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.sqlite3'}"
        return
    # Each test gets its own schema: parallel pytest workers never see each other's rows.
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_per_minute=60_000,
        max_upload_bytes=2 * 1024 * 1024,
        aggregate_min_members=2,
    )


@dataclass
class Api:
    """A running test app with helpers to make keys and wait for jobs."""

    app: FastAPI
    client: TestClient

    def key(self, tenant: str, role: str = "member", *, expires_in_s: float | None = 3600.0) -> str:
        from datetime import timedelta

        now = utcnow()
        expires = None if expires_in_s is None else now + timedelta(seconds=expires_in_s)
        with self.app.state.api.sessions.begin() as session:
            key, _ = create_api_key(
                session, tenant=tenant, role=role, name="test", expires_at=expires, now=now
            )
        return key

    def headers(self, tenant: str, role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(tenant, role)}"}

    def wait_for_list(self, list_id: str, headers: dict[str, str], timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            body = self.client.get(f"/v1/lists/{list_id}", headers=headers).json()
            if body.get("status") in ("done", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.02)


@pytest.fixture
def make_api(settings: Settings) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> Api:
        import dataclasses

        app = create_app(dataclasses.replace(settings, **overrides), snapshot=make_snapshot())
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Api(app, client)

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


SUPPLIERS_CSV = (
    "supplier id,supplier name,country\n"
    "S1,Dhaka Garments Ltd,Bangladesh\n"
    "S2,Kashgar Cotton Spinning Co Ltd,China\n"
    "S3,Unknown Widgets Inc,United States\n"
    "S4,Tamil Nadu Fabrics Pvt Ltd,India\n"
)
