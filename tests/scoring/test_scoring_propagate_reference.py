"""A plain-loop reference for propagation, and agreement of the sparse implementation with it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk_engine.scoring.propagate import AGGREGATORS, PropagationInput, propagate


def reference_propagate(
    inp: PropagationInput, *, delta: float = 0.85, k: int = 5, aggregator: str = "grouped_noisy_or"
) -> list[float]:
    """The §3.5 definition written as loops: K synchronous rounds of cavity messages."""
    n, n_edges = inp.n_nodes, inp.n_edges
    src, dst, grp = inp.src.tolist(), inp.dst.tolist(), inp.group.tolist()
    mask = inp.propagate_mask.tolist()
    edge_on = [True] * n_edges if inp.edge_mask is None else inp.edge_mask.tolist()
    sc = [
        float(inp.share[e] * inp.confidence[e])
        if edge_on[e] and mask[src[e]] and mask[dst[e]] and src[e] != dst[e]
        else 0.0
        for e in range(n_edges)
    ]
    local = inp.local.tolist()
    back = inp.backfill.tolist()
    incoming: list[list[int]] = [[] for _ in range(n)]
    for e in range(n_edges):
        if sc[e] * delta > 0:
            incoming[dst[e]].append(e)

    def node_risk(u: int, msgs: list[float], exclude: int | None) -> float:
        edges = [e for e in incoming[u] if src[e] != exclude]
        if aggregator == "grouped_noisy_or":
            sums: dict[int, float] = {}
            for e in edges:
                sums[grp[e]] = sums.get(grp[e], 0.0) + sc[e] * delta * msgs[e]
            keep = 1.0
            for s in sums.values():
                keep *= 1.0 - min(1.0, s)
            up = 1.0 - keep
        elif aggregator == "max":
            up = max((sc[e] * delta * msgs[e] for e in edges), default=0.0)
        else:
            den = sum(sc[e] for e in edges)
            up = min(1.0, sum(sc[e] * delta * msgs[e] for e in edges) / den) if den > 0 else 0.0
        return 1.0 - (1.0 - local[u]) * (1.0 - back[u]) * (1.0 - up)

    msgs = [local[src[e]] for e in range(n_edges)]
    risk = list(local)
    for _ in range(k):
        risk = [node_risk(v, msgs, None) for v in range(n)]
        msgs = [node_risk(src[e], msgs, dst[e]) for e in range(n_edges)]
    return risk


def random_input(
    rng: np.random.Generator,
    n: int,
    n_edges: int,
    *,
    reciprocal: float = 0.3,
    n_countries: int = 3,
    n_products: int = 3,
    saturate: bool = False,
) -> PropagationInput:
    """A random graph with cycles, reciprocal pairs, parallel edges and shared groups."""
    src = rng.integers(0, n, n_edges)
    dst = rng.integers(0, n, n_edges)
    flip = rng.random(n_edges) < reciprocal
    # make some edges exact reverses of earlier ones, so A<->B pairs are common
    for i in np.flatnonzero(flip):
        j = int(rng.integers(0, n_edges))
        src[i], dst[i] = dst[j], src[j]
    country = rng.integers(0, n_countries, n)
    product = rng.integers(0, n_products, n_edges)
    key = dst * 10_000 + country[src] * 100 + product
    _, group = np.unique(key, return_inverse=True)
    share = rng.random(n_edges)
    share[rng.random(n_edges) < 0.1] = 1.0
    confidence = rng.choice([0.3, 0.4, 0.6, 0.7, 0.9, 1.0], n_edges)
    local = rng.random(n) ** 3
    backfill = rng.random(n) * 0.2
    if saturate:
        local[rng.random(n) < 0.1] = 1.0
    mask = rng.random(n) > 0.1
    return PropagationInput(
        n_nodes=n,
        src=src.astype(np.int64),
        dst=dst.astype(np.int64),
        group=group.astype(np.int64).ravel(),
        share=share,
        confidence=confidence,
        local=local,
        backfill=backfill,
        propagate_mask=mask,
    )


@pytest.mark.parametrize("aggregator", AGGREGATORS)
@pytest.mark.parametrize("seed", range(12))
def test_sparse_agrees_with_reference_on_random_cyclic_graphs(seed: int, aggregator: str) -> None:
    rng = np.random.default_rng(seed)
    inp = random_input(rng, int(rng.integers(2, 40)), int(rng.integers(1, 160)), saturate=seed % 3 == 0)
    delta = float(rng.choice([0.7, 0.85, 1.0]))
    k = int(rng.integers(0, 8))
    fast = propagate(inp, delta=delta, k=k, aggregator=aggregator)  # type: ignore[arg-type]
    ref = reference_propagate(inp, delta=delta, k=k, aggregator=aggregator)
    np.testing.assert_allclose(fast.risk, ref, rtol=0, atol=1e-9)


def test_sparse_agrees_with_reference_with_edge_mask_and_saturated_groups() -> None:
    rng = np.random.default_rng(99)
    inp = random_input(rng, 30, 200, n_countries=1, n_products=1)
    inp = inp.replace(
        share=np.ones(inp.n_edges),
        confidence=np.ones(inp.n_edges),
        edge_mask=rng.random(inp.n_edges) < 0.7,
    )
    fast = propagate(inp, delta=1.0, k=6)
    ref = reference_propagate(inp, delta=1.0, k=6)
    np.testing.assert_allclose(fast.risk, ref, rtol=0, atol=1e-9)
    assert np.any(fast.group_x == 1.0)


def test_reference_itself_matches_hand_computed_two_node_echo() -> None:
    # A <-> B, both shares 1, c 1, delta 0.5; L_A = 0.5, L_B = 0.
    inp = PropagationInput(
        n_nodes=2,
        src=np.array([0, 1]),
        dst=np.array([1, 0]),
        group=np.array([0, 1]),
        share=np.ones(2),
        confidence=np.ones(2),
        local=np.array([0.5, 0.0]),
        backfill=np.zeros(2),
        propagate_mask=np.ones(2, dtype=bool),
    )
    ref = reference_propagate(inp, delta=0.5, k=10)
    # Without echo, B gets 0.5 * 0.5 and A gets nothing back from B: its risk stays 0.5.
    assert ref == pytest.approx([0.5, 0.25])
    assert math.isclose(propagate(inp, delta=0.5, k=10).risk[0], 0.5)
