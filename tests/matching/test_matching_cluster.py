import numpy as np
import pytest

from risk_engine.errors import InputError
from risk_engine.matching.cluster import cluster_pairs


def _scorer(table: dict[tuple[int, int], float]):
    def score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray([table.get((min(x, y), max(x, y)), 0.0) for x, y in zip(a, b, strict=True)])

    return score


def test_no_chaining_when_ends_clearly_differ() -> None:
    # A~B 0.95, B~C 0.93, but A vs C is clearly different (0.1): C must not join A.
    li, ri, p = np.array([0, 1]), np.array([1, 2]), np.array([0.95, 0.93])
    labels = cluster_pairs(3, li, ri, p, scorer=_scorer({(0, 2): 0.1}), match_threshold=0.9)
    assert labels[0] == labels[1]
    assert labels[2] != labels[0]


def test_chain_merges_when_ends_are_compatible() -> None:
    li, ri, p = np.array([0, 1]), np.array([1, 2]), np.array([0.95, 0.93])
    labels = cluster_pairs(3, li, ri, p, scorer=_scorer({(0, 2): 0.8}), match_threshold=0.9)
    assert len(set(labels.tolist())) == 1


def _two_groups(
    size_a: int, size_b: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, int], float]]:
    """Two groups, each a chain of 0.99 pairs, bridged by one 0.95 pair; every other pair 0.8."""
    n = size_a + size_b
    li = [*range(size_a - 1), *range(size_a, n - 1), 0]
    ri = [*range(1, size_a), *range(size_a + 1, n), size_a]
    p = [0.99] * (n - 2) + [0.95]
    table = {(i, j): 0.8 for i in range(n) for j in range(i + 1, n)}
    return np.array(li), np.array(ri), np.array(p), table


def test_large_clusters_merge_despite_one_clearly_different_pair() -> None:
    # Hundreds of spellings of one name: the worst typo on each side may score below the separation
    # against each other; one such pair of 400 does not keep two large clusters apart.
    li, ri, p, table = _two_groups(20, 20)
    table[(19, 39)] = 0.1
    labels = cluster_pairs(40, li, ri, p, scorer=_scorer(table), match_threshold=0.9)
    assert len(set(labels.tolist())) == 1
    # Many clearly different pairs across them (a tenth and more): two entities, kept apart.
    for j in range(20, 40):
        for i in range(3):
            table[(i, j)] = 0.1
    labels = cluster_pairs(40, li, ri, p, scorer=_scorer(table), match_threshold=0.9)
    assert len(set(labels.tolist())) == 2


@pytest.mark.parametrize(("size_a", "size_b"), [(2, 1), (2, 2), (3, 3), (9, 1)])
def test_small_clusters_tolerate_no_clearly_different_pair(size_a: int, size_b: int) -> None:
    # Fewer than ten pairs across: one clearly different pair keeps them apart, as for A~B~C.
    li, ri, p, table = _two_groups(size_a, size_b)
    table[(size_a - 1, size_a + size_b - 1)] = 0.1
    labels = cluster_pairs(size_a + size_b, li, ri, p, scorer=_scorer(table), match_threshold=0.9)
    assert labels[0] != labels[size_a]


def test_must_link_and_cannot_link_override_the_model() -> None:
    li, ri, p = np.array([0]), np.array([1]), np.array([0.99])
    labels = cluster_pairs(
        3, li, ri, p, scorer=_scorer({}), match_threshold=0.9, must_link=[(1, 2)], cannot_link=[(0, 1)]
    )
    assert labels[1] == labels[2]
    assert labels[0] != labels[1]


def test_contradictory_decisions_raise() -> None:
    with pytest.raises(InputError, match="contradict"):
        cluster_pairs(
            3,
            np.array([], dtype=np.int64),
            np.array([], dtype=np.int64),
            np.array([]),
            scorer=_scorer({}),
            match_threshold=0.9,
            must_link=[(0, 1), (1, 2)],
            cannot_link=[(0, 2)],
            ids=["a", "b", "c"],
        )


def test_below_threshold_never_merges() -> None:
    labels = cluster_pairs(
        2, np.array([0]), np.array([1]), np.array([0.89]), scorer=_scorer({}), match_threshold=0.9
    )
    assert labels[0] != labels[1]


