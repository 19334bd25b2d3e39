"""Hard enforcement flags (fl-v1, METHODOLOGY §3.6): share-independent, raised within K hops downstream.

A node ``v`` gets a flag when a flagged node (``UFLPA_ENTITY``, ``WRO_ENTITY``, ``EU_FLR_DECISION``,
``XUAR_LOCATED``, ``OWNERSHIP_NEXUS``) reaches it within K supply hops; ``v`` itself counts at distance 0.
Severity, for the most severe qualifying path (then the shortest):

* **low** whenever the flag is a possible (review-band) match or an ``OWNERSHIP_NEXUS``;
* **high** — a path of length ≤ 2 whose edges are all strong (``c ≥ 0.6``), recent (last shipment within
  24 months of ``as_of``; undated declared edges count as current) and not ownership links; or a path of
  any length ≤ K whose edges are all strong and not ownership links and which carries a UFLPA high-priority
  material (an edge's HS4 matches a priority HS prefix);
* **medium** — a path without ownership links of length ≤ 4, or one within K that has a weak (``c < 0.6``)
  edge;
* **low** — any other path within K (distance 5, or through ownership links).

The search runs one breadth-first pass per criterion and flagged node over an outgoing-edge CSR, with a
state bit where a criterion needs one (material seen, weak edge seen). Paths are walks found by BFS, so
they are shortest for their criterion; a walk that re-enters a node is possible only when a shorter
qualifying one does not exist. Logistics nodes are neither crossed nor flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from risk_engine.graph.build import DAYS_PER_MONTH, SupplyGraph

FLAG_TYPES: tuple[str, ...] = (
    "UFLPA_ENTITY",
    "WRO_ENTITY",
    "EU_FLR_DECISION",
    "XUAR_LOCATED",
    "OWNERSHIP_NEXUS",
)
JURISDICTION: dict[str, str] = {
    "UFLPA_ENTITY": "US-UFLPA",
    "XUAR_LOCATED": "US-UFLPA",
    "WRO_ENTITY": "US-WRO",
    "EU_FLR_DECISION": "EU-FLR",
    "OWNERSHIP_NEXUS": "US-UFLPA",
}
FLOOR: dict[str, float] = {"high": 0.60, "medium": 0.35, "low": 0.0}

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "flag": pl.String(),
    "source_entity_id": pl.String(),
    "distance": pl.Int64(),
    "severity": pl.String(),
    "jurisdiction": pl.String(),
    "path": pl.List(pl.String()),
    "material": pl.String(),
    "list_version": pl.String(),
    "match_probability": pl.Float64(),
    "evidence": pl.String(),
}

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class FlagRules:
    """The §3.6 thresholds (fl-v1 defaults)."""

    k: int = 5
    min_confidence: float = 0.6
    high_max_distance: int = 2
    medium_max_distance: int = 4
    recent_months: int = 24


@dataclass(frozen=True)
class FlagEdges:
    """Edge arrays the search needs (``src → dst`` = supplier → buyer)."""

    node_ids: list[str]
    src: IntArray
    dst: IntArray
    confidence: NDArray[np.float64]
    recent: BoolArray
    ownership: BoolArray
    material: list[str | None]
    usable: BoolArray  # edge may carry a flag at all (both ends not logistics, match not rejected, ...)


def edge_materials(hs4: list[str | None], priority_hs: Mapping[str, str]) -> list[str | None]:
    """Priority material of each edge's HS4 (a priority prefix matching the heading either way), or None."""
    prefixes = sorted(priority_hs.items())
    cache: dict[str | None, str | None] = {None: None}
    out: list[str | None] = []
    for h in hs4:
        if h not in cache:
            assert h is not None
            cache[h] = next((m for p, m in prefixes if h.startswith(p) or p.startswith(h)), None)
        out.append(cache[h])
    return out


