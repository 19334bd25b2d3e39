"""Helpers of the API tests: a tiny in-memory snapshot, a client wrapper, sample uploads."""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from fastapi import FastAPI
from rapidfuzz import fuzz
from starlette.exceptions import StarletteDeprecationWarning

from risk_engine.api.db import utcnow
from risk_engine.api.repository import create_api_key
from risk_engine.api.snapshot import FrameSnapshot, SnapshotInfo
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


SUPPLIERS_CSV = (
    "supplier id,supplier name,country\n"
    "S1,Dhaka Garments Ltd,Bangladesh\n"
    "S2,Kashgar Cotton Spinning Co Ltd,China\n"
    "S3,Unknown Widgets Inc,United States\n"
    "S4,Tamil Nadu Fabrics Pvt Ltd,India\n"
)


def upload(api: Api, headers: dict[str, str], data: bytes = SUPPLIERS_CSV.encode(), **extra: str) -> Any:
    """POST a CSV supplier list."""
    return api.client.post(
        "/v1/lists", content=data, headers={**headers, "Content-Type": "text/csv", **extra}
    )


def screened(api: Api, headers: dict[str, str], data: bytes = SUPPLIERS_CSV.encode()) -> str:
    """Upload a list, wait until it is screened, return its id."""
    r = upload(api, headers, data)
    assert r.status_code == 202, r.text
    state = api.wait_for_list(r.json()["id"], headers)
    assert state["status"] == "done", state
    return str(state["id"])


def write_snapshot(path: Path, *, run_id: str = "run-1") -> Path:
    """A complete snapshot directory of the test entities."""
    path.mkdir(parents=True)
    scores = pl.DataFrame(ENTITIES)
    scores.write_parquet(path / "scores.parquet")
    scores.select("entity_id", "name", "country").write_parquet(path / "entities.parquet")
    (path / "manifest.json").write_text(json.dumps({"run_id": run_id, "methodology": "fl-v1"}))
    (path / "_SUCCESS").write_text("ok\n")
    return path
