from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from risk_engine.errors import InputError
from risk_engine.graph.build import (
    EDGE_SCHEMA,
    SupplyGraph,
    aggregate_trade,
    declared_edges,
    ownership_edges,
)
from risk_engine.scoring.propagate import propagate

AS_OF = date(2025, 6, 30)


def trade_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "row": pl.Int64,
            "shipper_entity_id": pl.String,
            "consignee_entity_id": pl.String,
            "hs_code": pl.String,
            "date": pl.Date,
            "value_usd": pl.Float64,
            "weight_kg": pl.Float64,
        },
        orient="row",
    )


def test_aggregate_trade_sums_per_shipper_consignee_hs4_and_sets_shares_and_confidence() -> None:
    trade = trade_frame(
        [
            (2, "a", "v", "520811", date(2025, 1, 1), 100.0, 10.0),
            (3, "a", "v", "520812", date(2025, 2, 1), 100.0, 10.0),
            (4, "a", "v", "5208", date(2025, 3, 1), 100.0, 10.0),
            (5, "b", "v", "6109", date(2024, 12, 1), 100.0, 5.0),
            (6, "c", "w", "6109", date(2019, 6, 30), None, 7.0),
        ]
    )
    issues: list[pl.DataFrame] = []
    edges = aggregate_trade(trade, as_of=AS_OF, issues=issues)
    assert edges.schema == pl.Schema(EDGE_SCHEMA)
    a = edges.filter(pl.col("src") == "a").row(0, named=True)
    assert (a["hs4"], a["n_shipments"], a["value_usd"], a["weight_kg"]) == ("5208", 3, 300.0, 30.0)
    assert (a["first_date"], a["last_date"]) == (date(2025, 1, 1), date(2025, 3, 1))
    assert a["share"] == pytest.approx(0.75) and not a["share_imputed"]
    assert a["confidence"] == 0.9  # three recent shipments with HS4
    b = edges.filter(pl.col("src") == "b").row(0, named=True)
    assert b["share"] == pytest.approx(0.25) and b["confidence"] == 0.6
    c = edges.filter(pl.col("src") == "c").row(0, named=True)
    # no value, but weight complete: weight share; six years old: 0.6 * 2^(-(72-12)/24)
    assert c["share"] == 1.0 and not c["share_imputed"]
    months = (AS_OF - date(2019, 6, 30)).days / 30.4375
    assert c["confidence"] == pytest.approx(0.6 * 2 ** (-(months - 12) / 24))
    assert pl.concat(issues).height == 0


def test_aggregate_trade_reports_every_row_it_leaves_out_or_repairs() -> None:
    trade = trade_frame(
        [
            (2, None, "v", "5208", date(2025, 1, 1), 1.0, 1.0),
            (3, "a", "a", "5208", date(2025, 1, 1), 1.0, 1.0),
            (4, "a", "v", "52", date(2025, 1, 1), -5.0, 1.0),
            (5, "a", "v", "5208", date(2026, 1, 1), 1.0, 1.0),
            (6, "a", "v", "5208", None, 1.0, 1.0),
        ]
    )
    issues: list[pl.DataFrame] = []
    edges = aggregate_trade(trade, as_of=AS_OF, issues=issues)
    report = pl.concat(issues).sort("row")
    assert report["row"].to_list() == [2, 3, 4, 4, 5, 6]
    assert set(report["column"]) == {
        "shipper_entity_id",
        "consignee_entity_id",
        "value_usd",
        "hs_code",
        "date",
    }
    # only row 4 becomes an edge: hs4 unknown, value missing -> weight share
    assert edges.height == 1
    row = edges.row(0, named=True)
    assert row["hs4"] is None and row["value_usd"] is None and row["share"] == 1.0


def test_aggregate_trade_imputes_equal_split_when_no_values_or_weights() -> None:
    trade = trade_frame(
        [
            (2, "a", "v", "5208", date(2025, 1, 1), None, None),
            (3, "b", "v", "5208", date(2025, 1, 1), 10.0, None),
            (4, "c", "v", "5208", date(2025, 1, 1), None, None),
        ]
    )
    edges = aggregate_trade(trade, as_of=AS_OF)
    assert edges["share"].to_list() == pytest.approx([1 / 3] * 3)
    assert edges["share_imputed"].all()


