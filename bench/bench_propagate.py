"""Benchmark: propagation over a synthetic 1M-node / 10M-edge supplier graph, and top-path explanations.

Prints wall and CPU seconds, peak memory, and the ratio against the plain-loop reference implementation
(tests/scoring/test_scoring_propagate_reference.py) measured in the same run on a 100k-node graph.

    .venv/bin/python bench/bench_propagate.py                      # full budget run
    .venv/bin/python bench/bench_propagate.py --nodes 100000 --edges 1000000 --ref-nodes 20000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scoring"))

from risk_engine.graph.paths import risk_paths_csr
from risk_engine.scoring.propagate import PropagationInput, propagate


def synthetic(n: int, m: int, *, seed: int = 7, reciprocal: float = 0.01) -> PropagationInput:
    """A random supplier graph in SupplyGraph's canonical order (by buyer, then (country, hs4) group).

    Suppliers get one of 60 countries; each edge one of 400 HS4 headings; about ``reciprocal`` of the
    edges are reverses of other edges (traders, intra-group transfers), and shares sum to <= 1 per buyer.
    """
    rng = np.random.default_rng(seed)
    dst = rng.integers(0, n, m)
    src = rng.integers(0, n, m)
    flip = rng.random(m) < reciprocal
    partner = rng.integers(0, m, int(flip.sum()))
    src[flip], dst[flip] = dst[partner], src[partner]
    country = rng.integers(0, 60, n)
    hs4 = rng.integers(0, 400, m)
    key = (dst * 64 + country[src]) * 512 + hs4
    order = np.argsort(key, kind="stable")
    src, dst, key = src[order], dst[order], key[order]
    new = np.empty(m, dtype=bool)
    new[:1] = True
    new[1:] = key[1:] != key[:-1]
    group = np.cumsum(new) - 1
    raw = rng.random(m)
    per_dst = np.bincount(dst, weights=raw, minlength=n)
    share = raw / per_dst[dst] * rng.uniform(0.5, 1.0, n)[dst]  # mapped share sigma_v in [0.5, 1]
    return PropagationInput(
        n_nodes=n,
        src=src,
        dst=dst,
        group=group.astype(np.int64),
        share=np.minimum(share, 1.0),
        confidence=rng.choice([0.3, 0.4, 0.6, 0.7, 0.9, 1.0], m),
        local=rng.beta(0.6, 6.0, n),
        backfill=rng.uniform(0.0, 0.05, n),
        propagate_mask=rng.random(n) > 0.005,
    )


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return out, best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=10_000_000)
    ap.add_argument("--ref-nodes", type=int, default=100_000)
    ap.add_argument("--ref-edges-per-node", type=int, default=10)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--explain", type=int, default=500, help="entities to explain")
    ap.add_argument("--skip-reference", action="store_true")
    args = ap.parse_args()

    inp, gen_wall, _ = timed(lambda: synthetic(args.nodes, args.edges))
    print(
        f"graph: {args.nodes:,} nodes, {args.edges:,} edges, {inp.n_groups:,} groups (generated in {gen_wall:.1f} s)"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

    _, topo_wall, topo_cpu = timed(inp.topology)
    top = inp.topology()
    print(
        f"topology index (once per graph, cached): {topo_wall:.2f} s wall, {topo_cpu:.2f} s cpu, {top.pair_u.size:,} reciprocal pairs"
    )
    res, warm_wall, warm_cpu = timed(lambda: propagate(inp, k=args.k), repeat=3)
    print(f"propagate k={args.k} (topology cached): {warm_wall:.2f} s wall, {warm_cpu:.2f} s cpu (best of 3)")
    cold = inp.replace(src=inp.src.copy())  # same arrays, empty topology cache
    _, cold_wall, cold_cpu = timed(lambda: propagate(cold, k=args.k))
    print(f"propagate k={args.k} cold (incl. topology): {cold_wall:.2f} s wall, {cold_cpu:.2f} s cpu")

    tracemalloc.start()
    propagate(inp, k=args.k)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs_gb = sum(a.nbytes for a in (inp.src, inp.dst, inp.group, inp.share, inp.confidence)) / 1e9
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(
        f"memory: propagate allocates at most {peak / 1e9:.2f} GB on top of {inputs_gb:.2f} GB of edge arrays; "
        f"process peak RSS {rss_after:.2f} GB (after generation: {rss_before:.2f} GB)"
    )
    print(
        f"risk: mean {res.risk.mean():.4f}, max {res.risk.max():.4f}, last round change {res.last_change:.2e}"
    )

    _, haz_wall, _ = timed(lambda: res.edge_hazard)
    indptr = np.zeros(inp.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(inp.dst, minlength=inp.n_nodes), out=indptr[1:])
    rng = np.random.default_rng(1)
    picks = rng.integers(0, inp.n_nodes, args.explain)
    times = []
    for v in picks.tolist():
        t = time.perf_counter()
        risk_paths_csr(indptr, inp.src, res, v, n=5)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    print(
        f"explain (top 5 paths, {args.explain} random entities; hazard split computed once in {haz_wall:.2f} s): "
        f"mean {ms.mean():.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms"
    )

    if args.skip_reference:
        return
    from test_scoring_propagate_reference import reference_propagate

    small = synthetic(args.ref_nodes, args.ref_nodes * args.ref_edges_per_node, seed=11)
    fast, f_wall, _ = timed(lambda: propagate(small.replace(src=small.src.copy()), k=args.k))
    ref, r_wall, _ = timed(lambda: reference_propagate(small, k=args.k))
    assert fast is not None and ref is not None
    diff = float(np.max(np.abs(fast.risk - np.asarray(ref))))
    print(
        f"reference ({args.ref_nodes:,} nodes, {small.n_edges:,} edges): plain loops {r_wall:.1f} s, "
        f"sparse {f_wall:.3f} s (cold) -> {r_wall / f_wall:.0f}x faster; max |difference| {diff:.1e}"
    )


if __name__ == "__main__":
    main()
