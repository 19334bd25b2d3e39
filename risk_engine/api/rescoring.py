"""Re-score one snapshot entity with what a request adds: its own audit findings and declared suppliers.

A record of ``POST /v1/score`` that matches a snapshot entity may carry inline audit findings and declared
upstream suppliers. They are evidence about that entity, so its score is recomputed with them by the same
``score_graph`` the batch ran, on the batch's own scoring inputs (``graph_nodes.parquet``,
``edges.parquet``, ``audit_findings.parquet``, ``enforcement_hits.parquet``, user reference tables and the
run's ``as_of``), restricted to the entity's upstream neighbourhood.

Why the neighbourhood is enough: fl-v1 propagation runs ``K = max_depth`` synchronous rounds
(``risk_engine.scoring.propagate``), so an entity's score depends on the local risk of entities up to K
hops upstream and on the in-edges of entities up to K−1 hops upstream (their shares, backfill and
correlation groups); flag search and path explanations stop at K hops too. The subgraph holds exactly those
nodes and edges, so with nothing added it reproduces the snapshot's score of the entity (the tests check this
for every entity of the demo snapshot). The additions then change only what they should:

* inline findings are rows of the entity's audit findings (site = the entity), evaluated at the run's
  ``as_of`` together with the findings the batch already had, so the ILO pattern rule and the grave-indicator
  floor see both;
* declared upstream suppliers become ``supplier_declared`` edges (confidence 0.7) into the entity, with
  shares as the graph builder sets them (``graph.build.SupplyGraph``: a missing share takes an equal part of
  what the entity's known shares leave; shares summing above 1 are scaled to 1).

The result is request-scoped: nothing is stored and no other entity's score changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from risk_engine.api.record_scoring import FINDINGS_SCHEMA, record_findings, record_graph

SCORING_FILES = ("graph_nodes.parquet", "edges.parquet", "audit_findings.parquet", "enforcement_hits.parquet")
REFERENCE_PREFIX = "reference_"


def _frame_or_none(path: Path) -> pl.DataFrame | None:
    frame = pl.read_parquet(path)
    return frame if frame.width and frame.height else None


@dataclass
class ScoringInputs:
    """The batch's scoring inputs with an in-edge index (CSR by ``dst``) for neighbourhood extraction."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    audits: pl.DataFrame | None
    hits: pl.DataFrame | None
    as_of: date
    methodology: str
    reference: dict[str, pl.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = self.nodes.with_columns(pl.col("entity_id").cast(pl.String)).sort("entity_id")
        ids = self.nodes.get_column("entity_id")
        self._ids = ids
        index = pl.DataFrame({"entity_id": ids, "_i": np.arange(len(ids), dtype=np.int64)})
        e = (
            self.edges.with_row_index("_row")
            .join(index.rename({"entity_id": "src", "_i": "_s"}), on="src", how="left")
            .join(index.rename({"entity_id": "dst", "_i": "_d"}), on="dst", how="left")
            .filter(pl.col("_s").is_not_null() & pl.col("_d").is_not_null())
            .sort("_d", "_row")
        )
        dst = e.get_column("_d").to_numpy()
        self._in_src = e.get_column("_s").to_numpy()
        self._in_row = e.get_column("_row").to_numpy()
        self._indptr = np.searchsorted(dst, np.arange(len(ids) + 1), side="left")
        self._findings_site = (
            None if self.audits is None else self.audits.get_column(_site_column(self.audits)).cast(pl.String)
        )

    def position(self, entity_id: str) -> int | None:
        """The node position of an entity id, None when it is not a node of the graph."""
        i = int(self._ids.search_sorted(entity_id, side="left"))
        return i if i < len(self._ids) and self._ids[i] == entity_id else None

    def upstream(self, entity_id: str, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Node positions up to ``depth`` hops upstream (the entity first), and in-edge rows.

        The edges are the in-edges of the nodes up to ``depth - 1`` hops: what a ``depth``-round
        propagation at the entity reads.
        """
        start = self.position(entity_id)
        if start is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        seen = {start}
        order = [start]
        frontier = [start]
        rows: list[np.ndarray] = []
        for _ in range(depth):
            nxt: list[int] = []
            for v in frontier:
                lo, hi = int(self._indptr[v]), int(self._indptr[v + 1])
                if lo == hi:
                    continue
                rows.append(self._in_row[lo:hi])
                for u in self._in_src[lo:hi].tolist():
                    if u not in seen:
                        seen.add(u)
                        order.append(u)
                        nxt.append(u)
            frontier = nxt
            if not frontier:
                break
        edge_rows = np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)
        return np.asarray(order, dtype=np.int64), edge_rows


def _site_column(audits: pl.DataFrame) -> str:
    return "site_entity_id" if "site_entity_id" in audits.columns else "entity_id"


def load_scoring_inputs(path: Path, manifest: Mapping[str, Any]) -> ScoringInputs | None:
    """The snapshot's scoring inputs, or None for a snapshot written before they were kept."""
    path = Path(path)
    if not all((path / name).is_file() for name in SCORING_FILES):
        return None
    as_of_text = manifest.get("as_of") or (manifest.get("parameters") or {}).get("as_of")
    if not as_of_text:
        return None
    nodes = pl.read_parquet(path / "graph_nodes.parquet")
    if "entity_id" not in nodes.columns or not nodes.height:
        return None
    reference = {
        p.name[len(REFERENCE_PREFIX) : -len(".parquet")]: pl.read_parquet(p)
        for p in sorted(path.glob(f"{REFERENCE_PREFIX}*.parquet"))
    }
    return ScoringInputs(
        nodes=nodes,
        edges=pl.read_parquet(path / "edges.parquet"),
        audits=_frame_or_none(path / "audit_findings.parquet"),
        hits=_frame_or_none(path / "enforcement_hits.parquet"),
        as_of=date.fromisoformat(str(as_of_text)),
        methodology=str(manifest.get("methodology") or "fl-v1"),
        reference=reference,
    )


def _request_findings(record: Mapping[str, Any], entity_id: str) -> pl.DataFrame | None:
    """The record's findings as rows of the entity's audit findings (linked like the batch's: ``entity_id``)."""
    rows = record_findings(record)
    if not rows:
        return None
    frame = pl.DataFrame(rows, schema=FINDINGS_SCHEMA).drop("site_entity_id")
    return frame.with_columns(
        pl.lit(entity_id).alias("entity_id"),
        pl.lit("request").alias("audit_id"),
        pl.lit(1.0).alias("match_probability"),
    )


def evaluation_date(snapshot_as_of: date, findings: pl.DataFrame | None, today: date) -> date:
    """The snapshot's ``as_of``, moved to the request's latest finding date when that is later.

    The batch evaluates at the date of its latest evidence (``pipeline.evaluation_date``); a request that
    brings newer findings moves that date the same way (never past today), so they count as current
    rather than as findings from the future.
    """
    if findings is None or not findings.height:
        return snapshot_as_of
    latest = findings.select(
        pl.max_horizontal(pl.col("audit_date").max(), pl.col("status_date").max())
    ).item()
    if latest is None:
        return snapshot_as_of
    return max(snapshot_as_of, min(latest, today))


def _declared_additions(
    record: Mapping[str, Any], entity_id: str, nodes: pl.DataFrame, edges: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Nodes and edges with the record's declared suppliers added as in-edges of the entity."""
    from risk_engine.graph.build import EDGE_SCHEMA, NODE_SCHEMA, SupplyGraph

    if not record.get("upstream_suppliers"):
        return nodes, edges
    me = nodes.filter(pl.col("entity_id") == entity_id)
    hs4 = me.get_column("hs4_list").to_list()[0] if "hs4_list" in me.columns and me.height else None
    request = {**record, "hs_codes": list(record.get("hs_codes") or []) or list(hs4 or [])}
    new_nodes, new_edges = record_graph(request, 0, node_id=f"{entity_id}:request")
    for e in new_edges:
        e["dst"] = entity_id
    added = pl.DataFrame(new_nodes[1:], schema=NODE_SCHEMA)
    # The builder's share rules over the entity's stored inputs plus the declared ones.
    mine = edges.filter(pl.col("dst") == entity_id)
    local_nodes = pl.concat(
        [
            nodes.filter(
                pl.col("entity_id").is_in(pl.concat([mine["src"], pl.Series([entity_id])]).implode())
            )
            .select(list(NODE_SCHEMA))
            .cast(NODE_SCHEMA),  # type: ignore[arg-type]
            added,
        ]
    )
    merged = pl.concat([mine.select(list(EDGE_SCHEMA)), pl.DataFrame(new_edges, schema=EDGE_SCHEMA)])
    built = SupplyGraph(local_nodes, merged, file="request")
    inputs_of_entity = built.edges.select([c for c in EDGE_SCHEMA if c in built.edges.columns])
    edges = pl.concat(
        [edges.filter(pl.col("dst") != entity_id), inputs_of_entity.cast(edges.schema)],
        how="vertical_relaxed",
    )
    nodes = pl.concat([nodes, added], how="diagonal_relaxed")
    return nodes, edges


def rescore_entity(inputs: ScoringInputs, entity_id: str, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fl-v1 score row (``SCORES_COLUMNS``) of ``entity_id`` with the record's additions.

    None when the entity is not a node of the snapshot graph.
    """
    return rescore_many(inputs, [(entity_id, record)])[0]


def pack_disjoint(hoods: Sequence[set[int]], keys: Sequence[object]) -> list[list[int]]:
    """Items packed into groups whose neighbourhoods are pairwise disjoint and whose keys are equal.

    First fit, in item order; an empty neighbourhood gets no group. Scoring a group's union at once is
    exact for each member: no member is upstream of another, and none shares a node with another.
    """
    groups: list[list[int]] = []
    used: list[set[int]] = []
    group_key: list[object] = []
    for k, hood in enumerate(hoods):
        if not hood:
            continue
        for g, taken in enumerate(used):
            if group_key[g] == keys[k] and taken.isdisjoint(hood):
                groups[g].append(k)
                taken |= hood
                break
        else:
            groups.append([k])
            used.append(set(hood))
            group_key.append(keys[k])
    return groups


def rescore_many(
    inputs: ScoringInputs, items: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[dict[str, Any] | None]:
    """``rescore_entity`` for many (entity id, record) items.

    One ``score_graph`` runs per group of items whose neighbourhoods are disjoint and whose evaluation
    dates agree (:func:`pack_disjoint`), so a batch of records costs a few runs, not one per record.
    """
    from risk_engine.scoring.registry import get_methodology

    method = get_methodology(inputs.methodology)
    depth = int(method.params.propagation.max_depth)
    today = datetime.now(UTC).date()
    hoods = [inputs.upstream(entity_id, depth) for entity_id, _ in items]
    own = [_request_findings(record, entity_id) for entity_id, record in items]
    as_of = [evaluation_date(inputs.as_of, findings, today) for findings in own]
    out: list[dict[str, Any] | None] = [None] * len(items)
    for group in pack_disjoint([set(h[0].tolist()) for h in hoods], as_of):
        rows = _score_group(
            inputs,
            method,
            [(items[k][0], items[k][1], own[k]) for k in group],
            positions=np.concatenate([hoods[k][0] for k in group]),
            edge_rows=np.concatenate([hoods[k][1] for k in group]),
            as_of=as_of[group[0]],
        )
        for k in group:
            out[k] = rows.get(items[k][0])
    return out


def _score_group(
    inputs: ScoringInputs,
    method: Any,
    members: Sequence[tuple[str, Mapping[str, Any], pl.DataFrame | None]],
    *,
    positions: np.ndarray,
    edge_rows: np.ndarray,
    as_of: date,
) -> dict[str, dict[str, Any]]:
    from risk_engine.pipeline import FrameGraph, user_reference
    from risk_engine.scoring.score import score_graph

    nodes = inputs.nodes[positions]
    edges = inputs.edges[np.sort(edge_rows)]
    ids = nodes.get_column("entity_id")
    audits = None
    if inputs.audits is not None and inputs._findings_site is not None:
        audits = inputs.audits.filter(inputs._findings_site.is_in(ids.implode()))
    hits = None
    if inputs.hits is not None:
        hits = inputs.hits.filter(pl.col("entity_id").cast(pl.String).is_in(ids.implode()))
    added = [f for _, _, f in members if f is not None]
    if added:
        base = [audits] if audits is not None and audits.height else []
        audits = pl.concat([*base, *added], how="diagonal_relaxed")
    for entity_id, record, _ in members:
        nodes, edges = _declared_additions(record, entity_id, nodes, edges)
    country_index, reference = user_reference(inputs.reference)
    tables = score_graph(
        FrameGraph(nodes, edges),
        audits=audits if audits is not None and audits.height else None,
        enforcement_hits=hits if hits is not None and hits.height else None,
        methodology=method,
        as_of=as_of,
        country_index=country_index,
        reference=reference,
    )
    wanted = [entity_id for entity_id, _, _ in members]
    found = tables.scores.filter(pl.col("entity_id").is_in(wanted))
    return {str(r["entity_id"]): r for r in found.iter_rows(named=True)}


def rescored_views(
    inputs: ScoringInputs,
    stored: Sequence[Mapping[str, Any] | None],
    records: Sequence[Mapping[str, Any]],
    *,
    snapshot_versions: Mapping[str, Any],
) -> list[dict[str, Any] | None]:
    """Matched entities' score views recomputed with their records' additions (the ``entity`` shape).

    ``stored`` are the snapshot's views of the matched entities (None: unknown entity, left None).
    """
    from risk_engine.api.snapshot import score_view

    known = {k: str(view.get("entity_id")) for k, view in enumerate(stored) if view is not None}
    rows = rescore_many(inputs, [(entity_id, records[k]) for k, entity_id in known.items()])
    out: list[dict[str, Any] | None] = [None] * len(stored)
    for k, row in zip(known, rows, strict=True):
        if row is None:
            continue
        before = stored[k] or {}
        view = score_view(row, snapshot_versions=snapshot_versions)
        view.update(
            entity_id=before.get("entity_id"),
            name=before.get("name"),
            country=before.get("country"),
            tier=before.get("tier"),
        )
        out[k] = view
    return out
