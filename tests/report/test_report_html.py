import json
import re
from datetime import date

import polars as pl
import pytest

from risk_engine.pipeline import MATCHES_SCHEMA, SCORES_SCHEMA, ScreenResult, empty_rejects
from risk_engine.report import sections
from risk_engine.report.html import render_report


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = dict.fromkeys(SCORES_SCHEMA)
    base.update(
        role="supplier",
        tier=1,
        score_low=0.0,
        score_high=0.0,
        coverage=0.5,
        low_coverage=False,
        flags="[]",
        top_paths="[]",
        top_indicators="[]",
        methodology="fl-v1",
        versions="{}",
        inherent=0.05,
        evidence=0.0,
    )
    base.update(kw)
    return base


def sample_result() -> ScreenResult:
    flag = {
        "type": "UFLPA_ENTITY",
        "severity": "high",
        "jurisdiction": "US-UFLPA",
        "distance": 2,
        "path": ["e:v", "e:w1", "e:y"],
        "material": "cotton",
    }
    rows = [
        _row(
            entity_id="e:v",
            supplier_id="S1",
            buyer="Acme Retail",
            name="Dhaka Garments <b>Ltd</b>",
            country="BD",
            score=0.60,
            score_unfloored=0.41,
            propagated=0.41,
            inherent=0.148,
            evidence=0.0,
            band="critical",
            score_low=0.34,
            score_high=0.52,
            coverage=0.58,
            flags=json.dumps([flag]),
            flag_severity="high",
            sector="garments",
            top_paths=json.dumps(
                [
                    {"path": ["e:v", "e:w1", "e:y"], "share_of_hazard": 0.32},
                    {"path": ["e:v"], "share_of_hazard": 0.30, "kind": "local"},
                    {"path": ["e:v", "e:w1"], "share_of_hazard": 0.21},
                    {"path": ["e:v", "e:w2"], "share_of_hazard": 0.17},
                ]
            ),
        ),
        _row(
            entity_id="e:w2",
            supplier_id="S2",
            buyer="Acme Retail",
            name="Tamil Fabric Mill",
            country="IN",
            score=0.358,
            score_unfloored=0.358,
            propagated=0.358,
            inherent=0.073,
            evidence=0.252,
            band="high",
            score_low=0.30,
            score_high=0.45,
            sector="textiles",
            top_indicators=json.dumps(
                [
                    {
                        "entity": "e:w2",
                        "ilo_indicator": 7,
                        "name": "Retention of identity documents",
                        "grade": "major",
                        "status": "open",
                        "contribution": 0.238,
                    }
                ]
            ),
        ),
        _row(
            entity_id="e:z",
            supplier_id="=cmd|' /C calc'!A0",
            buyer="Beta Foods",
            name="Quiet Farm",
            country="CI",
            score=0.05,
            score_unfloored=0.05,
            propagated=0.05,
            inherent=0.05,
            band="low",
            coverage=0.2,
            low_coverage=True,
            sector="cocoa",
        ),
        _row(
            entity_id="e:w1",
            role="upstream",
            name="Jiangsu Cotton Mill",
            country="CN",
            tier=2,
            score=0.528,
            score_unfloored=0.528,
            propagated=0.528,
            inherent=0.214,
            band="critical",
            sector="textiles",
        ),
        _row(
            entity_id="e:y",
            role="upstream",
            name="Xinjiang Spinning",
            country="CN",
            tier=3,
            score=0.95,
            score_unfloored=0.95,
            propagated=0.95,
            inherent=0.95,
            evidence=0.95,
            band="critical",
            flags=json.dumps([{"type": "UFLPA_ENTITY", "severity": "high", "distance": 0, "path": ["e:y"]}]),
            flag_severity="high",
            sector="cotton yarn",
        ),
    ]
    scores = pl.DataFrame(rows, schema=SCORES_SCHEMA)
    entities = pl.DataFrame(
        {
            "entity_id": ["e:v", "e:w2", "e:z", "e:w1", "e:y"],
            "name": [
                "Dhaka Garments <b>Ltd</b>",
                "Tamil Fabric Mill",
                "Quiet Farm",
                "Jiangsu Cotton Mill",
                "Xinjiang Spinning",
            ],
            "country": ["BD", "IN", "CI", "CN", "CN"],
        }
    )
    matches = pl.DataFrame(
        [
            {
                "source": "trade_shipper",
                "record_id": "t1",
                "record_name": "Jiangsu Cotton",
                "record_country": "CN",
                "entity_id": "e:w1",
                "entity_name": "Jiangsu Cotton Mill",
                "probability": 0.8,
                "decision": "review",
                "method": "model",
            }
        ],
        schema=MATCHES_SCHEMA,
    )
    audits = pl.DataFrame(
        {
            "entity_id": ["e:w2", "e:w2", "e:z"],
            "facility_name": ["Tamil Fabric Mill"] * 2 + ["Quiet Farm"],
            "ilo_indicators": [[7], [11], [7, 8]],
        },
        schema_overrides={"ilo_indicators": pl.List(pl.Int8)},
    )
    explanations = pl.DataFrame(
        {
            "entity_id": ["e:v"],
            "explanation": [
                json.dumps(
                    {
                        "inherent": {
                            "country": "BD",
                            "sector": "garments",
                            "listings": ["TVPRA-2022:garments:FL"],
                        }
                    }
                )
            ],
        }
    )
    tiers = pl.DataFrame(
        {
            "buyer": ["Acme Retail"] * 4 + ["Beta Foods"],
            "entity_id": ["e:v", "e:w2", "e:w1", "e:y", "e:z"],
            "tier": [1, 1, 2, 3, 1],
        }
    )
    result = ScreenResult(
        scores=scores,
        entities=entities,
        matches=matches,
        edges=pl.DataFrame(),
        explanations=explanations,
        rejects=empty_rejects(),
        audits=audits,
        manifest={
            "run_id": "abc123",
            "methodology": "fl-v1",
            "as_of": str(date(2026, 11, 1)),
            "versions": {"engine": "0.1.0", "params": "fl-v1-params-1.0.0"},
            "inputs": {
                "suppliers": {"file": "s.csv", "rows_read": 3, "rows_rejected": 0, "sha256": "f" * 64}
            },
        },
        missing=["No trade records: upstream tiers come only from declared sub-suppliers."],
    )
    result.tiers = tiers  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="module")
