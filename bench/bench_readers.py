"""Inputs benchmark: validating a 1,000,000-row supplier CSV, and refusing an XLSX zip bomb.

Each measurement runs in a fresh child process so that peak memory (ru_maxrss) belongs to it alone.
Baselines, measured in the same run on the same files:

- plain ``pl.read_csv(path, infer_schema=False)`` of the supplier CSV (parsing only, no checks);
- polars' default Excel engine (fastexcel/calamine) loading the zip-bomb workbook.

    .venv/bin/python bench/bench_readers.py [--rows 1000000] [--bomb-mb 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COUNTRIES = [
    "China",
    "CN",
    "Viet Nam",
    "India",
    "Bangladesh",
    "Türkiye",
    "USA",
    "Deutschland",
    "Mexico",
    "BR",
]
HS = ["6109.10", "5201;5205", "6110", "8541.40", "61", "6203.42; 6204.62"]


def make_suppliers_csv(path: Path, rows: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(87)
    ids = np.arange(rows)
    frame = pl.DataFrame(
        {
            "Supplier ID": [f"S{i}" for i in ids],
            "Supplier Name": [f"Company {i} Textile Co., Ltd" for i in ids],
            "Country/Region": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), rows)],
            "Address": [f"{i} Industrial Road, Zone {i % 97}" for i in ids],
            "HS Codes": np.array(HS)[rng.integers(0, len(HS), rows)],
            "Tier": rng.integers(1, 4, rows).astype(str),
            "Annual Spend": rng.integers(1_000, 1_000_000, rows).astype(str),
        }
    )
    frame.write_csv(path)


CHILD = textwrap.dedent(
    """
    import json, sys, time
    task, path = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    outcome = ""
    if task == "baseline_csv":
        import polars as pl
        outcome = f"{pl.read_csv(path, infer_schema=False).height:,} rows parsed"
    elif task == "validate_csv":
        from pathlib import Path
        from risk_engine.io.validate import validate_file
        report = validate_file(Path(path), kind="suppliers")
        outcome = report.summary().split(": ", 2)[2]
    elif task == "baseline_bomb":
        import fastexcel
        sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string").to_polars()
        outcome = f"{sheet.height:,} rows loaded"
    elif task == "read_bomb":
        from pathlib import Path
        from risk_engine.errors import UnreadableFileError
        from risk_engine.io.readers import read_table
        try:
            read_table(Path(path), "suppliers")
            outcome = "read (NOT refused)"
        except UnreadableFileError as exc:
            outcome = "refused: " + exc.reason
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: ru_maxrss survives fork+exec and would report the parent's peak.
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "outcome": outcome}))
    """
)


def run_child(task: str, path: Path) -> dict[str, float | str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, task, str(path)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bomb-mb", type=int, default=300, help="declared uncompressed size of the bomb")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "fixtures" / "broken"))
    import make_hostile

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "suppliers_1m.csv"
        make_suppliers_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        base = run_child("baseline_csv", csv_path)
        ours = run_child("validate_csv", csv_path)
        print(f"supplier CSV: {args.rows:,} rows, {size_mb:,.0f} MB")
        print(
            f"  baseline pl.read_csv      {base['seconds']:6.2f} s  peak {base['peak_mib']:7.0f} MiB  {base['outcome']}"
        )
        print(
            f"  risk-engine validate      {ours['seconds']:6.2f} s  peak {ours['peak_mib']:7.0f} MiB  {ours['outcome']}"
        )
        print(
            f"  ratio validate/baseline   time {float(ours['seconds']) / float(base['seconds']):.1f}x, "
            f"peak memory {float(ours['peak_mib']) / float(base['peak_mib']):.1f}x"
        )

        make_hostile.BOMB_MB = args.bomb_mb
        bomb_path = Path(tmp) / "bomb.xlsx"
        bomb_path.write_bytes(
            make_hostile._rewrite(make_hostile._workbook_bytes(), {}, streamed="xl/worksheets/sheet1.xml")
        )
        bomb_kb = bomb_path.stat().st_size / 1024
        base = run_child("baseline_bomb", bomb_path)
        ours = run_child("read_bomb", bomb_path)
        print(f"XLSX zip bomb: {bomb_kb:,.0f} KiB on disk, {args.bomb_mb} MiB declared")
        print(
            f"  baseline fastexcel        {base['seconds']:6.2f} s  peak {base['peak_mib']:7.0f} MiB  {base['outcome']}"
        )
        print(
            f"  risk-engine read_table    {ours['seconds']:6.2f} s  peak {ours['peak_mib']:7.0f} MiB  {ours['outcome']}"
        )
        print(
            f"  ratio ours/baseline       time {float(ours['seconds']) / float(base['seconds']):.2f}x, "
            f"peak memory {float(ours['peak_mib']) / float(base['peak_mib']):.2f}x"
        )


if __name__ == "__main__":
    main()
