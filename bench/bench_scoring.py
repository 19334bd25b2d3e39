"""Speed of fl-v1 scoring (score_graph) on a synthetic layered supply graph, against propagation alone.

    .venv/bin/python bench/bench_scoring.py --nodes 20000 --edges-per-node 3 --findings 5000

Baseline (same run, same graph): one ``propagate`` call, the vectorised core that scoring runs four times.
The ratio shows what inherent risk, evidence, flags, coverage and explanations cost on top.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from risk_engine.scoring.inherent import load_inherent_reference
from risk_engine.scoring.propagate import propagate
from risk_engine.scoring.registry import get_methodology
from risk_engine.scoring.score import graph_arrays, node_terms, propagate_variants, score_graph

AS_OF = date(2025, 6, 30)
COUNTRIES = np.array(["CN", "IN", "BD", "VN", "TR", "DE", "US", "MY", "UZ", "BR", "KH", "PK"])
HS = np.array(
    ["5201", "5205", "5208", "6204", "6109", "8541", "7601", "0302", "1801", "8517", "4015", "2804"]
)


@dataclass(frozen=True)
class Graph:
    nodes: pl.DataFrame
    edges: pl.DataFrame


def synthetic(
    n: int, per_node: int, n_findings: int, seed: int = 0
) -> tuple[Graph, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"e{i}" for i in range(n)]
    nodes = pl.DataFrame(
        {
            "entity_id": ids,
            "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
            "region": ["Xinjiang" if x < 0.02 else None for x in rng.random(n)],
            "node_type": ["supplier"] * n,
            "hs4_list": [[h] for h in HS[rng.integers(0, len(HS), n)]],
        }
    )
    m = n * per_node
    dst = rng.integers(0, n - 1, m)
    src = np.minimum(n - 1, dst + 1 + rng.integers(0, max(2, n // 20), m))
    share = rng.random(m)
    share = share / np.bincount(dst, weights=share, minlength=n)[dst]
    edges = pl.DataFrame(
        {
            "src": [ids[i] for i in src],
            "dst": [ids[i] for i in dst],
            "hs4": HS[rng.integers(0, len(HS), m)],
            "source": rng.choice(["bol", "supplier_declared", "buyer_declared"], m),
            "n_shipments": rng.integers(1, 30, m),
            "last_date": [AS_OF - timedelta(days=int(d)) for d in rng.integers(0, 1500, m)],
            "share": share,
            "share_imputed": [False] * m,
            "confidence": rng.choice([0.6, 0.7, 0.9, 1.0], m),
        }
    )
    sites = rng.integers(0, n, n_findings)
    audits = pl.DataFrame(
        {
            "site_entity_id": [ids[i] for i in sites],
            "audit_id": [f"A{i // 3}" for i in range(n_findings)],
            "finding_id": [f"F{i}" for i in range(n_findings)],
            "audit_date": [AS_OF - timedelta(days=int(d)) for d in rng.integers(0, 1200, n_findings)],
            "ilo_indicators": [[int(k)] for k in rng.integers(1, 12, n_findings)],
            "grade": rng.choice(["critical", "major", "minor", "observation"], n_findings),
            "scope": rng.choice(["systemic", "isolated", None], n_findings),
            "status": rng.choice(["open", "cap_agreed", "closed_desktop", "closed_verified"], n_findings),
            "source": ["third_party_audit"] * n_findings,
        },
        schema_overrides={"ilo_indicators": pl.List(pl.Int8)},
    )
    flagged = rng.choice(n, max(1, n // 500), replace=False)
    hits = pl.DataFrame(
        {
            "entity_id": [ids[i] for i in flagged],
            "list": rng.choice(["UFLPA", "WRO"], len(flagged)),
            "match_probability": rng.uniform(0.75, 1.0, len(flagged)),
            "listed_date": [date(2023, 1, 1)] * len(flagged),
            "revoked_date": [None] * len(flagged),
            "list_version": ["2025-01-15"] * len(flagged),
        },
        schema_overrides={"revoked_date": pl.Date},
    )
    return Graph(nodes, edges), audits, hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=20000)
    parser.add_argument("--edges-per-node", type=int, default=3)
    parser.add_argument("--findings", type=int, default=5000)
    args = parser.parse_args(argv)
    g, audits, hits = synthetic(args.nodes, args.edges_per_node, args.findings)
    method = get_methodology("fl-v1")
    ref = load_inherent_reference()
    arrays, _ = graph_arrays(g.nodes, g.edges, params=method.params)
    terms, *_ = node_terms(
        g.nodes,
        arrays,
        audits=audits,
        enforcement_hits=hits,
        params=method.params,
        as_of=AS_OF,
        reference=ref,
    )
    runs = propagate_variants(arrays, terms, params=method.params)
    t0 = time.perf_counter()
    propagate(runs.inputs, delta=0.85, k=5)
    base = time.perf_counter() - t0
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = score_graph(g, audits=audits, enforcement_hits=hits, methodology=method, as_of=AS_OF, reference=ref)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        f"graph: {args.nodes:,} nodes, {g.edges.height:,} edges, {audits.height:,} findings, {hits.height:,} hits"
    )
    print(f"baseline propagate (one run): {base:.3f} s")
    print(f"score_graph: {wall:.2f} s wall, {cpu:.2f} s CPU, {wall / max(args.nodes, 1) * 1e6:.0f} us/entity")
    print(f"ratio score_graph / propagate = {wall / base:.0f}x")
    print(f"bands: {dict(out.scores.group_by('band').len().iter_rows())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
