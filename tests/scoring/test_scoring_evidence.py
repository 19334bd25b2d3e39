from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.scoring.evidence import (
    audit_evidence,
    clean_audits,
    combine_audit,
    combine_audit_frame,
    enforcement_evidence,
    finding_contributions,
    finding_factors,
    ilo_pattern_met,
)
from risk_engine.scoring.registry import get_methodology

P = get_methodology("fl-v1").params
EP = P.evidence
AS_OF = date(2025, 11, 1)


def months_ago(m: float) -> date:
    return AS_OF - timedelta(days=round(m * 365.25 / 12))


def findings(*rows: dict) -> pl.DataFrame:
    base = {
        "site_entity_id": "S1",
        "audit_id": "A1",
        "finding_id": None,
        "audit_date": AS_OF,
        "audit_type": "announced",
        "clause": None,
        "ilo_indicators": [],
        "grade": "major",
        "scope": "systemic",
        "status": "open",
        "status_date": None,
        "source": "third_party_audit",
        "match_confidence": 1.0,
    }
    data = [{**base, "row": i + 2, **r} for i, r in enumerate(rows)]
    return pl.DataFrame(
        data,
        schema={
            "row": pl.Int64,
            "site_entity_id": pl.String,
            "audit_id": pl.String,
            "finding_id": pl.String,
            "audit_date": pl.Date,
            "audit_type": pl.String,
            "clause": pl.String,
            "ilo_indicators": pl.List(pl.Int8),
            "grade": pl.String,
            "scope": pl.String,
            "status": pl.String,
            "status_date": pl.Date,
            "source": pl.String,
            "match_confidence": pl.Float64,
        },
    )


def e_audit(frame: pl.DataFrame, variant: str = "point") -> dict:
    out = audit_evidence(frame, params=P, as_of=AS_OF, variant=variant)
    return out.row(0, named=True) if out.height else {"e_audit": 0.0}


def test_finding_value_is_the_product_of_its_factors():
    f = findings(
        {
            "finding_id": "f",
            "ilo_indicators": [8],
            "grade": "minor",
            "scope": "isolated",
            "status": "cap_agreed",
            "source": "verified_slcp",
            "match_confidence": 0.95,
            "audit_date": months_ago(18),
        }
    )
    ff = finding_factors(f, params=P, as_of=AS_OF)
    x = finding_contributions(ff.factors, params=P)["x"][0]
    assert x == pytest.approx(0.45 * 0.35 * 0.6 * 0.5 * 0.85 * 0.9 * 0.95, rel=1e-3)


def test_indicators_combine_by_noisy_or():
    f = findings({"finding_id": "a", "ilo_indicators": [11]}, {"finding_id": "b", "ilo_indicators": [10]})
    e = e_audit(f)["e_audit"]
    assert e == pytest.approx(1 - (1 - 0.25 * 0.7) * (1 - 0.2 * 0.7))


def test_several_findings_of_one_indicator_take_the_max():
    f = findings(
        {"finding_id": "a", "ilo_indicators": [11]},
        {"finding_id": "b", "ilo_indicators": [11], "grade": "minor"},
    )
    assert e_audit(f)["e_audit"] == pytest.approx(0.25 * 0.7)


def test_ilo_pattern_rule_escalates_to_080():
    # restriction of movement (involuntariness) and withholding of wages (penalty), both >= 0.20
    f = findings({"finding_id": "a", "ilo_indicators": [3]}, {"finding_id": "b", "ilo_indicators": [8]})
    row = e_audit(f)
    assert row["pattern_met"]
    assert row["e_audit"] == pytest.approx(0.80)


def test_pattern_rule_needs_two_different_indicators_of_the_two_classes():
    assert not ilo_pattern_met({7: 0.5, 8: 0.5}, EP)  # both penalty only
    assert not ilo_pattern_met({2: 0.5, 11: 0.5}, EP)  # both involuntariness only
    assert not ilo_pattern_met({3: 0.9}, EP)  # one indicator of both classes is not a pattern
    assert ilo_pattern_met({3: 0.2, 9: 0.2}, EP)
    assert not ilo_pattern_met({3: 0.19, 8: 0.9}, EP)


def test_grave_single_indicator_floor():
    value, pattern, grave = combine_audit({9: 0.30}, {9: 0.30}, EP)
    assert grave and not pattern and value == pytest.approx(0.60)
    value, _, grave = combine_audit({9: 0.29}, {9: 0.29}, EP)
    assert not grave and value == pytest.approx(0.29)


