"""Benchmark the batch screen end to end: time per stage, peak memory, Spark overhead vs local.

    .venv/bin/python bench/gen_large.py --out bench/out/large          # once (fixed seed)
    .venv/bin/python bench/bench_screen.py --data bench/out/large [--engines local,spark]

Each engine runs in its own child process (so peak RSS is per run, read from the child's rusage) into
a fresh output directory. The baseline is the local engine measured in the same invocation; the Spark
line prints its ratio to it. ``--demo`` times ``risk-engine demo`` instead (budget 30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(args: list[str], out: Path) -> dict[str, object]:
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"run failed with exit code {proc.returncode}")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall_s": round(wall, 1),
        # ru_maxrss of children is the largest child so far; each engine runs once, largest last.
        "peak_rss_gb": round(max(peak_kib, before) / 1024 / 1024, 2),
        "stages_s": manifest.get("timings_s", {}),
        "counts": manifest.get("counts", {}),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / "bench/out/large")
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/screen")
    p.add_argument("--engines", default="local,spark")
    p.add_argument("--demo", action="store_true", help="time `risk-engine demo` instead")
    a = p.parse_args()
    exe = [sys.executable, "-m", "risk_engine.cli"]
    results: dict[str, dict[str, object]] = {}
    if a.demo:
        out = a.out / "demo"
        results["demo"] = run_child([*exe, "demo", "--out", str(out)], out)
    else:
        d = a.data
        enforcement = d / "enforcement.csv"
        for engine in a.engines.split(","):
            out = a.out / engine
            args = [
                *exe, "screen", "--engine", engine, "--out", str(out),
                "--suppliers", str(d / "suppliers.parquet"), "--trade", str(d / "trade.parquet"),
                "--audits", str(d / "audits.parquet"), "--enforcement", str(enforcement),
            ]  # fmt: skip
            results[engine] = run_child(args, out)
    base = results.get("local") or results.get("demo")
    for name, r in results.items():
        ratio = f"  ratio to local {float(r['wall_s']) / float(base['wall_s']):.2f}x" if base else ""  # type: ignore[arg-type]
        print(f"{name:6s} wall {r['wall_s']:>7} s  peak RSS {r['peak_rss_gb']} GB{ratio}")
        print(f"       stages {json.dumps(r['stages_s'])}")
        c = r["counts"]
        assert isinstance(c, dict)
        print(
            f"       rows {c.get('rows_read'):,} entities {c.get('entities'):,} edges {c.get('edges'):,} "
            f"bands {c.get('bands')} review {c.get('review_matches')}"
        )
    print(f"cpus {os.cpu_count()}  load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
