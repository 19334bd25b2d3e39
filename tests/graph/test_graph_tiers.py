from __future__ import annotations

import polars as pl

from risk_engine.graph.build import SupplyGraph
from risk_engine.graph.tiers import tiers_from_roots


def graph() -> SupplyGraph:
    nodes = pl.DataFrame(
        {
            "entity_id": ["buyer", "t1", "t2", "t3", "fwd", "beyond", "other_buyer"],
            "node_type": ["buyer", "supplier", "supplier", "supplier", "logistics", "supplier", "buyer"],
        }
    )
    edges = pl.DataFrame(
        {
            "src": ["t1", "t2", "t3", "t1", "fwd", "beyond", "t2"],
            "dst": ["buyer", "t1", "t2", "t3", "buyer", "fwd", "other_buyer"],
        }
    )
    return SupplyGraph(nodes, edges)


def test_tiers_are_shortest_hop_distances_and_skip_logistics() -> None:
    t = tiers_from_roots(graph())
    got = {(r["root"], r["entity_id"]): r["tier"] for r in t.iter_rows(named=True)}
    assert got == {
        ("buyer", "buyer"): 0,
        ("buyer", "t1"): 1,
        ("buyer", "t2"): 2,
        ("buyer", "t3"): 3,  # the cycle t1 -> t3 -> t2 -> t1 does not shorten anything
        ("other_buyer", "other_buyer"): 0,
        ("other_buyer", "t2"): 1,
        ("other_buyer", "t1"): 3,
        ("other_buyer", "t3"): 2,
    }


def test_max_tier_and_unknown_roots() -> None:
    t = tiers_from_roots(graph(), ["buyer", "nobody"], max_tier=1)
    assert t.select("entity_id", "tier").rows() == [("buyer", 0), ("t1", 1)]
