"""``compare_pairs`` gives exactly the feature values of the per-pair implementation it replaced.

The trained matcher (models/matcher-v1.json) was fitted on the values of that implementation, so a
faster ``compare.py`` must reproduce them bit for bit. The reference below is the implementation of
commit 383a9a4 kept as the oracle (straightforward per-pair loops and scipy row products); the inputs
are generated deterministically here: realistic candidate pairs of perturbed generated names, and hard
cases (empty names, one token, glued words, 10,000-character names, non-Latin scripts, identical names,
repeated tokens, digits, prefixes).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from risk_engine.matching import compare
from risk_engine.matching.compare import (
    FEATURES,
    PairVectors,
    compare_pairs,
    compare_pairs_above,
    token_alignment,
)
from risk_engine.matching.identifiers import SCHEMES
from risk_engine.matching.index import EntityIndex, score_pairs
from risk_engine.matching.normalise import folded_key
from risk_engine.matching.records import PreparedRecords, prepare_records
from risk_engine.matching.synth import generate_entities, perturb, perturb_address

# --- reference: compare.py as of 383a9a4, per pair ---------------------------------------------------

_REF_NAME_FEATURES = (
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


def _ref_gather(values: Sequence[str], idx: np.ndarray) -> list[str]:
    return [values[i] for i in idx]


def _ref_fuzz(scorer: Callable[..., float], a: list[str], b: list[str]) -> np.ndarray:
    if not a:
        return np.zeros(0, dtype=np.float32)
    out = cpdist(a, b, scorer=scorer, workers=1, dtype=np.float32)
    return np.asarray(out, dtype=np.float32) / np.float32(100.0)


def ref_row_dot(a: sp.csr_matrix, b: sp.csr_matrix, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    if len(li) == 0:
        return np.zeros(0, dtype=np.float32)
    width = max(a.shape[1], b.shape[1])
    a = a if a.shape[1] == width else sp.csr_matrix((a.data, a.indices, a.indptr), shape=(a.shape[0], width))
    b = b if b.shape[1] == width else sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width))
    prod = a[li].multiply(b[ri])
    return np.clip(np.asarray(prod.sum(axis=1)).ravel(), 0.0, 1.0).astype(np.float32)


def _ref_respelled(w: str) -> str:
    w = w.replace("ph", "f")
    w = "".join({"c": "k", "q": "k", "w": "v", "y": "i", "j": "i", "x": "ks"}.get(ch, ch) for ch in w)
    w = w[:1] + "".join(ch for ch in w[1:] if ch != "h")
    return "".join(ch for k, ch in enumerate(w) if k == 0 or w[k - 1] != ch)


def _ref_tokens_agree(a: str, b: str) -> bool:
    if len(a) >= 4 and len(b) >= 4 and fuzz.ratio(a, b) >= 80:
        return True
    if len(a) >= 6 and len(b) >= 6 and fuzz.ratio(_ref_respelled(a), _ref_respelled(b)) >= 80:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 3 or short.isdigit():
        return False
    if long_.startswith(short):
        return True
    # A contraction (first and last letter kept, letters in order, at most one vowel, at most half the
    # length) or a "-y" / "-ies" plural.
    if short[0] == long_[0] and short.endswith("y") and long_ == short[:-1] + "ies":
        return True
    letters = iter(long_)
    return (
        short[0] == long_[0]
        and short[-1] == long_[-1]
        and 2 * len(short) <= len(long_)
        and sum(ch in "aeiou" for ch in short) <= 1
        and all(ch in letters for ch in short)
    )


def _ref_glued(t: str, words: list[str]) -> bool:
    """``t`` splits into two or more words of ``words``, not all the same word (every split listed)."""

    def splits(pos: int) -> list[list[str]]:
        if pos == len(t):
            return [[]]
        return [[w, *rest] for w in set(words) if w and t.startswith(w, pos) for rest in splits(pos + len(w))]

    return any(len(s) >= 2 and len(set(s)) > 1 for s in splits(0))


def _ref_unmatched(
    mine: list[str], other: list[str], my_words: list[str], other_words: list[str]
) -> list[str]:
    # A word matches: it agrees with an unmatched word of the other name, it is the other name's
    # words glued together, or it lies inside an unmatched word of the other name glued from mine.
    glued_other = [o for o in other if _ref_glued(o, my_words)]
    missing = []
    for t in mine:
        if _ref_glued(t, other_words) or any(_ref_tokens_agree(t, o) for o in other):
            continue
        if any(t in g for g in glued_other):
            continue
        missing.append(t)
    return missing


def ref_token_alignment(lk: list[str], rk: list[str], close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
            ma, mb = _ref_unmatched(ua, ub, ta, tb), _ref_unmatched(ub, ua, tb, ta)
        else:
            ma, mb = ua, ub
        na, nb = len(ma), len(mb)
        # Unmatched words that are not numbers, on both sides.
        sub[k] = float(any(not t.isdigit() for t in ma) and any(not t.isdigit() for t in mb))
        share[k] = (na + nb) / (len(ta) + len(tb))
    return sub, share


def _ref_within(a: str, b: str) -> bool:
    """``a`` can be read in ``b`` from left to right, skipping characters of ``b``."""
    j = 0
    for ch in b:
        if j < len(a) and a[j] == ch:
            j += 1
    return j == len(a)


def _ref_both(a: list[str], b: list[str]) -> np.ndarray:
    return np.fromiter((bool(x) and bool(y) for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))


def reference_compare_pairs(
    left: PreparedRecords, right: PreparedRecords, li: np.ndarray, ri: np.ndarray, vectors: PairVectors
) -> dict[str, np.ndarray]:
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    n = len(li)
    lc, rc = _ref_gather(left.core, li), _ref_gather(right.core, ri)
    lk, rk = _ref_gather(left.key, li), _ref_gather(right.key, ri)
    f: dict[str, np.ndarray] = {}
    f["name_ratio"] = _ref_fuzz(fuzz.ratio, lc, rc)
    f["name_token_sort"] = _ref_fuzz(fuzz.ratio, lk, rk)
    f["name_token_set"] = _ref_fuzz(fuzz.token_set_ratio, lk, rk)
    f["name_partial"] = _ref_fuzz(fuzz.partial_ratio, lc, rc)
    f["name_jaro_winkler"] = (
        np.asarray(cpdist(lc, rc, scorer=JaroWinkler.normalized_similarity, workers=1), dtype=np.float32)
        if n
        else np.zeros(0, np.float32)
    )
    lcc, rcc = [x.replace(" ", "") for x in lc], [x.replace(" ", "") for x in rc]
    lw, rw = _ref_gather(left.written, li), _ref_gather(right.written, ri)
    # Names with contractions written out are also compared as written; the better ratio counts.
    f["name_compact_ratio"] = np.maximum(
        _ref_fuzz(fuzz.ratio, lcc, rcc),
        _ref_fuzz(
            fuzz.ratio,
            [w or c for w, c in zip(lw, lcc, strict=True)],
            [w or c for w, c in zip(rw, rcc, strict=True)],
        ),
    )
    f["name_gram_cosine"] = ref_row_dot(vectors.left_grams, vectors.right_grams, li, ri)
    f["rare_token_overlap"] = ref_row_dot(vectors.left_tokens, vectors.right_tokens, li, ri)
    f["phonetic_similarity"] = _ref_fuzz(
        fuzz.ratio, _ref_gather(left.phonetic, li), _ref_gather(right.phonetic, ri)
    )
    f["single_token_name"] = np.fromiter(
        (
            (x.count(" ") == 0 and len(x) <= 10) or (y.count(" ") == 0 and len(y) <= 10)
            for x, y in zip(lk, rk, strict=True)
        ),
        dtype=bool,
        count=n,
    ).astype(np.float32)
    # Per pair: the keys agree once every descriptive word is in one number (no ratio prefilter here).
    f["same_name_key"] = np.fromiter(
        (bool(x) and folded_key(x) == folded_key(y) for x, y in zip(lk, rk, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    f["token_substitution"], f["unmatched_token_share"] = ref_token_alignment(
        lk, rk, np.maximum(f["name_token_sort"], f["name_compact_ratio"]) >= 0.5
    )
    ln, rn = _ref_gather(left.numbers, li), _ref_gather(right.numbers, ri)
    f["number_conflict"] = np.fromiter(
        (bool(x) and bool(y) and x != y for x, y in zip(ln, rn, strict=True)), dtype=bool, count=n
    ).astype(np.float32)
    lb, rb = _ref_gather(left.branch, li), _ref_gather(right.branch, ri)
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
    la, ra = _ref_gather(left.address, li), _ref_gather(right.address, ri)
    has_addr = _ref_both(la, ra)
    addr = _ref_fuzz(fuzz.token_set_ratio, la, ra)
    lac = [x.replace(" ", "") for x in la]
    rac = [x.replace(" ", "") for x in ra]
    compact = _ref_fuzz(fuzz.partial_ratio, lac, rac)
    long_enough = np.fromiter((min(len(x), len(y)) >= 12 for x, y in zip(lac, rac, strict=True)), bool, n)
    addr = np.maximum(addr, np.where(long_enough, compact, 0.0)).astype(np.float32)
    f["address_similarity"] = np.where(has_addr, addr, 0.0).astype(np.float32)
    f["address_missing"] = (~has_addr).astype(np.float32)
    f["address_number_conflict"] = np.fromiter(
        (
            bool(h)
            and bool(x := {w.lstrip("0") or "0" for w in a.split() if w.isdigit()})
            and bool(y := {w.lstrip("0") or "0" for w in b.split() if w.isdigit()})
            and not (x <= y or y <= x)  # each has a number the other lacks
            and _ref_numbers_differ(x, y)
            for h, a, b in zip(has_addr.tolist(), la, ra, strict=True)
        ),
        dtype=bool,
        count=n,
    ).astype(np.float32)
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
    named = _ref_both(lc, rc)
    for name in _REF_NAME_FEATURES:
        f[name] = np.where(named, f[name], 0.0).astype(np.float32)
    lnat, rnat = _ref_gather(left.native, li), _ref_gather(right.native, ri)
    has_nat = _ref_both(lnat, rnat)
    f["native_name_similarity"] = np.where(has_nat, _ref_fuzz(fuzz.ratio, lnat, rnat), 0.0).astype(np.float32)
    f["native_name_conflict"] = np.fromiter(
        (
            bool(h) and not (_ref_within(a, b) or _ref_within(b, a))
            for h, a, b in zip(has_nat.tolist(), lnat, rnat, strict=True)
        ),
        dtype=bool,
        count=n,
    ).astype(np.float32)
    agreeing = np.clip(
        (f["address_similarity"] - np.float32(0.6)) / (np.float32(1.0) - np.float32(0.6)), 0.0, 1.0
    )
    f["name_within_at_address"] = (f["name_token_set"] * agreeing * (1 - f["same_name_key"])).astype(
        np.float32
    )
    # Per pair: the same key (singular and plural as one), branch marker and name numbers, and none of
    # the three conflicts.
    f["same_name_no_conflict"] = np.asarray(
        [
            float(
                bool(left.key[a])
                and folded_key(left.key[a]) == folded_key(right.key[b])
                and left.branch[a] == right.branch[b]
                and left.numbers[a] == right.numbers[b]
                and f["country_conflict"][k] == 0
                and f["identifier_conflict"][k] == 0
                and f["native_name_conflict"][k] == 0
            )
            for k, (a, b) in enumerate(zip(li, ri, strict=True))
        ],
        dtype=np.float32,
    )
    f["name_without_address"] = (f["name_compact_ratio"] * f["address_missing"]).astype(np.float32)
    f["address_other_number"] = (f["address_similarity"] * f["address_number_conflict"]).astype(np.float32)
    f["country_conflict_at_address"] = (
        f["country_conflict"] * agreeing * (1 - f["address_number_conflict"])
    ).astype(np.float32)
    f["words_all_aligned"] = np.asarray(
        [
            " " in a and " " in b and s == 0 and k == 0  # two or more words on each side
            for a, b, s, k in zip(lk, rk, f["unmatched_token_share"], f["same_name_key"], strict=True)
        ],
        dtype=np.float32,
    )
    return {name: f[name] for name in FEATURES}


def _ref_numbers_differ(x: set[str], y: set[str]) -> bool:
    """Not the same house numbers (postcodes of 5+ digits aside; "99 101" on one side is "99101")."""
    for one, other in ((x, y), (y, x)):
        pairs = [(p, q) for p in one - other for q in one - other if p != q and q not in other]
        glued = [(p, q) for p, q in pairs if p + q in other - one and len(p + q) >= 4]
        if glued:
            p, q = glued[0]
            house = {p + q}
            x2 = {w for w in (one - {p, q}) | house if len(w) < 5 or w in house}
            y2 = {w for w in other if len(w) < 5 or w in house}
            return not x2 or x2 != y2
    return not ({w for w in x if len(w) < 5} == {w for w in y if len(w) < 5} != set())


# --- deterministic inputs ----------------------------------------------------------------------------

_WORDS = [
    "huamei",
    "garment",
    "garments",
    "textile",
    "tex",
    "technology",
    "tech",
    "international",
    "intl",
    "van",
    "der",
    "vander",
    "de",
    "la",
    "shenzhen",
    "guangzhou",
    "dongguan",
    "apparel",
    "apparels",
    "knit",
    "knits",
    "knitwear",
    "1",
    "2",
    "12",
    "123",
    "1234",
    "no",
    "factory",
    "branch",
    "plant",
    "unit",
    "sunrise",
    "sun",
    "rise",
    "sunrisetextile",
    "vogue",
    "voguetex",
    "abc",
    "abcd",
    "abcde",
    "a",
    "aa",
    "aaaa",
    "mercury",
    "m",
    "e",
    "r",
    "c",
    "u",
    "r",
    "y",
]


def _long_name(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(_WORDS) + rng.choice(("", "", "x", "ing", "s")))
    return " ".join(words)[:length]


def _hard_names(rng: random.Random) -> list[str]:
    long_a = _long_name(rng, 10_000)
    long_b = " ".join(w for w in long_a.split(" ") if rng.random() < 0.9)  # similar, words dropped
    return [
        "",
        "   ",
        "Co., Ltd.",
        "Ltd",
        "Huamei",
        "Huameii",
        "Huamei Garment Co., Ltd.",
        "Shenzhen Huamei Garment Co., Ltd.",
        "Shenzhen Huamei Garments Co Ltd",
        "Shenzhen Huamei Textile Co., Ltd.",
        "Shenzhen Hua Mei Garment",
        "Shenzhen Huamei Garment Dongguan Branch",
        "Shenzhen Huamei Garment Shenzhen Branch",
        "Shenzhen Huamei Garment Factory No. 2",
        "Shenzhen Huamei Garment Factory No. 1",
        "C. vander Lely N.V.",
        "C. van der Lely N.V.",
        "Van Van Der Lely",
        "Vogue Tex Apparel",
        "Voguetex Apparel",
        "V o g u e Tex Apparel",
        "Sunrise Textile Mills",
        "Sunrisetextile Mills",
        "Schlumberger Tech B.V.",
        "Schlumberger Technology",
        "Intl Knit Trading",
        "International Knitwear Trading",
        "Toys",
        "Toy",
        "Global Storage Technologies Industries",
        "Global Storage Technology Industry",
        "Shell Internationale Research",
        "Shell International Research",
        "123 Trading",
        "1234 Trading",
        "12 Trading 1234",
        "aa aa Trading",
        "aaaa Trading",
        "aaaa aa Trading",
        "Abc Abcd Abcde",
        "Abcde Abcd",
        "Mercury Apparel Pvt. Ltd.",
        "M e r c u r y Appar el Pvt Ltd",
        "广州华美服装有限公司",
        "广州华美 Guangzhou Huamei",
        "株式会社トヨタ",
        "ООО Ромашка Текстиль",
        "Ромашка Текстиль",
        "شركة النور للنسيج",
        "삼성전자 주식회사",
        "Ünïcödé Tëxtïl GmbH",
        "Unicode Textil GmbH",
        long_a,
        long_b,
        "x" * 10_000,
        "x" * 9_999 + "y",
        "Huamei" * 1_500,
    ]


def _frame(ids: list[str], names: list[str], rng: random.Random, addresses: list[str | None]) -> pl.DataFrame:
    n = len(ids)
    countries = [rng.choice(("CN", "CN", "IN", "BD", "NL", "DE", None, "Narnia")) for _ in range(n)]
    native = [rng.choice((None, None, None, "广州华美服装", "华美", "Ромашка")) for _ in range(n)]
    duns = [rng.choice((None,) * 8 + ("123456789", "987654321")) for _ in range(n)]
    return pl.DataFrame(
        {
            "id": ids,
            "name": names,
            "country": countries,
            "address": addresses,
            "native_name": native,
            "duns": duns,
        },
        schema=dict.fromkeys(("id", "name", "country", "address", "native_name", "duns"), pl.String),
    )


class Case:
    """A reference side, a query side, their vectors and candidate pairs (all deterministic)."""

    def __init__(self) -> None:
        rng = random.Random(20261205)
        gen = generate_entities(1500, seed=424242)
        hard = _hard_names(rng)
        ref_names = gen["name"].to_list() + hard
        ref_addr = gen["address"].to_list() + [
            rng.choice((None, "", "No. 5 Road", "Zone Karachi", "zonekarachi industrial area 5", "x" * 300))
            for _ in hard
        ]
        ref = _frame([f"R{i}" for i in range(len(ref_names))], ref_names, rng, ref_addr)
        picks = [rng.randrange(gen.height) for _ in range(700)]
        q_names = [perturb(gen["name"][s], rng) for s in picks] + hard + [h.upper() for h in hard[:20]]
        q_addr = [perturb_address(gen["address"][s], rng) for s in picks] + [
            rng.choice((None, "No.5 Rd", "zone karachi", "ZONEKARACHI INDUSTRIAL AREA 5", "x" * 299))
            for _ in range(len(q_names) - len(picks))
        ]
        query = _frame([f"Q{i}" for i in range(len(q_names))], q_names, rng, q_addr)
        self.index = EntityIndex.build(ref)
        self.left = prepare_records(query, side="query", workers=1)
        self.right = self.index.ref
        cand = self.index.candidates
        qg, qt = cand.query_matrices(self.left.core, self.left.key)
        self.vectors = PairVectors(qg, cand.gram_matrix, qt, cand.token_matrix)
        qis, ris = [], []
        for _, qi, ri, _ in cand.candidates(qg, qt, self.left.country, keys=self.left.key):
            qis.append(qi)
            ris.append(ri)
        hq = np.arange(len(picks), len(q_names))
        hr = np.arange(gen.height, len(ref_names))
        qis.append(np.repeat(hq, len(hr)))  # every hard query against every hard reference name
        ris.append(np.tile(hr, len(hq)))
        qis.append(np.asarray([rng.randrange(len(q_names)) for _ in range(500)]))  # random pairs
        ris.append(np.asarray([rng.randrange(len(ref_names)) for _ in range(500)]))
        self.li = np.concatenate(qis).astype(np.int64)
        self.ri = np.concatenate(ris).astype(np.int64)


@pytest.fixture(scope="module")
def case() -> Case:
    return Case()


def _assert_identical(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want) == list(FEATURES)
    for name in FEATURES:
        g, w = got[name], want[name]
        assert g.dtype == w.dtype == np.float32, name
        assert g.shape == w.shape, name
        diff = np.flatnonzero(g.view(np.uint32) != w.view(np.uint32))
        assert len(diff) == 0, (
            f"{name}: {len(diff)} values differ, first at {diff[:5]}: {g[diff[:5]]} != {w[diff[:5]]}"
        )


def test_inputs_reach_every_branch(case: Case) -> None:
    want = reference_compare_pairs(case.left, case.right, case.li, case.ri, case.vectors)
    assert len(case.li) > 4000
    for name in FEATURES:  # every feature takes both values 0 and something else somewhere
        assert (want[name] == 0).any() and (want[name] > 0).any(), name
    lk = [case.left.key[i] for i in case.li]
    rk = [case.right.key[i] for i in case.ri]
    exact = ref_token_alignment(lk, rk, np.zeros(len(lk), bool))[1]
    fuzzy = want["unmatched_token_share"]
    assert (fuzzy < exact).sum() > 100  # the fuzzy pass (spellings, prefixes, glued words) matters
    assert max(len(k) for k in lk) > 900  # long names are in (cut to 1,000 characters)


@pytest.mark.parametrize("chunk", [None, 1, 7, 100, 2_500])
def test_features_are_bit_identical_to_the_reference(case: Case, chunk: int | None) -> None:
    li, ri = case.li, case.ri
    step = len(li) if chunk is None else chunk
    for a in range(0, len(li), step):
        b = a + step
        _assert_identical(
            compare_pairs(case.left, case.right, li[a:b], ri[a:b], case.vectors),
            reference_compare_pairs(case.left, case.right, li[a:b], ri[a:b], case.vectors),
        )
        if chunk == 1 and a >= 600:  # single pairs: enough of them (the API's shape)
            break


def test_no_pairs_and_single_lookups(case: Case) -> None:
    empty = np.zeros(0, np.int64)
    _assert_identical(
        compare_pairs(case.left, case.right, empty, empty, case.vectors),
        reference_compare_pairs(case.left, case.right, empty, empty, case.vectors),
    )
    for q in range(len(case.left) - 80, len(case.left), 3):  # a lookup: one query, its candidates
        sel = case.li == q
        li, ri = case.li[sel], case.ri[sel]
        _assert_identical(
            compare_pairs(case.left, case.right, li, ri, case.vectors),
            reference_compare_pairs(case.left, case.right, li, ri, case.vectors),
        )


def _adversarial_keys(rng: random.Random, n: int) -> list[str]:
    alphabet = (
        "a",
        "aa",
        "ab",
        "abc",
        "abcd",
        "abcde",
        "abcx",
        "ba",
        "b",
        "1",
        "12",
        "123",
        "1234",
        "van",
        "der",
        "vander",
        "derva",
        "tex",
        "textile",
        "textiles",
        "textle",
        "tekstil",
        "philips",
        "filipps",
        "",
        " ",
        "ß",
        "ss",
        "华美",
    )
    keys = []
    for _ in range(n):
        words = [rng.choice(alphabet) for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 8)))]
        if rng.random() < 0.2 and words:
            words.append(words[0] + rng.choice(words))  # a glued pair (sometimes a word glued to itself)
            if rng.random() < 0.5:
                words[-1] += rng.choice(words)  # three words glued
        keys.append(" ".join(words) if rng.random() < 0.9 else "  ".join(words))
    return keys


def test_token_alignment_matches_the_reference_on_adversarial_keys() -> None:
    rng = random.Random(11)
    lk = _adversarial_keys(rng, 6000)
    rk = [k if rng.random() < 0.05 else rng.choice(lk) for k in _adversarial_keys(rng, 6000)]
    close = np.asarray([rng.random() < 0.8 for _ in lk])
    for a, b in ((0, 6000), (0, 1), (1, 30), (30, 2030)):
        want = ref_token_alignment(lk[a:b], rk[a:b], close[a:b])
        for got in (
            token_alignment(lk[a:b], rk[a:b], close[a:b]),
            compare._alignment_loop(lk[a:b], rk[a:b], close[a:b]),  # both paths, whatever the size
            compare._alignment_arrays(lk[a:b], rk[a:b], close[a:b]),
        ):
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and np.array_equal(g.view(np.uint32), w.view(np.uint32))


def test_token_alignment_of_unusual_text() -> None:
    lk = ["ab\ud800c de", "vander x", "Ab\x00cd efgh", "ǅemal ǆ"] * 300  # lone surrogate, NUL, titlecase
    rk = ["ab\ud800c df", "van der x", "ab\x00cde efg", "Ǆemal ǅ"] * 300
    close = np.ones(len(lk), dtype=bool)
    got = token_alignment(lk, rk, close)
    want = ref_token_alignment(lk, rk, close)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g.view(np.uint32), w.view(np.uint32))


def _random_csr(
    rng: np.random.Generator, rows: int, cols: int, dtype: type, canonical: bool
) -> sp.csr_matrix:
    nnz = rows * 6
    r = rng.integers(0, rows, nnz)
    c = rng.integers(0, cols, nnz)
    v: np.ndarray = rng.random(nnz).astype(dtype) * np.asarray(
        rng.random(nnz) < 0.9, dtype
    )  # some explicit zeros
    if canonical:
        m = sp.csr_matrix((v, (r, c)), shape=(rows, cols))
        m.sort_indices()
        return m
    order = np.argsort(r, kind="stable")  # unsorted columns within rows and duplicates: not canonical
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=rows))]
    return sp.csr_matrix((v[order], c[order], indptr), shape=(rows, cols))


@pytest.mark.parametrize("canonical", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_cosines_match_scipy(canonical: bool, dtype: type) -> None:
    rng = np.random.default_rng(3)
    a = _random_csr(rng, 40, 30, dtype, canonical)
    b = _random_csr(rng, 300, 37, np.float32, True)  # wider: the product widens the narrower side
    assert a.has_canonical_format == canonical and a.dtype == dtype
    for n, rows in ((0, 40), (1, 40), (5, 40), (3000, 40), (30, 1), (3000, 1)):
        li = rng.integers(0, 40, n) if rows > 1 else np.full(n, 7)  # rows == 1: one query's candidates
        ri = rng.integers(0, 300, n)
        want = ref_row_dot(a, b, li, ri)
        direct = compare._row_dot_direct(a, b, li, ri)  # without scipy, whatever the size
        assert (direct is not None) == (canonical or n == 0)  # not canonical: scipy's own path
        for got in (compare._row_dot(a, b, li, ri), direct if direct is not None else want):
            assert got.dtype == want.dtype == np.float32
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("sort_min", [1, 10**9])
def test_reference_ordered_comparison_gives_the_same_features(
    case: Case, monkeypatch: pytest.MonkeyPatch, sort_min: int
) -> None:
    # Large batches are compared sorted by reference position and put back in the given order; with
    # the sort forced on every batch (and off) the features stay those of the per-pair definitions.
    monkeypatch.setattr(compare, "_SORT_PAIRS_MIN", sort_min)
    rng = np.random.default_rng(11)
    order = rng.permutation(len(case.li))  # pairs in no particular order, as a link batch gives them
    li, ri = case.li[order], case.ri[order]
    assert not (ri[1:] >= ri[:-1]).all()
    _assert_identical(
        compare_pairs(case.left, case.right, li, ri, case.vectors),
        reference_compare_pairs(case.left, case.right, li, ri, case.vectors),
    )


# --- the bounded comparison (compare_pairs_above) ----------------------------------------------------


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@pytest.mark.parametrize("sort_min", [1, 10**9])
@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.7, 0.9, 0.99])
def test_bounded_comparison_finishes_every_pair_that_can_pass(
    case: Case, monkeypatch: pytest.MonkeyPatch, sort_min: int, threshold: float
) -> None:
    # The deferred features are computed only for pairs whose best possible log-odds reaches the
    # threshold: every pair the model puts at or above it is finished, with the reference's features.
    monkeypatch.setattr(compare, "_SORT_PAIRS_MIN", sort_min)
    model = case.index.model
    order = np.random.default_rng(3).permutation(len(case.li))
    li, ri = case.li[order], case.ri[order]
    want = reference_compare_pairs(case.left, case.right, li, ri, case.vectors)
    floor = _logit(threshold)
    kept, got = compare_pairs_above(
        case.left, case.right, li, ri, case.vectors, lambda e, r: model.upper_log_odds(e, r) >= floor
    )
    assert (np.diff(kept) > 0).all()  # positions in the given order, each once
    _assert_identical(got, {name: values[kept] for name, values in want.items()})
    passing = np.flatnonzero(model.log_odds(want) >= floor)
    assert np.isin(passing, kept).all()
    settled = np.flatnonzero(want["identifier_agree"] > 0)
    assert len(settled) and np.isin(settled, kept).all()  # identifiers settle whatever the model says
    if threshold >= 0.3:
        assert len(kept) < len(li) / 2  # most candidates are told apart before the deferred features


def test_upper_bound_holds_for_every_pair(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare, "_SORT_PAIRS_MIN", 10**9)  # ``keep`` sees the pairs in the given order
    model = case.index.model
    want = reference_compare_pairs(case.left, case.right, case.li, case.ri, case.vectors)
    seen: list[np.ndarray] = []

    def record(exact: Mapping[str, np.ndarray], ranges: compare.Ranges) -> np.ndarray:
        assert set(ranges) == set(compare.DEFERRED)
        assert set(exact) >= set(FEATURES) - set(ranges)
        for name, (lo, hi) in ranges.items():  # each deferred value lies in its interval
            assert (lo <= want[name]).all() and (want[name] <= hi).all(), name
        seen.append(model.upper_log_odds(exact, ranges))
        return np.ones(len(lo), dtype=bool)

    compare_pairs_above(case.left, case.right, case.li, case.ri, case.vectors, record)
    assert len(seen) == 1
    bound, actual = seen[0], model.log_odds(want)
    assert (bound >= actual - 1e-9).all()
    # Only the deferred features loosen it: by at most their contributions' full swing, and not at all
    # when each interval is the value itself.
    grid = np.linspace(0, 1, 101)
    swing = sum(np.ptp(model.feature_contribution(name, grid)) for name in compare.DEFERRED)
    assert (bound - actual <= swing + 1e-9).all()
    pinned = {name: (want[name], want[name]) for name in compare.DEFERRED}
    assert np.allclose(model.upper_log_odds(want, pinned), actual, rtol=0, atol=1e-9)


def test_a_keep_rule_that_drops_everything_leaves_identifier_pairs(case: Case) -> None:
    kept, got = compare_pairs_above(
        case.left,
        case.right,
        case.li,
        case.ri,
        case.vectors,
        lambda e, r: np.zeros(len(e["name_ratio"]), bool),
    )
    want = reference_compare_pairs(case.left, case.right, case.li, case.ri, case.vectors)
    assert np.array_equal(kept, np.flatnonzero(want["identifier_agree"] > 0))
    _assert_identical(got, {name: values[kept] for name, values in want.items()})
    empty = np.zeros(0, np.int64)
    kept, got = compare_pairs_above(case.left, case.right, empty, empty, case.vectors, lambda e, r: 1 / 0)
    assert len(kept) == 0 and all(len(v) == 0 for v in got.values())


@pytest.mark.parametrize("threshold", [0.7, 0.9])
def test_scoring_with_a_threshold_returns_the_same_pairs(case: Case, threshold: float) -> None:
    model = case.index.model
    full = score_pairs(model, case.left, case.right, case.li, case.ri, case.vectors)
    fast = score_pairs(
        model, case.left, case.right, case.li, case.ri, case.vectors, min_probability=threshold
    )
    assert len(fast) < len(full) / 2
    a, b = full.take(full.prob >= threshold), fast.take(fast.prob >= threshold)
    assert len(a) > 50
    assert np.array_equal(a.li, b.li) and np.array_equal(a.ri, b.ri)
    assert np.allclose(a.prob, b.prob, rtol=0, atol=1e-12)  # the model's matrix product, other row counts
    assert list(a.source) == list(b.source)
    _assert_identical(b.feats, a.feats)