def test_dedupe_end_to_end_keeps_every_row() -> None:
    import polars as pl

    from risk_engine.matching.cluster import dedupe

    frame = pl.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "name": [
                "Acme Textile Mills Inc",
                "ACME TEXTILE MILLS",
                "Acme Textile Mills Incorporated",
                "Bright Star Toys Factory",
                "",
            ],
            "country": ["US", "US", "US", "CN", None],
        }
    )
    out = dedupe(frame)
    assert out.height == frame.height
    by_id = dict(out.select("id", "cluster_id").iter_rows())
    assert by_id["1"] == by_id["2"] == by_id["3"] == "1"
    assert len({by_id["4"], by_id["5"], by_id["1"]}) == 3
    assert out.filter(pl.col("id") == "4")["probability"].is_null().all()


def test_dedupe_joins_two_spellings_each_repeated_many_times() -> None:
    import polars as pl

    from risk_engine.matching.cluster import dedupe

    names = ["Koninklijke Philips Electronics N.V."] * 40 + ["Koninklijke Phillips Electronics N.V."] * 25
    names += ["Philips Lighting Poland Sp. z o.o.", "Akzo Nobel N.V."]
    frame = pl.DataFrame({"id": [f"r{i:03d}" for i in range(len(names))], "name": names})
    out = dedupe(frame)
    clusters = dict(out.select("id", "cluster_id").iter_rows())
    assert len({clusters[f"r{i:03d}"] for i in range(65)}) == 1
    assert len({clusters["r000"], clusters["r065"], clusters["r066"]}) == 3


def test_mark_same_cluster_tells_resolved_pairs_from_the_review_queue() -> None:
    import polars as pl

    from risk_engine.matching.cluster import mark_same_cluster

    clusters = pl.DataFrame({"id": ["a", "b", "c"], "cluster_id": ["a", "a", "c"]})
    pairs = pl.DataFrame({"left_id": ["a", "a", "b", "x"], "right_id": ["b", "c", "c", "a"]})
    out = mark_same_cluster(pairs, clusters)
    assert out["same_cluster"].to_list() == [True, False, False, False]  # an unknown id is no cluster
    assert out.columns == [*pairs.columns, "same_cluster"]


def test_a_low_pair_of_spellings_is_not_clearly_different() -> None:
    # A~B 0.95, B~C 0.93, A vs C 0.02: with ``alike`` saying A and C are spellings of each other the
    # chain merges; without it, or when they are not spellings, it does not.
    li, ri, p = np.array([0, 1]), np.array([1, 2]), np.array([0.95, 0.93])

    def spellings(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray([{x, y} == {0, 2} for x, y in zip(a.tolist(), b.tolist(), strict=True)])

    def nothing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.zeros(len(a), dtype=bool)

    scorer = _scorer({(0, 2): 0.02})
    assert len(set(cluster_pairs(3, li, ri, p, scorer=scorer, match_threshold=0.9, alike=spellings))) == 1
    assert len(set(cluster_pairs(3, li, ri, p, scorer=scorer, match_threshold=0.9, alike=nothing))) == 2
    assert len(set(cluster_pairs(3, li, ri, p, scorer=scorer, match_threshold=0.9))) == 2


def test_dedupe_joins_two_typos_of_one_name_but_not_sister_plants() -> None:
    import polars as pl

    from risk_engine.matching.cluster import dedupe_with_pairs

    # "SHHARE SHOES" and "SHAER SHOES" score near 0 against each other (each has a word the other
    # lacks) but are both one typo from "SHARE SHOES": spellings of one name, one cluster. Two sister
    # plants of another company differ by their number only and stay apart whatever their parent does.
    names = ["SHARE SHOES", "SHHARE SHOES", "SHAER SHOES"]
    names += ["Sunrise Knitwear Co., Ltd.", "Sunrise Knitwear Co., Ltd. No. 1 Factory"]
    names += ["Sunrise Knitwear Co., Ltd. No. 2 Factory"]
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(len(names))], "name": names, "country": ["CN"] * 6})
    clusters, _ = dedupe_with_pairs(frame)
    c = dict(clusters.select("id", "cluster_id").iter_rows())
    assert c["r0"] == c["r1"] == c["r2"]
    assert c["r4"] != c["r5"]
    split, _ = dedupe_with_pairs(frame, spelling=None)
    s = dict(split.select("id", "cluster_id").iter_rows())
    assert len({s["r0"], s["r1"], s["r2"]}) == 2  # without the spelling test the two typos stay apart


