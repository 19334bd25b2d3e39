"""Property tests of propagation (Hypothesis): bounds, monotonicity, order independence, convergence."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scoring_propagate_reference import reference_propagate

from risk_engine.scoring.propagate import PropagationInput, propagate

unit = st.floats(0.0, 1.0, allow_nan=False)
SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def graphs(draw: Any, min_nodes: int = 1, max_nodes: int = 10, max_edges: int = 30) -> PropagationInput:
    n = draw(st.integers(min_nodes, max_nodes))
    m = draw(st.integers(0, max_edges))
    edges = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.integers(0, 2),  # product
                unit,
                st.sampled_from([0.3, 0.4, 0.6, 0.7, 0.9, 1.0]),
            ),
            min_size=m,
            max_size=m,
        )
    )
    country = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    local = np.array(draw(st.lists(unit, min_size=n, max_size=n)))
    backfill = np.array(draw(st.lists(st.floats(0.0, 0.5), min_size=n, max_size=n)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return make_input(n, edges, country, local, backfill, mask)


def make_input(
    n: int,
    edges: list[tuple[int, int, int, float, float]],
    country: list[int],
    local: np.ndarray,
    backfill: np.ndarray,
    mask: np.ndarray,
) -> PropagationInput:
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    keys = [(int(d), country[int(s)], e[2]) for s, d, e in zip(src, dst, edges, strict=True)]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return PropagationInput(
        n_nodes=n,
        src=src,
        dst=dst,
        group=np.array([ids[k] for k in keys], dtype=np.int64),
        share=np.array([e[3] for e in edges], dtype=np.float64),
        confidence=np.array([e[4] for e in edges], dtype=np.float64),
        local=local,
        backfill=backfill,
        propagate_mask=mask,
    )


def with_edge(
    inp: PropagationInput, u: int, v: int, share: float, conf: float, new_group: bool
) -> PropagationInput:
    same = np.flatnonzero(inp.dst == v)
    group = int(inp.group[same[0]]) if (not new_group and same.size) else inp.n_groups
    return inp.replace(
        src=np.append(inp.src, u),
        dst=np.append(inp.dst, v),
        group=np.append(inp.group, group),
        share=np.append(inp.share, share),
        confidence=np.append(inp.confidence, conf),
    )


@SETTINGS
@given(graphs(), st.sampled_from(["grouped_noisy_or", "max", "weighted_mean"]), st.integers(0, 7))
def test_scores_stay_in_unit_interval_and_above_local(inp: PropagationInput, agg: str, k: int) -> None:
    r = propagate(inp, k=k, aggregator=agg).risk  # type: ignore[arg-type]
    assert np.all((r >= 0) & (r <= 1))
    assert np.all(r >= inp.local - 1e-12)


@SETTINGS
@given(graphs(), st.sampled_from(["grouped_noisy_or", "max", "weighted_mean"]), st.integers(0, 6))
def test_fast_agrees_with_reference(inp: PropagationInput, agg: str, k: int) -> None:
    fast = propagate(inp, k=k, aggregator=agg).risk  # type: ignore[arg-type]
    np.testing.assert_allclose(fast, reference_propagate(inp, k=k, aggregator=agg), rtol=0, atol=1e-9)


@SETTINGS
@given(graphs(), st.data(), st.sampled_from(["grouped_noisy_or", "max"]))
def test_adding_a_risky_upstream_supplier_never_lowers_any_score(
    inp: PropagationInput, data: Any, agg: str
) -> None:
    v = data.draw(st.integers(0, inp.n_nodes - 1))
    risk_w = data.draw(unit)
    bigger = with_edge(
        inp.replace(
            n_nodes=inp.n_nodes + 1,
            local=np.append(inp.local, risk_w),
            backfill=np.append(inp.backfill, 0.0),
            propagate_mask=np.append(inp.propagate_mask, True),
        ),
        inp.n_nodes,
        v,
        data.draw(unit),
        data.draw(unit),
        data.draw(st.booleans()),
    )
    before = propagate(inp, aggregator=agg).risk  # type: ignore[arg-type]
    after = propagate(bigger, aggregator=agg).risk[:-1]  # type: ignore[arg-type]
    assert np.all(after >= before - 1e-12)


@SETTINGS
@given(graphs(min_nodes=2), st.data())
def test_adding_an_edge_between_existing_nodes_never_lowers_any_score(
    inp: PropagationInput, data: Any
) -> None:
    u = data.draw(st.integers(0, inp.n_nodes - 1))
    v = data.draw(st.integers(0, inp.n_nodes - 1))
    bigger = with_edge(inp, u, v, data.draw(unit), data.draw(unit), data.draw(st.booleans()))
    assert np.all(propagate(bigger).risk >= propagate(inp).risk - 1e-12)


@SETTINGS
@given(graphs(), st.data(), st.sampled_from(["grouped_noisy_or", "max"]))
def test_removing_an_edge_never_raises_a_score(inp: PropagationInput, data: Any, agg: str) -> None:
    if inp.n_edges == 0:
        return
    drop = data.draw(st.integers(0, inp.n_edges - 1))
    mask = np.ones(inp.n_edges, dtype=bool)
    mask[drop] = False
    smaller = inp.replace(edge_mask=mask)
    assert np.all(propagate(smaller, aggregator=agg).risk <= propagate(inp, aggregator=agg).risk + 1e-12)  # type: ignore[arg-type]


@SETTINGS
@given(
    graphs(), st.randoms(use_true_random=False), st.sampled_from(["grouped_noisy_or", "max", "weighted_mean"])
)
def test_result_does_not_depend_on_node_edge_or_group_order(
    inp: PropagationInput, rnd: Any, agg: str
) -> None:
    n, m = inp.n_nodes, inp.n_edges
    node_perm = np.array(rnd.sample(range(n), n), dtype=np.int64)  # old id -> new id
    edge_perm = np.array(rnd.sample(range(m), m), dtype=np.int64)
    g = inp.n_groups
    group_perm = np.array(rnd.sample(range(g), g), dtype=np.int64) if g else np.zeros(0, dtype=np.int64)
    inv = np.empty(n, dtype=np.int64)
    inv[node_perm] = np.arange(n)
    shuffled = PropagationInput(
        n_nodes=n,
        src=node_perm[inp.src[edge_perm]],
        dst=node_perm[inp.dst[edge_perm]],
        group=group_perm[inp.group[edge_perm]] if m else inp.group,
        share=inp.share[edge_perm],
        confidence=inp.confidence[edge_perm],
        local=inp.local[inv],
        backfill=inp.backfill[inv],
        propagate_mask=inp.propagate_mask[inv],
    )
    a = propagate(inp, aggregator=agg)  # type: ignore[arg-type]
    b = propagate(shuffled, aggregator=agg)  # type: ignore[arg-type]
    np.testing.assert_allclose(b.risk[node_perm], a.risk, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.edge_hazard, a.edge_hazard[edge_perm], rtol=0, atol=1e-9)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(graphs(max_nodes=8, max_edges=40))
def test_cyclic_graphs_converge_monotonically(inp: PropagationInput) -> None:
    rounds = [propagate(inp, k=k).risk for k in range(0, 12)]
    for earlier, later in itertools.pairwise(rounds):
        assert np.all(later >= earlier - 1e-12)
    settled = propagate(inp, k=400)
    assert settled.last_change < 1e-9
    assert np.all(settled.risk >= rounds[-1] - 1e-12)


@SETTINGS
@given(graphs())
def test_max_aggregator_is_a_lower_bracket_of_grouped_noisy_or(inp: PropagationInput) -> None:
    assert np.all(propagate(inp, aggregator="max").risk <= propagate(inp).risk + 1e-12)


@SETTINGS
@given(graphs(), st.sampled_from(["grouped_noisy_or", "max", "weighted_mean"]))
def test_hazard_split_is_exact(inp: PropagationInput, agg: str) -> None:
    res = propagate(inp, aggregator=agg)  # type: ignore[arg-type]
    finite = np.isfinite(res.hazard)
    per_node = np.bincount(inp.dst, weights=res.edge_hazard, minlength=inp.n_nodes) if inp.n_edges else 0.0
    total = res.local_hazard + res.backfill_hazard + per_node
    np.testing.assert_allclose(total[finite], res.hazard[finite], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(-np.expm1(-res.hazard[finite]), res.risk[finite], rtol=0, atol=1e-9)
    if inp.n_edges:
        # A saturated group (risk 1, reachable with a denormal share) has infinite hazard on both
        # sides; the split is checked where it is finite.
        split = np.bincount(inp.group, weights=res.edge_hazard, minlength=res.group_hazard.shape[0])
        ok = np.isfinite(res.group_hazard)
        np.testing.assert_allclose(split[ok], res.group_hazard[ok], rtol=1e-9, atol=1e-12)
        assert np.all(~np.isfinite(split[~ok]) | (split[~ok] == 0))
