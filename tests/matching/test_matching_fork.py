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


LINK_SCRIPT = """
import polars as pl
import risk_engine.matching.index as index_module
from risk_engine.matching.index import EntityIndex
from risk_engine.matching.synth import generate_entities
pl.DataFrame({"a": list(range(100_000))}).select(pl.col("a").sum())  # polars' thread pool is running
index_module.PARALLEL_MIN_QUERIES = 10
ref = generate_entities(300, seed=3).select("id", "name", "address").with_columns(pl.lit("CN").alias("country"))
index = EntityIndex.build(ref)
# 16 worker tasks of 150 queries in one country: chunks of more than 64 addresses each
query = pl.concat([ref] * 8).with_columns(pl.format("q{}", pl.int_range(pl.len())).alias("id"))
pairs = index.link(query, workers=2)
print(pairs.height >= 2400, index.candidates.addresses is not None)
"""


def test_forked_link_with_addresses_finishes() -> None:
    # The address channel codes each chunk's addresses inside the forked workers; with polars there
    # (as the name tokens' coder uses for large inputs) a link of 20,000+ records with addresses hung.
    out = subprocess.run(
        [sys.executable, "-c", LINK_SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["True", "True"]