def test_spellings_need_the_same_numbers_branch_legal_class_and_country() -> None:
    import polars as pl

    from risk_engine.matching.cluster import spellings_of_each_other
    from risk_engine.matching.records import prepare_records

    names = [
        "SHHARE SHOES Co., Ltd.",  # 0
        "SHAER SHOES Co., Ltd.",  # 1: a spelling of 0
        "SHHARE SHOES Joint Stock Company",  # 2: another legal class than 0
        "SHHARE SHOES Co., Ltd. No. 2 Factory",  # 3: a plant number 0 lacks
        "SHHARE SHOES Co., Ltd.",  # 4: the same name in another country
        "Shree Ganga Textiles",  # 5: another name
    ]
    countries = ["CN", "CN", "CN", "CN", "VN", "CN"]
    rec = prepare_records(
        pl.DataFrame({"id": [str(i) for i in range(6)], "name": names, "country": countries})
    )
    alike = spellings_of_each_other(rec, 0.8)
    got = alike(np.asarray([0, 0, 0, 0, 0]), np.asarray([1, 2, 3, 4, 5])).tolist()
    assert got == [True, False, False, False, False]


def test_review_pairs_that_are_spellings_join_within_a_list_and_keep_their_decision() -> None:
    import polars as pl

    from risk_engine.matching.cluster import dedupe_with_pairs

    frame = pl.DataFrame(
        {
            "id": ["a1", "a2", "a3", "k1", "k2", "s1", "s2", "v1", "v2"],
            "name": [
                "Akzo Nobel N.V.",
                "AKZO NOBEL NV",
                "AKZO NOVEL N.V.",  # a spelling: every word has its counterpart
                "ALCATEL N.V.",
                "ALKATEL N.V.",  # one word respelled alike
                "Annapoorna Solar Pvt. Ltd.",
                "Annapoorna Solar Cell Pvt. Ltd.",  # a word only one name has: another entity
                "Eclat Textile Co. Ltd.",
                "ECLAT TETXILES CO. LTD. (VIETNAM)",  # another qualifier: a subsidiary
            ],
        }
    )
    clusters, pairs = dedupe_with_pairs(frame)
    c = dict(clusters.select("id", "cluster_id").iter_rows())
    assert c["a1"] == c["a2"] == c["a3"]
    assert c["k1"] == c["k2"]
    assert c["s1"] != c["s2"]
    assert c["v1"] != c["v2"]
    kept = pairs.filter(pl.col("left_id").is_in(["k1", "k2"]) & pl.col("right_id").is_in(["k1", "k2"]))
    assert kept["decision"].to_list() == ["review"]  # joined by the clustering, still a review pair
    # Without the rule the spellings stay apart: the model alone sends them to review.
    apart, _ = dedupe_with_pairs(frame, join_spellings=False)
    a = dict(apart.select("id", "cluster_id").iter_rows())
    assert a["k1"] != a["k2"] and a["a1"] != a["a3"]


def test_spelling_variants_need_agreeing_or_missing_addresses() -> None:
    import polars as pl

    from risk_engine.matching.cluster import spelling_variants
    from risk_engine.matching.index import EntityIndex

    frame = pl.DataFrame(
        {
            "id": ["0", "1", "2"],
            "name": ["Alcatel N.V.", "Alkatel N.V.", "Alkatel N.V."],
            "address": [
                "Strawinskylaan 341, Amsterdam",
                "Strawinskylaan 341 Amsterdam",
                "Via Roma 8, Milano",
            ],
        }
    )
    index = EntityIndex.build(frame)
    scored = index.score_all(index.ref, exclude_self=True, min_probability=0.0)
    pos = {(a, b): k for k, (a, b) in enumerate(zip(scored.li.tolist(), scored.ri.tolist(), strict=True))}
    at = np.asarray([pos[(0, 1)], pos[(0, 2)]])
    assert spelling_variants(index.ref, scored, at).tolist() == [True, False]
