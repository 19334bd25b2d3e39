"""Candidate generation survives spaces that are not word boundaries (PDF/scan extraction, spaced letters)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.matching.blocking import CandidateIndex, TfidfSpace, _gram_codes
from risk_engine.matching.compare import _row_dot
from risk_engine.matching.normalise import normalise_name
from risk_engine.matching.synth import generate_entities

N_REF = 20000


@pytest.fixture(scope="module")
def ref() -> tuple[list[str], list[str | None]]:
    frame = generate_entities(N_REF, seed=11)
    return frame["name"].to_list(), frame["country"].to_list()


def _build(names: list[str], countries: list[str | None], **params: int) -> CandidateIndex:
    nn = [normalise_name(n) for n in names]
    return CandidateIndex.build([n.core for n in nn], [n.key for n in nn], countries, **params)


@pytest.fixture(scope="module")
def index(ref: tuple[list[str], list[str | None]]) -> CandidateIndex:
    return _build(*ref)


@pytest.fixture(scope="module")
def crowded(ref: tuple[list[str], list[str | None]]) -> CandidateIndex:
    """Few candidates per query, so a small reference is as demanding as a crowded 1M block."""
    return _build(*ref, k_grams=5, k_tokens=3)


def _candidates(
    ci: CandidateIndex, queries: list[str], countries: list[str | None], **kw: object
) -> set[tuple[int, int]]:
    nn = [normalise_name(q) for q in queries]
    qg, qt = ci.query_matrices([n.core for n in nn], [n.key for n in nn])
    out: set[tuple[int, int]] = set()
    for _, qi, ri, _ in ci.candidates(qg, qt, countries, **kw):  # type: ignore[arg-type]
        out.update(zip(qi.tolist(), ri.tolist(), strict=True))
    return out


def _recall(ci: CandidateIndex, queries: list[str], src: list[int], countries: list[str | None]) -> float:
    got = _candidates(ci, queries, [countries[s] for s in src])
    return sum((i, s) in got for i, s in enumerate(src)) / len(src)


def _scatter(name: str, rng: random.Random, p: float) -> str:
    """Spaces inside words with probability ``p`` after each letter followed by a letter."""
    out: list[str] = []
    for i, ch in enumerate(name):
        out.append(ch)
        if ch.isalpha() and i + 1 < len(name) and name[i + 1].isalpha() and rng.random() < p:
            out.append(" ")
    return "".join(out)


def test_heavily_scattered_spaces_in_a_crowded_block(
    crowded: CandidateIndex, ref: tuple[list[str], list[str | None]]
) -> None:
    names, countries = ref
    rng = random.Random(2)
    src = rng.sample(range(N_REF), 300)
    queries = [_scatter(names[s], rng, 0.5) for s in src]
    assert _recall(crowded, queries, src, countries) >= 0.99


EXAMPLES = [
    ("Shenzhen Huawei Technologies Co., Ltd.", "Shen zhen Hua wei Tech no logies", "CN"),
    (
        "Guangzhou Lianmei Ceramics Company Limited",
        "Gu angz hou Li anm ei C eramic s Comp any Lim ite d",
        "CN",
    ),
    ("Kimdaecho Agro Limited", "Kim d a ech o Ag ro Li m i ted", "KR"),
    (
        "Monor Arvind Royal Cotton Mills Private Limited",
        "Mono r A r vin d R o yal C ot t o n Mil l s P rivate Li mi t ed",
        "IN",
    ),
]


def test_spaces_inside_words_in_a_crowded_block(ref: tuple[list[str], list[str | None]]) -> None:
    names, countries = ref
    ci = _build(
        [*names, *(e[0] for e in EXAMPLES)], [*countries, *(e[2] for e in EXAMPLES)], k_grams=5, k_tokens=3
    )
    got = _candidates(ci, [e[1] for e in EXAMPLES], [e[2] for e in EXAMPLES])
    assert {(i, N_REF + i) for i in range(len(EXAMPLES))} <= got


def test_name_gram_cosine_is_the_plain_gram_cosine(
    index: CandidateIndex, ref: tuple[list[str], list[str | None]]
) -> None:
    """The comparison's ``name_gram_cosine`` (query matrix . reference matrix) is unchanged by blocking-only features."""
    names, _ = ref
    rng = random.Random(4)
    src = rng.sample(range(N_REF), 100)
    queries = [_scatter(names[s], rng, 0.3) for s in src]
    q_core = [normalise_name(q).core for q in queries]
    r_core = [normalise_name(n).core for n in names]
    qg, _ = index.query_matrices(q_core, [normalise_name(q).key for q in queries])
    li = np.repeat(np.arange(len(src)), 2)
    ri = np.asarray([x for s in src for x in (s, (s + 1) % N_REF)])
    got = _row_dot(qg, index.gram_matrix, li, ri)
    rows, codes = _gram_codes(r_core)
    plain = TfidfSpace.fit(codes, N_REF)
    ref_m = plain.matrix(rows, codes, N_REF)
    q_rows, q_codes = _gram_codes(q_core)
    want = _row_dot(plain.matrix(q_rows, q_codes, len(queries)), ref_m, li, ri)
    assert np.array_equal(got, want)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_candidates_do_not_depend_on_batch_order_or_size(
    index: CandidateIndex, ref: tuple[list[str], list[str | None]], seed: int, n: int
) -> None:
    names, countries = ref
    rng = random.Random(seed)
    src = rng.sample(range(N_REF), n)
    queries = [_scatter(names[s], rng, 0.3) for s in src]
    qc = [countries[s] if rng.random() < 0.8 else None for s in src]
    together = _candidates(index, queries, qc)
    perm = list(range(n))
    rng.shuffle(perm)
    shuffled = _candidates(index, [queries[p] for p in perm], [qc[p] for p in perm], chunk=7)
    assert {(perm[i], r) for i, r in shuffled} == together
    one_by_one = {(i, r) for i in range(n) for _, r in _candidates(index, [queries[i]], [qc[i]])}
    assert one_by_one == together


def test_glued_grams_only_add_candidates(
    index: CandidateIndex, ref: tuple[list[str], list[str | None]]
) -> None:
    """Switching the glued channel off (its rarest-gram count 0) leaves a subset: it never displaces a candidate."""
    names, countries = ref
    rng = random.Random(6)
    src = rng.sample(range(N_REF), 300)
    queries = [_scatter(names[s], rng, 0.3) for s in src]
    qc = [countries[s] for s in src]
    with_glued = _candidates(index, queries, qc)
    n_glued = index.n_glued
    try:
        index.n_glued = 0
        without = _candidates(index, queries, qc)
    finally:
        index.n_glued = n_glued
    assert without < with_glued
