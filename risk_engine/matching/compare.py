"""Comparison features of candidate pairs: vectorised functions returning 0..1 arrays, one per name.

Every feature is named as the fact it measures. RapidFuzz scores (0..100) are converted to 0..1 here.
Missing values never look like disagreement: a feature that needs both sides is 0 when either side is
missing, and a separate ``*_missing`` feature lets the model weigh the absence itself.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from risk_engine.matching.identifiers import SCHEMES
from risk_engine.matching.normalise import RESPELL_MIN, folded_key, respelled
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
    "native_name_conflict",
    "name_within_at_address",
    "same_name_no_conflict",
    "address_number_conflict",
    "name_without_address",
    "address_other_number",
    "country_conflict_at_address",
    "words_all_aligned",
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
# Keys that folding singular and plural makes equal differ by 1-3 characters a folded word, so their
# sorted-token ratio is high ("toy" / "toys", the shortest such word, 0.86); only pairs at this ratio
# or above are folded, which keeps the pass to a few pairs of a lookup's candidates.
_FOLD_MIN_SORT = 0.75


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


def _gather(values: Sequence[Any], idx: list[int]) -> list[Any]:
    return [values[i] for i in idx]


def _fuzz(scorer: Callable[..., float], a: list[str], b: list[str]) -> np.ndarray:
    if not a:
        return np.zeros(0, dtype=np.float32)
    # Threads only pay off on large batches; a single lookup scores a few dozen pairs.
    out = cpdist(a, b, scorer=scorer, workers=_threads(len(a)), dtype=np.float32)
    return np.asarray(out, dtype=np.float32) / np.float32(100.0)


def _fuzz_many(scorer: Callable[..., float], *parts: tuple[list[str], list[str]]) -> list[np.ndarray]:
    """``_fuzz`` of several pair lists in one RapidFuzz call: the same values, one call's fixed cost."""
    a: list[str] = []
    b: list[str] = []
    for x, y in parts:
        a += x
        b += y
    out = _fuzz(scorer, a, b)
    ends = np.cumsum([len(x) for x, _ in parts])
    return np.split(out, ends[:-1]) if len(parts) > 1 else [out]


