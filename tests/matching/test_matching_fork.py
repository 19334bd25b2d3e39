"""Normalising a large table in forked workers must not hang (run in a subprocess with a time limit)."""

import subprocess
import sys

SCRIPT = """
import polars as pl
import risk_engine.matching.records as records
pl.DataFrame({"a": list(range(100_000))}).select(pl.col("a").sum())  # polars' thread pool is running
records.PARALLEL_MIN_ROWS = 10
names = [f"Firm {i} B.V. (NL)" if i % 2 else f"Firm {i} Co., Ltd. (Vietnam)" for i in range(400)]
rec = records.prepare_records(pl.DataFrame({"id": [str(i) for i in range(400)], "name": names}), workers=2)
print(len(rec), rec.core[1])
"""


def test_forked_normalisation_of_names_with_seats_finishes() -> None:
    # The children used to load the country alias index with polars on the first seat in brackets and
    # deadlock; the parent now loads it before forking.
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["400", "firm", "1"]
