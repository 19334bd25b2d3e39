import random

import numpy as np
import polars as pl
import scipy.sparse as sp

from risk_engine.matching.blocking import CandidateIndex, keep_rarest, top_k_per_row
from risk_engine.matching.normalise import normalise_name
from risk_engine.matching.synth import generate_entities, perturb


def test_top_k_per_row_agrees_with_sorting() -> None:
    rng = np.random.default_rng(0)
    m = sp.random(50, 200, density=0.1, random_state=1, format="csr", dtype=np.float64)
    r, _c, v = top_k_per_row(m, 5)
    dense = m.toarray()
    for row in range(50):
        got = sorted(v[r == row].tolist(), reverse=True)
        want = sorted(dense[row][dense[row] > 0].tolist(), reverse=True)[:5]
        assert np.allclose(got, want)
    assert rng is not None


def test_keep_rarest_keeps_lowest_df_per_row() -> None:
    m = sp.csr_matrix(np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]]))
    df = np.array([10, 1, 5, 2])
    out = keep_rarest(m, df, 2).toarray()
    assert out[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert out[1].tolist() == [0.0, 1.0, 1.0, 0.0]


def _build(names: list[str], countries: list[str | None]) -> CandidateIndex:
    nn = [normalise_name(n) for n in names]
    return CandidateIndex.build([n.core for n in nn], [n.key for n in nn], countries)


def test_candidate_recall_on_generated_variants_and_reduction() -> None:
    ref = generate_entities(1500, seed=11)
    ci = _build(ref["name"].to_list(), ref["country"].to_list())
    rng = random.Random(3)
    src = rng.sample(range(ref.height), 200)
    qn = [normalise_name(perturb(ref["name"][s], rng)) for s in src]
    qg, qt = ci.query_matrices([n.core for n in qn], [n.key for n in qn])
    found = set()
    pairs = 0
    for _, qi, ri, _ in ci.candidates(qg, qt, [ref["country"][s] for s in src]):
        pairs += len(qi)
        found.update(int(a) for a, b in zip(qi, ri, strict=True) if b == src[a])
    assert len(found) / len(src) >= 0.98
    assert pairs / (len(src) * ref.height) < 0.02  # a tiny fraction of all pairs


def test_unknown_country_searches_everything_and_one_row_reference_works() -> None:
    ci = _build(["Acme Textiles Ltd"], ["CN"])
    n = normalise_name("ACME TEXTILE LIMITED")
    qg, qt = ci.query_matrices([n.core], [n.key])
    for country in (None, "VN", "CN"):
        got = [
            (int(a), int(b))
            for _, qi, ri, _ in ci.candidates(qg, qt, [country])
            for a, b in zip(qi, ri, strict=True)
        ]
        assert got == [(0, 0)]


def _built(names: list[str], countries: list[str | None], **kw: object) -> CandidateIndex:
    nn = [normalise_name(n) for n in names]
    return CandidateIndex.build([n.core for n in nn], [n.key for n in nn], countries, **kw)  # type: ignore[arg-type]


def _found(ci: CandidateIndex, query: str, country: str | None) -> list[int]:
    n = normalise_name(query)
    qg, qt = ci.query_matrices([n.core], [n.key])
    return [int(r) for _, _, ri, _ in ci.candidates(qg, qt, [country], keys=[n.key]) for r in ri]


def test_copies_of_one_name_do_not_crowd_out_another_spelling() -> None:
    # One register's many filings: 30 copies of each spelling. With a top 3 per index, copies of the
    # query's own spelling used to fill every slot, so the other spelling was never compared.
    filler = generate_entities(300, seed=4)["name"].to_list()
    names = (
        ["Koninklijke Philips Electronics N.V."] * 30
        + ["Koninklijke Phillips Electronics N.V."] * 30
        + filler
    )
    countries: list[str | None] = ["NL"] * len(names)
    ci = _built(names, countries, k_grams=3, k_glued=2, k_tokens=2)
    got = _found(ci, "Koninklijke Phillips Electronics N.V.", "NL")
    assert any(r < 30 for r in got) and any(30 <= r < 60 for r in got)
    got = _found(ci, "KONINKLIJKE PHILIPS ELECTRONICS", None)  # the global block too
    assert any(r < 30 for r in got) and any(30 <= r < 60 for r in got)


def test_a_picked_name_stands_for_each_of_its_different_records_once() -> None:
    # 60 filings of one name (more than the exact-key table holds) and one row of that name with
    # another legal form: the name is compared through one row per legal form, not through copies.
    names = ["Gist-Brocades N.V."] * 30 + ["Gist Brocades B.V."] + ["GIST-BROCADES NV"] * 30
    profile = [normalise_name(n).legal_form for n in names]
    ci = _built(names, ["NL"] * len(names), profile=profile)
    assert len(names) > CandidateIndex.MAX_EXACT
    assert sorted(set(_found(ci, "Gist Brocades", "NL"))) == [0, 30]
    # At most k_same profiles of one name are compared (beyond the exact-key table's 50).
    many = ["Sunrise Knitwear Ltd"] * 60
    ci = _built(many, ["BD"] * 60, profile=[f"plot {i}" for i in range(60)], k_same=3)
    assert sorted(set(_found(ci, "Sunrise Knitwear", "BD"))) == [0, 1, 2]


def test_address_channel_meets_a_site_filed_under_another_name() -> None:
    # A facility renamed, or filed under its group's name, shares no name grams with the query; the
    # address channel still makes it a candidate (the model then decides), within the query's country.
    from risk_engine.matching.index import EntityIndex
    from risk_engine.matching.records import prepare_records

    gen = generate_entities(800, seed=21).select("id", "name", "country", "address")
    extra = pl.DataFrame(
        {
            "id": ["T1", "T2", "T3"],
            "name": [
                "Tessil Industry Group d.o.o.",
                "Ar Han Tekstil San. ve Tic. Ltd. Sti.",
                "Tessil Industry Group",
            ],
            "country": ["RS", "TR", "HR"],
            "address": [
                "Pantelejska 58 18000 Nis Serbia",
                "1656 Sokak Orhangazi Mah. No 2A Zeminkat Esenyurt 34538 Istanbul",
                "Pantelejska 58 18000 Nis Serbia",  # the same words in another country
            ],
        }
    )
    index = EntityIndex.build(pl.concat([gen, extra]))
    queries = pl.DataFrame(
        {
            "id": ["q1", "q2", "q3"],
            "name": [
                "Olimpias Knitting Serbia d.0.0.",
                "Hanak Teks San ve Tic Ltd Sti",
                "Olimpias Knitting Serbia",
            ],
            "country": ["RS", "TR", "RS"],
            "address": [
                "pantelejska 58 nis serbia",
                "1656 sok. orhangazi mah. no 2a a2 esenyurt istanbul 34538",
                None,
            ],
        }
    )
    q = prepare_records(queries, side="query")
    qg, qt = index.candidates.query_matrices(q.core, q.key)

    def found(addresses: list[str] | None) -> set[tuple[str, str]]:
        return {
            (q.ids[a], index.ref.ids[b])
            for _, qi, ri, _ in index.candidates.candidates(
                qg, qt, q.country, keys=q.key, addresses=addresses
            )
            for a, b in zip(qi.tolist(), ri.tolist(), strict=True)
        }

    without, with_addresses = found(None), found(q.address)
    assert ("q1", "T1") not in without  # the names alone do not meet
    assert {("q1", "T1"), ("q2", "T2")} <= with_addresses
    assert ("q1", "T3") not in with_addresses  # another country's block is not searched
    assert not any(a == "q3" and b.startswith("T") for a, b in with_addresses)  # no address, no channel
    assert without <= with_addresses
    assert len(with_addresses) - len(without) <= 3 * index.candidates.k_addr  # top k_addr per query
