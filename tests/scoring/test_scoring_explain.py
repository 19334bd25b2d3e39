from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import polars as pl
import pytest

from risk_engine.scoring.explain import _hazards, decompose_paths, hazard_split
from risk_engine.scoring.inherent import InherentReference
from risk_engine.scoring.registry import get_methodology
from risk_engine.scoring.score import graph_arrays, node_terms, propagate_variants, score_graph

M = get_methodology("fl-v1")
P = M.params
AS_OF = date(2025, 6, 30)
REF = InherentReference(
    country_index=pl.DataFrame({"iso2": ["CN", "VN", "DE"], "C": [0.5, 0.45, 0.1]}),
    sector_index=pl.DataFrame(
        {"hs_prefix": ["52", "61"], "sector": ["textiles", "garments"], "S": [0.8, 0.8]}
    ),
    tvpra=pl.DataFrame(
        schema={
            "iso2": pl.String,
            "hs_prefix": pl.String,
            "good": pl.String,
            "forced": pl.Boolean,
            "child": pl.Boolean,
            "downstream": pl.Boolean,
            "edition": pl.String,
        }
    ),
    uflpa_priority=pl.DataFrame({"hs_prefix": ["52"], "material": ["cotton"]}),
)


@dataclass(frozen=True)
class Graph:
    nodes: pl.DataFrame
    edges: pl.DataFrame


def cyclic_graph() -> Graph:
    # B <- A <- {C, D}; C <-> D trade with each other (a cycle); D also supplies B
    nodes = pl.DataFrame(
        {
            "entity_id": ["B", "A", "C", "D"],
            "country": ["DE", "VN", "CN", "CN"],
            "region": [None, "Hanoi", None, "Jiangsu"],
            "node_type": ["buyer", "supplier", "supplier", "supplier"],
            "hs4_list": [[], ["6109"], ["5205"], ["5205"]],
        },
        schema_overrides={"hs4_list": pl.List(pl.String)},
    )
    edges = pl.DataFrame(
        {
            "src": ["A", "C", "D", "C", "D", "D"],
            "dst": ["B", "A", "A", "D", "C", "B"],
            "hs4": ["6109", "5205", "5205", "5205", "5205", "6109"],
            "source": ["buyer_declared", "bol", "bol", "bol", "bol", "supplier_declared"],
            "confidence": [1.0, 0.9, 0.6, 0.9, 0.9, 0.7],
            "share": [0.8, 0.5, 0.5, 0.3, 0.3, 0.2],
        }
    )
    return Graph(nodes, edges)


def setup():
    g = cyclic_graph()
    arrays, _ = graph_arrays(g.nodes, g.edges, params=P)
    terms, *_ = node_terms(
        g.nodes, arrays, audits=None, enforcement_hits=None, params=P, as_of=AS_OF, reference=REF
    )
    runs = propagate_variants(arrays, terms, params=P)
    return arrays, runs


def test_hazard_split_is_exact():
    arrays, runs = setup()
    hz = _hazards(arrays, runs.point)
    for v in range(len(arrays.node_ids)):
        split = hazard_split(v, arrays, hz)
        total = split["local"] + split["backfill"] + sum(g["share"] for g in split["upstream"])
        if runs.point.risk[v] > 0:
            assert total == pytest.approx(1.0, abs=1e-3)
        h = -math.log1p(-runs.point.risk[v])
        assert hz.total[v] == pytest.approx(h, rel=1e-9)


def test_path_shares_sum_to_one_and_terminate_on_cycles():
    arrays, runs = setup()
    hz = _hazards(arrays, runs.point)
    for v in range(len(arrays.node_ids)):
        parts = decompose_paths(v, hz, max_depth=P.propagation.max_depth)
        assert sum(p["share"] for p in parts) == pytest.approx(1.0, abs=1e-9)
        for p in parts:
            assert len(set(p["nodes"])) == len(p["nodes"])  # no node twice on a path
            assert len(p["nodes"]) <= P.propagation.max_depth + 1


def test_payload_has_the_methodology_shape():
    out = score_graph(
        cyclic_graph(), audits=None, enforcement_hits=None, methodology=M, as_of=AS_OF, reference=REF
    )
    payload = json.loads(out.explanations.filter(pl.col("entity_id") == "B")["explanation"][0])
    for key in (
        "entity_id",
        "score",
        "score_unfloored",
        "band",
        "interval",
        "dci",
        "imputed_share",
        "flags",
        "top_paths",
        "top_indicators",
        "inherent",
        "versions",
        "hazard_split",
    ):
        assert key in payload, key
    assert payload["interval"][0] <= payload["score_unfloored"] <= payload["interval"][1]
    assert payload["versions"]["params"] == M.params_version
    assert payload["inherent"]["logit_terms"]["base"] == P.inherent.beta0
    shares = [p["share_of_hazard"] for p in payload["top_paths"]]
    assert shares == sorted(shares, reverse=True)
    for p in payload["top_paths"]:
        if len(p["path"]) > 1:
            assert len(p["edges"]) == len(p["path"]) - 1
            assert p["edges"][0]["to"] == p["path"][0]
    row = out.scores.filter(pl.col("entity_id") == "B").row(0, named=True)
    assert json.loads(row["top_paths"]) == payload["top_paths"]
