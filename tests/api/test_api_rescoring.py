"""A record that matches a snapshot entity and carries its own findings or suppliers re-scores that entity.

The re-score runs the batch's ``score_graph`` on the entity's upstream neighbourhood; with nothing added it
must give exactly the snapshot's score (checked on a sample of the demo snapshot that includes the entities
with the largest neighbourhoods, flags and findings), and additions must change only that request's answer.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from risk_engine.api.rescoring import load_scoring_inputs, pack_disjoint, rescore_entity, rescore_many
from risk_engine.api.snapshot import load_snapshot
from risk_engine.io.run import run_demo, run_screen

SUPPLIERS = (
    "id,name,country,hs_code,parent_id\n"
    "S1,Alpha Cotton Spinning Co Ltd,China,5205,\n"
    "S2,Beta Knitwear Ltd,Bangladesh,6109,\n"
)
AUDIT_HEADER = (
    "Audit ID,Site Name,Country,Site Address,USCC,Audit Date,Scheme,Audit Type,Finding ID,ILO Indicator,"
    "Clause,Grade,Scope,Status,Status Date,Workers Affected,Source\n"
)
# One strong involuntariness-only finding (indicator 2, w = 0.35): the ILO pattern rule is not met on it alone.
AUDITS = AUDIT_HEADER + (
    "A1,Alpha Cotton Spinning Co Ltd,CN,,,2026-08-01,SMETA 7.0,Announced,A1-F01,2,,Critical,Systemic,Open,,"
    "120,third-party audit\n"
)


def _screen(out: Path, **files: Path | None) -> Path:
    code = run_screen(
        suppliers=files["suppliers"],
        trade=files.get("trade"),
        audits=files.get("audits"),
        enforcement=files.get("enforcement"),
        reference=None,
        decisions=None,
        methodology="fl-v1",
        out=out,
        engine="local",
        resume=False,
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("rescore") / "demo"
    assert run_demo(out=out, engine="local") == 0
    yield out
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def small_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rescore-small")
    (base / "suppliers.csv").write_text(SUPPLIERS, encoding="utf-8")
    (base / "audits.csv").write_text(AUDITS, encoding="utf-8")
    return _screen(base / "out", suppliers=base / "suppliers.csv", audits=base / "audits.csv")


def _inputs(path: Path):  # type: ignore[no-untyped-def]
    inputs = load_scoring_inputs(path, json.loads((path / "manifest.json").read_text(encoding="utf-8")))
    assert inputs is not None
    return inputs


def _entity_of(path: Path, supplier_id: str) -> str:
    scores = pl.read_parquet(path / "scores.parquet")
    return str(scores.filter(pl.col("supplier_id") == supplier_id)["entity_id"][0])


@pytest.mark.slow
def test_nothing_added_reproduces_the_snapshot_score(demo_snapshot: Path) -> None:
    inputs = _inputs(demo_snapshot)
    scores = pl.read_parquet(demo_snapshot / "scores.parquet").unique("entity_id").sort("entity_id")
    sizes = {eid: len(inputs.upstream(eid, 5)[0]) for eid in scores["entity_id"]}
    largest = sorted(sizes, key=lambda e: (-sizes[e], e))[:15]
    flagged = scores.filter(pl.col("flags") != "[]")["entity_id"].head(15).to_list()
    audited = scores.filter(pl.col("top_indicators") != "[]")["entity_id"].head(15).to_list()
    sample = {*largest, *flagged, *audited, *scores["entity_id"].gather_every(40).to_list()}
    assert max(sizes.values()) > 100  # the sample includes deep neighbourhoods
    by_id = {r["entity_id"]: r for r in scores.iter_rows(named=True)}
    for eid in sorted(sample):
        want, got = by_id[eid], rescore_entity(inputs, eid, {})
        assert got is not None, eid
        assert got["score"] == pytest.approx(want["score"], abs=1e-9), eid
        assert got["r_low"] == pytest.approx(want["score_low"], abs=1e-9), eid
        assert got["r_high"] == pytest.approx(want["score_high"], abs=1e-9), eid
        assert got["dci"] == pytest.approx(want["coverage"], abs=1e-9), eid
        assert got["band"] == want["band"], eid
        assert (got["flags"], got["top_paths"], got["top_indicators"]) == (
            want["flags"],
            want["top_paths"],
            want["top_indicators"],
        ), eid


def test_inline_finding_completes_the_ilo_pattern_with_the_stored_one(small_snapshot: Path) -> None:
    inputs = _inputs(small_snapshot)
    alpha = _entity_of(small_snapshot, "S1")
    before = rescore_entity(inputs, alpha, {})
    penalty = {"audit_date": "2026-09-01", "ilo_indicator": 6, "grade": "critical", "status": "open"}
    after = rescore_entity(inputs, alpha, {"audit_findings": [penalty]})
    alone = rescore_entity(inputs, alpha, {"audit_findings": []})
    assert before is not None and after is not None and alone is not None
    assert before["evidence"] < 0.8  # indicator 2 alone: no pattern
    # stored involuntariness (2) + request's penalty (6) = the ILO pattern: E_audit floored at 0.8
    assert after["evidence"] >= 0.8
    assert after["score"] > before["score"]
    ids = {f["finding_id"] for f in json.loads(after["top_indicators"])}
    assert "A1-F01" in ids and "inline-1" in ids


def test_declared_supplier_adds_an_upstream_path(small_snapshot: Path) -> None:
    inputs = _inputs(small_snapshot)
    beta = _entity_of(small_snapshot, "S2")
    before = rescore_entity(inputs, beta, {})
    record = {"upstream_suppliers": [{"name": "Gamma Cotton Farm", "country": "CN", "hs_codes": ["5201"]}]}
    after = rescore_entity(inputs, beta, record)
    assert before is not None and after is not None
    assert after["score"] > before["score"]
    paths = json.loads(after["top_paths"])
    upstream = [p for p in paths if p["kind"] == "local_of_upstream"]
    assert upstream and upstream[0]["path"] == [beta, f"{beta}:request:upstream:1"]
    assert upstream[0]["edges"][0]["source"] == "supplier_declared"


def test_score_endpoint_folds_findings_into_the_matched_entity(make_api, small_snapshot: Path) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    snapshot = load_snapshot(small_snapshot)
    api.app.state.api.snapshot = snapshot
    alpha = _entity_of(small_snapshot, "S1")
    stored = snapshot.entity(alpha)
    assert stored is not None
    finding = {"audit_date": "2026-09-01", "ilo_indicator": 9, "grade": "critical", "status": "open"}
    plain = {"key": "plain", "name": "Alpha Cotton Spinning Co Ltd", "country": "CN"}
    carrying = {**plain, "key": "carrying", "audit_findings": [finding]}
    r = api.client.post("/v1/score", json={"records": [plain, carrying]}, headers=api.headers("acme"))
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["scored_from"] == "matched_entity" and first["result"]["score"] == stored["score"]
    assert second["scored_from"] == "matched_entity_and_record"
    assert second["matches"][0]["entity_id"] == alpha == second["result"]["entity_id"]
    assert second["result"]["score"] > stored["score"]
    assert second["result"]["top_indicators"][0]["ilo_indicator"] == 9
    assert "1 audit finding" in second["note"]
    # request-scoped: the snapshot still answers with the batch's score
    assert snapshot.entity(alpha) == stored
    again = api.client.get(f"/v1/entities/{alpha}", headers=api.headers("acme"))
    assert again.status_code == 200 and again.json()["score"] == stored["score"]


def test_snapshot_without_scoring_inputs_says_findings_were_not_folded(  # type: ignore[no-untyped-def]
    make_api, small_snapshot: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    shutil.copytree(small_snapshot, old)
    (old / "audit_findings.parquet").unlink()
    api = make_api()
    api.app.state.api.snapshot = load_snapshot(old)
    record = {
        "key": "k",
        "name": "Alpha Cotton Spinning Co Ltd",
        "country": "CN",
        "audit_findings": [{"audit_date": "2026-09-01", "ilo_indicator": 9, "grade": "critical"}],
    }
    r = api.client.post("/v1/score", json={"records": [record]}, headers=api.headers("acme"))
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["scored_from"] == "matched_entity"
    assert "could not be folded" in result["note"]


def test_pack_disjoint_groups_never_share_a_node_or_a_key() -> None:
    hoods = [{1, 2}, {3}, {2, 4}, set(), {5}, {3, 6}, {7}]
    keys = ["a", "a", "a", "a", "b", "a", "a"]
    groups = pack_disjoint(hoods, keys)
    assert sorted(k for g in groups for k in g) == [0, 1, 2, 4, 5, 6]  # the empty one gets no group
    for g in groups:
        assert len({keys[k] for k in g}) == 1
        seen: set[int] = set()
        for k in g:
            assert seen.isdisjoint(hoods[k])
            seen |= hoods[k]
    assert groups == [[0, 1, 6], [2, 5], [4]]


@pytest.mark.slow
def test_batched_rescoring_equals_one_at_a_time(demo_snapshot: Path) -> None:
    inputs = _inputs(demo_snapshot)
    ids = inputs.nodes.get_column("entity_id").to_list()[::75]
    grave = {"audit_date": "2026-09-01", "ilo_indicator": 9, "grade": "major", "status": "open"}
    minor = {"audit_date": "2026-05-01", "ilo_indicator": 11, "grade": "minor", "status": "open"}
    supplier = {"name": "Request Farm", "country": "CN", "hs_codes": ["5201"], "share": 0.2}
    items = []
    for n, eid in enumerate(ids):
        record = {"audit_findings": [grave if n % 2 else minor]}
        if n % 3 == 0:
            record["upstream_suppliers"] = [supplier]
        items.append((eid, record))
    items.append((ids[0], {"audit_findings": [grave]}))  # the same entity twice, with different findings
    batched = rescore_many(inputs, items)
    assert len(
        pack_disjoint([set(inputs.upstream(e, 5)[0].tolist()) for e, _ in items], [0] * len(items))
    ) < len(items)
    for (eid, record), row in zip(items, batched, strict=True):
        alone = rescore_entity(inputs, eid, record)
        assert row is not None and alone is not None
        assert row["score"] == pytest.approx(alone["score"], abs=1e-12), eid
        assert (row["band"], row["top_paths"], row["top_indicators"]) == (
            alone["band"],
            alone["top_paths"],
            alone["top_indicators"],
        ), eid