def test_declared_edges_links_tier1_to_buyer_and_subsuppliers_to_parent() -> None:
    suppliers = pl.DataFrame(
        {
            "row": [2, 3, 4, 5, 6],
            "id": ["1", "2", "3", "4", "5"],
            "entity_id": ["e1", "e2", "e3", "e4", "e5"],
            "parent_id": [None, None, "1", "99", None],
            "tier": [1, 1, 2, 2, 3],
            "annual_spend": [300.0, 100.0, None, None, None],
            "hs_codes": [["610910"], ["52", "520811"], [], None, None],
        }
    )
    issues: list[pl.DataFrame] = []
    edges = declared_edges(suppliers, buyer_id="buyer", issues=issues)
    got = {(r["src"], r["dst"]): r for r in edges.iter_rows(named=True)}
    assert set(got) == {("e1", "buyer"), ("e2", "buyer"), ("e3", "e1")}
    assert got[("e1", "buyer")]["share"] == pytest.approx(0.75)
    assert got[("e1", "buyer")]["confidence"] == 1.0 and got[("e1", "buyer")]["hs4"] == "6109"
    assert got[("e2", "buyer")]["hs4"] == "5208"
    assert got[("e3", "e1")]["source"] == "supplier_declared" and got[("e3", "e1")]["confidence"] == 0.7
    report = pl.concat(issues)
    assert sorted(report["row"].to_list()) == [5, 6]  # unknown parent, tier 3 without parent


def test_ownership_edges_go_both_ways_with_low_confidence() -> None:
    own = pl.DataFrame({"owner_entity_id": ["p", "q"], "owned_entity_id": ["s", "q"]})
    issues: list[pl.DataFrame] = []
    edges = ownership_edges(own, issues=issues)
    assert sorted(zip(edges["src"], edges["dst"], strict=True)) == [("p", "s"), ("s", "p")]
    assert edges["confidence"].unique().to_list() == [0.4]
    assert pl.concat(issues).height == 1


def nodes_frame(rows: list[tuple[str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "country": [r[1] for r in rows],
            "node_type": [r[2] for r in rows],
        }
    )


def edge_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: v for k, v in EDGE_SCHEMA.items() if k in rows[0]})


def test_supply_graph_repairs_bad_edges_and_reports_each_repair() -> None:
    nodes = nodes_frame(
        [("v", "US", "buyer"), ("a", "CN", "supplier"), ("b", "CN", "supplier"), ("f", "HK", "logistics")]
    )
    edges = edge_frame(
        [
            {"src": "a", "dst": "v", "hs4": "5208", "source": "bol", "share": 0.9, "confidence": 0.9},
            {
                "src": "a",
                "dst": "v",
                "hs4": "5208",
                "source": "supplier_declared",
                "share": 0.5,
                "confidence": 0.7,
            },
            {"src": "b", "dst": "v", "hs4": "5208", "source": "bol", "share": 0.6, "confidence": None},
            {"src": "v", "dst": "v", "hs4": "5208", "source": "bol", "share": 0.1, "confidence": 0.9},
            {"src": "zz", "dst": "v", "hs4": "5208", "source": "bol", "share": 0.1, "confidence": 0.9},
            {"src": "a", "dst": "b", "hs4": None, "source": "bol", "share": -1.0, "confidence": 2.0},
            {"src": "f", "dst": "v", "hs4": "5208", "source": "bol", "share": None, "confidence": 0.6},
        ]
    )
    g = SupplyGraph(nodes, edges)
    reasons = g.issues["reason"].to_list()
    assert any("self-loop" in r for r in reasons)
    assert any("not a node" in r for r in reasons)
    assert any("duplicate" in r for r in reasons)
    assert any("sum above 1" in r for r in reasons)
    assert sum("invalid share" in r for r in reasons) == 2
    assert sum("invalid confidence" in r for r in reasons) == 2
    e = {(r["src"], r["dst"]): r for r in g.edges.iter_rows(named=True)}
    assert set(e) == {("a", "v"), ("b", "v"), ("a", "b"), ("f", "v")}
    assert e[("a", "v")]["source"] == "bol"
    assert e[("b", "v")]["confidence"] == 0.6  # bol default
    assert e[("a", "b")]["share"] == 1.0 and e[("a", "b")]["share_imputed"]
    into_v = g.edges.filter(pl.col("dst") == "v")["share"].sum()
    assert into_v == pytest.approx(1.0)
    # same buyer, country and hs4 -> same group; edges sorted by buyer then group
    assert e[("a", "v")]["group"] == e[("b", "v")]["group"] != e[("f", "v")]["group"]
    assert g.edges["dst_idx"].is_sorted() and g.edges["group"].is_sorted()
    inp = g.propagation_input(np.zeros(4))
    assert inp.propagate_mask.tolist() == [True, True, True, False]


