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