def test_pattern_rule_uses_only_findings_inside_the_recency_window():
    f = findings(
        {"finding_id": "a", "ilo_indicators": [3], "audit_date": months_ago(40), "grade": "critical"},
        {"finding_id": "b", "ilo_indicators": [8], "grade": "critical"},
    )
    row = e_audit(f)
    assert not row["pattern_met"]
    assert row["e_audit"] < 0.80


def test_recurrence_after_a_closed_cap_raises_the_indicator():
    closed = {
        "finding_id": "a",
        "ilo_indicators": [6],
        "audit_id": "A0",
        "audit_date": months_ago(12),
        "status": "closed_verified",
        "status_date": months_ago(11),
    }
    again = {"finding_id": "b", "ilo_indicators": [6], "audit_id": "A1"}
    assert e_audit(findings(closed, again))["e_audit"] == pytest.approx(0.4 * 0.7 * 1.3)
    assert e_audit(findings(again))["e_audit"] == pytest.approx(0.4 * 0.7)


def test_variants_treat_unknown_scope_and_possible_matches_differently():
    f = findings({"finding_id": "a", "ilo_indicators": [6], "scope": None})
    assert e_audit(f, "point")["e_audit"] == pytest.approx(0.4 * 0.7 * 0.8)
    assert e_audit(f, "low")["e_audit"] == pytest.approx(0.4 * 0.7 * 0.6)
    assert e_audit(f, "high")["e_audit"] == pytest.approx(0.4 * 0.7 * 1.0)
    possible = findings({"finding_id": "a", "ilo_indicators": [6], "match_confidence": 0.8})
    assert e_audit(possible, "point")["e_audit"] == 0.0
    assert e_audit(possible, "high")["e_audit"] == pytest.approx(0.4 * 0.7)


def test_bad_values_are_reported_and_handled_conservatively():
    f = findings(
        {"finding_id": "g", "ilo_indicators": [5], "grade": "severe-ish"},
        {"finding_id": "s", "ilo_indicators": [6], "status": "pending review?"},
        {"finding_id": "i", "ilo_indicators": [12]},
        {"finding_id": "c", "clause": "XYZ-99", "ilo_indicators": []},
        {"finding_id": "future", "ilo_indicators": [5], "audit_date": AS_OF + timedelta(days=3)},
    )
    ff = finding_factors(f, params=P, as_of=AS_OF)
    issues = ff.issues
    by_col = {(r["row"], r["column"]): r for r in issues.iter_rows(named=True)}
    assert "unknown grade" in by_col[(2, "grade")]["reason"]
    assert "treated as open" in by_col[(3, "status")]["reason"]
    assert by_col[(4, "ilo_indicators")]["value"] == "12"
    assert "no ILO forced-labour indicator" in by_col[(5, "clause")]["reason"]
    assert "after as-of" in by_col[(6, "audit_date")]["reason"]
    assert set(issues["severity"]) == {"warning"}
    factors = ff.factors
    assert factors.filter(pl.col("finding_id") == "g")["g"][0] == EP.grade_unknown
    assert factors.filter(pl.col("finding_id") == "s")["rho"][0] == 1.0
    assert "future" not in factors["finding_id"].to_list()
    assert ff.unmapped.height == 2  # the unknown clause and the indicator-12-only finding


def test_grade_aliases_across_schemes():
    for word, value in (
        ("Zero Tolerance", 1.0),
        ("PA=E", 0.7),
        ("pa d", 0.5),
        ("Observation", 0.1),
        ("RBA priority", 1.0),
    ):
        ff = finding_factors(
            findings({"finding_id": "a", "ilo_indicators": [1], "grade": word}), params=P, as_of=AS_OF
        )
        assert ff.factors["g"][0] == value, word
        assert ff.issues.is_empty(), word


def test_clean_audit_discounts_only_qualifying_audits():
    header = {
        "finding_id": None,
        "clause": None,
        "ilo_indicators": [],
        "grade": None,
        "scope": None,
        "status": None,
    }
    f = findings(
        {**header, "site_entity_id": "ann", "audit_date": months_ago(6)},
        {**header, "site_entity_id": "unann", "audit_type": "semi-announced", "audit_date": months_ago(6)},
        {**header, "site_entity_id": "old", "audit_date": months_ago(13)},
        {**header, "site_entity_id": "saq", "source": "self_assessment"},
        {**header, "site_entity_id": "unmapped", "finding_id": "x", "clause": "FOO-1"},
        {"site_entity_id": "fl", "finding_id": "y", "ilo_indicators": [11], "grade": "minor"},
    )
    k = dict(clean_audits(f, params=P, as_of=AS_OF).select("entity_id", "clean_kappa").iter_rows())
    assert k == {"ann": 0.8, "unann": 0.7, "unmapped": 0.8}  # a non-FL clause does not stop the discount