def test_node_values_refuse_missing_entities() -> None:
    g = SupplyGraph(
        nodes_frame([("a", "CN", "supplier"), ("b", None, "supplier")]),
        edge_frame([{"src": "a", "dst": "b"}]),
    )
    with pytest.raises(InputError, match="'b'"):
        g.propagation_input(pl.DataFrame({"entity_id": ["a"], "local": [0.2]}))
    with pytest.raises(InputError, match="one per node"):
        g.propagation_input(np.zeros(3))


def worked_example() -> tuple[SupplyGraph, dict[str, float], dict[str, float]]:
    """METHODOLOGY §3.10: buyer <- V <- {W1 <- Y, W2}."""
    nodes = nodes_frame(
        [
            ("buyer", "DE", "buyer"),
            ("V", "BD", "supplier"),
            ("W1", "CN", "supplier"),
            ("W2", "IN", "supplier"),
            ("Y", "CN", "supplier"),
        ]
    )
    edges = edge_frame(
        [
            {
                "src": "V",
                "dst": "buyer",
                "hs4": "6109",
                "source": "buyer_declared",
                "share": 1.0,
                "confidence": 1.0,
            },
            {"src": "W1", "dst": "V", "hs4": "5208", "source": "bol", "share": 0.6, "confidence": 0.9},
            {
                "src": "W2",
                "dst": "V",
                "hs4": "5208",
                "source": "supplier_declared",
                "share": 0.4,
                "confidence": 0.7,
            },
            {"src": "Y", "dst": "W1", "hs4": "5205", "source": "bol", "share": 0.5, "confidence": 0.9},
        ]
    )
    local = {"buyer": 0.0, "V": 0.148, "W1": 0.214, "W2": 0.306, "Y": 0.95}
    backfill = {"buyer": 0.0, "V": 0.0, "W1": 0.5 * 0.5 * 0.85 * 0.269, "W2": 0.5 * 0.85 * 0.177, "Y": 0.0}
    return SupplyGraph(nodes, edges), local, backfill


def test_worked_example_reproduces_methodology_numbers() -> None:
    g, local, backfill = worked_example()
    frame = lambda d: pl.DataFrame({"entity_id": list(d), "v": list(d.values())})  # noqa: E731
    res = propagate(g.propagation_input(frame(local), frame(backfill)))
    risk = dict(zip(g.nodes["entity_id"], res.risk, strict=True))
    assert risk["W1"] == pytest.approx(0.528, abs=1e-3)
    assert risk["W2"] == pytest.approx(0.358, abs=1e-3)
    assert risk["V"] == pytest.approx(0.41, abs=2e-3)
    v = g.index_of("V")
    # hazard split at V: local ~30 %, W1 branch ~53 %, W2 branch ~17 %
    h = res.hazard[v]
    assert res.local_hazard[v] / h == pytest.approx(0.30, abs=0.01)
    into_v = g.edges.with_row_index("e").filter(pl.col("dst") == "V")
    split = {r["src"]: res.edge_hazard[r["e"]] / h for r in into_v.iter_rows(named=True)}
    assert split["W1"] == pytest.approx(0.53, abs=0.01) and split["W2"] == pytest.approx(0.17, abs=0.01)
    assert res.local_hazard[v] + res.backfill_hazard[v] + sum(
        res.edge_hazard[into_v["e"].to_numpy()]
    ) == pytest.approx(h)


