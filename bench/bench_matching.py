"""Matching benchmarks: quality on the real labelled sets, and speed on a generated 1M-name reference.

    .venv/bin/python bench/bench_matching.py eval            # labelled sets, model vs baseline
    .venv/bin/python bench/bench_matching.py speed --ref 1000000 --queries 100000
    .venv/bin/python bench/bench_matching.py blocking --ref 200000 --queries 5000 [--show-misses 20]
    .venv/bin/python bench/bench_matching.py candidates [--background 1000000]  # candidate recall, labelled sets
    .venv/bin/python bench/bench_matching.py tolerance       # choose the clustering tolerance (generated)

The labelled sets in /work/shared/data/entity_matching/ are evaluation only: nothing here trains or
tunes. The baseline in the same run is RapidFuzz token_sort_ratio on the normalised names with the
single threshold tuned on generated training data (stored in the model manifest).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.process import cdist, cpdist

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk_engine.matching.cluster import dedupe_with_pairs  # noqa: E402
from risk_engine.matching.index import EntityIndex  # noqa: E402
from risk_engine.matching.model import default_model_path, load_model, manifest_path  # noqa: E402
from risk_engine.matching.normalise import name_key  # noqa: E402

DATA = Path("/work/shared/data/entity_matching")


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def baseline_threshold() -> float:
    manifest = json.loads(manifest_path(default_model_path()).read_text())
    return float(manifest["metrics"]["baseline_token_sort"]["threshold"])


# --- pair sets ---------------------------------------------------------------------------------


def eval_pairs(name: str, left: pl.DataFrame, right: pl.DataFrame, labels: np.ndarray) -> dict[str, object]:
    """Score given pairs (row k of left with row k of right); metrics at both thresholds and baseline."""
    model = load_model()
    index = EntityIndex.build(right.unique(subset="id", keep="first"), model=model)
    scored = index.score(
        left.unique(subset="id", keep="first"), list(zip(left["id"], right["id"], strict=True))
    )
    p = scored["probability"].to_numpy()
    y = labels.astype(bool)
    out: dict[str, object] = {"set": name, "pairs": len(y), "positives": int(y.sum())}
    for label, t in (("match", model.match_threshold), ("review", model.review_threshold)):
        pred = p >= t
        out[f"model@{label}"] = prf(int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum()))
    t = baseline_threshold()
    b = (
        np.asarray(
            cpdist(
                [name_key(x) for x in left["name"]],
                [name_key(x) for x in right["name"]],
                scorer=fuzz.ratio,
                workers=2,
            )
        )
        / 100.0
    )
    pred = b >= t
    out["baseline"] = prf(int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum()))
    errors = scored.with_columns(pl.Series("label", labels)).filter(
        (pl.col("probability") >= model.match_threshold) != (pl.col("label") == 1)
    )
    out["errors_at_match"] = errors.select("left_name", "right_name", "probability", "label").head(20).rows()
    return out


def oar_sides() -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """The OAR labelled pairs as (left records, right records, labels), row k of each a pair."""
    df = pl.read_csv(DATA / "oar_training_pairs" / "oar_labelled_pairs.csv", infer_schema_length=0)
    sides = [
        df.select(
            pl.format(f"{side}{{}}", pl.int_range(pl.len())).alias("id"),
            pl.col(f"name_{side}").alias("name"),
            pl.col(f"country_{side}").str.to_uppercase().alias("country"),
            pl.col(f"address_{side}").alias("address"),
        )
        for side in ("a", "b")
    ]
    return sides[0], sides[1], df["label"].cast(pl.Int64).to_numpy()


def company_sides() -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """The company-name pairs as (left records, right records, labels)."""
    df = pl.read_csv(DATA / "company_name_matcher_pairs" / "test_data.csv", infer_schema_length=0)
    df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
    left = df.select(pl.format("a{}", pl.int_range(pl.len())).alias("id"), pl.col("Name_x").alias("name"))
    right = df.select(pl.format("b{}", pl.int_range(pl.len())).alias("id"), pl.col("Name_y").alias("name"))
    return left, right, df["Targets"].cast(pl.Int64).to_numpy()


def oar_pairs() -> dict[str, object]:
    return eval_pairs("oar_training_pairs (facilities)", *oar_sides())


def company_name_pairs() -> dict[str, object]:
    return eval_pairs("company_name_matcher_pairs", *company_sides())


# --- cluster sets ------------------------------------------------------------------------------


def _pairs_of(labels: np.ndarray) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    groups: dict[object, list[int]] = {}
    for i, g in enumerate(labels.tolist()):
        groups.setdefault(g, []).append(i)
    for members in groups.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                out.add((members[a], members[b]))
    return out


def bcubed(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """B-cubed precision, recall and F1 of a clustering against the truth."""
    df = pl.DataFrame({"p": pred.astype(str), "t": truth.astype(str)})
    both = df.group_by("p", "t").len().rename({"len": "n_pt"})
    df = (
        df.join(both, on=["p", "t"])
        .join(df.group_by("p").len().rename({"len": "n_p"}), on="p")
        .join(df.group_by("t").len().rename({"len": "n_t"}), on="t")
    )
    precision = float((df["n_pt"] / df["n_p"]).mean())  # type: ignore[arg-type]
    recall = float((df["n_pt"] / df["n_t"]).mean())  # type: ignore[arg-type]
    f = 2 * precision * recall / (precision + recall)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f, 4)}


def pairwise(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    pp, tp_ = _pairs_of(pred), _pairs_of(truth)
    return prf(len(pp & tp_), len(pp - tp_), len(tp_ - pp))


def baseline_clusters(names: list[str], threshold: float) -> np.ndarray:
    """Connected components of all pairs with token_sort >= threshold (the naive approach)."""
    keys = [name_key(n) for n in names]
    n = len(keys)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    step = 2000
    cutoff = threshold * 100
    for a in range(0, n, step):
        m = cdist(keys[a : a + step], keys, scorer=fuzz.ratio, score_cutoff=cutoff, workers=2, dtype=np.uint8)
        rows, cols = np.nonzero(m)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if a + r < c:
                parent[find(a + r)] = find(c)
    return np.asarray([find(i) for i in range(n)])


def eval_clusters(name: str, frame: pl.DataFrame, truth: np.ndarray) -> dict[str, object]:
    t0 = time.process_time()
    clusters, pairs = dedupe_with_pairs(frame)
    cpu = time.process_time() - t0
    pos = {i: k for k, i in enumerate(frame["id"].to_list())}
    pred = np.empty(frame.height, dtype=object)
    for i, c in clusters.select("id", "cluster_id").iter_rows():
        pred[pos[i]] = c
    base = baseline_clusters(frame["name"].to_list(), baseline_threshold())
    return {
        "set": name,
        "records": frame.height,
        "true_clusters": len(set(truth.tolist())),
        "model_pairwise": pairwise(pred, truth),
        "model_bcubed": bcubed(pred, truth),
        "baseline_pairwise": pairwise(base, truth),
        "baseline_bcubed": bcubed(base, truth),
        "dedupe_cpu_s": round(cpu, 2),
        "review_pairs": int((pairs["decision"] == "review").sum()),
    }


def patstat() -> dict[str, object]:
    df = pl.read_csv(DATA / "patstat_company_clusters" / "patstat_reference.csv", infer_schema_length=0)
    frame = df.select(pl.col("person_id").alias("id"), pl.col("person_name").alias("name"))
    return eval_clusters("patstat_company_clusters", frame, df["leuven_id"].to_numpy())


def chicago_frame() -> tuple[pl.DataFrame, np.ndarray]:
    """The Chicago early-childhood records (id, name, country, address) and their true entity ids."""
    df = pl.read_csv(
        DATA / "dedupe_chicago_early_childhood" / "csv_example_input_with_true_ids.csv", infer_schema_length=0
    )
    frame = df.select(
        pl.col("Id").alias("id"),
        pl.col("Site name").str.replace_all(r"\s+", " ").alias("name"),
        pl.lit("US").alias("country"),
        pl.col("Address").str.replace_all(r"\s+", " ").alias("address"),
    )
    return frame, df["True Id"].to_numpy()


def chicago() -> dict[str, object]:
    return eval_clusters("dedupe_chicago_early_childhood", *chicago_frame())


def sibur() -> dict[str, object]:
    df = pl.read_csv(
        DATA / "sibur_company_name_groups" / "company_name_groups_original_only.csv", infer_schema_length=0
    )
    # The published grouping is not a partition: merge groups that share a name (union-find).
    names = df["name"].to_list()
    groups = df["group_id"].to_list()
    parent: dict[str, str] = {}

    def find(g: str) -> str:
        while parent.setdefault(g, g) != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    first: dict[str, str] = {}
    for n, g in zip(names, groups, strict=True):
        if n in first:
            parent[find(g)] = find(first[n])
        else:
            first[n] = g
    uniq = list(first)
    truth = np.asarray([find(first[n]) for n in uniq], dtype=object)
    frame = pl.DataFrame({"id": [f"s{i}" for i in range(len(uniq))], "name": uniq})
    return eval_clusters("sibur_company_name_groups (group-level truth)", frame, truth)


# --- speed -------------------------------------------------------------------------------------


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def speed(n_ref: int, n_queries: int, n_lookups: int, brute_sample: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_names import load_or_generate, make_queries

    ref = load_or_generate(n_ref)
    queries, truth = make_queries(ref, n_queries, seed=99)
    gc.collect()
    rss0 = _rss_gb()
    out: dict[str, object] = {"reference": n_ref, "queries": n_queries, "rss_after_load_gb": round(rss0, 2)}
    w, c = time.perf_counter(), time.process_time()
    index = EntityIndex.build(ref)
    out["build_wall_s"] = round(time.perf_counter() - w, 1)
    out["build_cpu_s"] = round(time.process_time() - c, 1)
    out["rss_after_build_gb"] = round(_rss_gb(), 2)
    w, c = time.perf_counter(), time.process_time()
    pairs = index.link(queries, progress=True)
    out["link_wall_s"] = round(time.perf_counter() - w, 1)
    out["link_cpu_s_parent"] = round(time.process_time() - c, 1)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_s_children_total"] = round(ch.ru_utime + ch.ru_stime, 1)
    out["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    out["peak_rss_gb"] = round(_rss_gb(), 2)
    # Forked workers share the index pages copy-on-write; their own peak is reported separately.
    out["peak_rss_worker_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6, 2)
    best = pairs.filter(pl.col("rank") == 1).select("left_id", "right_id", "decision")
    tq = dict(zip(queries["id"].to_list(), truth, strict=True))
    hits = sum(1 for q, r, d in best.iter_rows() if d == "match" and tq[q] == r)
    wrong = sum(1 for q, r, d in best.iter_rows() if d == "match" and tq[q] != r)
    out["top1_match_correct"] = hits
    out["top1_match_wrong"] = wrong
    # Single-record lookups (the API path).
    rng = random.Random(5)
    lat = []
    rows = queries.sample(min(n_lookups, queries.height), seed=3).to_dicts()
    for row in rows:
        t = time.perf_counter()
        index.lookup(row)
        lat.append((time.perf_counter() - t) * 1000)
    lat_a = np.asarray(lat)
    out["lookup_ms"] = {
        "p50": round(float(np.percentile(lat_a, 50)), 2),
        "p99": round(float(np.percentile(lat_a, 99)), 2),
        "max": round(float(lat_a.max()), 2),
    }
    # Brute force on a subsample: token_sort against every reference name.
    keys = index.ref.key
    sample = rows[:brute_sample]
    t = time.perf_counter()
    for row in sample:
        cdist([name_key(row["name"])], keys, scorer=fuzz.ratio, workers=2, dtype=np.uint8)
    per_q = (time.perf_counter() - t) / max(1, len(sample))
    out["brute_force_ms_per_query"] = round(per_q * 1000, 1)
    out["brute_force_extrapolated_link_s"] = round(per_q * n_queries, 0)
    out["speedup_link_vs_brute"] = round(per_q * n_queries / max(out["link_wall_s"], 1e-9), 1)  # type: ignore[arg-type]
    out["speedup_lookup_p50_vs_brute"] = round(per_q * 1000 / max(out["lookup_ms"]["p50"], 1e-9), 1)  # type: ignore[index]
    del rng
    return out


def _queries_with_kinds(
    ref: pl.DataFrame, n: int, *, seed: int
) -> tuple[pl.DataFrame, list[str], list[list[str]]]:
    """``make_queries`` and, per query, the perturbation kinds applied to its name.

    Replays ``synth.perturb`` with the same random draws, recording the operations; the names are
    checked against ``make_queries`` so the two cannot drift apart silently.
    """
    from gen_names import make_queries

    from risk_engine.matching import synth

    queries, truth = make_queries(ref, n, seed=seed)
    rng = random.Random(seed)
    src = [rng.randrange(ref.height) for _ in range(n)]
    names = ref["name"].to_list()
    kinds: list[list[str]] = []
    replayed: list[str] = []
    for s in src:
        ops: list[str] = []
        k = rng.choice((0, 0, 1, 1, 1, 2, 2, 3))
        out = names[s]
        if k == 0:
            ops += rng.sample(synth._FORMAT_OPS, rng.randint(1, 2))
            for op in ops:
                out = synth.PERTURBATIONS[op](out, rng)
        more = rng.sample(list(synth.PERTURBATIONS), k)
        for op in more:
            out = synth.PERTURBATIONS[op](out, rng)
        replayed.append(out if out.strip() else names[s])
        kinds.append(ops + more)
    if replayed != queries["name"].to_list():
        msg = "the perturbation replay no longer matches synth.perturb; update _queries_with_kinds"
        raise RuntimeError(msg)
    return queries, truth, kinds


def blocking(n_ref: int, n_queries: int, show_misses: int = 0) -> dict[str, object]:
    """Candidate recall (the true reference among the candidates) and reduction ratio, per perturbation kind."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_names import load_or_generate

    ref = load_or_generate(n_ref)
    queries, truth, kinds = _queries_with_kinds(ref, n_queries, seed=98)
    index = EntityIndex.build(ref)
    q = __import__("risk_engine.matching.records", fromlist=["prepare_records"]).prepare_records(queries)
    qg, qt = index.candidates.query_matrices(q.core, q.key)
    pos = index.position
    tpos = np.asarray([pos[t] for t in truth])
    found = np.zeros(len(truth), dtype=bool)
    n_pairs = 0
    t = time.process_time()
    for _, qi, ri, _ in index.candidates.candidates(qg, qt, q.country):
        n_pairs += len(qi)
        found[qi[tpos[qi] == ri]] = True
    cpu = time.process_time() - t
    # A query with several perturbations counts under each of them.
    per_kind: dict[str, list[int]] = {}
    for ops, hit in zip(kinds, found.tolist(), strict=True):
        for op in set(ops):
            per_kind.setdefault(op, [0, 0])[0] += 1
            per_kind[op][1] += not hit
    by_kind = {
        op: {"queries": n, "missed": m, "recall": round(1 - m / n, 4)}
        for op, (n, m) in sorted(per_kind.items(), key=lambda kv: (-kv[1][1], kv[0]))
    }
    for i in np.flatnonzero(~found)[:show_misses].tolist():
        r = int(tpos[i])
        print(
            f"miss {kinds[i]}: {queries['name'][i]!r} (core {q.core[i]!r}) -> {index.ref.names[r]!r} "
            f"(core {index.ref.core[r]!r}, {q.country[i]})",
            file=sys.stderr,
        )
    return {
        "reference": n_ref,
        "queries": n_queries,
        "candidate_recall": round(float(found.mean()), 4),
        "missed": int((~found).sum()),
        "pairs_per_query": round(n_pairs / n_queries, 1),
        "reduction_ratio": round(1 - n_pairs / (n_queries * n_ref), 6),
        "blocking_cpu_s": round(cpu, 2),
        "by_perturbation": by_kind,
    }


