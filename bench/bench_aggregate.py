"""Benchmark: aggregate 10,000,000 trade records into BOL edges (graph.build.aggregate_trade).

Prints wall and CPU seconds for the edges alone and with the row-level issues report, and the ratio
against a plain-Python dictionary aggregation measured in the same run on a slice (scaled linearly).

    .venv/bin/python bench/bench_aggregate.py
    .venv/bin/python bench/bench_aggregate.py --rows 1000000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from risk_engine.graph.build import aggregate_trade

# the implementation before lane keys were hashed, kept as the reference in the tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "graph"))
from test_graph_build import reference_aggregate_trade

AS_OF = date(2025, 6, 30)


def synthetic_trade(rows: int, *, entities: int = 1_000_000, seed: int = 5) -> pl.DataFrame:
    """Shipments over ~rows/10 (shipper, consignee, HS6) lanes, 4 years of dates, a few bad cells."""
    rng = np.random.default_rng(seed)
    lanes = max(rows // 10, 1)
    lane_src = rng.integers(0, entities, lanes)
    lane_dst = rng.integers(0, entities, lanes)
    lane_hs = rng.integers(100_000, 970_000, lanes)
    pick = rng.integers(0, lanes, rows)
    start = date(2021, 7, 1)
    value = rng.lognormal(9.0, 1.5, rows)
    value[rng.random(rows) < 0.05] = np.nan  # missing values
    value[rng.random(rows) < 0.001] *= -1  # negative: reported and ignored
    frame = pl.DataFrame(
        {
            "row": np.arange(2, rows + 2, dtype=np.int64),
            "shipper_id": lane_src[pick],
            "consignee_id": lane_dst[pick],
            "hs": lane_hs[pick],
            "day": rng.integers(0, 4 * 365, rows),
            "value_usd": value,
            "weight_kg": rng.lognormal(7.0, 1.0, rows),
        }
    )
    unresolved = pl.lit(rng.random(rows) < 0.01)
    return frame.select(
        "row",
        pl.when(unresolved)
        .then(None)
        .otherwise(pl.format("e{}", pl.col("shipper_id")))
        .alias("shipper_entity_id"),
        pl.format("e{}", pl.col("consignee_id")).alias("consignee_entity_id"),
        pl.col("hs").cast(pl.String).alias("hs_code"),
        (pl.lit(start) + pl.duration(days=pl.col("day"))).alias("date"),
        pl.col("value_usd").fill_nan(None),
        "weight_kg",
    )


def python_baseline(trade: pl.DataFrame) -> int:
    """The same grouping with a dictionary loop (counts, sums, min/max dates) as the baseline."""
    acc: dict[tuple[str, str, str | None], list[object]] = {}
    for s, c, hs, d, v, w in trade.select(
        "shipper_entity_id", "consignee_entity_id", "hs_code", "date", "value_usd", "weight_kg"
    ).iter_rows():
        if s is None or c is None or s == c or d is None or d > AS_OF:
            continue
        key = (s, c, hs[:4] if hs else None)
        a = acc.get(key)
        if a is None:
            acc[key] = [1, v or 0.0, w or 0.0, d, d]
        else:
            a[0] += 1  # type: ignore[operator]
            a[1] += v or 0.0  # type: ignore[operator]
            a[2] += w or 0.0  # type: ignore[operator]
            a[3] = min(a[3], d)
            a[4] = max(a[4], d)
    return len(acc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--baseline-rows", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    t = time.perf_counter()
    trade = synthetic_trade(args.rows)
    print(
        f"trade: {trade.height:,} rows ({time.perf_counter() - t:.1f} s to generate, {trade.estimated_size() / 1e9:.2f} GB)"
    )

    # before and after alternate, so a change in machine load hits both alike
    best = {"before": (float("inf"), float("inf")), "after": (float("inf"), float("inf"))}
    results: dict[str, pl.DataFrame] = {}
    for _ in range(args.repeat):
        for name in ("before", "after"):
            w, c = time.perf_counter(), time.process_time()
            if name == "before":
                results[name] = reference_aggregate_trade(trade, as_of=AS_OF, known_hs4=None)
            else:
                results[name] = aggregate_trade(trade, as_of=AS_OF)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
            print(f"  {name}: {wall:.2f} s wall, {cpu:.2f} s cpu", flush=True)
    for name in ("before", "after"):
        print(
            f"aggregate_trade {name} (edges): {best[name][0]:.2f} s wall, {best[name][1]:.2f} s cpu "
            f"(best of {args.repeat}) -> {results[name].height:,} edges"
        )
    print(
        f"after vs before: {best['before'][0] / best['after'][0]:.2f}x wall, "
        f"{best['before'][1] / best['after'][1]:.2f}x cpu"
    )
    key = ["src", "dst", "hs4"]
    before, after = (results[name].sort(key, nulls_last=True) for name in ("before", "after"))
    floats = [c for c, t in before.schema.items() if t == pl.Float64]
    exact = before.drop(floats).equals(after.drop(floats))
    diffs = [(after[c] - before[c]).abs().to_numpy() / before[c].abs().to_numpy() for c in floats]
    worst = max(float(np.nanmax(d, initial=0.0)) for d in diffs)
    print(
        f"before vs after, sorted: non-float columns identical: {exact}; "
        f"float columns max relative difference {worst:.1e} (summation order)"
    )
    w, c = time.perf_counter(), time.process_time()
    issues: list[pl.DataFrame] = []
    aggregate_trade(trade, as_of=AS_OF, issues=issues)
    n_issues = sum(f.height for f in issues)
    print(
        f"aggregate_trade (edges + issues report): {time.perf_counter() - w:.2f} s wall, "
        f"{time.process_time() - c:.2f} s cpu, {n_issues:,} issue rows"
    )
    part = trade.head(args.baseline_rows)
    w = time.perf_counter()
    python_baseline(part)
    base = (time.perf_counter() - w) * trade.height / part.height
    print(
        f"baseline: plain-Python dict aggregation on {part.height:,} rows, scaled to {trade.height:,}: "
        f"{base:.1f} s -> aggregate_trade is {base / best['after'][0]:.0f}x faster"
    )
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
