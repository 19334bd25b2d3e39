"""EntityIndex: the reference side prepared once, then linked against query tables or single records.

``EntityIndex.build(ref)`` normalises the reference names and builds the candidate index;
``index.link(query)`` returns one row per proposed pair (probability >= the review threshold) with
its decision, feature values and their contributions; ``index.lookup(record)`` does the same for one
record (the API's path). Identifiers settle a pair (probability 1.0) and remembered human decisions
override everything, on every run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from risk_engine.errors import InputSchemaError
from risk_engine.matching.blocking import CandidateIndex, sorted_unique
from risk_engine.matching.compare import FEATURES, PairVectors, compare_pairs, compare_pairs_above
from risk_engine.matching.decisions import normalise_decisions
from risk_engine.matching.identifiers import SCHEMES
from risk_engine.matching.model import MatchModel, load_model
from risk_engine.matching.records import PreparedRecords, prepare_records, prepare_rows

Source = str  # "model" | "identifier" | "human"

PAIR_COLUMNS: tuple[str, ...] = (
    "left_id",
    "right_id",
    "probability",
    "decision",
    "source",
    "rank",
    "left_name",
    "right_name",
    *(f"feat_{f}" for f in FEATURES),
    *(f"contrib_{f}" for f in FEATURES),
)


def pairs_schema() -> dict[str, pl.DataType]:
    """Polars schema of the pair table that ``link`` and ``dedupe`` return."""
    schema: dict[str, pl.DataType] = {
        "left_id": pl.String(),
        "right_id": pl.String(),
        "probability": pl.Float64(),
        "decision": pl.String(),
        "source": pl.String(),
        "rank": pl.Int32(),
        "left_name": pl.String(),
        "right_name": pl.String(),
    }
    schema.update({f"feat_{f}": pl.Float32() for f in FEATURES})
    schema.update({f"contrib_{f}": pl.Float32() for f in FEATURES})
    return schema


@dataclass
class ScoredPairs:
    """Pairs by position with their probabilities, features and contributions (before ids are attached)."""

    li: np.ndarray
    ri: np.ndarray
    prob: np.ndarray
    source: np.ndarray  # object array of Source
    feats: dict[str, np.ndarray]
    contrib: dict[str, np.ndarray]

    @classmethod
    def empty(cls) -> ScoredPairs:
        """No pairs."""
        z = np.zeros(0)
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            z,
            np.zeros(0, dtype=object),
            {f: np.zeros(0, np.float32) for f in FEATURES},
            {f: np.zeros(0, np.float32) for f in FEATURES},
        )

    def __len__(self) -> int:
        return len(self.li)

    def take(self, mask: np.ndarray) -> ScoredPairs:
        """The subset selected by a boolean mask or index array."""
        return ScoredPairs(
            self.li[mask],
            self.ri[mask],
            self.prob[mask],
            self.source[mask],
            {k: v[mask] for k, v in self.feats.items()},
            {k: v[mask] for k, v in self.contrib.items()},
        )

    @staticmethod
    def concat(parts: list[ScoredPairs]) -> ScoredPairs:
        """Concatenate several pair sets."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return ScoredPairs.empty()
        return ScoredPairs(
            np.concatenate([p.li for p in parts]),
            np.concatenate([p.ri for p in parts]),
            np.concatenate([p.prob for p in parts]),
            np.concatenate([p.source for p in parts]),
            {f: np.concatenate([p.feats[f] for p in parts]) for f in FEATURES},
            {f: np.concatenate([p.contrib[f] for p in parts]) for f in FEATURES},
        )


# Log-odds below a threshold's that a pair's upper bound may fall and the pair still be finished: the
# bound sums the contributions in another order than the model's matrix product.
_BOUND_SLACK = 1e-6
# Fewer pairs than this (a single lookup's candidates) are compared in full: the bound's fixed cost
# would outweigh the features it spares.
_BOUND_MIN_PAIRS = 256