def test_r_low_and_r_high_variants_bracket_the_score() -> None:
    g, local, _ = worked_example()
    loc = g.node_values(pl.DataFrame({"entity_id": list(local), "v": list(local.values())}))
    mid = propagate(g.propagation_input(loc)).risk
    low = propagate(g.propagation_input(loc, edge_mask=pl.col("confidence") >= 0.8)).risk
    high = propagate(g.propagation_input(loc, confidence=1.0)).risk
    assert np.all(low <= mid + 1e-12) and np.all(mid <= high + 1e-12)
    assert low[g.index_of("V")] < mid[g.index_of("V")] < high[g.index_of("V")]


def test_to_networkx_keeps_attributes() -> None:
    g, _, _ = worked_example()
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == 5 and nxg.number_of_edges() == 4
    assert nxg.edges["Y", "W1", "5205"]["confidence"] == 0.9
    assert nxg.nodes["Y"]["country"] == "CN"


def test_unknown_countries_and_products_are_reported_and_grouped_conservatively() -> None:
    nodes = nodes_frame(
        [("v", "US", "buyer"), ("a", None, "supplier"), ("b", "Mars", "supplier"), ("c", "CN", "supplier")]
    )
    edges = edge_frame(
        [
            {"src": "a", "dst": "v", "hs4": "5208", "share": 0.2, "confidence": 0.9},
            {"src": "b", "dst": "v", "hs4": "5208", "share": 0.2, "confidence": 0.9},
            {"src": "c", "dst": "v", "hs4": None, "share": 0.2, "confidence": 0.9},
        ]
    )
    g = SupplyGraph(nodes, edges)
    reasons = g.issues["reason"].to_list()
    assert sum("not an ISO 3166" in r for r in reasons) == 1
    assert sum("supplier country unknown" in r for r in reasons) == 2
    assert sum("product (HS4) unknown" in r for r in reasons) == 1
    groups = dict(zip(g.edges["src"], g.edges["group"], strict=True))
    assert groups["a"] == groups["b"] != groups["c"]


def reference_aggregate_trade(
    trade: pl.DataFrame, *, as_of: date, known_hs4: frozenset[str] | None
) -> pl.DataFrame:
    """The edges of aggregate_trade before lane keys were hashed: a plain group-by on the three strings."""
    from risk_engine.graph.build import (
        BOL_RECENT_MONTHS,
        _bol_confidence,
        _bol_shares,
        _hs4_expr,
        _months_before,
    )

    recent_from = _months_before(as_of, BOL_RECENT_MONTHS)

    def clean(x: pl.Expr) -> pl.Expr:
        x = x.cast(pl.Float64)
        return pl.when(x.is_finite() & (x >= 0)).then(x)

    lanes = (
        trade.lazy()
        .select(
            pl.col("shipper_entity_id").cast(pl.String).alias("src"),
            pl.col("consignee_entity_id").cast(pl.String).alias("dst"),
            pl.col("hs_code").cast(pl.String),
            pl.col("date"),
            clean(pl.col("value_usd")).alias("value_usd"),
            clean(pl.col("weight_kg")).alias("weight_kg"),
        )
        .filter(pl.col("date") <= as_of)
        .group_by("src", "dst", "hs_code")
        .agg(
            pl.len().cast(pl.Int64).alias("n_shipments"),
            pl.col("value_usd").sum().alias("value_usd"),
            pl.col("value_usd").count().cast(pl.Int64).alias("n_value"),
            pl.col("weight_kg").sum().alias("weight_kg"),
            pl.col("weight_kg").count().cast(pl.Int64).alias("n_weight"),
            pl.col("date").min().alias("first_date"),
            pl.col("date").max().alias("last_date"),
            (pl.col("date") >= recent_from).sum().cast(pl.Int64).alias("n_recent"),
        )
        .collect(engine="streaming")
    )
    lanes = lanes.filter(
        pl.col("src").is_not_null() & pl.col("dst").is_not_null() & (pl.col("src") != pl.col("dst"))
    )
    edges = (
        lanes.lazy()
        .with_columns(_hs4_expr("hs_code", known_hs4).alias("hs4"))
        .group_by("src", "dst", "hs4")
        .agg(
            pl.col("n_shipments").sum(),
            pl.col("value_usd").sum(),
            pl.col("n_value").sum(),
            pl.col("weight_kg").sum(),
            pl.col("n_weight").sum(),
            pl.col("first_date").min(),
            pl.col("last_date").max(),
            pl.col("n_recent").sum(),
        )
        .with_columns(
            pl.when(pl.col("n_value") > 0).then(pl.col("value_usd")).alias("value_usd"),
            pl.when(pl.col("n_weight") > 0).then(pl.col("weight_kg")).alias("weight_kg"),
        )
    )
    edges = _bol_shares(edges)
    edges = edges.with_columns(_bol_confidence(as_of).alias("confidence"), pl.lit("bol").alias("source"))
    return edges.select(pl.col(name).cast(dtype) for name, dtype in EDGE_SCHEMA.items()).collect()


