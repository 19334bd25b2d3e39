"""Country normalisation speed: series_to_iso2 (distinct values once) against a per-row to_iso2 loop.

Run: .venv/bin/python bench/bench_reference_countries.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import random
import time

import polars as pl


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from risk_engine.reference.countries import _index, series_to_iso2

    _index()
    cold = time.perf_counter() - t0

    # realistic spellings: every name and code in the shipped countries table, plus messy variants
    from risk_engine.reference.loaders import load_countries

    countries = load_countries()
    spellings = [
        *countries["name"].to_list(),
        *countries["iso2"].to_list(),
        *countries["iso3"].to_list(),
        *[n.upper() for n in countries["name"].to_list()],
        "PRC",
        "Korea, Rep.",
        "Viet Nam",
        "Türkiye",
        "中国",
        "Deutschland",
        "Ivory Coast",
        "U.S.A.",
        "n/a",
    ]
    rng = random.Random(7)
    series = pl.Series("country", rng.choices(spellings, k=args.rows))
    distinct = len(set(spellings))

    t0 = time.perf_counter()
    vectorised = series_to_iso2(series)
    t_vec = time.perf_counter() - t0

    from risk_engine.reference import countries as mod

    mod._to_iso2_cached.cache_clear()
    t0 = time.perf_counter()
    per_row = pl.Series("country", [mod._resolve(v) for v in series.to_list()], dtype=pl.String)
    t_row = time.perf_counter() - t0

    assert vectorised.equals(per_row)
    print(f"index load (parquet + dicts): {cold:.3f} s")
    print(f"rows={args.rows:,} distinct spellings={distinct}")
    print(f"series_to_iso2: {t_vec:.3f} s ({args.rows / t_vec / 1e6:.2f} M rows/s)")
    print(f"per-row resolve (no cache) baseline: {t_row:.3f} s")
    print(f"ratio baseline / series_to_iso2: {t_row / t_vec:.1f}x")


if __name__ == "__main__":
    main()