def score_pairs(
    model: MatchModel,
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
    *,
    contributions: bool = True,
    min_probability: float | None = None,
) -> ScoredPairs:
    """Features, probability and contributions of the given pairs; identifier agreement settles a pair.

    ``contributions=False`` leaves ``contrib`` empty (the API's candidate path needs probabilities only).
    With ``min_probability``, pairs that cannot reach it are left out early (batches of 256 pairs or
    more): the costliest features are computed only for pairs whose best possible log-odds, given the
    others, reaches it (``compare_pairs_above``). Every pair at or above it is returned, with the same values as without;
    some below it may be returned too.
    """
    if min_probability is not None and min_probability > 0 and len(li) >= _BOUND_MIN_PAIRS:
        floor = (
            np.inf
            if min_probability >= 1
            else float(np.log(min_probability / (1 - min_probability))) - _BOUND_SLACK
        )
        kept, feats = compare_pairs_above(
            left, right, li, ri, vectors, lambda exact, ranges: model.upper_log_odds(exact, ranges) >= floor
        )
        li, ri = np.asarray(li)[kept], np.asarray(ri)[kept]
    else:
        feats = compare_pairs(left, right, li, ri, vectors)
    prob = model.predict_proba(feats)
    contrib = (
        {k: v.astype(np.float32) for k, v in model.contributions(feats).items()} if contributions else {}
    )
    source = np.full(len(li), "model", dtype=object)
    settled = feats["identifier_agree"] > 0
    prob = np.where(settled, 1.0, prob)
    source[settled] = "identifier"
    return ScoredPairs(np.asarray(li), np.asarray(ri), prob, source, feats, contrib)


def record_profiles(rec: PreparedRecords, rows: list[int] | None = None) -> list[tuple[object, ...]]:
    """What besides the name tells records apart, per row (of ``rows``, or of all).

    Legal form, branch, numbers, address, native name and identifiers: rows of one name that agree on
    all of them are copies for the candidate search.
    """
    columns: list[Sequence[object]] = [rec.legal_form, rec.branch, rec.numbers, rec.address, rec.native]
    columns += [rec.identifiers[s] for s in SCHEMES]
    if rows is not None:
        return [tuple(c[i] for c in columns) for i in rows]
    return list(zip(*columns, strict=True))


def decide(prob: np.ndarray, model: MatchModel) -> np.ndarray:
    """'match' / 'review' / '' per probability, by the model's thresholds."""
    return np.where(
        prob >= model.match_threshold, "match", np.where(prob >= model.review_threshold, "review", "")
    ).astype(object)


def _identifier_table(rec: PreparedRecords) -> dict[tuple[str, str], list[int]]:
    table: dict[tuple[str, str], list[int]] = {}
    for scheme in SCHEMES:
        for i, v in enumerate(rec.identifiers[scheme]):
            if v is not None:
                table.setdefault((scheme, v), []).append(i)
    return table