def random_trade(seed: int, rows: int = 4000) -> pl.DataFrame:
    """Messy shipments over few entities: repeated lanes, self-loops, unresolved parties, bad HS codes and dates."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"e{i}" for i in range(30)] + ["", "E0", "e 0"], dtype=object)
    codes = np.array(
        ["520811", "5208", "520812", "6109", "610910", "52", "", "abcd", "+123", "0101", "x"], dtype=object
    )

    def maybe_null(values: np.ndarray, p: float) -> list[object]:
        return [None if drop else v for v, drop in zip(values, rng.random(len(values)) < p, strict=True)]

    value = rng.lognormal(5.0, 2.0, rows)
    value[rng.random(rows) < 0.05] = np.nan
    value[rng.random(rows) < 0.05] *= -1
    weight = rng.lognormal(3.0, 1.0, rows)
    weight[rng.random(rows) < 0.3] = np.nan
    days = rng.integers(-4000, 400, rows)
    return pl.DataFrame(
        {
            "row": np.arange(2, rows + 2),
            "shipper_entity_id": maybe_null(rng.choice(ids, rows), 0.05),
            "consignee_entity_id": maybe_null(rng.choice(ids, rows), 0.05),
            "hs_code": maybe_null(rng.choice(codes, rows), 0.05),
            "date": maybe_null(np.array([AS_OF + timedelta(days=int(d)) for d in days], dtype=object), 0.02),
            "value_usd": maybe_null(value, 0.1),
            "weight_kg": weight,
        },
        schema_overrides={"date": pl.Date, "value_usd": pl.Float64},
    )


def sorted_edges(edges: pl.DataFrame) -> pl.DataFrame:
    return edges.sort("src", "dst", "hs4", nulls_last=True)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("known_hs4", [None, frozenset({"5208", "6109"})])
def test_aggregate_trade_matches_the_plain_string_group_by(
    seed: int, known_hs4: frozenset[str] | None
) -> None:
    trade = random_trade(seed)
    expected = sorted_edges(reference_aggregate_trade(trade, as_of=AS_OF, known_hs4=known_hs4))
    got = sorted_edges(aggregate_trade(trade, as_of=AS_OF, known_hs4=known_hs4))
    assert expected.height > 50
    # sums may add the same numbers in another order: floats agree to rounding, everything else exactly
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    assert_frame_equal(got.drop(pl.selectors.float()), expected.drop(pl.selectors.float()), check_exact=True)


def test_aggregate_trade_falls_back_to_strings_when_lane_hashes_collide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import risk_engine.graph.build as build

    hashed = build._lane_hash
    # every row gets the same lane key: the check hash must notice and the string group-by take over
    monkeypatch.setattr(
        build,
        "_lane_hash",
        lambda seed: (pl.col("__ix") * 0).cast(pl.UInt64) if seed == build._KEY_SEED else hashed(seed),
    )
    trade = random_trade(7)
    expected = sorted_edges(reference_aggregate_trade(trade, as_of=AS_OF, known_hs4=None))
    got = sorted_edges(aggregate_trade(trade, as_of=AS_OF))
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12, abs_tol=0.0)


def test_aggregate_trade_handles_no_usable_rows_and_absent_hs_column() -> None:
    trade = random_trade(3, rows=50)
    assert aggregate_trade(trade.head(0), as_of=AS_OF).height == 0
    no_hs = trade.drop("hs_code")
    got = sorted_edges(aggregate_trade(no_hs, as_of=AS_OF))
    expected = sorted_edges(
        reference_aggregate_trade(
            no_hs.with_columns(pl.lit(None, pl.String).alias("hs_code")), as_of=AS_OF, known_hs4=None
        )
    )
    assert got["hs4"].is_null().all() and got.height > 0
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