# --- candidate recall on the labelled sets --------------------------------------------------------


def _candidate_pairs(index: EntityIndex, q: object) -> tuple[np.ndarray, np.ndarray]:
    """(query position, reference position) of every candidate ``link``/``dedupe`` would score."""
    qg, qt = index.candidates.query_matrices(q.core, q.key)  # type: ignore[attr-defined]
    qis, ris = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for _, qi, ri, _ in index.candidates.candidates(qg, qt, q.country, keys=q.key, addresses=q.address):  # type: ignore[attr-defined]
        qis.append(qi)
        ris.append(ri)
    id_li, id_ri = index._identifier_pairs(q)  # type: ignore[arg-type]
    qi, ri = np.concatenate([*qis, id_li]), np.concatenate([*ris, id_ri])
    # A row's exact copies (same country, name and profile) are searched through it and linked with it.
    groups = index.copy_groups()
    extra = [
        (a, c) for a, b in zip(qi.tolist(), ri.tolist(), strict=True) for c in groups.get(b, ()) if c != b
    ]
    if extra:
        qi = np.concatenate([qi, np.asarray([a for a, _ in extra], dtype=np.int64)])
        ri = np.concatenate([ri, np.asarray([c for _, c in extra], dtype=np.int64)])
    return qi, ri


