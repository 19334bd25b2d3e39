"""In-process cost of scoring records the snapshot does not hold (``record_scoring.score_records``).

    .venv/bin/python bench/bench_unmatched.py [--calls 300]

Times one ``score_records`` call per request, as a worker runs it after its warm-up call (the snapshot
loader scores one record at start): a plain record as ``bench_api.py``'s unmatched phase sends it (a new
name each call, a country from a list of 20, HS 6109), the first call of each of those countries (what
a country/product combination not seen yet by the process costs), a record with an inline audit
finding and a declared upstream supplier, and batches of 4, 16 and 64 plain records (concurrent
requests are scored together). Prints p50 / p99 per case and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk_engine.api.record_scoring import score_records  # noqa: E402
from risk_engine.api.snapshot import SnapshotInfo  # noqa: E402

COUNTRIES = [
    "CN", "IN", "BD", "VN", "TR", "PK", "ID", "MY", "TH", "KH",
    "MX", "BR", "US", "DE", "IT", "PT", "ET", "KE", "EG", "LK",
]  # fmt: skip


class _Snapshot:
    info = SnapshotInfo("bench", "memory", 0, "fl-v1", {})


def plain(i: int) -> dict[str, Any]:
    """A record no entity resembles, with a country and an HS code (``bench_api.py``'s unmatched phase)."""
    return {
        "key": "k",
        "name": f"Qx{i:07x} Vuorinen Kraftwerk Holdings",
        "country": COUNTRIES[i % len(COUNTRIES)],
        "hs_codes": ["6109"],
    }


def carrying(i: int) -> dict[str, Any]:
    """A record with an open finding and a declared supplier (another country, another product)."""
    return {
        **plain(i),
        "audit_findings": [
            {"audit_date": "2026-06-01", "ilo_indicator": 7, "grade": "major", "status": "open"}
        ],
        "upstream_suppliers": [
            {
                "name": f"Farm {i}",
                "country": COUNTRIES[(i + 7) % len(COUNTRIES)],
                "hs_codes": ["5201"],
                "share": 0.5,
            }
        ],
    }


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{label:48s} n={len(ms):4d}  p50 {statistics.median(ms):7.2f} ms  p99 {p99:7.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    snapshot: Any = _Snapshot()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    score_records([{"name": "warm-up", "country": "DE"}], snapshot)  # as load_snapshot does
    first = [timed(lambda i=i: score_records([plain(i)], snapshot)) for i in range(len(COUNTRIES))]
    report("1 plain record, first call per country", first)
    n = args.calls
    report("1 plain record", [timed(lambda i=i: score_records([plain(i)], snapshot)) for i in range(n)])
    report(
        "1 record with a finding and a declared supplier",
        [timed(lambda i=i: score_records([carrying(i)], snapshot)) for i in range(n // 2)],
    )
    for size in (4, 16, 64):
        batches = [[plain(i * size + j) for j in range(size)] for i in range(max(10, n // size))]
        report(
            f"{size} plain records in one call",
            [timed(lambda b=b: score_records(b, snapshot)) for b in batches],
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
