"""METHODOLOGY §3.10: the worked example chain reproduces its printed numbers through score_graph.

Buyer <- V (Bangladesh garments) <- W1 (China cotton fabric, 60 %, BOL c=0.9) and W2 (India fabric, 40 %,
supplier-declared c=0.7) <- Y (XUAR spinner, 50 % of W1's yarn, BOL c=0.9). The C values of the example
are illustrative inputs, so the test supplies its own country index and reference tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pytest

from risk_engine.scoring.inherent import InherentReference
from risk_engine.scoring.registry import get_methodology
from risk_engine.scoring.score import graph_arrays, node_terms, propagate_variants, score_graph

AS_OF = date(2025, 11, 1)


@dataclass(frozen=True)
class Graph:
    nodes: pl.DataFrame
    edges: pl.DataFrame


def example_reference() -> InherentReference:
    return InherentReference(
        country_index=pl.DataFrame({"iso2": ["BD", "CN", "IN", "US"], "C": [0.6, 0.5, 0.55, 0.1]}),
        sector_index=pl.DataFrame(
            {
                "hs_prefix": ["5201", "52", "61", "62"],
                "sector": ["cotton growing", "yarn/fabric", "garments", "garments"],
                "S": [1.0, 0.8, 0.8, 0.8],
            }
        ),
        tvpra=pl.DataFrame(
            {
                "iso2": ["CN", "CN", "IN", "BD", "BD"],
                "hs_prefix": ["5201", "5208", "5201", "61", "62"],
                "good": ["Cotton", "Cotton textiles", "Cotton", "Garments", "Garments"],
                "forced": [True, False, True, True, True],
                "child": [True, False, True, False, False],
                "downstream": [False, True, False, False, False],
                "edition": ["2022"] * 5,
            }
        ),
        uflpa_priority=pl.DataFrame({"hs_prefix": ["52", "61", "62"], "material": ["cotton"] * 3}),
        country_index_kind="shipped",
        versions={"reference_pack": "test"},
    )


def example_graph() -> Graph:
    nodes = pl.DataFrame(
        {
            "entity_id": ["BUYER", "V", "W1", "W2", "Y"],
            "name": ["Buyer", "V garments", "W1 fabric", "W2 fabric", "Y spinning"],
            "country": ["US", "BD", "CN", "IN", "CN"],
            # W1 is a Jiangsu mill in the narrative; the example applies the UFLPA-priority term, which §3.2
            # reserves for China with admin-1 unknown, so its region is left unknown here.
            "region": [None, "Dhaka", None, "Tamil Nadu", "Xinjiang"],
            "node_type": ["buyer", "supplier", "supplier", "supplier", "supplier"],
            "hs4_list": [[], ["6204"], ["5208"], ["5208"], ["5205"]],
        },
        schema_overrides={"hs4_list": pl.List(pl.String)},
    )
    edges = pl.DataFrame(
        {
            "src": ["V", "W1", "W2", "Y"],
            "dst": ["BUYER", "V", "V", "W1"],
            "hs4": ["6204", "5208", "5208", "5205"],
            "source": ["buyer_declared", "bol", "supplier_declared", "bol"],
            "n_shipments": [None, 12, None, 8],
            "last_date": [None, date(2025, 9, 1), None, date(2025, 8, 1)],
            "share": [1.0, 0.6, 0.4, 0.5],
            "share_imputed": [False, False, False, False],
            "confidence": [1.0, 0.9, 0.7, 0.9],
        },
        schema_overrides={"n_shipments": pl.Int64, "last_date": pl.Date},
    )
    return Graph(nodes, edges)


def example_audits() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "audit_id": ["SMETA-W2", "SMETA-W2", "SMETA-V"],
            "site_entity_id": ["W2", "W2", "V"],
            # 10 months (305 days) and 6 months before as-of
            "audit_date": [date(2024, 12, 31), date(2024, 12, 31), date(2025, 5, 1)],
            "audit_type": ["announced", "announced", "announced"],
            "scheme": ["SMETA", "SMETA", "SMETA"],
            "finding_id": ["W2-passports", "W2-overtime", None],
            "clause": ["1", "6", None],
            "ilo_indicators": [[7], [11], []],
            "grade": ["major", "minor", None],
            "scope": ["systemic", "isolated", None],
            "status": ["open", "closed_desktop", None],
            "source": ["third_party_audit"] * 3,
            "match_confidence": [1.0, 1.0, 1.0],
        },
        schema_overrides={"ilo_indicators": pl.List(pl.Int8)},
    )


@pytest.fixture(scope="module")
def result():
    return score_graph(
        example_graph(),
        audits=example_audits(),
        enforcement_hits=None,
        methodology=get_methodology("fl-v1"),
        as_of=AS_OF,
        reference=example_reference(),
    )


def _row(frame: pl.DataFrame, entity: str) -> dict:
    return frame.filter(pl.col("entity_id") == entity).row(0, named=True)


def test_inherent_risk_of_each_entity(result):
    t = result.terms
    assert _row(t, "W1")["inherent"] == pytest.approx(0.214, abs=5e-4)
    assert _row(t, "W2")["inherent"] == pytest.approx(0.073, abs=5e-4)
    assert _row(t, "V")["inherent"] == pytest.approx(0.185, abs=5e-4)
    assert _row(t, "V")["clean_kappa"] == pytest.approx(0.8)
    assert _row(t, "V")["inherent_adj"] == pytest.approx(0.148, abs=5e-4)
    assert _row(t, "Y")["inherent"] == pytest.approx(0.95)
    assert _row(t, "Y")["override"] == "XUAR_LOCATED"


def test_w2_evidence_and_local_risk(result):
    w2 = _row(result.terms, "W2")
    assert w2["e_audit"] == pytest.approx(0.252, abs=5e-4)
    assert not w2["pattern_met"]  # overtime contributes 0.018 < 0.20
    assert w2["local"] == pytest.approx(0.306, abs=5e-4)


def test_backfill_terms(result):
    t = result.terms
    assert _row(t, "W1")["backfill_inherent"] == pytest.approx(0.269, abs=5e-4)
    assert _row(t, "W1")["backfill"] == pytest.approx(0.057, abs=5e-4)
    assert _row(t, "W2")["backfill_inherent"] == pytest.approx(0.177, abs=5e-4)
    assert _row(t, "W2")["backfill"] == pytest.approx(0.075, abs=5e-4)
    assert _row(t, "V")["backfill"] == pytest.approx(0.0)  # all of V's fabric is mapped
    assert _row(t, "Y")["backfill"] == pytest.approx(0.0)  # the override covers Y's inputs


def test_propagated_scores(result):
    s = result.scores
    assert _row(s, "Y")["score_unfloored"] == pytest.approx(0.95)
    assert _row(s, "W1")["score_unfloored"] == pytest.approx(0.528, abs=5e-4)
    assert _row(s, "W2")["score_unfloored"] == pytest.approx(0.358, abs=5e-4)
    assert _row(s, "V")["score_unfloored"] == pytest.approx(0.41, abs=5e-3)


def test_xuar_flag_floors_v_to_critical(result):
    v = _row(result.scores, "V")
    assert v["flag_severity"] == "high"
    assert v["score"] == pytest.approx(0.60)
    assert v["band"] == "critical"
    flags = json.loads(v["flags"])
    xuar = next(f for f in flags if f["type"] == "XUAR_LOCATED")
    assert xuar["distance"] == 2
    assert xuar["path"] == ["V", "W1", "Y"]
    assert xuar["material"] == "cotton"
    assert xuar["jurisdiction"] == "US-UFLPA"


def test_hazard_split_of_v(result):
    payload = json.loads(_row(result.explanations, "V")["explanation"])
    split = payload["hazard_split"]
    assert split["local"] == pytest.approx(0.30, abs=0.01)
    shares = {g["members"][0]["entity"]: g["share"] for g in split["upstream"]}
    assert shares["W1"] == pytest.approx(0.53, abs=0.01)
    assert shares["W2"] == pytest.approx(0.17, abs=0.01)
    assert split["local"] + split["backfill"] + sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    paths = {tuple(p["path"]): p for p in payload["top_paths"] if p["kind"] != "backfill"}
    assert paths[("V", "W1", "Y")]["share_of_hazard"] == pytest.approx(0.32, abs=0.01)
    assert paths[("V",)]["share_of_hazard"] == pytest.approx(0.30, abs=0.01)
    assert paths[("V", "W1")]["share_of_hazard"] == pytest.approx(0.17, abs=0.01)
    assert payload["top_paths"][0]["path"] == ["V", "W1", "Y"]
    edges = paths[("V", "W1", "Y")]["edges"]
    assert [(e["hs4"], e["source"], e["n_shipments"], e["c"], e["s"]) for e in edges] == [
        ("5208", "bol", 12, 0.9, 0.6),
        ("5205", "bol", 8, 0.9, 0.5),
    ]


def test_top_indicator_of_v_is_the_upstream_passport_finding(result):
    payload = json.loads(_row(result.explanations, "V")["explanation"])
    top = payload["top_indicators"][0]
    assert (top["entity"], top["ilo_indicator"], top["grade"], top["status"]) == ("W2", 7, "major", "open")
    assert top["name"] == "Retention of identity documents"
    assert top["contribution"] == pytest.approx(0.238, abs=5e-4)
    assert top["age_months"] == pytest.approx(10, abs=0.1)


def test_inherent_terms_of_v_in_payload(result):
    inh = json.loads(_row(result.explanations, "V")["explanation"])["inherent"]
    assert inh["country"] == "BD"
    assert inh["C"] == pytest.approx(0.6)
    assert inh["S"] == pytest.approx(0.8)
    assert inh["logit_terms"] == {"base": -4.0, "C": 0.72, "S": 0.8, "listing": 1.0, "uflpa_priority": 0.0}
    assert inh["I"] == pytest.approx(0.185, abs=5e-4)
    assert inh["clean_audit_kappa"] == pytest.approx(0.8)
    assert "TVPRA-2022:Garments:FL" in inh["listings"]


def test_interval_low_end(result):
    # R_low drops the W2 edge (c = 0.7 < 0.8) and every backfill
    assert _row(result.scores, "V")["r_low"] == pytest.approx(0.34, abs=5e-3)


def test_interval_high_end_with_the_example_backfill():
    # §3.10 prints R_high ~ 0.52 with an illustrative p90 backfill of 0.4; supply that value directly.
    params = get_methodology("fl-v1").params
    g = example_graph()
    arrays, _ = graph_arrays(g.nodes, g.edges, params=params)
    terms, *_ = node_terms(
        g.nodes,
        arrays,
        audits=example_audits(),
        enforcement_hits=None,
        params=params,
        as_of=AS_OF,
        reference=example_reference(),
    )
    override = terms.get_column("override").is_not_null().to_numpy()
    sigma = terms.get_column("sigma1").to_numpy()
    backfill_high = np.where(override, 0.0, (1 - sigma) * 1.0 * 0.85 * 0.4)
    terms = terms.with_columns(pl.Series("backfill_high", backfill_high))
    runs = propagate_variants(arrays, terms, params=params)
    v = arrays.node_ids.index("V")
    assert runs.high.risk[v] == pytest.approx(0.52, abs=5e-3)
    assert runs.low.risk[v] <= runs.point.risk[v] <= runs.high.risk[v]


def test_buyer_inherits_a_high_flag_through_cotton_path(result):
    buyer = _row(result.scores, "BUYER")
    assert buyer["flag_severity"] == "high"  # UFLPA material (cotton) on every edge, all c >= 0.6
    assert buyer["band"] == "critical"


def test_what_if_matches_rescoring_with_the_finding_closed(result):
    payload = json.loads(_row(result.explanations, "W2")["explanation"])
    what_if = payload["what_if"][0]
    assert "W2-passports" in what_if["action"] and "Retention of identity documents" in what_if["action"]
    closed = example_audits().with_columns(
        status=pl.when(pl.col("finding_id") == "W2-passports")
        .then(pl.lit("closed_verified"))
        .otherwise(pl.col("status"))
    )
    rescored = score_graph(
        example_graph(),
        audits=closed,
        enforcement_hits=None,
        methodology=get_methodology("fl-v1"),
        as_of=AS_OF,
        reference=example_reference(),
    )
    before = _row(result.scores, "W2")["score"]
    after = _row(rescored.scores, "W2")["score"]
    assert what_if["delta_score_entity"] == pytest.approx(after - before, abs=1e-4)
    assert what_if["delta_score_entity"] < 0