def html() -> str:
    result = sample_result()
    return render_report(result, tiers=result.tiers)  # type: ignore[attr-defined]


def test_report_is_self_contained(html: str) -> None:
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=[\"']https?:", html)
    assert "vegaEmbed" in html


def test_report_escapes_names_and_keeps_sections(html: str) -> None:
    assert "Dhaka Garments &lt;b&gt;Ltd&lt;/b&gt;" in html
    for anchor in (
        "summary",
        "riskiest",
        "buyers",
        "paths",
        "ilo",
        "heatmap",
        "waterfalls",
        "coverage",
        "versions",
    ):
        assert f'id="{anchor}"' in html
    assert "What this result lacks" in html
    assert "fl-v1-params-1.0.0" in html


def test_report_chart_specs_are_valid_json_with_inline_data(html: str) -> None:
    match = re.search(r"var specs = (\{.*?\});\n", html, re.S)
    assert match
    specs = json.loads(match.group(1).replace("<\\/", "</"))
    assert {"bands", "exposure", "paths", "ilo", "heatmap", "coverage", "waterfall0"} <= set(specs)
    for spec in specs.values():
        assert "url" not in json.dumps(spec.get("data", {}))


def test_riskiest_explains_flag_path_in_words() -> None:
    top = sections.riskiest(sample_result())
    assert top[0]["supplier_id"] == "S1"
    assert "UFLPA_ENTITY" in top[0]["why"] and "Xinjiang Spinning" in top[0]["why"]
    assert "via Jiangsu Cotton Mill" in top[0]["why"]
    assert "ILO 7" in top[1]["why"]


def test_waterfall_steps_add_up_to_the_score() -> None:
    result = sample_result()
    names = dict(result.entities.select("entity_id", "name").iter_rows())
    row = result.scores.row(0, named=True)
    steps = sections.waterfall_steps(row, {"top_paths": json.loads(row["top_paths"])}, names)
    parts = [s for s in steps if s["kind"] != "total"]
    assert sum(s["value"] for s in parts) == pytest.approx(0.60)
    assert steps[-1] == {"label": "score", "kind": "total", "value": 0.60}
    floor = next(s for s in steps if s["kind"] == "floor")
    assert floor["value"] == pytest.approx(0.19)
    assert next(s["label"] for s in parts if s["kind"] == "upstream") == "via Jiangsu Cotton Mill"


def test_ilo_breakdown_counts_findings_and_sites() -> None:
    ilo = sections.ilo_breakdown(sample_result())
    seven = ilo.filter(pl.col("indicator") == 7).row(0, named=True)
    assert (seven["findings"], seven["entities"], seven["class"]) == (2, 2, "penalty")


def test_buyer_exposure_counts_all_tiers() -> None:
    result = sample_result()
    exposure = sections.buyer_exposure(result, result.tiers)  # type: ignore[attr-defined]
    acme = dict(exposure.filter(pl.col("buyer") == "Acme Retail").select("band", "n").iter_rows())
    assert acme == {"critical": 3, "high": 1}


def test_coverage_counts_unknown_not_low() -> None:
    cover = sections.coverage_summary(sample_result())
    assert cover["low_band_low_coverage"] == 1
