"""Generate the realistic 1M-name reference set (fixed seed) and perturbed query sets for benchmarks.

    .venv/bin/python bench/gen_names.py --n 1000000 --out bench/.cache/ref_1000000.parquet

The generator lives in ``risk_engine.matching.synth`` (country-specific name shapes, open syllable
vocabularies); this wrapper caches the result as Parquet so timing runs do not include generation.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk_engine.matching.synth import generate_entities, perturb, perturb_address  # noqa: E402

SEED = 20261123
CACHE = ROOT / "bench" / ".cache"


def load_or_generate(n: int) -> pl.DataFrame:
    """The n-entity reference set (generated once, then read from the cache)."""
    path = CACHE / f"ref_{n}_{SEED}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    ref = generate_entities(n, seed=SEED)
    CACHE.mkdir(parents=True, exist_ok=True)
    ref.write_parquet(path)
    return ref


def make_queries(ref: pl.DataFrame, n: int, *, seed: int) -> tuple[pl.DataFrame, list[str]]:
    """n perturbed variants of random reference entities, and the id each came from."""
    rng = random.Random(seed)
    src = [rng.randrange(ref.height) for _ in range(n)]
    names = ref["name"].to_list()
    addresses = ref["address"].to_list()
    countries = ref["country"].to_list()
    ids = ref["id"].to_list()
    queries = pl.DataFrame(
        {
            "id": [f"q{i}" for i in range(n)],
            "name": [perturb(names[s], rng) for s in src],
            "country": [countries[s] for s in src],
            "address": [perturb_address(addresses[s], rng) for s in src],
        }
    )
    return queries, [ids[s] for s in src]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    ref = load_or_generate(args.n)
    print(ref.head(10))
    print(
        f"{ref.height} entities, {ref['name'].n_unique()} distinct names, {ref['country'].n_unique()} countries"
    )


if __name__ == "__main__":
    main()
