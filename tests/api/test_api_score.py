"""POST /v1/score, GET /v1/entities/{id}(/paths), /v1/methodology, health."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_testkit import Api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP-edge behaviour does not depend on the database: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'api.sqlite3'}"


def test_score_returns_match_score_band_interval_coverage_flags_paths_versions(api: Api) -> None:
    body = {
        "records": [
            {
                "key": "r1",
                "name": "KASHGAR COTTON SPINNING CO LTD",
                "country": "China",
                "address": "Kashgar, Xinjiang",
                "identifiers": {"tax_id": "91650000123456789X"},
                "hs_codes": ["5205.11", "52"],
                "audit_findings": [{"audit_date": "2026-01-10", "ilo_indicator": 7, "grade": "major"}],
                "upstream_suppliers": [{"name": "Cotton Farm", "country": "CN", "share": 0.5}],
            }
        ]
    }
    r = api.client.post("/v1/score", json=body, headers=api.headers("acme", "auditor"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["snapshot_id"] == "snap-test"
    result = out["results"][0]
    assert result["key"] == "r1" and result["scored_from"] == "matched_entity"
    assert result["matches"] == [
        {
            "entity_id": "ent:CN:0001",
            "name": "Kashgar Cotton Spinning Co., Ltd.",
            "country": "CN",
            "probability": 0.97,
            "decision": "match",
        }
    ]
    score = result["result"]
    assert (score["score"], score["band"], score["interval"], score["coverage"]) == (
        0.72,
        "critical",
        [0.6, 0.85],
        0.5,
    )
    assert score["flags"][0]["type"] == "UFLPA_ENTITY"
    assert score["top_paths"][0]["kind"] == "local"
    assert score["top_indicators"][0]["ilo_indicator"] == 7
    assert score["versions"] == {"engine": "test", "params": "fl-v1-test"}
    assert score["low_coverage"] is False


def test_order_and_keys_are_kept_and_unmatched_records_say_so(api: Api) -> None:
    records = [
        {"key": "z", "name": "Nobody Anywhere", "country": "US"},
        {"key": "a", "name": "Berlin Buttons GmbH", "country": "DE"},
    ]
    r = api.client.post("/v1/score", json={"records": records}, headers=api.headers("acme"))
    results = r.json()["results"]
    assert [x["key"] for x in results] == ["z", "a"]
    assert (
        results[0]["matches"] == [] and results[0]["result"] is None and results[0]["scored_from"] == "none"
    )
    assert "nothing to score it from" in results[0]["note"]
    assert results[1]["result"]["band"] == "low"


def test_review_candidates_are_listed_with_provisional_note(api: Api) -> None:
    r = api.client.post(
        "/v1/score",
        json={"records": [{"key": "k", "name": "Dhaka Knits", "country": "BD"}]},
        headers=api.headers("x"),
    )
    result = r.json()["results"][0]
    assert {m["decision"] for m in result["matches"]} == {"review"}
    assert "provisional" in result["note"]


def test_full_batch_of_100(api: Api) -> None:
    records = [{"key": f"k{i}", "name": "Dhaka Garments Ltd", "country": "BD"} for i in range(100)]
    r = api.client.post("/v1/score", json={"records": records}, headers=api.headers("acme"))
    assert r.status_code == 200
    assert len(r.json()["results"]) == 100


def test_entity_and_paths(api: Api) -> None:
    headers = api.headers("acme", "auditor")
    entity = api.client.get("/v1/entities/ent:BD:0001", headers=headers).json()
    assert entity["entity_id"] == "ent:BD:0001" and entity["band"] == "high" and entity["tier"] == 1
    paths = api.client.get("/v1/entities/ent:BD:0001/paths", headers=headers).json()
    assert paths["top_paths"][0]["path"] == ["ent:BD:0001", "ent:CN:0001"]
    assert paths["top_paths"][0]["edges"] == [{"hs4": "5205"}]
    for url in ("/v1/entities/ent:XX:9999", "/v1/entities/ent:XX:9999/paths"):
        r = api.client.get(url, headers=headers)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", ["member", "auditor", "analyst", "admin"])
def test_every_role_may_read_scores(api: Api, role: str) -> None:
    assert api.client.get("/v1/entities/ent:DE:0001", headers=api.headers("t", role)).status_code == 200


def test_methodology_health_and_readiness_are_public(api: Api) -> None:
    m = api.client.get("/v1/methodology").json()
    assert m["name"] == "fl-v1" and m["snapshot_id"] == "snap-test"
    assert m["document"]["parameters"] == {"delta": 0.85}
    assert api.client.get("/healthz").json() == {
        "status": "ok",
        "snapshot_id": None,
        "entities": None,
        "database": None,
    }
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["entities"] == 5 and ready["database"] == "ok"


@pytest.mark.slow
def test_unmatched_records_are_scored_from_what_they_carry(make_api) -> None:  # type: ignore[no-untyped-def]
    from api_testkit import make_snapshot

    from risk_engine.api.record_scoring import score_records

    api = make_api()
    api.app.state.api.snapshot = make_snapshot(unmatched_scorer=score_records)
    plain = {"key": "plain", "name": "Nobody GmbH", "country": "DE"}
    risky = {
        "key": "risky",
        "name": "Nobody Spinning",
        "country": "CN",
        "hs_codes": ["5205.11"],
        "audit_findings": [
            {"audit_date": "2026-06-01", "ilo_indicator": 7, "grade": "major", "status": "open"}
        ],
        "upstream_suppliers": [{"name": "Farm", "country": "CN", "hs_codes": ["5201"], "share": 0.5}],
    }
    r = api.client.post("/v1/score", json={"records": [plain, risky]}, headers=api.headers("acme"))
    assert r.status_code == 200, r.text
    low, high = (x["result"] for x in r.json()["results"])
    assert r.json()["results"][1]["scored_from"] == "record"
    assert low["score"] < high["score"]
    assert high["top_indicators"][0]["ilo_indicator"] == 7
    assert any(p.get("kind") == "local_of_upstream" for p in high["top_paths"])
    assert high["interval"][0] <= high["score"] <= high["interval"][1]
