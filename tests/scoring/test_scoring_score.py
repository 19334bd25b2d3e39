"""score_graph behaviour on small hand-written chains (table-driven where the methodology gives a band)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date

import polars as pl
import pytest

from risk_engine.scoring.inherent import InherentReference
from risk_engine.scoring.registry import get_methodology
from risk_engine.scoring.score import SCORES_COLUMNS, score_graph

M = get_methodology("fl-v1")
AS_OF = date(2025, 6, 30)


@dataclass(frozen=True)
class Graph:
    nodes: pl.DataFrame
    edges: pl.DataFrame


REF = InherentReference(
    country_index=pl.DataFrame(
        {"iso2": ["CN", "IN", "BD", "DE", "US", "MY"], "C": [0.5, 0.55, 0.6, 0.1, 0.1, 0.45]}
    ),
    sector_index=pl.DataFrame(
        {
            "hs_prefix": ["52", "62", "85", "40"],
            "sector": ["textiles", "garments", "electronics", "rubber"],
            "S": [0.8, 0.8, 0.6, 0.8],
        }
    ),
    tvpra=pl.DataFrame(
        {
            "iso2": ["CN", "BD", "MY"],
            "hs_prefix": ["5201", "62", "4015"],
            "good": ["Cotton", "Garments", "Rubber gloves"],
            "forced": [True, True, True],
            "child": [True, False, False],
            "downstream": [False, False, False],
            "edition": ["2022"] * 3,
        }
    ),
    uflpa_priority=pl.DataFrame({"hs_prefix": ["52", "62"], "material": ["cotton", "cotton"]}),
)


def nodes(*rows):
    return pl.DataFrame(
        [
            {
                "entity_id": r[0],
                "country": r[1],
                "region": r[2] if len(r) > 2 else None,
                "node_type": r[3] if len(r) > 3 else "supplier",
                "hs4_list": r[4] if len(r) > 4 else [],
            }
            for r in rows
        ],
        schema={
            "entity_id": pl.String,
            "country": pl.String,
            "region": pl.String,
            "node_type": pl.String,
            "hs4_list": pl.List(pl.String),
        },
    )


def edges(*rows):
    return pl.DataFrame(
        [
            {
                "src": r[0],
                "dst": r[1],
                "hs4": r[2],
                "source": r[3],
                "confidence": r[4],
                "share": r[5],
                "last_date": r[6] if len(r) > 6 else date(2025, 3, 1),
                "n_shipments": 5,
                "share_imputed": False,
            }
            for r in rows
        ],
        schema={
            "src": pl.String,
            "dst": pl.String,
            "hs4": pl.String,
            "source": pl.String,
            "confidence": pl.Float64,
            "share": pl.Float64,
            "last_date": pl.Date,
            "n_shipments": pl.Int64,
            "share_imputed": pl.Boolean,
        },
    )


def hits(*rows):
    return pl.DataFrame(
        [
            {
                "entity_id": r[0],
                "list": r[1],
                "match_probability": r[2],
                "listed_date": date(2023, 1, 1),
                "revoked_date": None,
                "list_version": "2025-01-15",
            }
            for r in rows
        ],
        schema={
            "entity_id": pl.String,
            "list": pl.String,
            "match_probability": pl.Float64,
            "listed_date": pl.Date,
            "revoked_date": pl.Date,
            "list_version": pl.String,
        },
    )


def run(g, *, audits=None, enforcement=None, **kw):
    return score_graph(
        g, audits=audits, enforcement_hits=enforcement, methodology=M, as_of=AS_OF, reference=REF, **kw
    )


def row(frame, entity):
    return frame.filter(pl.col("entity_id") == entity).row(0, named=True)


def chain():
    return Graph(
        nodes(
            ("B", "US", None, "buyer"),
            ("T1", "BD", "Dhaka", "supplier", ["6204"]),
            ("T2", "CN", "Jiangsu", "supplier", ["5208"]),
            ("T3", "CN", "Hebei", "supplier", ["5205"]),
            ("T4", "IN", "Gujarat", "supplier", ["5201"]),
        ),
        edges(
            ("T1", "B", "6204", "buyer_declared", 1.0, 1.0),
            ("T2", "T1", "5208", "bol", 0.9, 1.0),
            ("T3", "T2", "5205", "bol", 0.9, 1.0),
            ("T4", "T3", "5201", "bol", 0.9, 1.0),
        ),
    )


def test_one_row_per_node_with_the_contract_columns_and_versions():
    out = run(chain())
    assert out.scores.columns == list(SCORES_COLUMNS)
    assert out.scores["entity_id"].to_list() == ["B", "T1", "T2", "T3", "T4"]
    assert set(out.scores["methodology"]) == {"fl-v1"}
    assert set(out.scores["params_version"]) == {M.params_version}
    assert json.loads(out.scores["reference_version"][0])["params"] == M.params_version
    assert out.explanations.height == 5


def test_risk_flows_downstream_and_never_decreases_along_a_single_input_chain():
    s = run(chain()).scores
    # every node takes all its input from the next: the buyer's score is at least its supplier's, damped by delta
    t1, b = row(s, "T1"), row(s, "B")
    assert b["score"] > 0
    assert b["propagated"] > 0.5
    assert t1["local"] == pytest.approx(t1["inherent"])


@pytest.mark.parametrize(
    ("hit", "flag", "severity_at_b", "band_at_hit"),
    [
        (("T3", "UFLPA", 0.97), "UFLPA_ENTITY", "high", "critical"),  # cotton path, all c >= 0.6
        (("T3", "UFLPA", 0.8), "UFLPA_ENTITY", "low", "medium"),  # possible match: annotate, R_high only
        (("T3", "OWNERSHIP", 0.97), "OWNERSHIP_NEXUS", "low", "critical"),
    ],
)
def test_enforcement_flags_table(hit, flag, severity_at_b, band_at_hit):
    out = run(chain(), enforcement=hits(hit))
    b = row(out.scores, "B")
    flags = json.loads(b["flags"])
    assert flags and flags[0]["type"] == flag
    assert flags[0]["severity"] == severity_at_b
    assert flags[0]["distance"] == 3
    assert flags[0]["path"] == ["B", "T1", "T2", "T3"]
    t3 = row(out.scores, "T3")
    assert t3["band"] == band_at_hit
    assert t3["r_high"] >= (0.95 if flag == "UFLPA_ENTITY" else 0.6)  # possible matches count in R_high


def test_flag_on_a_non_priority_product_is_medium_beyond_two_hops():
    g = Graph(
        nodes(
            ("B", "DE", None, "buyer"),
            ("A", "MY", "Selangor", "supplier", ["8541"]),
            ("C", "MY", "Penang", "supplier", ["8541"]),
            ("D", "MY", "Penang", "supplier", ["8541"]),
        ),
        edges(
            ("A", "B", "8541", "buyer_declared", 1.0, 1.0),
            ("C", "A", "8541", "bol", 0.9, 1.0),
            ("D", "C", "8541", "bol", 0.9, 1.0),
        ),
    )
    out = run(g, enforcement=hits(("D", "WRO", 0.99)))
    assert row(out.scores, "C")["flag_severity"] == "high"  # distance 1
    assert row(out.scores, "A")["flag_severity"] == "high"  # distance 2
    b = row(out.scores, "B")
    assert b["flag_severity"] == "medium"  # distance 3, no UFLPA material
    assert b["score"] >= 0.35


def test_inferred_or_stale_edges_lower_flag_severity():
    g = Graph(
        nodes(
            ("B", "DE", None, "buyer"),
            ("A", "MY", "Selangor", "supplier", ["8541"]),
            ("C", "MY", "Penang", "supplier", ["8541"]),
        ),
        edges(
            ("A", "B", "8541", "inferred_hs_io", 0.3, 1.0),
            ("C", "A", "8541", "bol", 0.9, 1.0, date(2021, 1, 1)),
        ),
    )
    out = run(g, enforcement=hits(("C", "WRO", 0.99)))
    assert row(out.scores, "A")["flag_severity"] == "medium"  # distance 1 but shipments are stale
    assert row(out.scores, "B")["flag_severity"] == "medium"  # an inferred edge on the path


def test_logistics_nodes_neither_send_nor_receive_risk():
    g = Graph(
        nodes(
            ("B", "DE", None, "buyer"),
            ("L", "CN", None, "logistics", ["5208"]),
            ("X", "CN", "Xinjiang", "supplier", ["5205"]),
        ),
        edges(("X", "L", "5205", "bol", 0.9, 1.0), ("L", "B", "5208", "bol", 0.9, 1.0)),
    )
    s = run(g).scores
    assert row(s, "B")["propagated"] == pytest.approx(0.0, abs=1e-9) or row(s, "B")["score_unfloored"] < 0.1
    assert row(s, "X")["score"] == pytest.approx(0.95)


def test_bad_graph_input_is_reported_not_fatal():
    g = Graph(
        nodes(("B", "DE", None, "buyer"), ("A", None, None, "supplier", ["9999"])),
        edges(("A", "B", "9999", "bol", 0.9, 1.0), ("GHOST", "B", "5205", "bol", 0.9, 1.0)),
    )
    out = run(g)
    reasons = " | ".join(out.issues["reason"].to_list())
    assert "not a node" in reasons
    assert "country unknown" in reasons
    assert "9999" in reasons
    a = row(out.scores, "A")
    assert 0 < a["score"] < 1
    assert a["low_coverage"]


def test_missing_country_is_not_low_risk():
    g = Graph(
        nodes(
            ("known-low", "DE", "Bavaria", "supplier", ["8541"]),
            ("unknown", None, None, "supplier", ["8541"]),
        ),
        edges(),
    )
    s = run(g).scores
    assert row(s, "unknown")["inherent"] > row(s, "known-low")["inherent"]
    assert row(s, "unknown")["dci"] < row(s, "known-low")["dci"]


def test_user_country_index_is_recorded():
    ci = pl.DataFrame(
        {
            "iso2": ["DE", "BD", "CN", "IN", "US"],
            "C_c": [0.9, 0.1, 0.1, 0.1, 0.1],
            "gsi_components": ["prevalence_pct_rank"] * 5,
        }
    )
    out = run(chain(), country_index=ci)
    assert json.loads(out.scores["reference_version"][0])["country_index"] == "gsi"
    assert out.versions["country_index"] == "gsi"


def test_clean_audit_discount_and_finding_evidence_flow_into_local_risk():
    g = Graph(nodes(("S", "BD", "Dhaka", "supplier", ["6204"])), edges())
    base = row(run(g).scores, "S")
    audits = pl.DataFrame(
        {
            "site_entity_id": ["S"],
            "audit_id": ["A1"],
            "audit_date": [date(2025, 3, 1)],
            "audit_type": ["unannounced"],
            "source": ["third_party_audit"],
        }
    )
    clean = row(run(g, audits=audits).scores, "S")
    assert clean["inherent"] == pytest.approx(base["inherent"] * 0.7)
    found = audits.with_columns(
        finding_id=pl.lit("F1"),
        ilo_indicators=pl.lit([9, 3], dtype=pl.List(pl.Int8)),
        grade=pl.lit("critical"),
    )
    flagged = row(run(g, audits=found).scores, "S")
    assert (
        flagged["evidence"] >= 0.80
    )  # ILO pattern: debt bondage (involuntariness) + restriction of movement
    assert flagged["inherent"] == pytest.approx(base["inherent"])
    assert flagged["band"] == "critical"


def test_evidence_for_entities_outside_the_graph_is_reported():
    out = run(chain(), enforcement=hits(("NOT-IN-GRAPH", "UFLPA", 0.99)))
    stray = out.issues.filter(pl.col("value") == "NOT-IN-GRAPH")
    assert stray.height == 1
    assert "not in the supply graph" in stray["reason"][0]


def test_country_and_sector_priors_alone_never_make_an_entity_critical():
    # a mill in a worst-case country buying cotton from two worst-case countries: the priors compound
    ref = dataclasses.replace(
        REF,
        country_index=pl.DataFrame({"iso2": ["ZZ", "YY"], "C": [1.0, 1.0]}),
        tvpra=pl.DataFrame(
            {
                "iso2": ["ZZ", "YY"],
                "hs_prefix": ["5201", "5201"],
                "good": ["Cotton", "Cotton"],
                "forced": [True, True],
                "child": [False, False],
                "downstream": [False, False],
                "edition": ["2022", "2022"],
            }
        ),
    )
    g = Graph(
        nodes(
            ("M", "ZZ", None, "supplier", ["5201"]),
            ("S1", "ZZ", None, "supplier", ["5201"]),
            ("S2", "YY", None, "supplier", ["5201"]),
        ),
        edges(("S1", "M", "5201", "bol", 0.9, 0.5), ("S2", "M", "5201", "bol", 0.9, 0.5)),
    )

    def run_ref(**kw):
        return score_graph(g, enforcement_hits=None, methodology=M, as_of=AS_OF, reference=ref, **kw)

    out = run_ref(audits=None)
    m = row(out.scores, "M")
    payload = json.loads(row(out.explanations, "M")["explanation"])
    assert payload["prior_cap"]["score_uncapped"] > M.params.inherent.cap
    assert payload["prior_cap"]["applied"]
    assert m["score_unfloored"] == pytest.approx(M.params.inherent.cap)
    assert m["band"] == "high"
    # entity evidence adds on top of the capped prior
    audits = pl.DataFrame(
        {
            "site_entity_id": ["M"],
            "audit_id": ["A"],
            "finding_id": ["F"],
            "audit_date": [date(2025, 3, 1)],
            "ilo_indicators": [[8]],
            "grade": ["major"],
            "scope": ["systemic"],
            "status": ["open"],
        },
        schema_overrides={"ilo_indicators": pl.List(pl.Int8)},
    )
    with_finding = row(run_ref(audits=audits).scores, "M")
    assert with_finding["score_unfloored"] > m["score_unfloored"]
    assert with_finding["r_low"] <= with_finding["score_unfloored"] <= with_finding["r_high"]


def test_empty_graph_and_minimal_columns():
    empty = Graph(
        pl.DataFrame(schema={"entity_id": pl.String, "country": pl.String}),
        pl.DataFrame(schema={"src": pl.String, "dst": pl.String}),
    )
    out = run(empty)
    assert out.scores.height == 0 and out.scores.columns == list(SCORES_COLUMNS)
    bare = Graph(
        pl.DataFrame({"entity_id": ["a"]}), pl.DataFrame(schema={"src": pl.String, "dst": pl.String})
    )
    audits = pl.DataFrame(
        {"site_entity_id": ["a"], "audit_date": [date(2025, 1, 1)], "ilo_indicators": [[7]]},
        schema_overrides={"ilo_indicators": pl.List(pl.Int8)},
    )
    out = run(bare, audits=audits, enforcement=pl.DataFrame({"entity_id": ["a"], "list": ["UFLPA"]}))
    a = row(out.scores, "a")
    assert a["band"] == "critical" and a["evidence"] >= 0.95
    reasons = " ".join(out.issues["reason"].to_list())
    assert "grade missing" in reasons and "remediation status missing" in reasons
