"""Clustering within one list without chaining, and ``dedupe`` (link a table against itself).

Greedy constrained merging: pairs at or above the match threshold are taken best first; two clusters
merge only when no pair across them is a remembered rejection (cannot-link) and almost no pair across
them is "clearly different" (model probability below ``separation``): none when there are fewer than
1 / ``tolerance`` cross pairs, at most that share of them otherwise; a low pair whose names are
spellings of each other (``spellings_of_each_other``) is not clearly different. So A~B and B~C do not merge A and
C when A and C clearly differ, while two large clusters of one name's spellings (hundreds of records
from one shipper, typos on both sides) are not kept apart by the one pair of their worst typos. Confirmed pairs (must-link) are merged first, whatever the model says; a
rejection inside a group of confirmations is a contradiction and raises an error naming both ids.

Within one list, a `review` pair whose names differ by spelling alone (``spelling_variants``: every
word has its counterpart, or one word respelled alike; no legal-form, number, branch, qualifier or
address conflict) joins like a match: a list does not hold "Akzo Nobel N.V." and "Akzo Novel N.V."
as two companies. The pair keeps its probability and `review` decision in the output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from rapidfuzz import fuzz

from risk_engine.errors import InputError
from risk_engine.matching.compare import PairVectors
from risk_engine.matching.decisions import normalise_decisions
from risk_engine.matching.index import EntityIndex, ScoredPairs, score_pairs
from risk_engine.matching.model import MatchModel, load_model
from risk_engine.matching.normalise import normalise_name
from risk_engine.matching.records import PreparedRecords

PairScorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
PairTest = Callable[[np.ndarray, np.ndarray], np.ndarray]
DEFAULT_SEPARATION = 0.5
# Names this alike (``fuzz.ratio`` of the space-free cores, numbers and branch equal) are spellings of each
# other, never "clearly different" for the clustering (``spellings_of_each_other``); the word alignment's
# spelling cut. None: the model's probability alone decides.
DEFAULT_SPELLING: float | None = 0.8
DEFAULT_TOLERANCE = 0.1  # share of clearly different cross pairs a merge of large clusters may carry
MAX_CROSS_PAIRS = 20_000  # larger merges are checked on their known pairs only


class _Clusters:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))
        return ra


def cluster_pairs(
    n: int,
    li: np.ndarray,
    ri: np.ndarray,
    prob: np.ndarray,
    *,
    scorer: PairScorer,
    match_threshold: float,
    must_link: list[tuple[int, int]] = (),  # type: ignore[assignment]
    cannot_link: list[tuple[int, int]] = (),  # type: ignore[assignment]
    separation: float = DEFAULT_SEPARATION,
    tolerance: float = DEFAULT_TOLERANCE,
    ids: list[str] | None = None,
    alike: PairTest | None = None,
) -> np.ndarray:
    """Cluster label (position of a representative) per record; see the module docstring."""
    cl = _Clusters(n)
    known: dict[tuple[int, int], float] = {}
    for a, b, p in zip(li.tolist(), ri.tolist(), prob.tolist(), strict=True):
        k = (min(a, b), max(a, b))
        known[k] = max(known.get(k, 0.0), p)
    cannot = {(min(a, b), max(a, b)) for a, b in cannot_link}
    for a, b in must_link:
        cl.union(a, b)
    for a, b in cannot:
        if cl.find(a) == cl.find(b):
            names = ids or [str(i) for i in range(n)]
            msg = (
                f"decisions contradict each other: {names[a]!r} and {names[b]!r} are rejected as a pair "
                "but joined through confirmed pairs; remove one of these decisions"
            )
            raise InputError(msg)
    order = np.argsort(-prob, kind="stable")
    for k in order:
        if prob[k] < match_threshold:
            break
        ra, rb = cl.find(int(li[k])), cl.find(int(ri[k]))
        if ra == rb:
            continue
        ma, mb = cl.members[ra], cl.members[rb]
        if cannot and any((min(x, y), max(x, y)) in cannot for x in ma for y in mb):
            continue
        if len(ma) * len(mb) > 1 and not _separable_ok(ma, mb, known, scorer, separation, tolerance, alike):
            continue
        cl.union(ra, rb)
    return np.asarray([cl.find(i) for i in range(n)], dtype=np.int64)


def _separable_ok(
    ma: list[int],
    mb: list[int],
    known: dict[tuple[int, int], float],
    scorer: PairScorer,
    separation: float,
    tolerance: float,
    alike: PairTest | None = None,
) -> bool:
    """True when at most ``tolerance`` of the pairs across the two clusters are clearly different.

    With fewer than 1 / ``tolerance`` pairs across, that is none. A pair scored below ``separation``
    is not clearly different when ``alike`` says the two names are spellings of each other.
    """
    cross = [(min(x, y), max(x, y)) for x in ma for y in mb]
    unknown = [c for c in cross if c not in known]
    if unknown and len(cross) <= MAX_CROSS_PAIRS:
        a = np.asarray([c[0] for c in unknown], dtype=np.int64)
        b = np.asarray([c[1] for c in unknown], dtype=np.int64)
        for c, p in zip(unknown, scorer(a, b).tolist(), strict=True):
            known[c] = p
    low = [c for c in cross if known.get(c, 1.0) < separation]
    if low and alike is not None:
        same = alike(
            np.asarray([c[0] for c in low], dtype=np.int64), np.asarray([c[1] for c in low], dtype=np.int64)
        )
        low = [c for c, s in zip(low, same.tolist(), strict=True) if not s]
    return len(low) <= tolerance * len(cross)


def dedupe_with_pairs(
    frame: pl.DataFrame,
    *,
    decisions: pl.DataFrame | None = None,
    model: MatchModel | None = None,
    separation: float = DEFAULT_SEPARATION,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: bool = False,
    spelling: float | None = DEFAULT_SPELLING,
    join_spellings: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster one table: (clusters ``id, cluster_id, probability``, pairs as in ``EntityIndex.link``)."""
    index = EntityIndex.build(frame, model=model or load_model())
    rec = index.ref
    n = len(rec)
    qg, qt = index.candidates.query_matrices(rec.core, rec.key)
    vectors = PairVectors(qg, index.candidates.gram_matrix, qt, index.candidates.token_matrix)
    scored = index.score_all(rec, exclude_self=True, progress=progress)
    # Keep each unordered pair once (both directions were scored).
    if len(scored):
        lo = np.minimum(scored.li, scored.ri)
        hi = np.maximum(scored.li, scored.ri)
        pair_key = lo * (n + 1) + hi
        order = np.argsort(pair_key, kind="stable")
        first = order[np.r_[True, pair_key[order][1:] != pair_key[order][:-1]]]
        scored = scored.take(np.sort(first))
        scored.li, scored.ri = np.minimum(scored.li, scored.ri), np.maximum(scored.li, scored.ri)
    return cluster_scored(
        index,
        scored,
        decisions=decisions,
        separation=separation,
        tolerance=tolerance,
        vectors=vectors,
        spelling=spelling,
        join_spellings=join_spellings,
    )


