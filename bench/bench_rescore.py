"""Cost of folding a request's own findings into a matched entity's score (``risk_engine.api.rescoring``).

    .venv/bin/python bench/bench_rescore.py [--snapshot DIR] [--entities N]

Screens the bundled demo fixtures into a temporary snapshot (unless ``--snapshot`` names one), then, for
every entity (or a deterministic sample of N), re-scores it with one inline audit finding on its upstream
neighbourhood and reports latency percentiles. The baseline in the same process is what the
neighbourhood avoids: re-scoring the whole snapshot graph with that finding (``score_graph`` on all nodes).
It also checks on the way that the neighbourhood result equals the whole-graph result for the entity.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk_engine.api.rescoring import (  # noqa: E402
    ScoringInputs,
    load_scoring_inputs,
    rescore_entity,
    rescore_many,
)
from risk_engine.io.run import run_demo  # noqa: E402

FINDING = {"audit_date": "2026-09-01", "ilo_indicator": 9, "grade": "major", "status": "open"}
FINDING_DATE = date.fromisoformat(FINDING["audit_date"])


def _demo_snapshot(out: Path) -> Path:
    code = run_demo(out=out, engine="local")
    if code != 0:
        raise SystemExit(f"demo screen failed with exit code {code}")
    return out


def _whole_graph(inputs: ScoringInputs, entity_id: str) -> float:
    """The naive alternative: every node and edge of the snapshot, plus the finding, scored at once."""
    from risk_engine.api.rescoring import _request_findings
    from risk_engine.pipeline import FrameGraph
    from risk_engine.scoring.registry import get_methodology
    from risk_engine.scoring.score import score_graph

    own = _request_findings({"audit_findings": [FINDING]}, entity_id)
    audits = own if inputs.audits is None else pl.concat([inputs.audits, own], how="diagonal_relaxed")
    as_of = max(inputs.as_of, FINDING_DATE)
    tables = score_graph(
        FrameGraph(inputs.nodes, inputs.edges),
        audits=audits,
        enforcement_hits=inputs.hits,
        methodology=get_methodology(inputs.methodology),
        as_of=as_of,
    )
    return float(tables.scores.filter(pl.col("entity_id") == entity_id)["score"][0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--snapshot", type=Path, default=None)
    ap.add_argument("--entities", type=int, default=0, help="sample size (0 = every entity)")
    ap.add_argument("--baseline-runs", type=int, default=5)
    ap.add_argument("--batches", type=int, default=5, help="100-record batches to time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.snapshot or _demo_snapshot(Path(tmp) / "demo")
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        inputs = load_scoring_inputs(path, manifest)
        if inputs is None:
            raise SystemExit(f"{path}: the snapshot keeps no scoring inputs (re-run the screen)")
        ids = inputs.nodes.get_column("entity_id").to_list()
        if args.entities and args.entities < len(ids):
            ids = ids[:: max(1, len(ids) // args.entities)][: args.entities]
        record = {"audit_findings": [FINDING]}
        sizes, times = [], []
        for eid in ids:
            t0 = time.perf_counter()
            row = rescore_entity(inputs, eid, record)
            times.append(time.perf_counter() - t0)
            sizes.append(len(inputs.upstream(eid, 5)[0]))
            assert row is not None, eid
        ms = np.array(times) * 1000
        base, checked = [], 0
        for eid in ids[:: max(1, len(ids) // args.baseline_runs)][: args.baseline_runs]:
            t0 = time.perf_counter()
            whole = _whole_graph(inputs, eid)
            base.append(time.perf_counter() - t0)
            row = rescore_entity(inputs, eid, record)
            assert row is not None and abs(row["score"] - whole) < 1e-9, (eid, row, whole)
            checked += 1
        base_ms = float(np.median(base) * 1000)
        # 100-record requests: one batched call against 100 single ones (same items)
        rng = np.random.default_rng(7)
        batch_s, single_s = [], []
        for _ in range(args.batches):
            chosen = [ids[i] for i in rng.choice(len(ids), size=min(100, len(ids)), replace=False)]
            t0 = time.perf_counter()
            rescore_many(inputs, [(eid, record) for eid in chosen])
            batch_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for eid in chosen:
                rescore_entity(inputs, eid, record)
            single_s.append(time.perf_counter() - t0)
        out = {
            "snapshot_nodes": inputs.nodes.height,
            "snapshot_edges": inputs.edges.height,
            "entities": len(ids),
            "neighbourhood_nodes_mean": round(float(np.mean(sizes)), 1),
            "neighbourhood_nodes_max": int(np.max(sizes)),
            "rescore_ms_p50": round(float(np.percentile(ms, 50)), 1),
            "rescore_ms_p99": round(float(np.percentile(ms, 99)), 1),
            "rescore_ms_max": round(float(ms.max()), 1),
            "whole_graph_ms_median": round(base_ms, 1),
            "ratio_whole_over_p50": round(base_ms / float(np.percentile(ms, 50)), 1),
            "equal_to_whole_graph": checked,
            "batch100_ms_median": round(float(np.median(batch_s) * 1000), 1),
            "batch100_ms_max": round(float(np.max(batch_s) * 1000), 1),
            "single100_ms_median": round(float(np.median(single_s) * 1000), 1),
        }
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
