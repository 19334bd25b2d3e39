"""Reconciling declared (supplier list) and trade-derived (bill of lading) edges into one share per input.

The rule (docs/PROPAGATION.md §1, "Reconciling declared and trade edges"): a (supplier, buyer) lane present
in both sources is one edge (declared structure, trade evidence); known declared shares take precedence;
the remainder ``1 - Σ known declared`` goes to the other inputs, trade-derived ones in proportion to their
volume, a supplier with no known volume counting as an average-sized one; only declared shares alone
above 1 are over-declared (one warning per buyer).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from risk_engine.graph.build import EDGE_SCHEMA, SupplyGraph, reconcile_edges


def edges(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{name: row.get(name) for name in EDGE_SCHEMA} for row in rows]
    return pl.DataFrame(full, schema=EDGE_SCHEMA)


def declared(src: str, dst: str, share: float, *, imputed: bool, hs4: str | None = "6109", **kw: Any) -> dict:
    source = kw.pop("source", "supplier_declared")
    c = {"buyer_declared": 1.0, "supplier_declared": 0.7}[source]
    return {
        "src": src,
        "dst": dst,
        "hs4": hs4,
        "source": source,
        "share": share,
        "share_imputed": imputed,
        "confidence": c,
        **kw,
    }


def bol(
    src: str, dst: str, share: float, *, hs4: str | None = "6109", imputed: bool = False, **kw: Any
) -> dict:
    return {
        "src": src,
        "dst": dst,
        "hs4": hs4,
        "source": "bol",
        "n_shipments": kw.pop("n", 3),
        "value_usd": kw.pop("value", 100.0),
        "weight_kg": kw.pop("weight", None),
        "first_date": kw.pop("first", date(2024, 1, 1)),
        "last_date": kw.pop("last", date(2025, 1, 1)),
        "share": share,
        "share_imputed": imputed,
        "confidence": kw.pop("c", 0.9),
    }


def by_src(frame: pl.DataFrame, dst: str) -> dict[str, dict[str, Any]]:
    rows = frame.filter(pl.col("dst") == dst).iter_rows(named=True)
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["src"] not in out, f"{row['src']} -> {dst} is more than one edge"
        out[row["src"]] = row
    return out


def shares(frame: pl.DataFrame, dst: str) -> dict[str, float]:
    return {src: row["share"] for src, row in by_src(frame, dst).items()}


def test_trade_only_and_declared_only_buyers_keep_their_shares() -> None:
    found: list[pl.DataFrame] = []
    out = reconcile_edges(
        edges([declared("x", "p", 0.5, imputed=True), declared("y", "p", 0.5, imputed=True)]),
        edges([bol("a", "v", 0.7), bol("b", "v", 0.3, imputed=True)]),
        issues=found,
    )
    assert out.schema == pl.Schema(EDGE_SCHEMA)
    assert shares(out, "p") == {"x": 0.5, "y": 0.5}
    assert shares(out, "v") == pytest.approx({"a": 0.7, "b": 0.3})
    v = by_src(out, "v")
    assert not v["a"]["share_imputed"] and v["b"]["share_imputed"]
    assert all(by_src(out, "p")[s]["share_imputed"] for s in ("x", "y"))
    assert not any(f.height for f in found)


def test_a_lane_in_both_sources_is_one_declared_edge_carrying_the_trade_evidence() -> None:
    found: list[pl.DataFrame] = []
    out = reconcile_edges(
        edges([declared("a", "v", 1.0, imputed=True, hs4="6109")]),
        edges(
            [
                bol(
                    "a", "v", 0.8, hs4="6109", n=5, value=100.0, first=date(2023, 5, 1), last=date(2025, 3, 1)
                ),
                bol("a", "v", 0.2, hs4="5208", n=2, value=25.0, c=0.6, first=date(2022, 1, 1)),
            ]
        ),
        issues=found,
    )
    (edge,) = out.iter_rows(named=True)
    assert edge["source"] == "supplier_declared"  # the declared structure
    assert edge["hs4"] == "6109"  # the product the list declares
    assert edge["n_shipments"] == 7 and edge["value_usd"] == 125.0  # the trade evidence, whole lane
    assert edge["first_date"] == date(2022, 1, 1) and edge["last_date"] == date(2025, 3, 1)
    assert edge["confidence"] == 0.9  # corroborated by strong BOL evidence: the higher confidence
    assert edge["share"] == 1.0 and not edge["share_imputed"]  # its share is the lane's trade volume
    assert not any(f.height for f in found)  # no duplicate merged, nothing scaled


def test_a_corroborated_lane_without_a_declared_product_takes_its_main_traded_hs4() -> None:
    out = reconcile_edges(
        edges([declared("a", "v", 1.0, imputed=True, hs4=None, source="buyer_declared")]),
        edges([bol("a", "v", 0.3, hs4="5208"), bol("a", "v", 0.7, hs4="6110")]),
    )
    (edge,) = out.iter_rows(named=True)
    assert edge["hs4"] == "6110"
    assert edge["confidence"] == 1.0 and edge["source"] == "buyer_declared"


def test_suppliers_without_a_known_volume_count_as_average_sized_beside_trade_volumes() -> None:
    # v declares x (no spend, no trade) and a (no spend, traded); trade also shows b.
    out = reconcile_edges(
        edges([declared("x", "v", 0.5, imputed=True), declared("a", "v", 0.5, imputed=True)]),
        edges([bol("a", "v", 0.6), bol("b", "v", 0.4)]),
    )
    s = shares(out, "v")
    # three inputs: x is one average input (1/3); a and b share the other 2/3 by volume (0.6 : 0.4)
    assert s == pytest.approx({"x": 1 / 3, "a": 2 / 3 * 0.6, "b": 2 / 3 * 0.4})
    assert sum(s.values()) == pytest.approx(1.0)
    assert all(row["share_imputed"] for row in by_src(out, "v").values())


def test_known_declared_shares_take_precedence_and_trade_fills_the_remainder_by_volume() -> None:
    found: list[pl.DataFrame] = []
    out = reconcile_edges(
        edges(
            [
                declared("a", "v", 0.6, imputed=False, source="buyer_declared", value_usd=6e5),
                declared("c", "v", 0.2, imputed=False, source="buyer_declared", value_usd=2e5),
            ]
        ),
        # trade shares are relative to v's BOL inputs: a 0.5, b 0.3, d 0.2
        edges([bol("a", "v", 0.5, n=9), bol("b", "v", 0.3), bol("d", "v", 0.2)]),
        issues=found,
    )
    s = shares(out, "v")
    assert s == pytest.approx({"a": 0.6, "c": 0.2, "b": 0.2 * 0.3 / 0.5, "d": 0.2 * 0.2 / 0.5})
    v = by_src(out, "v")
    assert v["a"]["source"] == "buyer_declared" and v["a"]["n_shipments"] == 9
    assert v["a"]["confidence"] == 1.0 and not v["a"]["share_imputed"]
    assert v["c"]["n_shipments"] is None  # declared only: no trade evidence
    assert not v["b"]["share_imputed"] and not v["d"]["share_imputed"]
    assert not any(f.height for f in found)


def test_over_declared_input_is_one_warning_per_buyer_naming_it_and_the_sum() -> None:
    found: list[pl.DataFrame] = []
    out = reconcile_edges(
        edges(
            [
                declared("a", "v", 0.9, imputed=False, source="buyer_declared"),
                declared("b", "v", 0.6, imputed=False, source="buyer_declared"),
                declared("a", "w", 0.5, imputed=False, source="buyer_declared"),
            ]
        ),
        edges([bol("c", "v", 1.0), bol("c", "w", 1.0)]),
        labels=pl.DataFrame({"entity_id": ["v", "w"], "name": ["Vega Apparel AB", "Wren Foods"]}),
        issues=found,
    )
    assert shares(out, "v") == pytest.approx({"a": 0.6, "b": 0.4, "c": 0.0})
    assert shares(out, "w") == pytest.approx({"a": 0.5, "c": 0.5})
    issues = pl.concat(found)
    assert issues.height == 1
    (issue,) = issues.iter_rows(named=True)
    assert issue["severity"] == "warning" and issue["column"] == "share"
    assert "Vega Apparel AB" in issue["value"] and "v" in issue["value"] and "1.5" in issue["value"]
    assert "over-declared" in issue["reason"]


def test_complete_declared_spend_leaves_undeclared_trade_inputs_a_zero_share_and_says_so_once() -> None:
    found: list[pl.DataFrame] = []
    out = reconcile_edges(
        edges(
            [
                declared("a", "v", 0.7, imputed=False, source="buyer_declared"),
                declared("b", "v", 0.3, imputed=False, source="buyer_declared"),
            ]
        ),
        edges([bol("c", "v", 0.5), bol("d", "v", 0.5)]),
        issues=found,
    )
    assert shares(out, "v") == pytest.approx({"a": 0.7, "b": 0.3, "c": 0.0, "d": 0.0})
    issues = pl.concat(found)
    assert issues.height == 1
    reason = issues["reason"][0]
    assert "share 0" in reason and "over-declared" not in reason


def test_reconciled_edges_need_no_scaling_or_merging_in_the_graph() -> None:
    found: list[pl.DataFrame] = []
    dec = edges(
        [
            declared("a", "v", 0.5, imputed=True, source="buyer_declared"),
            declared("b", "v", 0.5, imputed=True, source="buyer_declared"),
            declared("c", "a", 1.0, imputed=True),
            declared("d", "b", 1 / 3, imputed=True, hs4=None),
            declared("e", "b", 1 / 3, imputed=True),
            declared("f", "b", 1 / 3, imputed=True),
        ]
    )
    trade = edges(
        [
            bol("a", "v", 0.5),
            bol("g", "v", 0.5, hs4=None),
            bol("c", "a", 0.25, hs4="5208"),
            bol("c", "a", 0.25, hs4="5209"),
            bol("h", "a", 0.5),
            bol("d", "b", 1.0, hs4="5208"),
            bol("i", "c", 1.0),
        ]
    )
    out = reconcile_edges(dec, trade, issues=found)
    assert not any(f.height for f in found)
    per_dst = out.group_by("dst").agg(pl.col("share").sum())
    assert per_dst["share"].to_list() == pytest.approx([1.0] * per_dst.height)
    assert out.select("src", "dst").is_duplicated().sum() == 0
    assert by_src(out, "b")["d"]["hs4"] == "5208"  # the declared lane learnt its product from trade
    ids = sorted(set(out["src"]) | set(out["dst"]))
    nodes = pl.DataFrame(
        {"entity_id": ids, "country": ["CN"] * len(ids), "node_type": ["supplier"] * len(ids)}
    )
    graph = SupplyGraph(nodes, out)
    reasons = graph.issues["reason"].to_list()
    assert not any("sum above 1" in r or "duplicate" in r for r in reasons)


def test_empty_inputs_give_an_empty_edge_frame() -> None:
    assert reconcile_edges(None, None).schema == pl.Schema(EDGE_SCHEMA)
    assert reconcile_edges(edges([]), None).height == 0
    only_trade = reconcile_edges(None, edges([bol("a", "v", 1.0)]))
    assert only_trade["share"].to_list() == [1.0]


def test_supply_graph_reports_shares_above_one_once_per_buyer_with_the_sum() -> None:
    nodes = pl.DataFrame(
        {
            "entity_id": ["v", "a", "b", "c"],
            "country": ["US", "CN", "CN", "IN"],
            "node_type": ["buyer"] + ["supplier"] * 3,
        }
    )
    graph = SupplyGraph(
        nodes,
        edges(
            [
                {
                    "src": "a",
                    "dst": "v",
                    "hs4": "5208",
                    "source": "ownership",
                    "share": 0.8,
                    "confidence": 0.4,
                },
                {
                    "src": "b",
                    "dst": "v",
                    "hs4": "5208",
                    "source": "ownership",
                    "share": 0.4,
                    "confidence": 0.4,
                },
                {
                    "src": "c",
                    "dst": "v",
                    "hs4": "5208",
                    "source": "ownership",
                    "share": 0.3,
                    "confidence": 0.4,
                },
            ]
        ),
    )
    over = graph.issues.filter(pl.col("reason").str.contains("sum above 1"))
    assert over.height == 1
    assert "v" in over["value"][0] and "1.5" in over["value"][0]
    assert graph.edges["share"].sum() == pytest.approx(1.0)


def test_shares_do_not_depend_on_the_row_order_of_the_inputs() -> None:
    # The engines hand over the same BOL edges in different row orders (Spark sorts them, the local
    # group-by does not): the reconciled shares must be the same bits either way.
    trade_rows = [
        bol(f"s{i}", "v", share, hs4=f"52{i % 10:02d}") for i, share in enumerate([0.1, 0.2, 0.3, 0.15, 0.25])
    ]
    trade_rows += [bol("s0", "w", 0.7), bol("s9", "w", 0.3)]
    dec = edges(
        [
            declared("s0", "w", 1 / 3, imputed=False, source="buyer_declared"),  # known, traded
            declared("s3", "v", 0.5, imputed=True),  # corroborated: its share is its trade volume
            declared("x", "v", 0.5, imputed=True),  # declared only: one average-sized input
        ]
    )
    forward = reconcile_edges(dec, edges(trade_rows))
    backward = reconcile_edges(dec, edges(trade_rows[::-1]))
    assert forward.equals(backward)
    v = by_src(forward, "v")
    # six inputs, five traded: each traded one keeps 5/6 of its BOL share, x gets 1/6
    assert v["s0"]["share"] == 1.0 * (5 / 6) * 0.1 and v["s3"]["share"] == 1.0 * (5 / 6) * 0.15
    assert v["x"]["share"] == pytest.approx(1 / 6)
    # w: s0's trade went to its known declared share, so s9's trade share is renormalised over the rest
    assert shares(forward, "w") == pytest.approx({"s0": 1 / 3, "s9": 2 / 3})