def hits(*rows: dict) -> pl.DataFrame:
    base = {
        "entity_id": "E1",
        "list": "UFLPA",
        "match_probability": 0.97,
        "listed_date": date(2023, 1, 1),
        "revoked_date": None,
        "list_version": "2025-01-15",
    }
    return pl.DataFrame(
        [{**base, "row": i + 2, **r} for i, r in enumerate(rows)],
        schema={
            "entity_id": pl.String,
            "list": pl.String,
            "match_probability": pl.Float64,
            "listed_date": pl.Date,
            "revoked_date": pl.Date,
            "list_version": pl.String,
            "row": pl.Int64,
        },
    )


def enf(frame, variant="point"):
    return enforcement_evidence(frame, params=P, as_of=AS_OF, variant=variant)


def test_enforcement_values_and_flags():
    out = enf(hits({}, {"entity_id": "E2", "list": "WRO"}, {"entity_id": "E3", "list": "ownership"}))
    e = dict(out.evidence.select("entity_id", "e_enf").iter_rows())
    assert e == {"E1": pytest.approx(0.95), "E2": pytest.approx(0.90), "E3": pytest.approx(0.60)}
    assert dict(out.flags.select("entity_id", "flag").iter_rows()) == {
        "E1": "UFLPA_ENTITY",
        "E2": "WRO_ENTITY",
        "E3": "OWNERSHIP_NEXUS",
    }


def test_revoked_wro_decays_and_raises_no_flag():
    out = enf(hits({"list": "WRO", "revoked_date": AS_OF - timedelta(days=round(24 * 365.25 / 12))}))
    assert out.evidence["e_enf"][0] == pytest.approx(0.25, abs=1e-3)
    assert out.flags.is_empty()


def test_allegations_corroboration_decay_and_cap():
    one = enf(hits({"list": "ALLEGATION", "listed_date": AS_OF}))
    assert one.evidence["e_alleg"][0] == pytest.approx(0.30)
    two = enf(
        hits({"list": "ALLEGATION", "listed_date": AS_OF}, {"list": "NGO allegation".replace("NGO ", "")})
    )
    assert two.evidence["e_alleg"][0] == pytest.approx(0.45)
    old = enf(hits({"list": "ALLEGATION", "listed_date": AS_OF - timedelta(days=round(24 * 365.25 / 12))}))
    assert old.evidence["e_alleg"][0] == pytest.approx(0.15, abs=1e-3)


def test_possible_matches_count_only_in_r_high_and_flag_low():
    frame = hits({"match_probability": 0.8})
    assert enf(frame, "point").evidence.is_empty()
    assert enf(frame, "high").evidence["e_enf"][0] == pytest.approx(0.95)
    assert enf(frame, "point").flags["possible_match"][0]
    assert enf(hits({"match_probability": 0.5})).flags.is_empty()


def test_unknown_list_and_future_listing():
    out = enf(hits({"list": "SANCTIONS-XYZ"}, {"entity_id": "E9", "listed_date": AS_OF + timedelta(days=1)}))
    assert out.evidence.is_empty()
    assert out.issues["reason"].to_list() == ["unknown list name: hit ignored"]
    assert out.issues["row"].to_list() == [2]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.integers(1, 11), st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=11)
)
def test_vectorised_combination_matches_the_scalar_rules(values):
    e = {k: v[0] for k, v in values.items()}
    ew = {k: min(v[0], v[1]) for k, v in values.items()}  # the window value never exceeds the full value
    frame = pl.DataFrame(
        {
            "entity_id": ["S"] * len(e),
            "indicator": list(e),
            "e": list(e.values()),
            "e_window": [ew[k] for k in e],
        }
    )
    row = combine_audit_frame(frame, EP).row(0, named=True)
    value, pattern, grave = combine_audit(e, ew, EP)
    assert row["e_audit"] == pytest.approx(value, abs=1e-12)
    assert (row["pattern_met"], row["grave_met"]) == (pattern, grave)
