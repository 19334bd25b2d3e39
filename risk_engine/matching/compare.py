"""Comparison features of candidate pairs: vectorised functions returning 0..1 arrays, one per name.

Every feature is named as the fact it measures. RapidFuzz scores (0..100) are converted to 0..1 here.
Missing values never look like disagreement: a feature that needs both sides is 0 when either side is
missing, and a separate ``*_missing`` feature lets the model weigh the absence itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from risk_engine.matching.identifiers import SCHEMES
from risk_engine.matching.records import PreparedRecords

FEATURES: tuple[str, ...] = (
    "name_ratio",
    "name_token_sort",
    "name_token_set",
    "name_partial",
    "name_jaro_winkler",
    "name_compact_ratio",
    "name_gram_cosine",
    "rare_token_overlap",
    "phonetic_similarity",
    "single_token_name",
    "same_name_key",
    "token_substitution",
    "unmatched_token_share",
    "number_conflict",
    "branch_conflict",
    "legal_form_conflict",
    "country_match",
    "country_conflict",
    "address_similarity",
    "address_missing",
    "identifier_agree",
    "identifier_conflict",
    "native_name_similarity",
)

_NAME_FEATURES = (
    "name_compact_ratio",
    "name_ratio",
    "name_token_sort",
    "name_token_set",
    "name_partial",
    "name_jaro_winkler",
    "name_gram_cosine",
    "rare_token_overlap",
    "phonetic_similarity",
)
_WORKERS = 2


def _threads(n_pairs: int) -> int:
    return _WORKERS if n_pairs >= 2_000 else 1


def set_threads(n: int) -> None:
    """Threads RapidFuzz may use per call (1 inside worker processes)."""
    global _WORKERS
    _WORKERS = max(1, n)


@dataclass(frozen=True)
class PairVectors:
    """Sparse name vectors of both sides, in the same spaces (from the candidate index)."""

    left_grams: sp.csr_matrix
    right_grams: sp.csr_matrix
    left_tokens: sp.csr_matrix
    right_tokens: sp.csr_matrix


def _gather(values: Sequence[str], idx: np.ndarray) -> list[str]:
    return [values[i] for i in idx]


def _fuzz(scorer: Callable[..., float], a: list[str], b: list[str]) -> np.ndarray:
    if not a:
        return np.zeros(0, dtype=np.float32)
    # Threads only pay off on large batches; a single lookup scores a few dozen pairs.
    out = cpdist(a, b, scorer=scorer, workers=_threads(len(a)), dtype=np.float32)
    return np.asarray(out, dtype=np.float32) / np.float32(100.0)


def _row_dot(a: sp.csr_matrix, b: sp.csr_matrix, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Row-wise dot products a[li[k]] . b[ri[k]] (cosines, since rows are L2-normalised)."""
    if len(li) == 0:
        return np.zeros(0, dtype=np.float32)
    width = max(a.shape[1], b.shape[1])
    a = a if a.shape[1] == width else sp.csr_matrix((a.data, a.indices, a.indptr), shape=(a.shape[0], width))
    b = b if b.shape[1] == width else sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width))
    prod = a[li].multiply(b[ri])
    return np.clip(np.asarray(prod.sum(axis=1)).ravel(), 0.0, 1.0).astype(np.float32)


def _tokens_agree(a: str, b: str) -> bool:
    """Two words that are the same word written differently: a typo, a plural, an abbreviation."""
    if len(a) >= 4 and len(b) >= 4 and fuzz.ratio(a, b) >= 80:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 3 and long_.startswith(short) and not short.isdigit()


def _unmatched(mine: list[str], other: list[str], other_glued: set[str]) -> int:
    """How many of ``mine`` find no counterpart in ``other`` (same, similar, or two of them glued)."""
    missing = 0
    for t in mine:
        if t in other_glued or any(_tokens_agree(t, o) for o in other):
            continue
        missing += 1
    return missing


