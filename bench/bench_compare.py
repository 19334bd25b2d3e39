"""Speed of the comparison features (``compare_pairs``) against a baseline revision, in one process.

    .venv/bin/python bench/bench_compare.py --ref 100000 --queries 2000 --lookups 300 [--baseline REV]

Builds the entity index over the generated reference set of ``bench/gen_names.py``, takes the candidate
pairs of perturbed queries exactly as ``EntityIndex.link``/``lookup_many`` do, and times
``compare_pairs`` of the working tree and of ``risk_engine/matching/compare.py`` at ``--baseline`` (read
with ``git show`` and imported as a module) on the same pairs, alternating, so the ratio is measured under
the same load. Checks that both give bit-identical features, prints the time share of each feature group
(both versions) and, for single-record lookups (``lookup_many([record])``, the API's path), the time per
lookup and the share of it spent in ``compare_pairs`` (also for 16- and 100-record calls; all through
``compare_pairs``, the bound off). Also times scoring with the review threshold's bound (``score_pairs`` with
``min_probability``: the deferred features only for pairs that can still pass) against full scoring of the
same pairs, and ``lookup_many`` with the bound on and off. Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from risk_engine.matching import compare as current  # noqa: E402
from risk_engine.matching import index as index_module  # noqa: E402
from risk_engine.matching.blocking import sorted_unique  # noqa: E402
from risk_engine.matching.compare import FEATURES, PairVectors  # noqa: E402
from risk_engine.matching.index import EntityIndex  # noqa: E402
from risk_engine.matching.records import PreparedRecords, prepare_records  # noqa: E402

BASELINE = "383a9a4"  # compare.py before the speed-up (per-pair word alignment, scipy row products)


def load_baseline(rev: str) -> ModuleType:
    """``risk_engine/matching/compare.py`` at ``rev`` as a module of its own."""
    src = subprocess.run(
        ["git", "show", f"{rev}:risk_engine/matching/compare.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bench-compare-")) / "compare_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("compare_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def candidate_pairs(index: EntityIndex, q: PreparedRecords) -> tuple[np.ndarray, np.ndarray, PairVectors]:
    """The candidate pairs of ``q`` as ``EntityIndex`` scores them (identifier pairs aside)."""
    cand = index.candidates
    qg, qt = cand.query_matrices(q.core, q.key)
    vectors = PairVectors(qg, cand.gram_matrix, qt, cand.token_matrix)
    qis, ris = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for _, qi, ri, _ in cand.candidates(qg, qt, q.country, keys=q.key):
        qis.append(qi)
        ris.append(ri)
    qi, ri = np.concatenate(qis), np.concatenate(ris)
    width = len(index.ref) + 1
    key, _ = sorted_unique(qi.astype(np.int64) * width + ri)
    return key // width, key % width, vectors


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[f].view(np.uint32), b[f].view(np.uint32)) for f in a)


def breakdown(
    m: ModuleType, q: PreparedRecords, ref: PreparedRecords, li: np.ndarray, ri: np.ndarray, v: PairVectors
) -> dict[str, float]:
    """Seconds per feature group, each timed alone with the module's own helpers; 'rest' = total - groups."""
    lc, rc = [q.core[i] for i in li], [ref.core[i] for i in ri]
    lk, rk = [q.key[i] for i in li], [ref.key[i] for i in ri]
    lp, rp = [q.phonetic[i] for i in li], [ref.phonetic[i] for i in ri]
    la, ra = [q.address[i] for i in li], [ref.address[i] for i in ri]
    f = m.compare_pairs(q, ref, li, ri, v)
    close = np.maximum(f["name_token_sort"], f["name_compact_ratio"]) >= 0.5
    threads = m._threads(len(li))

    def names() -> None:
        for scorer, a, b in (
            (fuzz.ratio, lc, rc),
            (fuzz.ratio, lk, rk),
            (fuzz.token_set_ratio, lk, rk),
            (fuzz.partial_ratio, lc, rc),
            (JaroWinkler.normalized_similarity, lc, rc),
            (fuzz.ratio, [x.replace(" ", "") for x in lc], [x.replace(" ", "") for x in rc]),
            (fuzz.ratio, lp, rp),
        ):
            cpdist(a, b, scorer=scorer, workers=threads, dtype=np.float32)

    def address() -> None:
        cpdist(la, ra, scorer=fuzz.token_set_ratio, workers=threads, dtype=np.float32)
        lac = [x.replace(" ", "") for x in la]
        rac = [x.replace(" ", "") for x in ra]
        cpdist(lac, rac, scorer=fuzz.partial_ratio, workers=threads, dtype=np.float32)

    groups = {
        "name string scores (7 cpdist)": names,
        "gram + token cosines (_row_dot x2)": lambda: (
            m._row_dot(v.left_grams, v.right_grams, li, ri),
            m._row_dot(v.left_tokens, v.right_tokens, li, ri),
        ),
        "word alignment (token_alignment)": lambda: m.token_alignment(lk, rk, close),
        "address (token_set + compact partial)": address,
    }
    out = {name: _best(fn, 3) for name, fn in groups.items()}
    total = _best(lambda: m.compare_pairs(q, ref, li, ri, v), 3)
    out["rest (gathers, flags, identifiers, masks)"] = total - sum(out.values())
    out["total compare_pairs"] = total
    return out


