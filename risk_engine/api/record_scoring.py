"""Score a record that matches no snapshot entity, from what it carries (fl-v1 on a one-record graph).

Each record becomes a node (country, HS codes), its declared upstream suppliers become nodes with
``supplier_declared`` edges (confidence 0.7, the stated share), and its inline audit findings are
evidence on it. ``score_graph`` then scores that small graph with the same methodology as the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from risk_engine.api.snapshot import FrameSnapshot, score_view

RECORD_NODE = "record"
DECLARED_CONFIDENCE = 0.7


def _hs4_list(codes: Any) -> list[str]:
    out: list[str] = []
    for code in codes or []:
        text = str(code)
        if len(text) >= 4 and text[:4] not in out:
            out.append(text[:4])
    return out


def record_node(i: int) -> str:
    """The node id of the i-th record of a request."""
    return f"{RECORD_NODE}:{i}"


def record_graph(
    record: Mapping[str, Any], i: int = 0, *, node_id: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Node and edge rows of one record's graph (``graph.build`` NODE_SCHEMA / EDGE_SCHEMA shapes).

    The record's node comes first; ``node_id`` names it (default ``record:i``) and prefixes its suppliers.
    """
    own_hs4 = _hs4_list(record.get("hs_codes"))
    me = node_id or record_node(i)
    nodes = [
        {
            "entity_id": me,
            "name": record.get("name"),
            "country": record.get("country"),
            "region": record.get("region"),
            "node_type": "supplier",
            "hs4_list": own_hs4,
        }
    ]
    edges = []
    for j, up in enumerate(record.get("upstream_suppliers") or []):
        node_id = f"{me}:upstream:{j + 1}"
        hs4 = _hs4_list(up.get("hs_codes")) or own_hs4
        nodes.append(
            {
                "entity_id": node_id,
                "name": up.get("name"),
                "country": up.get("country"),
                "region": None,
                "node_type": "supplier",
                "hs4_list": hs4,
            }
        )
        edges.append(
            {
                "src": node_id,
                "dst": me,
                "hs4": hs4[0] if hs4 else None,
                "source": "supplier_declared",
                "n_shipments": None,
                "value_usd": None,
                "weight_kg": None,
                "first_date": None,
                "last_date": None,
                "share": up.get("share"),
                "share_imputed": up.get("share") is None,
                "confidence": DECLARED_CONFIDENCE,
            }
        )
    return nodes, edges


def _date(value: Any) -> date | None:
    """A date as the request models give it, or its ISO text (callers outside the API)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def record_findings(record: Mapping[str, Any], i: int = 0) -> list[dict[str, Any]]:
    """The record's inline audit findings as audits rows linked to the record's node."""
    rows = []
    for j, f in enumerate(record.get("audit_findings") or []):
        indicator = f.get("ilo_indicator")
        rows.append(
            {
                "row": j + 1,
                "site_entity_id": record_node(i),
                "audit_id": f"inline-{i}",
                "finding_id": f.get("finding_id") or f"inline-{j + 1}",
                "audit_date": _date(f.get("audit_date")),
                "scheme": f.get("scheme"),
                "clause": f.get("clause"),
                "ilo_indicators": [int(indicator)] if indicator is not None else None,
                "grade": f.get("grade"),
                "status": f.get("status"),
                "status_date": _date(f.get("status_date")),
                "workers_affected": f.get("workers_affected"),
                "source": f.get("source"),
            }
        )
    return rows


FINDINGS_SCHEMA: dict[str, Any] = {
    "row": pl.Int64,
    "site_entity_id": pl.String,
    "audit_id": pl.String,
    "finding_id": pl.String,
    "audit_date": pl.Date,
    "scheme": pl.String,
    "clause": pl.String,
    "ilo_indicators": pl.List(pl.Int8),
    "grade": pl.String,
    "status": pl.String,
    "status_date": pl.Date,
    "workers_affected": pl.Int64,
    "source": pl.String,
}


class _Graph:
    def __init__(self, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        from risk_engine.graph.build import SupplyGraph

        graph = SupplyGraph(nodes, edges, file="request")
        self.nodes = graph.nodes
        self.edges = graph.edges


def score_records(
    records: Sequence[Mapping[str, Any]], snapshot: FrameSnapshot
) -> list[dict[str, Any] | None]:
    """fl-v1 score views of unmatched records (one graph, one scoring run for all of them)."""
    from risk_engine.graph.build import EDGE_SCHEMA, NODE_SCHEMA
    from risk_engine.scoring.registry import get_methodology
    from risk_engine.scoring.score import score_graph

    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    scored = [i for i, r in enumerate(records) if r.get("country")]
    for i in scored:
        n, e = record_graph(records[i], i)
        nodes += n
        edges += e
        findings += record_findings(records[i], i)
    if not scored:
        return [None] * len(records)
    tables = score_graph(
        _Graph(pl.DataFrame(nodes, schema=NODE_SCHEMA), pl.DataFrame(edges, schema=EDGE_SCHEMA)),
        audits=pl.DataFrame(findings, schema=FINDINGS_SCHEMA) if findings else None,
        enforcement_hits=None,
        methodology=get_methodology(snapshot.info.methodology),
        as_of=datetime.now(UTC).date(),
    )
    by_node = {r["entity_id"]: r for r in tables.scores.to_dicts()}
    out: list[dict[str, Any] | None] = [None] * len(records)
    for i in scored:
        row = by_node.get(record_node(i))
        if row is None:
            continue
        view = score_view(row, snapshot_versions=snapshot.info.versions)
        view.update(entity_id=None, name=records[i].get("name"), country=records[i].get("country"), tier=None)
        out[i] = view
    return out
