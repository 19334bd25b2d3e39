from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from risk_engine.graph.build import EDGE_SCHEMA, SupplyGraph
from risk_engine.scoring.flags import FLAG_SCHEMA, FlagRules, edge_materials, enforcement_flags, strongest

AS_OF = date(2025, 6, 30)
RECENT = date(2025, 1, 1)
OLD = date(2021, 1, 1)
PRIORITY = {"52": "cotton", "2804": "polysilicon"}


def chain(
    edges: list[tuple[str, str, str | None, float, date | None, str]], logistics: tuple[str, ...] = ()
) -> SupplyGraph:
    ids = sorted({x for e in edges for x in e[:2]})
    nodes = pl.DataFrame(
        {
            "entity_id": ids,
            "country": ["CN"] * len(ids),
            "node_type": ["logistics" if i in logistics else "supplier" for i in ids],
        }
    )
    frame = pl.DataFrame(
        [
            {"src": s, "dst": d, "hs4": h, "confidence": c, "last_date": t, "source": src, "share": 0.5}
            for s, d, h, c, t, src in edges
        ],
        schema={
            k: EDGE_SCHEMA[k] for k in ("src", "dst", "hs4", "confidence", "last_date", "source", "share")
        },
    )
    return SupplyGraph(nodes, frame)


def flagged(entity: str, flag: str = "UFLPA_ENTITY", possible: bool = False) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "entity_id": [entity],
            "flag": [flag],
            "possible_match": [possible],
            "match_probability": [0.8 if possible else 1.0],
            "list_version": ["2025-05-01"],
            "evidence": ["listed"],
        }
    )


def severities(g: SupplyGraph, f: pl.DataFrame, **kw: object) -> dict[str, tuple[str, int]]:
    out = enforcement_flags(g, f, as_of=AS_OF, priority_hs=PRIORITY, **kw)  # type: ignore[arg-type]
    assert out.schema == pl.Schema(FLAG_SCHEMA)
    return {r["entity_id"]: (r["severity"], r["distance"]) for r in out.iter_rows(named=True)}


def test_severity_by_distance_confidence_and_recency() -> None:
    # x -> a -> b -> c -> d -> e -> f, all strong and recent, non-priority product
    names = ["x", "a", "b", "c", "d", "e", "f"]
    g = chain([(names[i], names[i + 1], "6109", 0.9, RECENT, "bol") for i in range(6)])
    sev = severities(g, flagged("x"))
    assert sev["x"] == ("high", 0)
    assert sev["a"] == ("high", 1) and sev["b"] == ("high", 2)
    assert sev["c"] == ("medium", 3) and sev["d"] == ("medium", 4)
    assert sev["e"] == ("low", 5)
    assert "f" not in sev  # beyond K = 5


def test_stale_or_weak_edges_cap_at_medium_and_priority_material_lifts_to_high() -> None:
    g = chain(
        [
            ("x", "a", "6109", 0.9, OLD, "bol"),  # stale: not high by distance
            ("x", "b", "6109", 0.3, RECENT, "inferred_hs_io"),  # weak edge
            ("b", "c", "6109", 0.9, RECENT, "bol"),
            ("c", "d", "6109", 0.9, RECENT, "bol"),
            ("d", "e", "6109", 0.9, RECENT, "bol"),
            ("e", "f", "6109", 0.9, RECENT, "bol"),
            ("y", "p", "5205", 0.9, OLD, "bol"),  # cotton, strong but stale
            ("p", "q", "6109", 0.6, RECENT, "bol"),
            ("q", "r", "6109", 0.6, RECENT, "bol"),
        ]
    )
    sev = severities(g, pl.concat([flagged("x"), flagged("y", "XUAR_LOCATED")]))
    assert sev["a"] == ("medium", 1)
    assert sev["b"] == ("medium", 1)
    assert sev["f"] == ("medium", 5)  # weak edge on the path keeps distance 5 at medium
    assert sev["r"] == ("high", 3)  # cotton on an all-strong path: high at any distance


def test_ownership_and_possible_matches_are_low() -> None:
    g = chain([("x", "a", "6109", 0.9, RECENT, "bol"), ("o", "a", None, 0.4, None, "ownership")])
    assert severities(g, flagged("x", possible=True))["a"] == ("low", 1)
    assert severities(g, flagged("o", "OWNERSHIP_NEXUS"))["a"] == ("low", 1)
    assert severities(g, flagged("o"))["a"] == ("low", 1)  # only an ownership link reaches a


def test_most_severe_path_wins_and_path_is_reported_buyer_first() -> None:
    g = chain(
        [
            ("x", "v", "6109", 0.3, RECENT, "inferred_hs_io"),
            ("x", "m", "6109", 0.9, RECENT, "bol"),
            ("m", "v", "6109", 0.9, RECENT, "bol"),
        ]
    )
    out = enforcement_flags(g, flagged("x"), as_of=AS_OF, priority_hs=PRIORITY)
    row = out.filter(pl.col("entity_id") == "v").row(0, named=True)
    assert (row["severity"], row["distance"], row["path"]) == ("high", 2, ["v", "m", "x"])
    assert row["jurisdiction"] == "US-UFLPA" and row["list_version"] == "2025-05-01"
    assert strongest(out).filter(pl.col("entity_id") == "v")["floor"].item() == pytest.approx(0.6)


def test_cycles_and_logistics_do_not_break_the_search() -> None:
    g = chain(
        [
            ("x", "a", "6109", 0.9, RECENT, "bol"),
            ("a", "x", "6109", 0.9, RECENT, "bol"),
            ("a", "f", "6109", 0.9, RECENT, "bol"),
            ("f", "z", "6109", 0.9, RECENT, "bol"),
        ],
        logistics=("f",),
    )
    sev = severities(g, flagged("x"))
    assert sev["x"] == ("high", 0) and sev["a"] == ("high", 1)
    assert "f" not in sev and "z" not in sev


def test_material_of_path_is_named() -> None:
    assert edge_materials(["5208", "2804", "6109", None], PRIORITY) == ["cotton", "polysilicon", None, None]
    g = chain([("y", "w", "5205", 0.9, RECENT, "bol"), ("w", "v", "5208", 0.9, RECENT, "bol")])
    out = enforcement_flags(
        g, flagged("y", "XUAR_LOCATED"), as_of=AS_OF, priority_hs=PRIORITY, rules=FlagRules(k=1)
    )
    assert out.filter(pl.col("entity_id") == "w")["material"].item() == "cotton"
    assert "v" not in out["entity_id"].to_list()  # k = 1