@dataclass
class EntityIndex:
    """A prepared reference side: normalised records, candidate index, identifier table and model."""

    ref: PreparedRecords
    candidates: CandidateIndex
    by_identifier: dict[tuple[str, str], list[int]]
    position: dict[str, int]
    model: MatchModel
    extra_columns: dict[str, list[Any]] = field(default_factory=dict)
    _copies: dict[int, tuple[int, ...]] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, ref: pl.DataFrame, *, model: MatchModel | None = None) -> EntityIndex:
        """Index a reference table (``id``, ``name``, optional ``country``, ``address``, identifiers)."""
        rec = prepare_records(ref, side="reference")
        cand = CandidateIndex.build(
            rec.core, rec.key, rec.country, profile=record_profiles(rec), addresses=rec.address
        )
        return cls(
            ref=rec,
            candidates=cand,
            by_identifier=_identifier_table(rec),
            position={i: k for k, i in enumerate(rec.ids)},
            model=model or load_model(),
        )

    def __len__(self) -> int:
        return len(self.ref)

    # -- persistence -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], *, source: dict[str, Any] | None = None) -> None:
        """Write the index to the directory ``path`` (see ``risk_engine.matching.index_store``)."""
        from pathlib import Path

        from risk_engine.matching.index_store import save_index

        save_index(self, Path(path), source=source)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        model: MatchModel | None = None,
        source: dict[str, Any] | None = None,
    ) -> EntityIndex:
        """Load a saved index; ``IndexArtifactError`` when it is missing, corrupt or stale."""
        from pathlib import Path

        from risk_engine.matching.index_store import load_index

        return load_index(Path(path), model=model, source=source)

    # -- linking ---------------------------------------------------------------------------------

    def _identifier_pairs(self, q: PreparedRecords) -> tuple[np.ndarray, np.ndarray]:
        li: list[int] = []
        ri: list[int] = []
        for scheme in SCHEMES:
            for i, v in enumerate(q.identifiers[scheme]):
                if v is not None:
                    for r in self.by_identifier.get((scheme, v), ()):
                        li.append(i)
                        ri.append(r)
        return np.asarray(li, dtype=np.int64), np.asarray(ri, dtype=np.int64)

    def iter_scored(
        self,
        q: PreparedRecords,
        *,
        min_probability: float | None = None,
        chunk: int = 2048,
        exclude_self: bool = False,
        subset: np.ndarray | None = None,
        matrices: tuple[sp.csr_matrix, sp.csr_matrix] | None = None,
        contributions: bool = True,
    ) -> Iterator[tuple[int, ScoredPairs]]:
        """Score candidate pairs chunk by chunk: (queries in the chunk, pairs >= ``min_probability``)."""
        threshold = self.model.review_threshold if min_probability is None else min_probability
        qg, qt = matrices or self.candidates.query_matrices(q.core, q.key)
        vectors = PairVectors(qg, self.candidates.gram_matrix, qt, self.candidates.token_matrix)
        id_li, id_ri = self._identifier_pairs(q)
        if subset is not None and len(id_li):
            keep = np.isin(id_li, subset)
            id_li, id_ri = id_li[keep], id_ri[keep]
        blocks = self.candidates.candidates(
            qg, qt, q.country, keys=q.key, chunk=chunk, subset=subset, addresses=q.address
        )
        first = True
        for part, qi, ri, _ in blocks:
            if first and len(id_li):
                qi = np.concatenate([qi, id_li])
                ri = np.concatenate([ri, id_ri])
            first = False
            yield len(part), self._score(q, qi, ri, vectors, threshold, exclude_self, contributions)
        if first and len(id_li):  # no query had name candidates at all
            yield 0, self._score(q, id_li, id_ri, vectors, threshold, exclude_self, contributions)

    def score_all(
        self,
        q: PreparedRecords,
        *,
        min_probability: float | None = None,
        exclude_self: bool = False,
        progress: bool = False,
        workers: int | None = None,
    ) -> ScoredPairs:
        """All scored pairs of prepared queries; large inputs run in forked worker processes."""
        nproc = workers if workers is not None else min(2, os.cpu_count() or 1)
        if nproc <= 1 or len(q) < PARALLEL_MIN_QUERIES:
            it = self.iter_scored(q, min_probability=min_probability, exclude_self=exclude_self)
            return ScoredPairs.concat(list(_progress(it, progress, len(q))))
        import multiprocessing as mp

        global _FORK_STATE
        qg, qt = self.candidates.query_matrices(q.core, q.key)
        n_tasks = nproc * 8
        tasks = [np.arange(k, len(q), n_tasks) for k in range(n_tasks)]
        _FORK_STATE = (self, q, (qg, qt), min_probability, exclude_self)
        try:
            # fork shares the index copy-on-write; the worker path uses numpy, scipy and RapidFuzz only.
            with mp.get_context("fork").Pool(nproc) as pool:
                parts = list(_progress(pool.imap_unordered(_score_task, tasks), progress, len(q)))
        finally:
            _FORK_STATE = None
        return ScoredPairs.concat(parts)

    def _score(
        self,
        q: PreparedRecords,
        qi: np.ndarray,
        ri: np.ndarray,
        vectors: PairVectors,
        threshold: float,
        exclude_self: bool,
        contributions: bool = True,
    ) -> ScoredPairs:
        if exclude_self:
            keep = qi != ri
            qi, ri = qi[keep], ri[keep]
        if len(qi):
            key, _ = sorted_unique(qi.astype(np.int64) * (len(self.ref) + 1) + ri)
            qi, ri = key // (len(self.ref) + 1), key % (len(self.ref) + 1)
        scored = score_pairs(
            self.model, q, self.ref, qi, ri, vectors, contributions=contributions, min_probability=threshold
        )
        return scored.take(scored.prob >= threshold)

    def link(
        self,
        query: pl.DataFrame,
        *,
        decisions: pl.DataFrame | None = None,
        min_probability: float | None = None,
        progress: bool = False,
        workers: int | None = None,
    ) -> pl.DataFrame:
        """Pairs (query row, reference entity) at or above the review threshold, best first per query.

        Columns: ``left_id`` (query), ``right_id`` (reference), ``probability``, ``decision``
        (match/review), ``source`` (model/identifier/human), ``rank`` (1 = best for the query),
        names, ``feat_*`` and ``contrib_*`` (log-odds contributions).
        """
        q = prepare_records(query, side="query")
        scored = self.score_all(q, min_probability=min_probability, progress=progress, workers=workers)
        scored = self._with_copies(q, scored, min_probability=min_probability)
        return self._finish(q, scored, decisions, min_probability=min_probability)

    def copy_groups(self) -> dict[int, tuple[int, ...]]:
        """Reference rows that share country, normalised name and profile with another: position -> the group.

        The candidate search reaches such exact copies through the first of them (``blocking``), so
        ``link`` adds the others to every pair the first is in. Computed once, on first use.
        """
        if self._copies is None:
            rec = self.ref
            # Only rows whose country and name repeat can be copies: find those first (a vectorised pass),
            # then compare the profiles of those few.
            named = pl.DataFrame(
                {"country": [c or "" for c in rec.country], "core": rec.core},
                schema={"country": pl.String, "core": pl.String},
            )
            repeated = np.flatnonzero(named.is_duplicated().to_numpy())
            profiles = record_profiles(rec, repeated.tolist())
            groups: dict[tuple[object, ...], list[int]] = {}
            for i, prof in zip(repeated.tolist(), profiles, strict=True):
                groups.setdefault((rec.country[i] or "", rec.core[i], prof), []).append(i)
            self._copies = {i: tuple(g) for g in groups.values() if len(g) > 1 for i in g}
        return self._copies

    def _with_copies(
        self, q: PreparedRecords, scored: ScoredPairs, *, min_probability: float | None
    ) -> ScoredPairs:
        """``scored`` with the pairs of each reference row's exact copies added (scored like any pair)."""
        groups = self.copy_groups()
        if not groups or len(scored) == 0:
            return scored
        present = set(zip(scored.li.tolist(), scored.ri.tolist(), strict=True))
        new = sorted({(a, c) for a, b in present if b in groups for c in groups[b] if (a, c) not in present})
        if not new:
            return scored
        qg, qt = self.candidates.query_matrices(q.core, q.key)
        vectors = PairVectors(qg, self.candidates.gram_matrix, qt, self.candidates.token_matrix)
        threshold = self.model.review_threshold if min_probability is None else min_probability
        extra = self._score(
            q,
            np.asarray([a for a, _ in new], dtype=np.int64),
            np.asarray([c for _, c in new], dtype=np.int64),
            vectors,
            threshold,
            False,
        )
        return ScoredPairs.concat([scored, extra])

    def _finish(
        self,
        q: PreparedRecords,
        scored: ScoredPairs,
        decisions: pl.DataFrame | None,
        *,
        min_probability: float | None,
    ) -> pl.DataFrame:
        scored = self._apply_decisions(q, scored, decisions)
        threshold = self.model.review_threshold if min_probability is None else min_probability
        scored = scored.take((scored.prob >= threshold) | (scored.source == "human"))
        return self.to_frame(q, scored)

    def _apply_decisions(
        self, q: PreparedRecords, scored: ScoredPairs, decisions: pl.DataFrame | None
    ) -> ScoredPairs:
        d = normalise_decisions(decisions)
        if d.height == 0:
            return scored
        qpos = {i: k for k, i in enumerate(q.ids)}
        # Within one list (dedupe) pairs are unordered and stored as (lower, higher) position.
        symmetric = q is self.ref
        confirmed: set[tuple[int, int]] = set()
        rejected: set[tuple[int, int]] = set()
        for a, b, dec in d.select("left_id", "right_id", "decision").iter_rows():
            for x, y in ((a, b), (b, a)):
                if x in qpos and y in self.position:
                    pair = (qpos[x], self.position[y])
                    if symmetric:
                        pair = (min(pair), max(pair))
                    (confirmed if dec == "confirm" else rejected).add(pair)
        keys = list(zip(scored.li.tolist(), scored.ri.tolist(), strict=True))
        keep = np.fromiter((k not in rejected for k in keys), dtype=bool, count=len(keys))
        scored = scored.take(keep)
        present = set(zip(scored.li.tolist(), scored.ri.tolist(), strict=True))
        missing = sorted(confirmed - present)
        if missing:
            qg, qt = self.candidates.query_matrices(q.core, q.key)
            vectors = PairVectors(qg, self.candidates.gram_matrix, qt, self.candidates.token_matrix)
            li = np.asarray([m[0] for m in missing], dtype=np.int64)
            ri = np.asarray([m[1] for m in missing], dtype=np.int64)
            scored = ScoredPairs.concat([scored, score_pairs(self.model, q, self.ref, li, ri, vectors)])
        human = np.fromiter(
            ((a, b) in confirmed for a, b in zip(scored.li.tolist(), scored.ri.tolist(), strict=True)),
            dtype=bool,
            count=len(scored),
        )
        scored.prob = np.where(human, 1.0, scored.prob)
        scored.source = np.where(human, "human", scored.source).astype(object)
        return scored

    def to_frame(self, q: PreparedRecords, scored: ScoredPairs, *, sort: bool = True) -> pl.DataFrame:
        """The pair table (see :meth:`link`) for scored pairs (``sort=False`` keeps their order)."""
        if len(scored) == 0:
            return pl.DataFrame(schema=pairs_schema())
        data: dict[str, Any] = {
            "left_id": [q.ids[i] for i in scored.li],
            "right_id": [self.ref.ids[i] for i in scored.ri],
            "probability": scored.prob.astype(np.float64),
            "decision": decide(scored.prob, self.model).tolist(),
            "source": scored.source.tolist(),
            "left_name": [q.names[i] for i in scored.li],
            "right_name": [self.ref.names[i] for i in scored.ri],
        }
        data.update({f"feat_{f}": scored.feats[f] for f in FEATURES})
        data.update({f"contrib_{f}": scored.contrib[f] for f in FEATURES})
        frame = pl.DataFrame(data).with_row_index("_order")
        frame = frame.sort(["left_id", "probability", "right_id"], descending=[False, True, False])
        frame = frame.with_columns(pl.int_range(1, pl.len() + 1).over("left_id").cast(pl.Int32).alias("rank"))
        if not sort:
            frame = frame.sort("_order")
        return frame.select(list(pairs_schema())).cast(pairs_schema())  # type: ignore[arg-type]

    def score(self, query: pl.DataFrame, pairs: list[tuple[str, str]]) -> pl.DataFrame:
        """Score given (query id, reference id) pairs, whatever the candidate index would propose."""
        q = prepare_records(query, side="query")
        qpos = {i: k for k, i in enumerate(q.ids)}
        unknown = [p for p in pairs if p[0] not in qpos or p[1] not in self.position]
        if unknown:
            msg = f"pair {unknown[0]!r}: id not found on the {'query' if unknown[0][0] not in qpos else 'reference'} side"
            raise InputSchemaError(msg, value=unknown[0])
        li = np.asarray([qpos[a] for a, _ in pairs], dtype=np.int64)
        ri = np.asarray([self.position[b] for _, b in pairs], dtype=np.int64)
        qg, qt = self.candidates.query_matrices(q.core, q.key)
        vectors = PairVectors(qg, self.candidates.gram_matrix, qt, self.candidates.token_matrix)
        return self.to_frame(q, score_pairs(self.model, q, self.ref, li, ri, vectors), sort=False)

    # -- single record ---------------------------------------------------------------------------

    def lookup(
        self, record: dict[str, Any], *, limit: int = 5, min_probability: float | None = None
    ) -> list[dict[str, Any]]:
        """Candidate entities for one record (keys as the table columns), best first.

        Each result: ``id``, ``name``, ``country``, ``probability``, ``decision``, ``source``,
        ``features`` and ``contributions`` (dicts by feature name).
        """
        q = prepare_rows([{**record, "id": str(record.get("id") or "_query")}])
        scored = ScoredPairs.concat([p for _, p in self.iter_scored(q, min_probability=min_probability)])
        order = np.argsort(-scored.prob, kind="stable")[:limit]
        out = []
        for k in order:
            r = int(scored.ri[k])
            p = float(scored.prob[k])
            out.append(
                {
                    "id": self.ref.ids[r],
                    "name": self.ref.names[r],
                    "country": self.ref.country[r],
                    "probability": p,
                    "decision": str(decide(np.asarray([p]), self.model)[0]),
                    "source": str(scored.source[k]),
                    "features": {f: float(scored.feats[f][k]) for f in FEATURES},
                    "contributions": {f: float(scored.contrib[f][k]) for f in FEATURES},
                }
            )
        return out

    def lookup_many(
        self, records: Sequence[Mapping[str, Any]], *, limit: int = 5, min_probability: float | None = None
    ) -> list[list[tuple[str, float, str]]]:
        """Candidates of several records at once: per record (id, probability, decision), best first.

        The API's path. The same pairs, decisions and probabilities as ``link`` without decisions (the
        same candidate search, features and model; probabilities may differ from a ``link`` of the same
        batch in the last bit, as ``link``'s own do between batch sizes, because all pairs of the batch
        go through the model at once), ordered by probability, then id, and cut to ``limit``; no
        DataFrame is built and no contributions are computed.
        """
        if not records:
            return []
        q = prepare_rows([{**r, "id": str(i)} for i, r in enumerate(records)])
        threshold = self.model.review_threshold if min_probability is None else min_probability
        qg, qt = self.candidates.query_matrices(q.core, q.key)
        vectors = PairVectors(qg, self.candidates.gram_matrix, qt, self.candidates.token_matrix)
        # The candidates of every country group first, then one feature and model pass over all of
        # them (``iter_scored`` scores group by group: a fixed cost per country of the batch).
        id_li, id_ri = self._identifier_pairs(q)
        qis, ris = [id_li], [id_ri]
        for _, qi, ri, _ in self.candidates.candidates(qg, qt, q.country, keys=q.key, addresses=q.address):
            qis.append(qi)
            ris.append(ri)
        scored = self._score(
            q, np.concatenate(qis), np.concatenate(ris), vectors, threshold, False, contributions=False
        )
        out: list[list[tuple[str, float, str]]] = [[] for _ in records]
        all_li, all_ri = scored.li, scored.ri
        all_p = scored.prob.astype(np.float64)
        decisions = decide(all_p, self.model)
        ids = self.ref.ids
        for k in range(len(all_li)):
            out[int(all_li[k])].append((ids[int(all_ri[k])], float(all_p[k]), str(decisions[k])))
        for found in out:
            found.sort(key=lambda c: (-c[1], c[0]))
            del found[limit:]
        return out


PARALLEL_MIN_QUERIES = 20_000
_ForkState = tuple[EntityIndex, PreparedRecords, tuple[sp.csr_matrix, sp.csr_matrix], float | None, bool]
_FORK_STATE: _ForkState | None = None


def _score_task(subset: np.ndarray) -> tuple[int, ScoredPairs]:
    """Worker: score the queries at ``subset`` positions with the index inherited through fork."""
    from risk_engine.matching import compare

    assert _FORK_STATE is not None
    index, q, matrices, min_probability, exclude_self = _FORK_STATE
    compare.set_threads(1)  # one process per core already
    parts = [
        p
        for _, p in index.iter_scored(
            q, min_probability=min_probability, exclude_self=exclude_self, subset=subset, matrices=matrices
        )
    ]
    return len(subset), ScoredPairs.concat(parts)


def _progress(it: Iterator[tuple[int, ScoredPairs]], enabled: bool, total: int) -> Iterator[ScoredPairs]:
    if not enabled:
        for _, part in it:
            yield part
        return
    from tqdm import tqdm

    with tqdm(total=total, desc="matching", unit="rec", file=sys.stderr) as bar:
        for n, part in it:
            yield part
            bar.update(n)