def lookups(
    index: EntityIndex, rows: list[dict[str, Any]], fn: Callable[..., Any], batch: int = 1
) -> tuple[float, float]:
    """(seconds per ``lookup_many`` of ``batch`` records, seconds of it in ``compare_pairs``) with ``fn``."""
    spent = [0.0]

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        spent[0] += time.perf_counter() - t
        return out

    saved, saved_min = index_module.compare_pairs, index_module._BOUND_MIN_PAIRS
    index_module.compare_pairs = timed
    index_module._BOUND_MIN_PAIRS = 1 << 62  # every batch through compare_pairs (see ``bounded``)
    calls = [rows[i : i + batch] for i in range(0, len(rows) - batch + 1, batch)]
    try:
        for c in calls[:3]:
            index.lookup_many(c)
        spent[0] = 0.0
        t = time.perf_counter()
        for c in calls:
            index.lookup_many(c)
        total = time.perf_counter() - t
    finally:
        index_module.compare_pairs, index_module._BOUND_MIN_PAIRS = saved, saved_min
    return total / len(calls), spent[0] / len(calls)


def bounded(
    index: EntityIndex,
    q: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    v: PairVectors,
    rows: list[dict[str, Any]],
    repeat: int,
) -> None:
    """Scoring with the review threshold's bound (``score_pairs(min_probability=...)``) against scoring
    every candidate in full and filtering, alternated on the same pairs; then ``lookup_many`` with the
    bound's batch minimum and with the bound off. Checks that both give the same pairs above the
    threshold."""
    model = index.model
    threshold = model.review_threshold
    full = index_module.score_pairs(model, q, index.ref, li, ri, v)
    fast = index_module.score_pairs(model, q, index.ref, li, ri, v, min_probability=threshold)
    a, b = full.take(full.prob >= threshold), fast.take(fast.prob >= threshold)
    same = bool(np.array_equal(a.li, b.li) and np.array_equal(a.ri, b.ri)) and _same(a.feats, b.feats)
    print(
        f"bounded scoring: {len(fast):,} of {len(li):,} pairs finished, {len(b):,} at >= {threshold}; "
        f"same pairs and features as full scoring: {same}"
    )
    times: dict[str, list[tuple[float, float]]] = {"full": [], "bounded": []}
    for _ in range(repeat):
        for label, kw in (("full", {}), ("bounded", {"min_probability": threshold})):
            w, c = time.perf_counter(), time.process_time()
            index_module.score_pairs(model, q, index.ref, li, ri, v, **kw)
            times[label].append((time.perf_counter() - w, time.process_time() - c))
    for k, what in ((0, "wall"), (1, "CPU")):
        full_s = float(np.median([t[k] for t in times["full"]]))
        bound_s = float(np.median([t[k] for t in times["bounded"]]))
        print(
            f"batch score_pairs ({what}): full {full_s:.3f} s, bounded {bound_s:.3f} s, {full_s / bound_s:.2f}x"
        )
    saved = index_module._BOUND_MIN_PAIRS
    try:
        for batch in (1, 16, 100):
            calls = [rows[i : i + batch] for i in range(0, min(len(rows), 50 * batch) - batch + 1, batch)]
            res: dict[str, list[float]] = {"off": [], "on": []}
            for _ in range(max(1, repeat // 2)):
                for label, minimum in (("off", 1 << 62), ("on", saved)):
                    index_module._BOUND_MIN_PAIRS = minimum
                    t = time.perf_counter()
                    for c in calls:
                        index.lookup_many(c)
                    res[label].append((time.perf_counter() - t) / len(calls))
            off, on = float(np.median(res["off"])), float(np.median(res["on"]))
            print(
                f"lookup_many of {batch} record(s): bound off {off * 1e3:.3f} ms, on {on * 1e3:.3f} ms "
                f"per call, {off / on:.2f}x"
            )
    finally:
        index_module._BOUND_MIN_PAIRS = saved


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--lookups", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the old compare.py")
    args = ap.parse_args()
    from gen_names import load_or_generate, make_queries

    print(f"load average before: {os.getloadavg()}")
    base = load_baseline(args.baseline)
    ref = load_or_generate(args.ref)
    index = EntityIndex.build(ref)
    queries, _ = make_queries(ref, args.queries, seed=5)
    q = prepare_records(queries, side="query")
    li, ri, v = candidate_pairs(index, q)
    print(f"reference {args.ref:,}, {args.queries:,} queries, {len(li):,} candidate pairs")

    new_f = current.compare_pairs(q, index.ref, li, ri, v)
    old_f = base.compare_pairs(q, index.ref, li, ri, v)
    print(f"features bit-identical to {args.baseline}: {_same(new_f, old_f)}")
    assert list(new_f) == list(FEATURES)

    # Batch (a link chunk): alternate old and new so both see the same load; wall and CPU time.
    t_old: list[tuple[float, float]] = []
    t_new: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        for m, acc in ((base, t_old), (current, t_new)):
            w, c = time.perf_counter(), time.process_time()
            m.compare_pairs(q, index.ref, li, ri, v)
            acc.append((time.perf_counter() - w, time.process_time() - c))
    for k, what in ((0, "wall"), (1, "CPU")):
        mo = float(np.median([t[k] for t in t_old]))
        mn = float(np.median([t[k] for t in t_new]))
        print(
            f"batch compare_pairs ({what}): baseline {mo:.3f} s ({len(li) / mo:,.0f} pairs/s), "
            f"now {mn:.3f} s ({len(li) / mn:,.0f} pairs/s), {mo / mn:.2f}x"
        )
    bo = breakdown(base, q, index.ref, li, ri, v)
    bn = breakdown(current, q, index.ref, li, ri, v)
    print(f"  {'feature group':42s} {'baseline':>16s} {'now':>16s}")
    for name in bo:
        print(
            f"  {name:42s} {bo[name] * 1e3:8.1f} ms {bo[name] / bo['total compare_pairs']:5.1%} "
            f"{bn[name] * 1e3:8.1f} ms {bn[name] / bn['total compare_pairs']:5.1%}"
        )

    rows = queries.select("name", "country").to_dicts()
    bounded(index, q, li, ri, v, rows, args.repeat)

    # The API's path: lookup_many of one record (its ~25 candidates), of 16 (what a worker's batcher
    # forms from concurrent single-record requests at 32 connections) and of 100 records; name and
    # country only, as the API's benchmark sends them.
    rows = queries.select("name", "country").to_dicts()
    if tuple(base.FEATURES) != tuple(FEATURES):
        # The shipped model needs the current features: a baseline with other features cannot serve it.
        print(f"lookups not compared: {args.baseline} computes other features than the current model needs")
        return
    for batch, sample in (
        (1, rows[: args.lookups]),
        (16, rows[: max(args.lookups, 480)]),
        (100, rows[:1000]),
    ):
        res_old, res_new = [], []
        for _ in range(max(1, args.repeat // 2)):
            res_old.append(lookups(index, sample, base.compare_pairs, batch))
            res_new.append(lookups(index, sample, current.compare_pairs, batch))
        for label, res in (("baseline", res_old), ("now", res_new)):
            tot = float(np.median([r[0] for r in res]))
            cmp_ = float(np.median([r[1] for r in res]))
            print(
                f"lookup_many of {batch} record(s) ({label}): {tot * 1e3:.3f} ms per call, "
                f"compare_pairs {cmp_ * 1e3:.3f} ms ({cmp_ / tot:.1%} of it)"
            )
    lone = [candidate_pairs(index, prepare_records(queries[i : i + 1], side="query")) for i in range(50)]
    ok = all(
        _same(
            current.compare_pairs(q1, index.ref, a, b, w),
            base.compare_pairs(q1, index.ref, a, b, w),
        )
        for (a, b, w), q1 in zip(
            lone, (prepare_records(queries[i : i + 1], side="query") for i in range(50)), strict=True
        )
    )
    print(f"single-lookup features bit-identical: {ok}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
