"""Top risk paths behind one entity's score (METHODOLOGY §3.9), from a propagation result.

The hazard ``h_v`` splits exactly into local, backfill and one part per incoming edge
(:attr:`PropagationResult.edge_hazard`). Each edge's part is then split over the supplier's own parts in
proportion to its hazard components, recursively — the proportional-hazard heuristic of §3.9, approximate
inside groups. Going upstream, edges back to a node already on the path are left out and the rest
renormalised (the same non-backtracking rule as the cavity messages).

A path ends in one of these kinds: ``local`` (the entity's own local risk), ``local_of_upstream`` (the
local risk of the last node), ``backfill`` (the last node's unmapped inputs), ``depth_limit`` (the rest of
the last node's hazard at depth K, not expanded). The search is best-first on the share of hazard: every
extension of a path has a share no larger than the path's, so the first ``n`` finished paths popped are
exactly the ``n`` largest. Paths below ``prune`` are not expanded (they are never among the top ones
unless fewer than ``n`` paths exceed it).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from risk_engine.graph.build import SupplyGraph
from risk_engine.scoring.propagate import PropagationResult

EDGE_DETAIL_COLUMNS = ("hs4", "source", "n_shipments", "confidence", "share", "last_date")


@dataclass(frozen=True)
class RiskPath:
    """One path: nodes from the entity upstream, its share of the entity's hazard, and how it ends."""

    nodes: tuple[int, ...]
    edges: tuple[int, ...]
    share_of_hazard: float
    kind: str


def _finite(h: float) -> float:
    # a saturated term (p = 1) has infinite hazard; keep the split well defined by capping it
    return min(h, 1e6)


def risk_paths(
    graph: SupplyGraph,
    result: PropagationResult,
    node: int,
    *,
    n: int = 5,
    max_depth: int | None = None,
    prune: float | None = None,
) -> list[RiskPath]:
    """The ``n`` paths with the largest share of ``node``'s hazard (best-first, see module docstring)."""
    indptr, src = graph.incoming()
    return risk_paths_csr(indptr, src, result, node, n=n, max_depth=max_depth, prune=prune)


def risk_paths_csr(
    indptr: NDArray[np.int64],
    src: NDArray[np.int64],
    result: PropagationResult,
    node: int,
    *,
    n: int = 5,
    max_depth: int | None = None,
    prune: float | None = None,
    max_expansions: int = 20_000,
) -> list[RiskPath]:
    """:func:`risk_paths` over an incoming-edge CSR whose edge order is the result's edge order.

    ``indptr`` (n+1) and ``src`` (per edge) describe edges sorted by buyer: node v's incoming edges are
    positions ``indptr[v]:indptr[v+1]``. At most ``max_expansions`` nodes are expanded (a time bound for
    hub-heavy graphs); the paths returned are then the largest found, possibly fewer than ``n``.
    """
    depth_limit = result.k if max_depth is None else max_depth
    cut = result.prune if prune is None else prune
    edge_h = result.edge_hazard
    local_h = result.local_hazard
    back_h = result.backfill_hazard
    counter = itertools.count()
    heap: list[tuple[float, int, str, tuple[int, ...], tuple[int, ...]]] = []
    heapq.heappush(heap, (-1.0, next(counter), "expand", (node,), ()))
    out: list[RiskPath] = []
    expansions = 0
    while heap and len(out) < n:
        neg, _, kind, nodes, edges = heapq.heappop(heap)
        share = -neg
        if kind != "expand":
            out.append(RiskPath(nodes, edges, share, kind))
            continue
        expansions += 1
        if expansions > max_expansions:
            break
        u = nodes[-1]
        lo, hi = int(indptr[u]), int(indptr[u + 1])
        # plain Python over the (short) incoming slice: cheaper than numpy call overhead per expansion
        on_path = set(nodes)
        cand: list[tuple[int, int, float]] = [
            (lo + i, s_, min(h_, 1e6))
            for i, (s_, h_) in enumerate(zip(src[lo:hi].tolist(), edge_h[lo:hi].tolist(), strict=True))
            if h_ > 0 and s_ not in on_path
        ]
        h_local, h_back = _finite(float(local_h[u])), _finite(float(back_h[u]))
        total = h_local + h_back + sum(c[2] for c in cand)
        if total <= 0:
            continue
        depth = len(edges)
        own_kind = "local" if depth == 0 else "local_of_upstream"
        if depth >= depth_limit and depth > 0:
            heapq.heappush(heap, (-share, next(counter), "depth_limit", nodes, edges))
            continue
        for part, k in ((h_local, own_kind), (h_back, "backfill")):
            s = share * part / total
            if part > 0 and s >= cut:
                heapq.heappush(heap, (-s, next(counter), k, nodes, edges))
        for e, supplier, part in cand:
            s = share * part / total
            if s >= cut:
                heapq.heappush(heap, (-s, next(counter), "expand", (*nodes, supplier), (*edges, e)))
    return out


def top_paths(
    graph: SupplyGraph,
    result: PropagationResult,
    entity_id: str,
    *,
    n: int = 5,
    max_depth: int | None = None,
    prune: float | None = None,
) -> list[dict[str, Any]]:
    """The explanation payload's ``top_paths`` for one entity (ids, share of hazard, kind, edge details)."""
    ids = graph.nodes["entity_id"]
    found = risk_paths(graph, result, graph.index_of(entity_id), n=n, max_depth=max_depth, prune=prune)
    cols = [c for c in EDGE_DETAIL_COLUMNS if c in graph.edges.columns]
    payload = []
    for p in found:
        details = []
        for e in p.edges:
            row = graph.edges.select(cols).row(e, named=True)
            row["s"] = row.pop("share", None)
            row["c"] = row.pop("confidence", None)
            last = row.pop("last_date", None)
            row["last_date"] = last.isoformat() if last is not None else None
            details.append(row)
        payload.append(
            {
                "path": [ids[i] for i in p.nodes],
                "share_of_hazard": round(p.share_of_hazard, 6),
                "kind": p.kind,
                "edges": details,
            }
        )
    return payload