def _pair_set_recall(
    name: str, left: pl.DataFrame, right: pl.DataFrame, labels: np.ndarray, background: pl.DataFrame | None
) -> dict[str, object]:
    """Share of the labelled matches whose right record is among the left record's candidates.

    The reference side is the set's right-hand records, with ``background`` entities (the generated
    reference) added so that the true record has to be found among many.
    """
    from risk_engine.matching.records import prepare_records

    cols = ["id", "name", "country", "address"]
    right = right.with_columns(pl.col(c).cast(pl.String) for c in cols if c in right.columns)
    for c in cols:
        if c not in right.columns:
            right = right.with_columns(pl.lit(None, dtype=pl.String).alias(c))
            left = left.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    ref = right.select(cols).unique(subset="id", keep="first")
    if background is not None:
        ref = pl.concat([ref, background.select(cols)])
    index = EntityIndex.build(ref)
    q = prepare_records(left.select(cols).unique(subset="id", keep="first"), side="query")
    qi, ri = _candidate_pairs(index, q)
    found = set(zip(qi.tolist(), ri.tolist(), strict=True))
    qpos = {i: k for k, i in enumerate(q.ids)}
    positives = [
        (qpos[a], index.position[b])
        for a, b, y in zip(left["id"], right["id"], labels.tolist(), strict=True)
        if y == 1
    ]
    hit = [p in found for p in positives]
    missed = [(q.names[a], index.ref.names[b]) for (a, b), h in zip(positives, hit, strict=True) if not h]
    return {
        "set": name,
        "reference": len(index.ref),
        "queries": len(q),
        "true_pairs": len(positives),
        "candidate_recall": round(sum(hit) / max(1, len(hit)), 4),
        "candidates_per_query": round(len(found) / max(1, len(q)), 1),
        "reduction_ratio": round(1 - len(found) / (len(q) * len(index.ref)), 6),
        "missed": missed[:10],
    }