def _row_dot(a: sp.csr_matrix, b: sp.csr_matrix, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Row-wise dot products a[li[k]] . b[ri[k]] (cosines, since rows are L2-normalised)."""
    if len(li) == 0:
        return np.zeros(0, dtype=np.float32)
    if len(li) <= _ROW_DOT_DIRECT_MAX:
        direct = _row_dot_direct(a, b, li, ri)
        if direct is not None:
            return direct
    width = max(a.shape[1], b.shape[1])
    a = a if a.shape[1] == width else sp.csr_matrix((a.data, a.indices, a.indptr), shape=(a.shape[0], width))
    b = b if b.shape[1] == width else sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width))
    prod = a[li].multiply(b[ri])
    return np.clip(np.asarray(prod.sum(axis=1)).ravel(), 0.0, 1.0).astype(np.float32)


# Up to this many pairs the row products are taken from the CSR arrays directly: scipy's fancy
# indexing costs a fixed ~0.1 ms per call (a third of a single lookup's features); above it scipy's
# C++ row copy and merge are the faster way.
_ROW_DOT_DIRECT_MAX = 128


def _rows_of(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``m.indices``/``m.data`` of the entries of ``rows`` (in order), and their pair."""
    ptr = m.indptr
    start = ptr[rows].astype(np.int64)
    length = ptr[rows + 1] - start
    pair = np.repeat(np.arange(len(rows)), length)
    # Position = the row's start + the entry's offset within the row.
    pos = np.arange(len(pair), dtype=np.int64) + np.repeat(start - (np.cumsum(length) - length), length)
    return pos, pair


def _increasing(x: np.ndarray) -> bool:
    return len(x) < 2 or bool((x[1:] > x[:-1]).all())


def _row_dot_direct(a: sp.csr_matrix, b: sp.csr_matrix, li: np.ndarray, ri: np.ndarray) -> np.ndarray | None:
    """``_row_dot`` computed exactly as scipy does (same products, same order, same ``add.reduceat``).

    scipy's ``a[li].multiply(b[ri]).sum(axis=1)`` merges the rows in column order when both are in
    canonical form (sorted, no duplicates), keeps the non-zero products and sums each row with
    ``np.add.reduceat``. This does the same without building the matrices. ``None`` (use scipy) when a
    row is not canonical, a value is not finite (``inf * 0`` is kept by scipy) or a dtype is not float.
    """
    if a.data.dtype.kind != "f" or b.data.dtype.kind != "f":
        return None
    n = len(li)
    width = max(a.shape[1], b.shape[1])
    pb, owner_b = _rows_of(b, ri)
    cb = b.indices[pb]
    db = b.data[pb]
    if not _increasing(owner_b * width + cb):
        return None
    dtype = np.result_type(a.data.dtype, b.data.dtype)
    if n and li.min() == li.max():
        # One left row (a lookup): find each right entry in it.
        start, end = int(a.indptr[li[0]]), int(a.indptr[li[0] + 1])
        ca, da = a.indices[start:end], a.data[start:end]
        if not _increasing(ca):
            return None
        if not (np.isfinite(da).all() and np.isfinite(db).all()):
            return None
        at = np.minimum(np.searchsorted(ca, cb), max(len(ca) - 1, 0))
        hit = ca[at] == cb if len(ca) else np.zeros(len(cb), dtype=bool)
        prod = da[at[hit]].astype(dtype, copy=False) * db[hit].astype(dtype, copy=False)
        owner = owner_b[hit]
    else:
        pa, owner_a = _rows_of(a, li)
        ka = owner_a * width + a.indices[pa]
        kb = owner_b * width + cb
        da = a.data[pa]
        if not _increasing(ka) or not (np.isfinite(da).all() and np.isfinite(db).all()):
            return None
        at = np.minimum(np.searchsorted(kb, ka), max(len(kb) - 1, 0))
        hit = kb[at] == ka if len(kb) else np.zeros(len(ka), dtype=bool)
        prod = da[hit].astype(dtype, copy=False) * db[at[hit]].astype(dtype, copy=False)
        owner = owner_a[hit]
    out = np.zeros(n, dtype=dtype)
    keep = prod != 0
    if keep.any():
        counts = np.bincount(owner[keep], minlength=n)
        rows = np.flatnonzero(counts)
        out[rows] = np.add.reduceat(prod[keep], (np.cumsum(counts) - counts)[rows])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


_VOWELS = frozenset("aeiou")


def _contraction_or_plural(short: str, long_: str) -> bool:
    """``short`` is ``long_`` contracted or in the singular where a ratio cannot tell.

    A contraction keeps the first and last letter and some letters between, in order, with at most one
    vowel and at most half the length ("spg" / "spinning", "mfg" / "manufacturing", "dept" /
    "department", "bros" / "brothers"); an English plural in "-ies" ("fishery" / "fisheries", 0.75 by
    ratio).
    """
    ls = len(short)
    if ls < 3 or short[0] != long_[0] or short.isdigit():
        return False
    if short[-1] == "y" and long_ == short[:-1] + "ies":
        return True
    return (
        short[-1] == long_[-1]
        and 2 * ls <= len(long_)
        and sum(ch in _VOWELS for ch in short) <= 1
        and _subsequence(short, long_)
    )


def _respellings_agree(a: str, b: str) -> bool:
    """Both words have 6+ characters and agree (``fuzz.ratio`` >= 80) once ``respelled``."""
    if len(a) < RESPELL_MIN or len(b) < RESPELL_MIN:
        return False
    ra, rb = _respelled_word(a), _respelled_word(b)
    ls = min(len(ra), len(rb))
    return 5 * ls >= 2 * (len(ra) + len(rb)) and fuzz.ratio(ra, rb) >= 80


_respelled_word = functools.lru_cache(maxsize=1 << 16)(respelled)  # a query meets many candidates


def _agrees_with_any(t: str, others: list[str]) -> bool:
    """Whether ``t`` is one of ``others`` written differently: a typo, a plural, an abbreviation.

    Two words agree when the shorter (the first on equal length) has 3+ characters, is not a number
    and starts the longer one or is its contraction or "-y" singular (``_contraction_or_plural``),
    or when both have 4+ characters and ``fuzz.ratio`` >= 80, or when both have 6+ characters and
    agree so once ``respelled`` (another language's spelling or a transliteration). The ratio is
    200 * LCS / (lt + lo) <= 200 * min / (lt + lo): when 5 * min < 2 * (lt + lo) it is below 80 by at
    least 40 / (lt + lo), far beyond rounding, so the call is skipped without changing a decision.
    """
    lt = len(t)
    for o in others:
        lo = len(o)
        short, long_, ls = (t, o, lt) if lt <= lo else (o, t, lo)
        if ls >= 3 and long_.startswith(short) and not short.isdigit():
            return True
        if _contraction_or_plural(short, long_):
            return True
        if ls >= 4 and 5 * ls >= 2 * (lt + lo) and fuzz.ratio(t, o) >= 80:
            return True
        if _respellings_agree(t, o):
            return True
    return False


def _subsequence(short: str, long_: str) -> bool:
    """``short`` is ``long_`` with some characters left out."""
    it = iter(long_)
    return all(ch in it for ch in short)


def _glued(t: str, words: set[str]) -> bool:
    """``t`` is two or more words of ``words`` written together, not all one word.

    "vander" from "van", "der"; "brandixasllingerie" from "brandix", "asl", "lingerie"; not "vanvan"
    from "van".
    """
    todo: list[tuple[int, str, bool]] = [(0, "", True)]  # (position, first word, all pieces that word)
    seen: set[tuple[int, str, bool]] = set()
    while todo:
        pos, first, same = todo.pop()
        for x in words:
            if not x or not t.startswith(x, pos):
                continue
            state = (pos + len(x), first or x, same and x == (first or x))
            if state[0] == len(t):
                if pos > 0 and not state[2]:
                    return True
            elif state not in seen:
                seen.add(state)
                todo.append(state)
    return False


def _inside(t: str, glued: list[str]) -> bool:
    """``t`` is part of a glued word of the other name (one made of this name's words)."""
    return any(t in g for g in glued)


def token_alignment(lk: list[str], rk: list[str], close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which words of two names find no counterpart in the other.

    Returns ``token_substitution`` (both names have a word the other lacks: "Garment" against "Textile",
    "Canada" against "Oil": another entity of a group, more often than not; a number against a word is
    none, "Chariessa Fashion 1" / "Chariessa Fashion Sandanski", numbers being ``number_conflict``'s) and
    ``unmatched_token_share`` (unmatched words over all words). A word matches when the other name has
    it, a spelling of it (ratio >= 0.8, plural, abbreviation as a prefix) or two or more of its words
    glued together ("vander" / "van der"); the words a glued word is made of match too
    ("hirdaramanigarmentskatunayake" / "hirdaramani garments katunayake": no word unmatched). Words only one name has (a dropped city, a seat, an extra
    qualifier) count in the share but are no substitution. Pairs not ``close`` get exact word matching
    only (their names differ anyway, and the fuzzy pass would cost most of the time).

    Small inputs (a lookup's few dozen pairs) go through a plain loop; large ones through arrays of
    word ids. Both give exactly the values of the per-pair definition above
    (tests/matching/test_matching_compare_equivalence.py).
    """
    close = np.asarray(close)
    if len(lk) >= _ALIGN_ARRAYS_MIN:
        return _alignment_arrays(lk, rk, close)
    return _alignment_loop(lk, rk, close)


_ALIGN_ARRAYS_MIN = 64  # below it (a single lookup) the plain loop is faster


def _alignment_loop(lk: list[str], rk: list[str], close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``token_alignment`` pair by pair."""
    n = len(lk)
    sub = [0.0] * n
    share = [0.0] * n
    words: dict[str, tuple[list[str], set[str]]] = {}  # a query meets many candidates: split it once
    for k, (a, b, near) in enumerate(zip(lk, rk, close.tolist(), strict=True)):
        if not a or not b or a == b:
            continue  # equal names: every word matches (share 0, no substitution)
        wa = words.get(a)
        if wa is None:
            wa = words[a] = (a.split(" "), set(a.split(" ")))
        wb = words.get(b)
        if wb is None:
            wb = words[b] = (b.split(" "), set(b.split(" ")))
        ta, sa = wa
        tb, sb = wb
        ua = [t for t in ta if t not in sb]
        ub = [t for t in tb if t not in sa]
        if ua and ub and near:
            ga = [t for t in ua if _glued(t, sb)]
            gb = [o for o in ub if _glued(o, sa)]
            ma = [t for t in ua if not (_agrees_with_any(t, ub) or t in ga or _inside(t, gb))]
            mb = [o for o in ub if not (_agrees_with_any(o, ua) or o in gb or _inside(o, ga))]
        else:
            ma, mb = ua, ub
        # A number against a word is no substitution: numbers are ``number_conflict``'s evidence.
        sub[k] = float(any(not t.isdigit() for t in ma) and any(not o.isdigit() for o in mb))
        share[k] = (len(ma) + len(mb)) / (len(ta) + len(tb))
    return np.asarray(sub, dtype=np.float32), np.asarray(share, dtype=np.float32)


def _ragged(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs ``starts[i] .. starts[i] + counts[i]``: (run of each element, element position)."""
    total = int(counts.sum())
    run = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return run, pos


def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2's hash-based ``np.unique`` is slower here)."""
    s = np.sort(x)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _unique_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and, per element, the position of its value among them."""
    order = np.argsort(x, kind="stable")
    s = x[order]
    first = np.r_[True, s[1:] != s[:-1]] if len(s) else np.zeros(0, dtype=bool)
    inverse = np.empty(len(x), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return s[first], inverse


def _in_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_keys)`` for a sorted, duplicate-free ``sorted_keys``."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _starts_with(words: list[str], long_ids: np.ndarray, short_ids: np.ndarray) -> np.ndarray:
    """``words[long].startswith(words[short])`` per pair of word ids."""
    return _mask(
        [words[x].startswith(words[y]) for x, y in zip(long_ids.tolist(), short_ids.tolist(), strict=True)]
    )


def _alignment_arrays(lk: list[str], rk: list[str], close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_alignment_loop`` over arrays: words as ids, set tests as sorted-key lookups.

    numpy, plain Python and RapidFuzz only (no polars/arrow thread pools): this runs in forked workers.
    """
    n = len(lk)
    sub = np.zeros(n, dtype=np.float32)
    share = np.zeros(n, dtype=np.float32)
    pairs = np.flatnonzero(_mask([bool(a) and bool(b) and a != b for a, b in zip(lk, rk, strict=True)]))
    m = len(pairs)
    if m == 0:
        return sub, share
    # Each distinct name is split once; names and words get ids in order of first appearance.
    sel = pairs.tolist()
    left = [lk[i] for i in sel]
    right = [rk[i] for i in sel]
    distinct = list(dict.fromkeys(left + right))
    name_id = {x: j for j, x in enumerate(distinct)}
    split = [x.split(" ") for x in distinct]
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    starts = np.cumsum(lengths) - lengths
    tokens = list(itertools.chain.from_iterable(split))
    words = list(dict.fromkeys(tokens))
    word_id = {w: i for i, w in enumerate(words)}
    ids = np.fromiter(map(word_id.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    a_name = np.fromiter(map(name_id.__getitem__, left), dtype=np.int64, count=m)
    b_name = np.fromiter(map(name_id.__getitem__, right), dtype=np.int64, count=m)
    vlen = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    first = np.asarray([ord(w[0]) if w else -1 for w in words], dtype=np.int64)
    v = max(len(words), 1)
    len_a, len_b = lengths[a_name], lengths[b_name]
    a_pair, pos = _ragged(starts[a_name], len_a)
    a_id = ids[pos]
    b_pair, pos = _ragged(starts[b_name], len_b)
    b_id = ids[pos]
    a_key = a_pair * v + a_id
    b_key = b_pair * v + b_id
    a_set, b_set = _unique(a_key), _unique(b_key)
    ua = ~_in_sorted(a_key, b_set)  # words of a the other name lacks (repeats counted)
    ub = ~_in_sorted(b_key, a_set)
    na = np.bincount(a_pair[ua], minlength=m)
    nb = np.bincount(b_pair[ub], minlength=m)
    digit = np.zeros(len(words), dtype=bool)  # numbers among the words the other name lacks
    at = _unique(np.concatenate((a_id[ua], b_id[ub])))
    digit[at] = _mask([words[i].isdigit() for i in at.tolist()])
    wa = np.bincount(a_pair[ua & ~digit[a_id]], minlength=m)  # unmatched words that are not numbers
    wb = np.bincount(b_pair[ub & ~digit[b_id]], minlength=m)
    fuzzy = close[pairs].astype(bool) & (na > 0) & (nb > 0)
    if fuzzy.any():
        fa = np.flatnonzero(ua & fuzzy[a_pair])  # entries of unmatched words in pairs that get the fuzzy pass
        fb = np.flatnonzero(ub & fuzzy[b_pair])
        # Every unmatched word of a against every unmatched word of b of the same pair.
        cnt_b = np.bincount(b_pair[fb], minlength=m)
        start_b = np.cumsum(cnt_b) - cnt_b
        ca, cb = _ragged(start_b[a_pair[fa]], cnt_b[a_pair[fa]])
        t_id, o_id = a_id[fa[ca]], b_id[fb[cb]]
        uniq, inv = _unique_inverse(t_id * v + o_id)
        ut, uo = uniq // v, uniq % v
        lt, lo = vlen[ut], vlen[uo]
        short_is_t = lt <= lo
        ls_ = np.minimum(lt, lo)
        short_id = np.where(short_is_t, ut, uo)
        long_id = np.where(short_is_t, uo, ut)
        agree = np.zeros(len(uniq), dtype=bool)
        cand = np.flatnonzero((ls_ >= 3) & (first[ut] == first[uo]))  # a prefix starts with the same letter
        agree[cand] = _starts_with(words, long_id[cand], short_id[cand])
        if agree.any():
            at = np.flatnonzero(agree)
            agree[at] = ~_mask([words[i].isdigit() for i in short_id[at].tolist()])
        rest = cand[~agree[cand]]  # contractions and "-ies" plurals start with the same letter too
        if len(rest):
            agree[rest] = _mask(
                [
                    _contraction_or_plural(words[x], words[y])
                    for x, y in zip(short_id[rest].tolist(), long_id[rest].tolist(), strict=True)
                ]
            )
        need = np.flatnonzero(~agree & (ls_ >= 4) & (5 * ls_ >= 2 * (lt + lo)))  # see _agrees_with_any
        if len(need):
            ratio = cpdist(
                [words[i] for i in ut[need].tolist()],
                [words[i] for i in uo[need].tolist()],
                scorer=fuzz.ratio,
                dtype=np.float64,
                workers=_threads(len(need) // 10),  # short words: threads pay off late
            )
            agree[need] = np.asarray(ratio) >= 80
        need = np.flatnonzero(~agree & (ls_ >= RESPELL_MIN))
        if len(need):
            spelled = np.empty(v, dtype=object)
            at = _unique(np.concatenate((ut[need], uo[need])))
            spelled[at] = [_respelled_word(words[i]) for i in at.tolist()]
            slen = np.zeros(v, dtype=np.int64)
            slen[at] = [len(x) for x in spelled[at].tolist()]
            st, so = slen[ut[need]], slen[uo[need]]
            need = need[5 * np.minimum(st, so) >= 2 * (st + so)]  # as above: below 80 otherwise
        if len(need):
            ratio = cpdist(
                spelled[ut[need]].tolist(),
                spelled[uo[need]].tolist(),
                scorer=fuzz.ratio,
                dtype=np.float64,
                workers=_threads(len(need) // 10),
            )
            agree[need] = np.asarray(ratio) >= 80
        hit = agree[inv]
        hit_a = np.zeros(len(fa), dtype=bool)
        hit_b = np.zeros(len(fb), dtype=bool)
        hit_a[ca[hit]] = True
        hit_b[cb[hit]] = True
        # Glued words among all unmatched words (a glued word may also agree by its prefix).
        glued_a = _glued_entries(fa, a_pair, a_id, b_set, v, words, vlen, first, right)
        glued_b = _glued_entries(fb, b_pair, b_id, a_set, v, words, vlen, first, left)
        rest_a = fa[~hit_a & ~glued_a]
        rest_b = fb[~hit_b & ~glued_b]
        rest_a = rest_a[~_inside_entries(rest_a, a_pair, a_id, fb[glued_b], b_pair, b_id, words)]
        rest_b = rest_b[~_inside_entries(rest_b, b_pair, b_id, fa[glued_a], a_pair, a_id, words)]
        na = np.where(fuzzy, np.bincount(a_pair[rest_a], minlength=m), na)
        nb = np.where(fuzzy, np.bincount(b_pair[rest_b], minlength=m), nb)
        wa = np.where(fuzzy, np.bincount(a_pair[rest_a[~digit[a_id[rest_a]]]], minlength=m), wa)
        wb = np.where(fuzzy, np.bincount(b_pair[rest_b[~digit[b_id[rest_b]]]], minlength=m), wb)
    sub[pairs] = ((wa > 0) & (wb > 0)).astype(np.float32)
    share[pairs] = ((na + nb) / (len_a + len_b)).astype(np.float32)
    return sub, share


def _inside_entries(
    entries: np.ndarray,
    pair: np.ndarray,
    word: np.ndarray,
    glued: np.ndarray,
    g_pair: np.ndarray,
    g_word: np.ndarray,
    words: list[str],
) -> np.ndarray:
    """Which word entries are part of a glued word of the other name in their pair (``_inside``)."""
    out = np.zeros(len(entries), dtype=bool)
    if len(entries) == 0 or len(glued) == 0:
        return out
    by_pair: dict[int, list[str]] = {}
    for p, w in zip(g_pair[glued].tolist(), g_word[glued].tolist(), strict=True):
        by_pair.setdefault(p, []).append(words[w])
    e_pair = pair[entries]
    for i in np.flatnonzero(
        np.isin(e_pair, np.fromiter(by_pair, dtype=np.int64, count=len(by_pair)))
    ).tolist():
        out[i] = _inside(words[int(word[entries[i]])], by_pair[int(e_pair[i])])
    return out


def _glued_entries(
    entries: np.ndarray,
    pair: np.ndarray,
    word: np.ndarray,
    other_set: np.ndarray,
    v: int,
    words: list[str],
    vlen: np.ndarray,
    first: np.ndarray,
    other: list[str],
) -> np.ndarray:
    """Which word entries are words of the other name glued together (see ``_glued``)."""
    out = np.zeros(len(entries), dtype=bool)
    if len(entries) == 0:
        return out
    # A glued word starts with a shorter, non-empty word of the other name: find those (word, prefix)
    # candidates with arrays, then decide the few that remain with ``_glued`` itself.
    o_pair, o_word = other_set // v, other_set % v
    bounds = np.searchsorted(o_pair, np.arange(len(other) + 1))
    e_pair = pair[entries]
    run, pos = _ragged(bounds[e_pair], bounds[e_pair + 1] - bounds[e_pair])
    t, x = word[entries[run]], o_word[pos]
    keep = (vlen[x] >= 1) & (vlen[x] < vlen[t]) & (first[x] == first[t])
    run, t, x = run[keep], t[keep], x[keep]
    if len(run) == 0:
        return out
    for i in _unique(run[_starts_with(words, t, x)]).tolist():
        out[i] = _glued(words[int(word[entries[i]])], set(other[int(e_pair[i])].split(" ")))
    return out


def _mask(values: list[bool]) -> np.ndarray:
    return np.array(values, dtype=bool).reshape(len(values))


def _flags(values: list[bool]) -> np.ndarray:
    return _mask(values).astype(np.float32)


_ADDRESS_AGREES_FROM = np.float32(0.6)


def _agreeing(address: np.ndarray) -> np.ndarray:
    """Address similarity above 0.6 rescaled to 0..1; 0 below (a missing address is 0 already)."""
    return np.clip((address - _ADDRESS_AGREES_FROM) / (np.float32(1.0) - _ADDRESS_AGREES_FROM), 0.0, 1.0)


_SHORT_WORD_CHARS = 10  # a one-word key this long or shorter is a one-word name, not glued words


def _one_short_word(key: str) -> bool:
    return " " not in key and len(key) <= _SHORT_WORD_CHARS


_POSTCODE_DIGITS = 5  # a number this long in an address is a postcode, not a house or plot number


def _numbers_conflict(a: str, b: str) -> bool:
    """Both space-joined number lists are non-empty and each has a number the other lacks.

    One list inside the other is no conflict (a postcode or floor written on one side only); two
    lists that share the postcode or the sector but not the plot are ("Plot 42, Sector 15 ... 75400" /
    "Plot 44, Sector 15 ... 75400": another plot of the same zone). The same house and plot numbers
    with different postcodes (numbers of 5+ digits) are no conflict either: "No. 7&8 Innwa St ...
    11037" / "No 7 8 Innwa Street ... 100043" is one site with its postcode mistyped. A number written
    as two on the other side counts as that number ("Via Venezia 99 101" / "Via Venezia 99101").
    """
    if not a or not b or a == b:
        return False
    sa, sb = set(a.split(" ")), set(b.split(" "))
    if sa <= sb or sb <= sa:
        return False
    glued = _glued_number(sa, sb) or _glued_number(sb, sa)
    if glued:
        sa, sb = (sa - set(glued[1:])) | {glued[0]}, (sb - set(glued[1:])) | {glued[0]}
    ha = {x for x in sa if len(x) < _POSTCODE_DIGITS or (glued and x == glued[0])}
    return not ha or ha != {x for x in sb if len(x) < _POSTCODE_DIGITS or (glued and x == glued[0])}


_GLUED_NUMBER_MIN = 4  # "Plot 1, Block 2" / "No. 12" are two places; "99 101" / "99101" is one number


def _glued_number(sa: set[str], sb: set[str]) -> tuple[str, str, str] | None:
    """A number of ``sb`` that two numbers of ``sa`` spell together, with those two ("99101", "99", "101")."""
    for x in sb - sa:
        for y in sa - sb:
            rest = x[len(y) :]
            if (
                len(x) >= _GLUED_NUMBER_MIN
                and x.startswith(y)
                and rest != y
                and rest in sa
                and rest not in sb
            ):
                return x, y, rest
    return None


def _both(a: list[str], b: list[str]) -> np.ndarray:
    return _mask([bool(x and y) for x, y in zip(a, b, strict=True)])


def _conflict(a: list[str], b: list[str]) -> np.ndarray:
    """Both sides have a value and the values differ."""
    return _flags([bool(x and y and x != y) for x, y in zip(a, b, strict=True)])


# Batches at least this large are compared in reference order (see ``compare_pairs``).
_SORT_PAIRS_MIN = 4_096


def compare_pairs(
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
) -> dict[str, np.ndarray]:
    """All features for the pairs (left[li[k]], right[ri[k]]), as float32 arrays in 0..1.

    Every feature is a function of its pair alone, so a large batch is compared sorted by reference
    position and the results put back in the given order: a link batch's candidates are scattered over
    a large reference side, and reading its columns in order (the records' strings were made in that
    order) spares the dozen gathers per batch most of their CPU cache misses: 1.05-1.21x for
    ``compare_pairs`` on 132k pairs against a 1M reference (``bench/bench_compare.py``, docs/BENCHMARKS.md).
    """
    return _compare_sorted(left, right, li, ri, vectors, None)[1]


# What a pair's deferred features may still be: (lowest, highest) per pair, for each name in DEFERRED.
Ranges = Mapping[str, tuple[np.ndarray, np.ndarray]]
# Which pairs to finish, from the other features' values and the deferred features' ranges.
Keep = Callable[[Mapping[str, np.ndarray], Ranges], np.ndarray]

# The features ``compare_pairs_above`` computes last, only for the pairs that may still pass: the word
# alignment and the address numbers cost about half of all comparison time, and almost every candidate
# of a link has been told apart by the name ratios by then.
DEFERRED: tuple[str, ...] = (
    "token_substitution",
    "unmatched_token_share",
    "words_all_aligned",
    "address_number_conflict",
    "address_other_number",
    "country_conflict_at_address",
)


def compare_pairs_above(
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
    keep: Keep,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``compare_pairs`` for the pairs ``keep`` lets through: (their positions, in order; their features).

    Every feature but those in ``DEFERRED`` is computed first; ``keep`` gets those values and, per
    deferred feature, the interval each pair's value must fall in, and returns a mask of pairs to finish
    (the scorer keeps a pair when the best log-odds the intervals allow reaches its threshold, so
    nothing that could pass is left out). Pairs an identifier settles are always finished. The features
    of a finished pair are exactly ``compare_pairs``'s.
    """
    sel, feats = _compare_sorted(left, right, li, ri, vectors, keep)
    return (np.arange(len(li)) if sel is None else sel), feats


def _compare_sorted(
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
    keep: Keep | None,
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """``_compare_pairs`` in reference order for large batches, results in the given order."""
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    if len(ri) < _SORT_PAIRS_MIN or bool((ri[1:] >= ri[:-1]).all()):
        return _compare_pairs(left, right, li, ri, vectors, keep)
    order = np.argsort(ri, kind="stable")
    sel, feats = _compare_pairs(left, right, li[order], ri[order], vectors, keep)
    pos = order if sel is None else order[sel]
    back = np.argsort(pos, kind="stable")
    return (None if sel is None else pos[back]), {name: values[back] for name, values in feats.items()}


def _compare_pairs(
    left: PreparedRecords,
    right: PreparedRecords,
    li: np.ndarray,
    ri: np.ndarray,
    vectors: PairVectors,
    keep: Keep | None = None,
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """``compare_pairs`` in the given order; with ``keep``, the deferred features of the kept pairs only.

    Returns the kept positions (None: all pairs) and the features of those pairs.
    """
    n = len(li)
    lil, ril = li.tolist(), ri.tolist()
    lc, rc = _gather(left.core, lil), _gather(right.core, ril)
    lk, rk = _gather(left.key, lil), _gather(right.key, ril)
    la, ra = _gather(left.address, lil), _gather(right.address, ril)
    has_addr = _both(la, ra)
    lnat, rnat = _gather(left.native, lil), _gather(right.native, ril)
    has_nat = _both(lnat, rnat)
    # Addresses: the token-set ratio, or the partial ratio of the space-free strings when better: lists
    # glue address words together ("zonekarachi", "pallerotamamadalanonagama"), so the partial ratio
    # counts when both space-free strings have 12+ characters. Scored only where both sides have one
    # (most lookups carry none), like native names.
    addr_at = np.flatnonzero(has_addr).tolist()
    lac = [la[i].replace(" ", "") for i in addr_at]
    rac = [ra[i].replace(" ", "") for i in addr_at]
    glued_at = [j for j, (x, y) in enumerate(zip(lac, rac, strict=True)) if min(len(x), len(y)) >= 12]
    nat_at = np.flatnonzero(has_nat).tolist()
    # Spacing artefacts ("m e r c u r y appar e l", "vogue tex" / "voguetex") vanish without spaces.
    lcc, rcc = [x.replace(" ", "") for x in lc], [x.replace(" ", "") for x in rc]
    # Names with contractions written out ("intl" -> "international") are also compared as written,
    # without spaces: a name whose letters fell apart ("m &v i ntl m anu ...") is glued as written.
    lw, rw = _gather(left.written, lil), _gather(right.written, ril)
    written_at = [k for k, (x, y) in enumerate(zip(lw, rw, strict=True)) if x or y]
    lwc = [lw[k] or lcc[k] for k in written_at]
    rwc = [rw[k] or rcc[k] for k in written_at]
    # One RapidFuzz call per scorer (the same values as one call per feature).
    ratio, sort, compact, compact_written, phonetic, native = _fuzz_many(
        fuzz.ratio,
        (lc, rc),
        (lk, rk),  # keys are the sorted tokens already
        (lcc, rcc),
        (lwc, rwc),
        (_gather(left.phonetic, lil), _gather(right.phonetic, ril)),
        (_gather(lnat, nat_at), _gather(rnat, nat_at)),
    )
    if written_at:
        compact[written_at] = np.maximum(compact[written_at], compact_written)
    token_set, addr_set = _fuzz_many(
        fuzz.token_set_ratio, (lk, rk), (_gather(la, addr_at), _gather(ra, addr_at))
    )
    partial, addr_partial = _fuzz_many(
        fuzz.partial_ratio, (lc, rc), (_gather(lac, glued_at), _gather(rac, glued_at))
    )
    f: dict[str, np.ndarray] = {}
    f["name_ratio"] = ratio
    f["name_token_sort"] = sort
    f["name_token_set"] = token_set
    f["name_partial"] = partial
    f["name_jaro_winkler"] = (
        np.asarray(
            cpdist(lc, rc, scorer=JaroWinkler.normalized_similarity, workers=_threads(n)), dtype=np.float32
        )
        if n
        else np.zeros(0, np.float32)
    )
    f["name_compact_ratio"] = compact
    f["name_gram_cosine"] = _row_dot(vectors.left_grams, vectors.right_grams, li, ri)
    f["rare_token_overlap"] = _row_dot(vectors.left_tokens, vectors.right_tokens, li, ri)
    f["phonetic_similarity"] = phonetic
    # A name of one short word ("Felix", "Desi"): a long one-word key is mostly words glued together
    # ("jinnatknitwearsltd"), which is how the generated training pairs meet one-word keys, and which
    # taught the model to trust one-word names.
    f["single_token_name"] = _flags(
        [_one_short_word(x) or _one_short_word(y) for x, y in zip(lk, rk, strict=True)]
    )
    # The same words after normalisation (legal form, case, punctuation, order aside), a descriptive
    # word's singular and plural counted as one ("Storage Technology" / "Storage Technologies").
    same_key = [bool(x) and x == y for x, y in zip(lk, rk, strict=True)]
    for k in np.flatnonzero((sort >= _FOLD_MIN_SORT) & (sort < 1.0)).tolist():
        same_key[k] = bool(lk[k]) and folded_key(lk[k]) == folded_key(rk[k])
    f["same_name_key"] = _flags(same_key)
    lnum, rnum = _gather(left.numbers, lil), _gather(right.numbers, ril)
    lbr, rbr = _gather(left.branch, lil), _gather(right.branch, ril)
    f["number_conflict"] = _conflict(lnum, rnum)
    f["branch_conflict"] = _conflict(lbr, rbr)
    lg, rg = _gather(left.legal_generic, lil), _gather(right.legal_generic, ril)
    f["legal_form_conflict"] = _flags(
        [x is not None and y is not None and x != y for x, y in zip(lg, rg, strict=True)]
    )
    lco, rco = _gather(left.country, lil), _gather(right.country, ril)
    known = _mask([x is not None and y is not None for x, y in zip(lco, rco, strict=True)])
    same = _mask([x == y for x, y in zip(lco, rco, strict=True)])
    f["country_match"] = (known & same).astype(np.float32)
    f["country_conflict"] = (known & ~same).astype(np.float32)
    address = np.zeros(n, dtype=np.float32)
    address[addr_at] = addr_set
    if glued_at:
        spaced = np.zeros(n, dtype=np.float32)
        spaced[[addr_at[j] for j in glued_at]] = addr_partial
        address = np.maximum(address, spaced)
    f["address_similarity"] = address
    f["address_missing"] = (~has_addr).astype(np.float32)
    agree = np.zeros(n, dtype=bool)
    conflict = np.zeros(n, dtype=bool)
    for scheme in SCHEMES:
        a = _gather(left.identifiers[scheme], lil)
        if all(x is None for x in a):
            continue  # no pair has this identifier on both sides (scans the pairs, not the reference)
        b = _gather(right.identifiers[scheme], ril)
        both = _mask([x is not None and y is not None for x, y in zip(a, b, strict=True)])
        eq = _mask([x == y for x, y in zip(a, b, strict=True)])
        agree |= both & eq
        conflict |= both & ~eq
    f["identifier_agree"] = agree.astype(np.float32)
    f["identifier_conflict"] = (conflict & ~agree).astype(np.float32)
    # An empty name is no evidence of similarity (RapidFuzz scores two empty strings as identical).
    named = _both(lc, rc)
    if not named.all():
        for name in _NAME_FEATURES:
            f[name] = np.where(named, f[name], 0.0).astype(np.float32)
    f["native_name_similarity"] = np.zeros(n, dtype=np.float32)
    f["native_name_similarity"][nat_at] = native
    # Two native-script names conflict when neither is the other with characters added ("佛山佳明服装"
    # in "佛山市佳明服装" is no conflict; "佛山嘉铭服装", which transliterates alike, is). A missing
    # native name is no evidence either way.
    f["native_name_conflict"] = np.zeros(n, dtype=np.float32)
    f["native_name_conflict"][nat_at] = [
        not (_subsequence(lnat[i], rnat[i]) or _subsequence(rnat[i], lnat[i])) for i in nat_at
    ]
    # One name inside the other at the same address: the token-set ratio (1 when one name's words are
    # all in the other) times how far the addresses agree (0 up to a similarity of 0.6, so that a
    # missing address and another site's address read alike here); 0 for the same name, which
    # ``same_name_key`` and ``same_name_no_conflict`` carry. "Hirdaramani Mercury" at Mercury's address
    # is a group writing its site's name in full; the same name elsewhere is another site of the group.
    # Features enter the model additively, so this product is how agreement of both can count more.
    f["name_within_at_address"] = (
        f["name_token_set"] * _agreeing(f["address_similarity"]) * (1 - f["same_name_key"])
    ).astype(np.float32)
    # The same name and nothing that tells the two apart: the same branch or plant marker and numbers
    # (or none on both sides), no conflict of country, identifier or native name. Without it the
    # additive model spreads what branches teach ("X Dongguan Branch" is not "X", nor "X Shenzhen
    # Branch"; all three share a key) over every pair with the same key.
    same_branch = _mask([x == y for x, y in zip(lbr, rbr, strict=True)])
    same_numbers = _mask([x == y for x, y in zip(lnum, rnum, strict=True)])
    f["same_name_no_conflict"] = (
        (f["same_name_key"] > 0)
        & same_branch
        & same_numbers
        & (f["country_conflict"] == 0)
        & (f["identifier_conflict"] == 0)
        & (f["native_name_conflict"] == 0)
    ).astype(np.float32)
    # The name's similarity where an address is missing on either side: the additive model weighs a
    # name by what it proves on average, and pairs with both addresses lean on the address, so without
    # this term a misspelt name with no address to back it ("AKH APPARLES" / "AKH Apparels") would be
    # held to the standard of a pair whose addresses could have agreed. Names as written, no spaces.
    f["name_without_address"] = (f["name_compact_ratio"] * f["address_missing"]).astype(np.float32)
    sel = None
    if keep is not None and n:
        passing = keep(f, _deferred_ranges(f, lk, rk, named)) | (f["identifier_agree"] > 0)
        if not passing.all():
            sel = np.flatnonzero(passing)
            f = {name: values[sel] for name, values in f.items()}
            at = sel.tolist()
            lk, rk, lil, ril = _gather(lk, at), _gather(rk, at), _gather(lil, at), _gather(ril, at)
            named, has_addr = named[sel], has_addr[sel]
    _deferred_features(f, left, right, lil, ril, lk, rk, named, has_addr)
    return sel, {name: f[name] for name in FEATURES}


def _deferred_ranges(f: Mapping[str, np.ndarray], lk: list[str], rk: list[str], named: np.ndarray) -> Ranges:
    """The interval each deferred feature of a pair falls in, from the features computed so far.

    The word-alignment features may take any value (``words_all_aligned`` none but 0 for the same key,
    an unnamed side or a one-word key); the address number conflict only arises where both sides have
    an address, and the two features it enters move within what the address similarity allows.
    """
    n = len(lk)
    zero, one = np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)
    has_addr = (1 - f["address_missing"]).astype(np.float32)
    multi_word = _flags([" " in x and " " in y for x, y in zip(lk, rk, strict=True)])
    return {
        "token_substitution": (zero, one),
        "unmatched_token_share": (zero, one),
        "words_all_aligned": (zero, multi_word * named * (1 - f["same_name_key"])),
        "address_number_conflict": (zero, has_addr),
        "address_other_number": (zero, f["address_similarity"] * has_addr),
        "country_conflict_at_address": (zero, f["country_conflict"] * _agreeing(f["address_similarity"])),
    }


def _deferred_features(
    f: dict[str, np.ndarray],
    left: PreparedRecords,
    right: PreparedRecords,
    lil: list[int],
    ril: list[int],
    lk: list[str],
    rk: list[str],
    named: np.ndarray,
    has_addr: np.ndarray,
) -> None:
    """The features in ``DEFERRED``, added to ``f`` (whose arrays hold the same pairs)."""
    n = len(lk)
    f["token_substitution"], f["unmatched_token_share"] = token_alignment(
        lk, rk, np.maximum(f["name_token_sort"], f["name_compact_ratio"]) >= 0.5
    )
    # Both addresses carry numbers and each has one the other lacks: another house or plot (perhaps in
    # the same zone, with the same postcode). The token-set ratio reads "219 S Dearborn Street" and
    # "610 S Canal Street" as 0.72 alike.
    f["address_number_conflict"] = np.zeros(n, dtype=np.float32)
    addr_at = np.flatnonzero(has_addr).tolist()
    if addr_at:
        ln = _gather(left.address_numbers, [lil[i] for i in addr_at])
        rn = _gather(right.address_numbers, [ril[i] for i in addr_at])
        f["address_number_conflict"][addr_at] = [_numbers_conflict(x, y) for x, y in zip(ln, rn, strict=True)]
    # How alike two addresses are whose numbers conflict: words that agree up to the plot or house
    # number ("Plot 31, Dhaka EPZ" / "Plot 12, Dhaka EPZ") place two sites in one zone, not one site.
    # A separate term, because the additive model otherwise reads such a pair's 0.98 word similarity
    # as it reads a typo's.
    f["address_other_number"] = (f["address_similarity"] * f["address_number_conflict"]).astype(np.float32)
    # Two countries for one address: how far the addresses agree (as in ``name_within_at_address``)
    # where the country fields conflict and the address numbers do not. A namesake abroad has its own
    # address; the same plot in the same park under two country codes is a slip in the country field
    # ("... Plot # 675 Wadi Ad Dulayl Industrial Park", JO / IL).
    f["country_conflict_at_address"] = (
        f["country_conflict"] * _agreeing(f["address_similarity"]) * (1 - f["address_number_conflict"])
    ).astype(np.float32)
    # Different keys of two or more words each whose every word has a counterpart in the other name (a
    # spelling, a plural, an abbreviation, a respelling, words glued together): "Schlumberger Tech" /
    # "Schlumberger Technology" reads 0.85 by ratio, as two names one word apart do. A dropped or
    # substituted word leaves one unmatched. For one-word names the word's agreement is all the ratios
    # measure already ("Desi" / "Desir").
    aligned = np.flatnonzero(named & (f["same_name_key"] == 0) & (f["unmatched_token_share"] == 0))
    f["words_all_aligned"] = np.zeros(n, dtype=np.float32)
    f["words_all_aligned"][aligned] = [" " in lk[k] and " " in rk[k] for k in aligned.tolist()]
