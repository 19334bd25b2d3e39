from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from risk_engine.graph.build import EDGE_SCHEMA, SupplyGraph
from risk_engine.graph.paths import risk_paths, top_paths
from risk_engine.scoring.propagate import propagate


def worked_example() -> tuple[SupplyGraph, np.ndarray, np.ndarray]:
    nodes = pl.DataFrame(
        {
            "entity_id": ["buyer", "V", "W1", "W2", "Y"],
            "country": ["DE", "BD", "CN", "IN", "CN"],
            "node_type": ["buyer", "supplier", "supplier", "supplier", "supplier"],
        }
    )
    edges = pl.DataFrame(
        [
            ("V", "buyer", "6109", "buyer_declared", 1.0, 1.0),
            ("W1", "V", "5208", "bol", 0.6, 0.9),
            ("W2", "V", "5208", "supplier_declared", 0.4, 0.7),
            ("Y", "W1", "5205", "bol", 0.5, 0.9),
        ],
        schema={k: EDGE_SCHEMA[k] for k in ("src", "dst", "hs4", "source", "share", "confidence")},
        orient="row",
    )
    g = SupplyGraph(nodes, edges)
    local = g.node_values(
        pl.DataFrame({"entity_id": ["buyer", "V", "W1", "W2", "Y"], "l": [0.0, 0.148, 0.214, 0.306, 0.95]})
    )
    back = g.node_values(
        pl.DataFrame({"entity_id": ["buyer", "V", "W1", "W2", "Y"], "b": [0.0, 0.0, 0.0572, 0.0752, 0.0]})
    )
    return g, local, back


def test_worked_example_paths_match_the_methodology_payload() -> None:
    g, local, back = worked_example()
    res = propagate(g.propagation_input(local, back))
    paths = top_paths(g, res, "V", n=10)
    by_path = {(tuple(p["path"]), p["kind"]): p["share_of_hazard"] for p in paths}
    assert by_path[(("V", "W1", "Y"), "local_of_upstream")] == pytest.approx(0.32, abs=0.01)
    assert by_path[(("V",), "local")] == pytest.approx(0.30, abs=0.01)
    assert by_path[(("V", "W1"), "local_of_upstream")] == pytest.approx(0.17, abs=0.01)
    # shares are sorted and every finished path of the whole tree adds up to 1
    shares = [p["share_of_hazard"] for p in paths]
    assert shares == sorted(shares, reverse=True)
    assert sum(shares) == pytest.approx(1.0, abs=1e-5)
    first = paths[0]
    assert first["path"] == ["V", "W1", "Y"]
    assert [e["hs4"] for e in first["edges"]] == ["5208", "5205"]
    assert first["edges"][0]["c"] == 0.9 and first["edges"][0]["s"] == 0.6


def test_paths_do_not_backtrack_through_a_cycle_and_respect_depth_and_prune() -> None:
    nodes = pl.DataFrame({"entity_id": ["a", "b", "c"], "country": ["CN", "CN", "VN"]})
    edges = pl.DataFrame(
        {
            "src": ["a", "b", "c"],
            "dst": ["b", "a", "b"],
            "share": [0.5, 0.5, 0.5],
            "confidence": [1.0, 1.0, 1.0],
        }
    )
    g = SupplyGraph(nodes, edges)
    res = propagate(g.propagation_input(np.array([0.5, 0.1, 0.4])), k=10)
    for p in risk_paths(g, res, g.index_of("b"), n=50, prune=0.0):
        assert len(set(p.nodes)) == len(p.nodes)
    shallow = risk_paths(g, res, g.index_of("b"), n=50, max_depth=1, prune=0.0)
    assert max(len(p.edges) for p in shallow) == 1
    assert {p.kind for p in shallow} <= {"local", "local_of_upstream", "backfill", "depth_limit"}
    assert risk_paths(g, res, g.index_of("b"), n=50, prune=0.9) == []