def _cluster_set_recall(name: str, frame: pl.DataFrame, truth: np.ndarray) -> dict[str, object]:
    """Candidate recall of a list searched against itself, as ``dedupe`` searches it.

    ``pair_recall``: share of true same-entity pairs that are candidate pairs. ``connected_recall``: share
    of true pairs joined by a path of candidate pairs inside their entity, the most any clustering of the
    scored pairs could join (a large entity's records cannot all be each other's top candidates).
    """
    index = EntityIndex.build(frame)
    qi, ri = _candidate_pairs(index, index.ref)
    keep = qi != ri
    a, b = np.minimum(qi[keep], ri[keep]), np.maximum(qi[keep], ri[keep])
    cand = set(zip(a.tolist(), b.tolist(), strict=True))
    pos = {i: k for k, i in enumerate(index.ref.ids)}
    t = np.empty(len(index.ref), dtype=object)
    for i, lab in zip(frame["id"].to_list(), truth.tolist(), strict=True):
        t[pos[i]] = lab
    true_pairs = {(x, y) for x, y in _pairs_of(t)}
    parent = list(range(len(t)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, y in cand:
        if t[x] == t[y]:
            parent[find(x)] = find(y)
    sizes: dict[object, int] = {}
    for i in range(len(t)):
        sizes[(t[i], find(i))] = sizes.get((t[i], find(i)), 0) + 1
    connected = sum(c * (c - 1) // 2 for c in sizes.values())
    n = len(t)
    return {
        "set": name,
        "records": n,
        "true_pairs": len(true_pairs),
        "pair_recall": round(len(cand & true_pairs) / max(1, len(true_pairs)), 4),
        "connected_recall": round(connected / max(1, len(true_pairs)), 4),
        "candidate_pairs": len(cand),
        "reduction_ratio": round(1 - len(cand) / (n * (n - 1) / 2), 6),
    }


def candidate_recall(background: int) -> list[dict[str, object]]:
    """Candidate recall and reduction ratio on every labelled set (issue #3: >= 0.99 of true pairs)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_names import load_or_generate

    bg = load_or_generate(background) if background else None
    out = [
        _pair_set_recall("oar_training_pairs", *oar_sides(), bg),
        _pair_set_recall("company_name_matcher_pairs", *company_sides(), bg),
    ]
    df = pl.read_csv(DATA / "patstat_company_clusters" / "patstat_reference.csv", infer_schema_length=0)
    frame = df.select(pl.col("person_id").alias("id"), pl.col("person_name").alias("name"))
    out.append(_cluster_set_recall("patstat_company_clusters", frame, df["leuven_id"].to_numpy()))
    out.append(_cluster_set_recall("dedupe_chicago_early_childhood", *chicago_frame()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("eval", "speed", "blocking", "candidates", "separation", "tolerance"))
    ap.add_argument("--ref", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--brute", type=int, default=20)
    ap.add_argument("--sets", default="oar,company,patstat,chicago,sibur")
    ap.add_argument("--show-misses", type=int, default=0, help="blocking: print this many missed queries")
    ap.add_argument(
        "--background",
        type=int,
        default=1_000_000,
        help="candidates: generated entities added to the reference",
    )
    args = ap.parse_args()
    if args.what == "eval":
        runners = {
            "oar": oar_pairs,
            "company": company_name_pairs,
            "patstat": patstat,
            "chicago": chicago,
            "sibur": sibur,
        }
        for s in args.sets.split(","):
            t = time.perf_counter()
            res = runners[s]()
            res["wall_s"] = round(time.perf_counter() - t, 1)
            print(json.dumps(res, ensure_ascii=False, default=str), flush=True)
    elif args.what == "candidates":
        for res in candidate_recall(args.background):
            print(json.dumps(res, ensure_ascii=False, default=str), flush=True)
    elif args.what == "separation":
        print(json.dumps(tune_separation()), flush=True)
    elif args.what == "tolerance":
        print(json.dumps(tune_tolerance()), flush=True)
    elif args.what == "speed":
        print(json.dumps(speed(args.ref, args.queries, args.lookups, args.brute)), flush=True)
    else:
        print(json.dumps(blocking(args.ref, args.queries, args.show_misses)), flush=True)
    print(f"cpus={os.cpu_count()} load={os.getloadavg()}", file=sys.stderr)


def tune_separation(n_entities: int = 1500, seed: int = 31) -> dict[str, object]:
    """Choose the clustering separation on GENERATED clusters (never on the labelled sets)."""
    from risk_engine.matching.synth import generate_entities, perturb

    rng = random.Random(seed)
    base = generate_entities(n_entities, seed=seed)
    ids, names, countries, truth = [], [], [], []
    for eid, name, country in base.select("id", "name", "country").iter_rows():
        for v in range(rng.choice((1, 1, 2, 3, 5, 8))):
            ids.append(f"{eid}-{v}")
            names.append(name if v == 0 else perturb(name, rng))
            countries.append(country)
            truth.append(eid)
    frame = pl.DataFrame({"id": ids, "name": names, "country": countries})
    t = np.asarray(truth, dtype=object)
    out: dict[str, object] = {"records": frame.height, "entities": n_entities}
    for sep in (0.05, 0.1, 0.2, 0.3, 0.5):
        clusters, _ = dedupe_with_pairs(frame, separation=sep)
        pos = {i: k for k, i in enumerate(ids)}
        pred = np.empty(len(ids), dtype=object)
        for i, c in clusters.select("id", "cluster_id").iter_rows():
            pred[pos[i]] = c
        out[f"separation_{sep}"] = {"bcubed": bcubed(pred, t), "pairwise": pairwise(pred, t)}
    return out


def tune_tolerance(n_entities: int = 600, seed: int = 41) -> dict[str, object]:
    """Choose the clustering tolerance on GENERATED clusters with a heavy tail of sizes.

    Trade records and long supplier lists repeat one shipper hundreds of times in many spellings; most
    entities appear a few times. Sizes here: mostly 1-5, one in twenty 40-300 records. A group sibling
    (same trade name, another industry word, city or plant number) with its own variants sits beside
    one entity in ten, so
    merging what should stay apart costs precision.
    """
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_matcher import sibling

    from risk_engine.matching.synth import generate_entities, perturb

    rng = random.Random(seed)
    base = generate_entities(n_entities, seed=seed)
    ids, names, countries, truth = [], [], [], []

    def add(eid: str, name: str, country: str, size: int) -> None:
        for v in range(size):
            ids.append(f"{eid}-{v}")
            names.append(name if v == 0 else perturb(name, rng))
            countries.append(country)
            truth.append(eid)

    for eid, name, country in base.select("id", "name", "country").iter_rows():
        big = rng.random() < 0.05
        add(str(eid), name, country, rng.randint(40, 300) if big else rng.choice((1, 1, 2, 3, 5)))
        if rng.random() < 0.1:
            sib = sibling(name, rng)
            if sib is not None:
                add(f"{eid}s", sib.split("|")[-1], country, rng.choice((1, 3, 10, 60)))
    frame = pl.DataFrame({"id": ids, "name": names, "country": countries})
    t = np.asarray(truth, dtype=object)
    out: dict[str, object] = {"records": frame.height, "entities": len(set(truth))}
    pos = {i: k for k, i in enumerate(ids)}
    for tol in (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
        clusters, _ = dedupe_with_pairs(frame, tolerance=tol)
        pred = np.empty(len(ids), dtype=object)
        for i, c in clusters.select("id", "cluster_id").iter_rows():
            pred[pos[i]] = c
        out[f"tolerance_{tol}"] = {"bcubed": bcubed(pred, t), "pairwise": pairwise(pred, t)}
    return out


if __name__ == "__main__":
    main()
