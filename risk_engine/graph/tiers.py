"""Tiers: hop distance upstream from each buyer (root = tier 0, its direct suppliers = tier 1, ...)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from risk_engine.graph.build import SupplyGraph

TIERS_SCHEMA: dict[str, pl.DataType] = {"entity_id": pl.String(), "root": pl.String(), "tier": pl.Int32()}


def upstream_distances(graph: SupplyGraph, root: int, *, max_tier: int | None = None) -> np.ndarray:
    """Hop distance from every node up to ``root`` (−1 when not reachable), following edges backwards.

    Logistics nodes are neither crossed nor reached: they are not suppliers. Breadth-first by whole
    frontiers over the incoming-edge CSR, so a deep or wide graph costs O(reached edges).
    """
    indptr, src = graph.incoming()
    passable = (graph.nodes["node_type"] != "logistics").to_numpy()
    dist = np.full(graph.n_nodes, -1, dtype=np.int64)
    dist[root] = 0
    frontier = np.array([root], dtype=np.int64)
    tier = 0
    while frontier.size and (max_tier is None or tier < max_tier):
        tier += 1
        starts = indptr[frontier]
        counts = indptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            break
        # all edge positions of the frontier's incoming ranges, without a Python loop
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        upstream = np.unique(src[offsets])
        upstream = upstream[(dist[upstream] < 0) & passable[upstream]]
        dist[upstream] = tier
        frontier = upstream
    return dist


def tiers_from_roots(
    graph: SupplyGraph, roots: Iterable[str] | None = None, *, max_tier: int | None = None
) -> pl.DataFrame:
    """One row per (entity reachable upstream of a root, root) with its tier; roots appear with tier 0.

    ``roots`` defaults to every node of type ``buyer``. Unknown root ids are skipped (they have no tiers).
    """
    if roots is None:
        roots = graph.nodes.filter(pl.col("node_type") == "buyer")["entity_id"].to_list()
    ids = graph.nodes["entity_id"]
    parts = []
    for root in dict.fromkeys(roots):
        try:
            r = graph.index_of(root)
        except KeyError:
            continue
        dist = upstream_distances(graph, r, max_tier=max_tier)
        reached = np.flatnonzero(dist >= 0)
        parts.append(
            pl.DataFrame(
                {"entity_id": ids.gather(reached), "root": [root] * reached.size, "tier": dist[reached]},
                schema=TIERS_SCHEMA,
            )
        )
    if not parts:
        return pl.DataFrame(schema=TIERS_SCHEMA)
    return pl.concat(parts).sort("root", "tier", "entity_id")