def flag_edges(
    graph: SupplyGraph,
    *,
    as_of: date,
    priority_hs: Mapping[str, str],
    rules: FlagRules = FlagRules(),
) -> FlagEdges:
    """Build the search arrays from a :class:`SupplyGraph`."""
    e = graph.edges
    cut = as_of - timedelta(days=round(rules.recent_months * DAYS_PER_MONTH))
    recent = e.select((pl.col("last_date").is_null() | (pl.col("last_date") >= cut)).alias("r"))[
        "r"
    ].to_numpy()
    passable = (graph.nodes["node_type"] != "logistics").to_numpy()
    src = e["src_idx"].to_numpy().astype(np.int64)
    dst = e["dst_idx"].to_numpy().astype(np.int64)
    return FlagEdges(
        node_ids=graph.nodes["entity_id"].to_list(),
        src=src,
        dst=dst,
        confidence=e["confidence"].to_numpy().astype(np.float64),
        recent=recent.astype(bool),
        ownership=(e["source"] == "ownership").to_numpy(),
        material=edge_materials(e["hs4"].to_list(), priority_hs),
        usable=passable[src] & passable[dst],
    )


class _Csr:
    """Outgoing edges per node restricted to a subset of edges."""

    def __init__(self, n: int, src: IntArray, keep: BoolArray) -> None:
        self.edges = np.flatnonzero(keep)
        order = np.argsort(src[self.edges], kind="stable")
        self.edges = self.edges[order]
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src[self.edges], minlength=n), out=self.indptr[1:])

    def out_edges(self, nodes: IntArray) -> IntArray:
        starts = self.indptr[nodes]
        counts = self.indptr[nodes + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        return self.edges[offsets]


def _bfs_bit(
    csr: _Csr, fe: FlagEdges, start: int, k: int, bit_edge: BoolArray | None
) -> tuple[IntArray, IntArray, IntArray]:
    """Shortest distances over states (bit, node); the bit turns on along ``bit_edge`` and stays on.

    Returns ``dist``, ``pred`` (edge into the state) and ``pred_bit`` (bit of the state it came from), each
    of shape (2, n); without ``bit_edge`` only row 0 is used.
    """
    n = len(fe.node_ids)
    dist = np.full((2, n), -1, dtype=np.int64)
    pred = np.full((2, n), -1, dtype=np.int64)
    pred_bit = np.zeros((2, n), dtype=np.int64)
    dist[0, start] = 0
    frontier_nodes = np.array([start], dtype=np.int64)
    frontier_bits = np.array([0], dtype=np.int64)
    for depth in range(1, k + 1):
        if frontier_nodes.size == 0:
            break
        counts = csr.indptr[frontier_nodes + 1] - csr.indptr[frontier_nodes]
        edges = csr.out_edges(frontier_nodes)
        before = np.repeat(frontier_bits, counts)
        bits = before | bit_edge[edges].astype(np.int64) if bit_edge is not None else before
        heads = fe.dst[edges]
        fresh = dist[bits, heads] < 0
        edges, bits, heads, before = edges[fresh], bits[fresh], heads[fresh], before[fresh]
        # the first edge (CSR order) wins per state, so results are deterministic
        _, first = np.unique(bits * n + heads, return_index=True)
        edges, bits, heads, before = edges[first], bits[first], heads[first], before[first]
        dist[bits, heads] = depth
        pred[bits, heads] = edges
        pred_bit[bits, heads] = before
        frontier_nodes, frontier_bits = heads, bits
    return dist, pred, pred_bit


def _walk(fe: FlagEdges, bfs: tuple[IntArray, IntArray, IntArray], v: int, bit: int) -> list[int]:
    """Edge indices of the BFS walk from the flagged node to state (bit, ``v``), source end first."""
    dist, pred, pred_bit = bfs
    path: list[int] = []
    node, b = v, bit
    for _ in range(int(dist[b, node])):
        e = int(pred[b, node])
        path.append(e)
        node, b = int(fe.src[e]), int(pred_bit[b, node])
    path.reverse()
    return path


def search_flags(
    fe: FlagEdges,
    flagged: pl.DataFrame,
    *,
    rules: FlagRules = FlagRules(),
) -> pl.DataFrame:
    """Flags on every node within K hops downstream of each flagged node (:data:`FLAG_SCHEMA`).

    ``flagged`` has ``entity_id`` and ``flag``; optional ``possible_match`` (bool), ``match_probability``,
    ``list_version``, ``evidence`` and ``jurisdiction``.
    """
    n = len(fe.node_ids)
    index = {nid: i for i, nid in enumerate(fe.node_ids)}
    strong = fe.usable & (fe.confidence >= rules.min_confidence) & ~fe.ownership & (fe.src != fe.dst)
    plain = fe.usable & ~fe.ownership & (fe.src != fe.dst)
    anyedge = fe.usable & (fe.src != fe.dst)
    csr_strong_recent = _Csr(n, fe.src, strong & fe.recent)
    csr_strong = _Csr(n, fe.src, strong)
    csr_plain = _Csr(n, fe.src, plain)
    csr_any = _Csr(n, fe.src, anyedge)
    material_edge = np.array([m is not None for m in fe.material], dtype=bool)
    weak_edge = fe.confidence < rules.min_confidence
    cols = set(flagged.columns)
    rows: list[dict[str, object]] = []
    k = rules.k
    for rec in flagged.iter_rows(named=True):
        start = index.get(rec["entity_id"])
        if start is None:
            continue
        flag = rec["flag"]
        possible = bool(rec.get("possible_match")) if "possible_match" in cols else False
        any_bfs = _bfs_bit(csr_any, fe, start, k, None)
        lowonly = possible or flag == "OWNERSHIP_NEXUS"
        if not lowonly:
            sr = _bfs_bit(csr_strong_recent, fe, start, min(k, rules.high_max_distance), None)
            sm = _bfs_bit(csr_strong, fe, start, k, material_edge)
            pw = _bfs_bit(csr_plain, fe, start, k, weak_edge)
        for v in np.flatnonzero(any_bfs[0][0] >= 0).tolist():
            path: list[int]
            if v == start:
                sev, path = ("low" if lowonly else "high"), []
            elif lowonly:
                sev, path = "low", _walk(fe, any_bfs, v, 0)
            elif sr[0][0, v] >= 0:
                sev, path = "high", _walk(fe, sr, v, 0)
            elif sm[0][1, v] >= 0:
                sev, path = "high", _walk(fe, sm, v, 1)
            elif 0 <= pw[0][0, v] <= rules.medium_max_distance:
                sev, path = "medium", _walk(fe, pw, v, 0)
            elif pw[0][1, v] >= 0:
                sev, path = "medium", _walk(fe, pw, v, 1)
            else:
                sev, path = "low", _walk(fe, any_bfs, v, 0)
            mats = sorted({m for e in path if (m := fe.material[e]) is not None})
            rows.append(
                {
                    "entity_id": fe.node_ids[v],
                    "flag": flag,
                    "source_entity_id": rec["entity_id"],
                    "distance": len(path),
                    "severity": sev,
                    "jurisdiction": (rec.get("jurisdiction") if "jurisdiction" in cols else None)
                    or JURISDICTION.get(flag, "US-UFLPA"),
                    "path": [fe.node_ids[v]] + [fe.node_ids[int(fe.src[e])] for e in reversed(path)],
                    "material": ", ".join(mats) if mats else None,
                    "list_version": rec.get("list_version"),
                    "match_probability": rec.get("match_probability"),
                    "evidence": rec.get("evidence"),
                }
            )
    if not rows:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    return pl.DataFrame(rows, schema=FLAG_SCHEMA).sort("entity_id", "distance", "flag", "source_entity_id")


def enforcement_flags(
    graph: SupplyGraph,
    flagged: pl.DataFrame,
    *,
    k: int = 5,
    as_of: date,
    priority_hs: Mapping[str, str],
    rules: FlagRules | None = None,
) -> pl.DataFrame:
    """§3.6 flags for a :class:`SupplyGraph` (see :func:`search_flags`); ``priority_hs`` maps HS prefix → material."""
    r = rules or FlagRules(k=k)
    return search_flags(flag_edges(graph, as_of=as_of, priority_hs=priority_hs, rules=r), flagged, rules=r)


def strongest(flags: pl.DataFrame) -> pl.DataFrame:
    """The most severe flag per entity with its score floor (``entity_id, severity, floor``)."""
    rank = pl.col("severity").replace_strict({"high": 3, "medium": 2, "low": 1}, return_dtype=pl.Int64)
    return (
        flags.with_columns(rank.alias("__r"))
        .sort("entity_id", "__r", "distance", descending=[False, True, False])
        .unique("entity_id", keep="first", maintain_order=True)
        .select(
            "entity_id",
            "severity",
            pl.col("severity").replace_strict(FLOOR, return_dtype=pl.Float64).alias("floor"),
        )
    )