def cluster_scored(
    index: EntityIndex,
    scored: ScoredPairs,
    *,
    decisions: pl.DataFrame | None = None,
    separation: float = DEFAULT_SEPARATION,
    tolerance: float = DEFAULT_TOLERANCE,
    vectors: PairVectors | None = None,
    spelling: float | None = DEFAULT_SPELLING,
    join_spellings: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clusters and pairs of one table from its scored pairs (each unordered pair once, ``li < ri``).

    Remembered decisions are applied, then no-chaining ``cluster_pairs`` over the match pairs and, with
    ``join_spellings``, the review pairs that are ``spelling_variants``; cluster id = smallest member
    id, probability = the best pair inside the cluster. Used by the local dedupe and by the Spark
    engine, which scores the pairs on executors and clusters them on the driver.
    """
    rec = index.ref
    n = len(rec)
    m = index.model
    if vectors is None:
        qg, qt = index.candidates.query_matrices(rec.core, rec.key)
        vectors = PairVectors(qg, index.candidates.gram_matrix, qt, index.candidates.token_matrix)
    pair_vectors = vectors
    scored = index._apply_decisions(rec, scored, decisions)
    d = normalise_decisions(decisions)
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    for a, b, dec in d.select("left_id", "right_id", "decision").iter_rows():
        if a in index.position and b in index.position:
            (must if dec == "confirm" else cannot).append((index.position[a], index.position[b]))

    def scorer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return score_pairs(m, rec, rec, a, b, pair_vectors).prob

    joining = scored.prob
    if join_spellings and len(scored):
        band = np.flatnonzero((scored.prob >= m.review_threshold) & (scored.prob < m.match_threshold))
        variants = band[spelling_variants(rec, scored, band)]
        if len(variants):
            joining = scored.prob.copy()
            joining[variants] = m.match_threshold
    labels = cluster_pairs(
        n,
        scored.li,
        scored.ri,
        joining,
        scorer=scorer,
        match_threshold=m.match_threshold,
        must_link=must,
        cannot_link=cannot,
        separation=separation,
        tolerance=tolerance,
        ids=rec.ids,
        alike=None if spelling is None else spellings_of_each_other(rec, spelling),
    )
    # Cluster id: the smallest member id, so it is stable while membership is.
    lab = pl.DataFrame({"id": rec.ids, "label": labels})
    rep = lab.group_by("label").agg(pl.col("id").min().alias("cluster_id"))
    best = np.full(n, np.nan)
    same = labels[scored.li] == labels[scored.ri] if len(scored) else np.zeros(0, bool)
    for a, b, p in zip(
        scored.li[same].tolist(), scored.ri[same].tolist(), scored.prob[same].tolist(), strict=True
    ):
        best[a] = p if np.isnan(best[a]) else max(best[a], p)
        best[b] = p if np.isnan(best[b]) else max(best[b], p)
    clusters = (
        lab.join(rep, on="label", how="left")
        .with_columns(pl.Series("probability", best, dtype=pl.Float64).fill_nan(None))
        .select("id", "cluster_id", "probability")
    )
    pairs = index.to_frame(rec, scored)
    return clusters, pairs


def spellings_of_each_other(rec: PreparedRecords, min_ratio: float) -> PairTest:
    """Pairs whose names are spellings of each other (a test over pairs of record positions).

    Spellings: the same numbers and branch marker, no conflict of generic legal form or country, and a
    ``fuzz.ratio`` of the space-free core names of at least ``min_ratio``.

    Two typo'd copies of one name ("SHHARE SHOES" / "SHAER SHOES", each a typo of "SHARE SHOES") can score
    near 0 against each other, since each has a word the other lacks; they are not *clearly* different
    names, and must not keep a cluster of one name's spellings apart. Sister plants ("No. 1" / "No. 2")
    and named branches stay clearly different.
    """
    compact = [c.replace(" ", "") for c in rec.core]

    def alike(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.zeros(len(a), dtype=bool)
        for k, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            if rec.numbers[x] != rec.numbers[y] or rec.branch[x] != rec.branch[y]:
                continue
            if _conflict(rec.legal_generic[x], rec.legal_generic[y]) or _conflict(
                rec.country[x], rec.country[y]
            ):
                continue
            if compact[x] and compact[y] and fuzz.ratio(compact[x], compact[y]) >= 100 * min_ratio:
                out[k] = True
        return out

    return alike


_VARIANT_ADDRESS = 80  # token-set ratio from which two addresses of a spelling variant agree


def spelling_variants(rec: PreparedRecords, scored: ScoredPairs, at: np.ndarray) -> np.ndarray:
    """Which of the scored pairs at positions ``at`` are one name spelled two ways (a mask over ``at``).

    Every word of each name has its counterpart in the other (``words_all_aligned``: a typo, a
    respelling, a contraction, words glued or spaced), or both names are one word that respells alike
    ("Alkatel" / "Alcatel"); no conflict of legal form, name number or branch; the same qualifier
    ("(Vietnam)" marks a subsidiary); addresses that agree or are missing. A word only one name has
    ("Annapoorna Solar" / "Annapoorna Solar Cell") is another entity's name, not a spelling.
    """
    feats = scored.feats
    ok = (
        (feats["legal_form_conflict"][at] == 0)
        & (feats["number_conflict"][at] == 0)
        & (feats["branch_conflict"][at] == 0)
    )
    aligned = feats["words_all_aligned"][at] > 0
    out = np.zeros(len(at), dtype=bool)
    for j, (x, y) in enumerate(zip(scored.li[at].tolist(), scored.ri[at].tolist(), strict=True)):
        if not ok[j]:
            continue
        if not aligned[j] and not (
            " " not in rec.key[x]
            and " " not in rec.key[y]
            and rec.key[x]
            and rec.phonetic[x] == rec.phonetic[y]
        ):
            continue
        if normalise_name(rec.names[x]).qualifier != normalise_name(rec.names[y]).qualifier:
            continue
        ax, ay = rec.address[x], rec.address[y]
        if ax and ay and fuzz.token_set_ratio(ax, ay) < _VARIANT_ADDRESS:
            continue
        out[j] = True
    return out


def _conflict(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a != b


def mark_same_cluster(pairs: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with ``same_cluster``: whether both records ended in one cluster.

    A `review` pair inside one cluster needs no decision to join its records (the clustering already
    did); the ones across clusters are the review queue.
    """
    cid = dict(clusters.select("id", "cluster_id").iter_rows())
    return pairs.with_columns(
        (
            pl.col("left_id").replace_strict(cid, default=None, return_dtype=pl.String)
            == pl.col("right_id").replace_strict(cid, default=None, return_dtype=pl.String)
        )
        .fill_null(False)
        .alias("same_cluster")
    )


def dedupe(
    frame: pl.DataFrame,
    *,
    decisions: pl.DataFrame | None = None,
    model: MatchModel | None = None,
) -> pl.DataFrame:
    """Cluster one table into entities: ``id, cluster_id, probability`` (null for singletons)."""
    clusters, _ = dedupe_with_pairs(frame, decisions=decisions, model=model)
    return clusters