def token_alignment(lk: list[str], rk: list[str], close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which words of two names find no counterpart in the other.

    Returns ``token_substitution`` (both names have a word the other lacks: "Garment" against "Textile",
    "Canada" against "Oil": another entity of a group, more often than not) and
    ``unmatched_token_share`` (unmatched words over all words). A word matches when the other name has
    it, a spelling of it (ratio >= 0.8, plural, abbreviation as a prefix) or two of its words glued
    together ("vander" / "van der"). Words only one name has (a dropped city, a seat, an extra
    qualifier) count in the share but are no substitution. Pairs not ``close`` get exact word matching
    only (their names differ anyway, and the fuzzy pass would cost most of the time).
    """
    n = len(lk)
    sub = np.zeros(n, dtype=np.float32)
    share = np.zeros(n, dtype=np.float32)
    for k in range(n):
        a, b = lk[k], rk[k]
        if not a or not b:
            continue
        ta, tb = a.split(" "), b.split(" ")
        sa, sb = set(ta), set(tb)
        ua = [t for t in ta if t not in sb]
        ub = [t for t in tb if t not in sa]
        if ua and ub and close[k]:
            ga = {x + y for x in ta for y in ta if x != y}
            gb = {x + y for x in tb for y in tb if x != y}
            na, nb = _unmatched(ua, ub, gb), _unmatched(ub, ua, ga)
        else:
            na, nb = len(ua), len(ub)
        sub[k] = float(na > 0 and nb > 0)
        share[k] = (na + nb) / (len(ta) + len(tb))
    return sub, share


def _both(a: list[str], b: list[str]) -> np.ndarray:
    return np.fromiter((bool(x) and bool(y) for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))


def compare_pairs(
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
) -> dict[str, np.ndarray]:
    """All features for the pairs (left[li[k]], right[ri[k]]), as float32 arrays in 0..1."""
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    n = len(li)
    lc, rc = _gather(left.core, li), _gather(right.core, ri)
    lk, rk = _gather(left.key, li), _gather(right.key, ri)
    f: dict[str, np.ndarray] = {}
    f["name_ratio"] = _fuzz(fuzz.ratio, lc, rc)
    f["name_token_sort"] = _fuzz(fuzz.ratio, lk, rk)  # keys are the sorted tokens already
    f["name_token_set"] = _fuzz(fuzz.token_set_ratio, lk, rk)
    f["name_partial"] = _fuzz(fuzz.partial_ratio, lc, rc)
    f["name_jaro_winkler"] = (
        np.asarray(
            cpdist(lc, rc, scorer=JaroWinkler.normalized_similarity, workers=_threads(n)), dtype=np.float32
        )
        if n
        else np.zeros(0, np.float32)
    )
    # Spacing artefacts ("m e r c u r y appar e l", "vogue tex" / "voguetex") vanish without spaces.
    f["name_compact_ratio"] = _fuzz(
        fuzz.ratio, [x.replace(" ", "") for x in lc], [x.replace(" ", "") for x in rc]
    )
    f["name_gram_cosine"] = _row_dot(vectors.left_grams, vectors.right_grams, li, ri)
    f["rare_token_overlap"] = _row_dot(vectors.left_tokens, vectors.right_tokens, li, ri)
    f["phonetic_similarity"] = _fuzz(fuzz.ratio, _gather(left.phonetic, li), _gather(right.phonetic, ri))
    f["single_token_name"] = np.fromiter(
        (x.count(" ") == 0 or y.count(" ") == 0 for x, y in zip(lk, rk, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    # The same words after normalisation (legal form, case, punctuation, order aside).
    f["same_name_key"] = np.fromiter(
        (bool(x) and x == y for x, y in zip(lk, rk, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    f["token_substitution"], f["unmatched_token_share"] = token_alignment(
        lk, rk, np.maximum(f["name_token_sort"], f["name_compact_ratio"]) >= 0.5
    )
    ln, rn = _gather(left.numbers, li), _gather(right.numbers, ri)
    f["number_conflict"] = np.fromiter(
        (bool(x) and bool(y) and x != y for x, y in zip(ln, rn, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    lb, rb = _gather(left.branch, li), _gather(right.branch, ri)
    f["branch_conflict"] = np.fromiter(
        (bool(x) and bool(y) and x != y for x, y in zip(lb, rb, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    lg = [left.legal_generic[i] for i in li]
    rg = [right.legal_generic[i] for i in ri]
    f["legal_form_conflict"] = np.fromiter(
        (x is not None and y is not None and x != y for x, y in zip(lg, rg, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    lco = [left.country[i] for i in li]
    rco = [right.country[i] for i in ri]
    known = np.fromiter((x is not None and y is not None for x, y in zip(lco, rco, strict=True)), bool, n)
    same = np.fromiter((x == y for x, y in zip(lco, rco, strict=True)), bool, n)
    f["country_match"] = (known & same).astype(np.float32)
    f["country_conflict"] = (known & ~same).astype(np.float32)
    la, ra = _gather(left.address, li), _gather(right.address, ri)
    has_addr = _both(la, ra)
    # Lists glue address words together ("zonekarachi", "pallerotamamadalanonagama"): take the better of
    # the token-set ratio and the partial ratio of the space-free strings (when both are long enough).
    addr = _fuzz(fuzz.token_set_ratio, la, ra)
    lac = [x.replace(" ", "") for x in la]
    rac = [x.replace(" ", "") for x in ra]
    compact = _fuzz(fuzz.partial_ratio, lac, rac)
    long_enough = np.fromiter((min(len(x), len(y)) >= 12 for x, y in zip(lac, rac, strict=True)), bool, n)
    addr = np.maximum(addr, np.where(long_enough, compact, 0.0)).astype(np.float32)
    f["address_similarity"] = np.where(has_addr, addr, 0.0).astype(np.float32)
    f["address_missing"] = (~has_addr).astype(np.float32)
    agree = np.zeros(n, dtype=bool)
    conflict = np.zeros(n, dtype=bool)
    for scheme in SCHEMES:
        lv = left.identifiers[scheme]
        rv = right.identifiers[scheme]
        if not any(v is not None for v in lv) or not any(v is not None for v in rv):
            continue
        a = [lv[i] for i in li]
        b = [rv[i] for i in ri]
        both = np.fromiter((x is not None and y is not None for x, y in zip(a, b, strict=True)), bool, n)
        eq = np.fromiter((x == y for x, y in zip(a, b, strict=True)), bool, n)
        agree |= both & eq
        conflict |= both & ~eq
    f["identifier_agree"] = agree.astype(np.float32)
    f["identifier_conflict"] = (conflict & ~agree).astype(np.float32)
    # An empty name is no evidence of similarity (RapidFuzz scores two empty strings as identical).
    named = _both(lc, rc)
    for name in _NAME_FEATURES:
        f[name] = np.where(named, f[name], 0.0).astype(np.float32)
    lnat, rnat = _gather(left.native, li), _gather(right.native, ri)
    has_nat = _both(lnat, rnat)
    f["native_name_similarity"] = np.where(has_nat, _fuzz(fuzz.ratio, lnat, rnat), 0.0).astype(np.float32)
    return {name: f[name] for name in FEATURES}
