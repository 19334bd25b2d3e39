"""Risk propagation across tiers (fl-v1, METHODOLOGY §3.5): grouped noisy-OR with cavity messages.

Inputs are plain numpy arrays (:class:`PropagationInput`); edges point from supplier ``u`` (``src``) to
buyer ``v`` (``dst``) and each edge belongs to one correlation group ``k = (country of u, hs4)`` at ``v``
(``group``, a dense id). Semantics, exactly as implemented (see also ``docs/PROPAGATION.md``):

* Edge weight ``w_uv = s_uv · c_uv · δ``; it is 0 when the edge is masked out, is a self-loop, or either
  end has ``propagate_mask`` False (logistics parties neither send nor receive).
* Messages start at ``m_uv(0) = L_u`` (``R(0) = L``). Round ``t = 1..K``:
  ``x_k(t) = min(1, Σ_{uv∈k} w_uv · m_uv(t-1))`` and
  ``R_v(t) = 1 − (1 − L_v)(1 − b_v) Π_k (1 − x_k(t))``, with ``b_v`` the unmapped-input backfill.
  The new message ``m_uv(t)`` is the cavity risk of ``u``: the same formula at ``u`` with every term of
  every edge ``v→u`` removed from the group sums it belongs to (non-backtracking), so an A↔B pair cannot
  echo its own risk. The result is ``R(K)``: local risk of nodes up to K hops upstream and backfill of nodes
  up to K−1 hops upstream reach ``v``. ``K = 0`` returns ``L``.
* Every update is monotone in its inputs and ``R(1) ≥ R(0)``, so ``R(t)`` is non-decreasing and bounded by
  1: with large K it converges (least fixed point ≥ L). ``last_change`` reports ``max |R(K) − R(K−1)|``.
* Aggregators (only the upstream part changes; local and backfill are always combined by noisy-OR):
  ``grouped_noisy_or`` (default) as above; ``max``: ``up_v = max_e w_e m_e`` (≤ the default, a lower
  bracket); ``weighted_mean``: ``up_v = δ · Σ s c m / Σ s c`` (a "typical supplier" view; adding a clean
  supplier lowers it, so it is not monotone in edges). Then ``R_v = 1 − (1 − L_v)(1 − b_v)(1 − up_v)``.
* Hazard attribution of the final round is exact: ``h_v = h(L_v) + h(b_v) + Σ_k h(x_k)`` with
  ``h(p) = −ln(1 − p)``; a group's hazard is split over its member edges in proportion to ``w·m``
  (``edge_hazard``). A saturated term (p = 1) has infinite hazard.
* Nothing is pruned here: ``prune`` is carried to the path explanations (``risk_engine.graph.paths``), which
  drop paths whose share of hazard is below it. Scores are never pruned.

All arithmetic is float64 and vectorised (bincount / reduceat over edge arrays); the only per-edge
bookkeeping beyond that is for reciprocal pairs, found once per call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from risk_engine.errors import InputError

Aggregator = Literal["grouped_noisy_or", "max", "weighted_mean"]
AGGREGATORS: tuple[Aggregator, ...] = ("grouped_noisy_or", "max", "weighted_mean")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class PropagationInput:
    """The arrays propagation needs; edges ``src → dst`` (supplier to buyer), nodes ``0..n_nodes-1``.

    ``group`` is a dense id of the correlation group ``(country of src, hs4)`` at ``dst``; one group never
    spans two buyers. Inputs whose edges are sorted by ``dst`` and then ``group`` (with group ids increasing
    along that order, as :class:`~risk_engine.graph.build.SupplyGraph` emits them) need no reordering.
    ``edge_mask`` (False = edge ignored) and a different ``confidence`` give the ``R_low``/``R_high`` reruns
    (METHODOLOGY §3.7) without rebuilding anything: the topology index is cached on the object and shared by
    :meth:`replace` copies that keep ``src``, ``dst`` and ``group``.
    """

    n_nodes: int
    src: IntArray
    dst: IntArray
    group: IntArray
    share: FloatArray
    confidence: FloatArray
    local: FloatArray
    backfill: FloatArray
    propagate_mask: BoolArray
    edge_mask: BoolArray | None = None
    _topology: dict[str, _Topology] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.src.shape[0])

    @property
    def n_groups(self) -> int:
        """Number of correlation groups (``max(group) + 1``)."""
        return int(self.group.max()) + 1 if self.group.size else 0

    def replace(self, **changes: object) -> PropagationInput:
        """A copy with some arrays replaced (e.g. ``confidence`` all 1 for ``R_high``)."""
        topology_changed = any(name in changes for name in ("n_nodes", "src", "dst", "group"))
        changes["_topology"] = {} if topology_changed else self._topology
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def topology(self) -> _Topology:
        """The cached ordering and reciprocal-pair index of this edge set (built on first use)."""
        if "index" not in self._topology:
            self._check_shapes()
            self._check_indices()
            self._topology["index"] = _Topology.build(self.n_nodes, self.src, self.dst, self.group)
        return self._topology["index"]

    def _check_shapes(self) -> None:
        n, e = self.n_nodes, self.n_edges
        for name in ("src", "dst", "group", "share", "confidence"):
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != e:
                msg = f"propagation input {name!r} has shape {arr.shape}, expected ({e},)"
                raise InputError(msg)
        for name in ("local", "backfill", "propagate_mask"):
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != n:
                msg = f"propagation input {name!r} has shape {arr.shape}, expected ({n},)"
                raise InputError(msg)
        if self.edge_mask is not None and self.edge_mask.shape != (e,):
            msg = f"propagation input 'edge_mask' has shape {self.edge_mask.shape}, expected ({e},)"
            raise InputError(msg)

    def _check_indices(self) -> None:
        n, e = self.n_nodes, self.n_edges
        if e:
            for name, arr, hi in (("src", self.src, n), ("dst", self.dst, n), ("group", self.group, None)):
                lo_v, hi_v = int(arr.min()), int(arr.max())
                if lo_v < 0 or (hi is not None and hi_v >= hi):
                    bad = (arr < 0) if hi is None else (arr < 0) | (arr >= hi)
                    i = int(np.flatnonzero(bad)[0])
                    msg = f"propagation input {name!r}[{i}] = {int(arr[i])} is not a valid index ({int(bad.sum())} bad)"
                    raise InputError(msg)

    def validate(self) -> None:
        """Raise :class:`InputError` naming the array, position and value of the first bad entry."""
        self._check_shapes()
        for name in ("share", "confidence", "local", "backfill"):
            arr = getattr(self, name)
            if arr.size == 0:
                continue
            lo, hi = float(arr.min()), float(arr.max())  # NaN propagates through min/max
            if not (lo >= 0.0 and hi <= 1.0):
                bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
                i = int(np.flatnonzero(bad)[0])
                msg = (
                    f"propagation input {name!r}[{i}] = {float(arr[i])!r} is outside [0, 1] "
                    f"({int(bad.sum())} bad); the graph builder reports and repairs such values"
                )
                raise InputError(msg)
        self.topology()


_TINY = 1e-250  # below this a group's survival factor is treated as zero (no division by it)


@dataclass
class _Topology:
    """Edge order and index structures that depend only on ``src``, ``dst`` and ``group``."""

    n: int
    n_groups: int
    perm: IntArray | None  # canonical position -> caller's edge index (None: already canonical)
    src: IntArray
    dst: IntArray
    group: IntArray
    gstart: IntArray  # first edge of each segment (one segment per non-empty group)
    seg_group: IntArray
    seg_dst: IntArray
    nstart: IntArray  # first segment of each node that has groups
    node_ids: IntArray
    node_first_seg: IntArray  # per node, -1 if none
    node_n_seg: IntArray
    self_loops: BoolArray | None  # None: the edge set has no self-loop
    groups_are_segments: bool  # caller group g is segment g (no reordering, no empty group ids)
    estart: IntArray  # first edge of each node that has incoming edges
    enode: IntArray
    # reciprocal pairs (u, v): messages u→v must leave out the edges v→u at u
    pair_u: IntArray
    pair_v: IntArray
    corr_edges: IntArray
    corr_edge_pair: IntArray
    entry_edges: IntArray
    entry_cg: IntArray
    cg_seg: IntArray
    cg_pair_start: IntArray

    @staticmethod
    def build(n: int, src_in: IntArray, dst_in: IntArray, group_in: IntArray) -> _Topology:
        src = np.asarray(src_in, dtype=np.int64)
        dst = np.asarray(dst_in, dtype=np.int64)
        group = np.asarray(group_in, dtype=np.int64)
        e = src.shape[0]
        n_groups = int(group.max()) + 1 if e else 0
        perm: IntArray | None = None
        ordered = e <= 1 or bool(np.all(dst[1:] >= dst[:-1]) and np.all(group[1:] >= group[:-1]))
        if not ordered:
            perm = np.lexsort((group, dst)).astype(np.int64)
            src, dst, group = src[perm], dst[perm], group[perm]
        if e:
            gstart = np.concatenate(([0], np.flatnonzero(group[1:] != group[:-1]) + 1)).astype(np.int64)
        else:
            gstart = np.zeros(0, dtype=np.int64)
        seg_group = group[gstart]
        seg_dst = dst[gstart]
        gend = np.append(gstart[1:], e) - 1
        split = seg_dst != dst[gend] if e else np.zeros(0, dtype=bool)
        # with ids sorted, every group is one contiguous run; otherwise a group split across buyers
        # shows up as two runs of the same id
        counts = np.zeros(0, dtype=np.int64) if ordered else np.bincount(seg_group, minlength=n_groups)
        if split.any() or (counts > 1).any():
            g = (
                int(seg_group[np.flatnonzero(split)[0]])
                if split.any()
                else int(np.flatnonzero(counts > 1)[0])
            )
            msg = (
                f"group {g} holds edges into two different buyers; groups are (buyer, country, hs4) clusters"
            )
            raise InputError(msg)
        if seg_dst.size:
            nstart = np.concatenate(([0], np.flatnonzero(seg_dst[1:] != seg_dst[:-1]) + 1)).astype(np.int64)
        else:
            nstart = np.zeros(0, dtype=np.int64)
        node_ids = seg_dst[nstart]
        node_first_seg = np.full(n, -1, dtype=np.int64)
        node_first_seg[node_ids] = nstart
        node_n_seg = np.zeros(n, dtype=np.int64)
        node_n_seg[node_ids] = np.diff(np.append(nstart, seg_dst.shape[0]))
        if e:
            estart = np.concatenate(([0], np.flatnonzero(dst[1:] != dst[:-1]) + 1)).astype(np.int64)
        else:
            estart = np.zeros(0, dtype=np.int64)
        enode = dst[estart]
        recip = _reciprocal_index(n, src, dst, group, seg_group)
        loops = src == dst
        if (
            ordered
        ):  # runs of strictly increasing ids: the identity exactly when they start at 0 and fill 0..G-1
            identity = seg_group.shape[0] == n_groups and (n_groups == 0 or int(seg_group[0]) == 0)
        else:
            identity = seg_group.shape[0] == n_groups and np.array_equal(seg_group, np.arange(n_groups))
        return _Topology(
            n=n,
            n_groups=n_groups,
            perm=perm,
            src=src,
            dst=dst,
            group=group,
            gstart=gstart,
            seg_group=seg_group,
            seg_dst=seg_dst,
            nstart=nstart,
            node_ids=node_ids,
            node_first_seg=node_first_seg,
            node_n_seg=node_n_seg,
            estart=estart,
            enode=enode,
            self_loops=loops if bool(loops.any()) else None,
            groups_are_segments=bool(identity),
            **recip,
        )

    def to_caller_edges(self, arr: FloatArray) -> FloatArray:
        """Edge values in the caller's edge order."""
        if self.perm is None:
            return arr
        out = np.empty_like(arr)
        out[self.perm] = arr
        return out

    def to_caller_groups(self, seg_values: FloatArray) -> FloatArray:
        """Segment values as an array indexed by the caller's group ids (0 for empty groups)."""
        if self.groups_are_segments:
            return seg_values
        out = np.zeros(self.n_groups)
        out[self.seg_group] = seg_values
        return out


def _reciprocal_index(
    n: int, src: IntArray, dst: IntArray, group: IntArray, seg_group: IntArray
) -> dict[str, IntArray]:
    """Find edges u→v whose reverse v→u exists; index the cavity corrections they need."""
    e = src.shape[0]
    empty = np.zeros(0, dtype=np.int64)
    names = (
        "pair_u",
        "pair_v",
        "corr_edges",
        "corr_edge_pair",
        "entry_edges",
        "entry_cg",
        "cg_seg",
        "cg_pair_start",
    )
    if e == 0:
        return dict.fromkeys(names, empty)
    if n >= 1 << 31:
        msg = f"propagation supports at most 2^31 nodes, got {n}"
        raise InputError(msg)
    # One sort of the unordered pair {u, v} with the direction as the lowest bit: a pair with edges in both
    # directions shows up as two neighbours that differ only in that bit (self-loops never do).
    usrc, udst = src.view(np.uint64), dst.view(np.uint64)  # indices are checked non-negative
    key = np.minimum(usrc, udst)
    key <<= np.uint64(33)
    key |= np.maximum(usrc, udst) << np.uint64(1)
    key |= usrc > udst
    key.sort()
    diff = key[1:] ^ key[:-1]
    recip = np.unique(key[1:][diff == np.uint64(1)] >> np.uint64(1)).astype(np.int64)
    del key, diff
    if recip.size == 0:
        return dict.fromkeys(names, empty)
    # only edges whose both ends appear in some reciprocal pair need the exact lookup
    in_some = np.zeros(n, dtype=bool)
    in_some[recip >> 32] = True
    in_some[recip & 0xFFFFFFFF] = True
    cand = np.flatnonzero(in_some[src] & in_some[dst])
    sym = (np.minimum(src[cand], dst[cand]) << 32) | np.maximum(src[cand], dst[cand])
    pos = np.searchsorted(recip, sym)
    pos[pos == recip.size] = 0
    edges = cand[(recip[pos] == sym) & (src[cand] != dst[cand])]
    fwd = (src[edges] << 32) | dst[edges]
    rev = (dst[edges] << 32) | src[edges]
    # Every edge of a reciprocal pair is both a message that needs a cavity and an entry to leave out.
    pair_keys, corr_edge_pair = np.unique(fwd, return_inverse=True)
    entry_pair = np.searchsorted(pair_keys, rev)
    seg_of_group = np.full(int(seg_group.max()) + 1, -1, dtype=np.int64)
    seg_of_group[seg_group] = np.arange(seg_group.shape[0])
    entry_seg = seg_of_group[group[edges]]
    n_seg = seg_group.shape[0]
    cg_key, entry_cg = np.unique(entry_pair * n_seg + entry_seg, return_inverse=True)
    cg_pair = cg_key // n_seg
    cg_pair_start = np.concatenate(([0], np.flatnonzero(cg_pair[1:] != cg_pair[:-1]) + 1)).astype(np.int64)
    return {
        "pair_u": (pair_keys >> 32).astype(np.int64),
        "pair_v": (pair_keys & 0xFFFFFFFF).astype(np.int64),
        "corr_edges": edges.astype(np.int64),
        "corr_edge_pair": corr_edge_pair.astype(np.int64).ravel(),
        "entry_edges": edges.astype(np.int64),
        "entry_cg": entry_cg.astype(np.int64).ravel(),
        "cg_seg": (cg_key % n_seg).astype(np.int64),
        "cg_pair_start": cg_pair_start,
    }


@dataclass(frozen=True)
class PropagationResult:
    """Risk per node after K rounds, with the last round's messages and the exact hazard split.

    Edge arrays follow the caller's edge order; group arrays are indexed by the caller's group ids.
    Hazard arrays are computed on first access (they are not needed for the score itself).
    """

    risk: FloatArray
    edge_message: FloatArray
    edge_weight: FloatArray
    edge_term: FloatArray
    group_dst: IntArray
    group_sum: FloatArray
    group_x: FloatArray
    upstream_keep: FloatArray
    local: FloatArray
    backfill: FloatArray
    dst: IntArray
    aggregator: Aggregator
    delta: float
    k: int
    prune: float
    last_change: float

    @property
    def group_id(self) -> IntArray:
        """Group ids ``0..G-1`` (the index of every group array)."""
        return np.arange(self.group_dst.shape[0], dtype=np.int64)

    @cached_property
    def local_hazard(self) -> FloatArray:
        """``h(L_v)``."""
        return hazard(self.local)

    @cached_property
    def backfill_hazard(self) -> FloatArray:
        """``h(b_v)``: the unmapped-input backfill, reported separately."""
        return hazard(self.backfill)

    @cached_property
    def upstream_hazard(self) -> FloatArray:
        """Hazard of everything received from suppliers: ``Σ_k h(x_k)`` for the default aggregator."""
        with np.errstate(divide="ignore"):
            return -np.log(self.upstream_keep)

    @cached_property
    def group_hazard(self) -> FloatArray:
        """``h(x_k)`` per group (for ``max``/``weighted_mean``: the sum of its edges' hazard)."""
        if self.aggregator == "grouped_noisy_or":
            return hazard(self.group_x)
        out: FloatArray = np.bincount(
            self.edge_group, weights=self.edge_hazard, minlength=self.group_x.shape[0]
        ).astype(np.float64)
        return out

    @cached_property
    def edge_group(self) -> IntArray:
        """Group id of each edge (caller order)."""
        return self._edge_group

    @cached_property
    def edge_hazard(self) -> FloatArray:
        """Each edge's part of its buyer's hazard, ``h(x_k) · w m / Σ_k w m`` (default aggregator)."""
        term = self.edge_term
        if self.aggregator == "grouped_noisy_or":
            gh = hazard(self.group_x)[self.edge_group]
            gs = self.group_sum[self.edge_group]
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(term > 0, gh * (term / np.where(gs > 0, gs, 1.0)), 0.0)
        up_h = self.upstream_hazard
        n = self.risk.shape[0]
        if self.aggregator == "max":
            # the maximal edge carries the whole upstream hazard; exact ties share it equally
            best = np.zeros(n)
            np.maximum.at(best, self.dst, term)
            is_max = (term > 0) & (term == best[self.dst])
            ties = np.bincount(self.dst[is_max], minlength=n)
            return np.where(is_max, up_h[self.dst] / np.maximum(ties[self.dst], 1), 0.0)
        num = np.bincount(self.dst, weights=term, minlength=n)[self.dst]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(term > 0, up_h[self.dst] * (term / np.where(num > 0, num, 1.0)), 0.0)

    @property
    def hazard(self) -> FloatArray:
        """Total hazard ``−ln(1 − R)`` per node: local + backfill + upstream (exact)."""
        return self.local_hazard + self.backfill_hazard + self.upstream_hazard

    _edge_group: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)


def hazard(p: FloatArray) -> FloatArray:
    """``−ln(1 − p)``, infinite at ``p = 1``."""
    with np.errstate(divide="ignore"):
        return -np.log1p(-p)


@dataclass
class _State:
    """One round's node risks and the per-edge/segment pieces explanations use."""

    risk: FloatArray
    cavity: FloatArray  # risk of pair_u leaving out pair_v's edges
    term: FloatArray
    seg_sum: FloatArray
    upstream_keep: FloatArray


def _combine(base_keep: FloatArray, upstream: FloatArray) -> FloatArray:
    """``1 − (1 − L)(1 − b)(1 − up)``."""
    return 1.0 - base_keep * (1.0 - np.minimum(upstream, 1.0))


@dataclass
class _Buffers:
    """Arrays reused across rounds: fresh 80 MB allocations each round cost page faults, not just copies."""

    message: FloatArray
    term: FloatArray
    seg_sum: FloatArray
    factor: FloatArray
    node_keep: FloatArray

    @staticmethod
    def for_topology(top: _Topology) -> _Buffers:
        return _Buffers(
            message=np.empty(top.src.shape[0]),
            term=np.empty(top.src.shape[0]),
            seg_sum=np.empty(top.gstart.shape[0]),
            factor=np.empty(top.gstart.shape[0]),
            node_keep=np.empty(top.nstart.shape[0]),
        )


def _round_noisy_or(
    top: _Topology,
    weight: FloatArray,
    base_keep: FloatArray,
    message: FloatArray,
    buf: _Buffers | None = None,
) -> _State:
    if message.size == 0:
        return _State(1.0 - base_keep, np.zeros(0), message * weight, np.zeros(0), np.ones(top.n))
    b = buf or _Buffers.for_topology(top)
    term = np.multiply(weight, message, out=b.term)
    seg_sum = np.add.reduceat(term, top.gstart, out=b.seg_sum)
    factor = np.minimum(seg_sum, 1.0, out=b.factor)
    np.subtract(1.0, factor, out=factor)
    keep_up = np.ones(top.n)
    keep_up[top.node_ids] = np.multiply.reduceat(factor, top.nstart, out=b.node_keep)
    keep = base_keep * keep_up
    risk = 1.0 - keep
    cavity = np.zeros(0)
    if top.pair_u.size:
        reduced = np.bincount(top.entry_cg, weights=term[top.entry_edges], minlength=top.cg_seg.shape[0])
        new = 1.0 - np.minimum(np.maximum(seg_sum[top.cg_seg] - reduced, 0.0), 1.0)
        old = factor[top.cg_seg]
        ok = old > _TINY
        ratio = np.where(ok, new / np.where(ok, old, 1.0), np.nan)
        pair_keep = keep[top.pair_u] * np.multiply.reduceat(ratio, top.cg_pair_start)
        for p in np.flatnonzero(np.isnan(pair_keep)):
            pair_keep[p] = _explicit_cavity_keep(top, int(p), factor, new, base_keep)
        cavity = 1.0 - pair_keep
    return _State(risk, cavity, term, seg_sum, keep_up)


def _explicit_cavity_keep(
    top: _Topology, p: int, factor: FloatArray, new: FloatArray, base_keep: FloatArray
) -> float:
    """Cavity survival at ``pair_u[p]`` by a direct product (used when a removed group was saturated)."""
    u = int(top.pair_u[p])
    first, count = int(top.node_first_seg[u]), int(top.node_n_seg[u])
    seg_factor = factor[first : first + count].copy()
    lo = int(top.cg_pair_start[p])
    hi = int(top.cg_pair_start[p + 1]) if p + 1 < top.cg_pair_start.shape[0] else top.cg_seg.shape[0]
    seg_factor[top.cg_seg[lo:hi] - first] = new[lo:hi]
    return float(base_keep[u] * np.prod(seg_factor))


def _round_max(top: _Topology, weight: FloatArray, base_keep: FloatArray, message: FloatArray) -> _State:
    term = weight * message
    seg_sum = np.add.reduceat(term, top.gstart) if term.size else np.zeros(0)
    up = np.zeros(top.n)
    if term.size:
        up[top.enode] = np.maximum.reduceat(term, top.estart)
    risk = _combine(base_keep, up)
    cavity = np.zeros(0)
    if top.pair_u.size:
        # The best term at u, or, when v supplies it, the best among edges from any other source.
        top_src = np.full(top.n, -1, dtype=np.int64)
        idx = np.flatnonzero((term > 0) & (term == up[top.dst]))
        top_src[top.dst[idx]] = top.src[idx]
        second = np.zeros(top.n)
        second[top.enode] = np.maximum.reduceat(np.where(top.src == top_src[top.dst], 0.0, term), top.estart)
        cav_up = np.where(top_src[top.pair_u] == top.pair_v, second[top.pair_u], up[top.pair_u])
        cavity = _combine(base_keep[top.pair_u], cav_up)
    return _State(risk, cavity, term, seg_sum, 1.0 - np.minimum(up, 1.0))


def _round_weighted_mean(
    top: _Topology,
    weight: FloatArray,
    sc: FloatArray,
    den: FloatArray,
    base_keep: FloatArray,
    message: FloatArray,
) -> _State:
    term = weight * message
    seg_sum = np.add.reduceat(term, top.gstart) if term.size else np.zeros(0)
    num = np.zeros(top.n)
    if term.size:
        num[top.enode] = np.add.reduceat(term, top.estart)
    ok = den > 0
    up = np.minimum(np.where(ok, num / np.where(ok, den, 1.0), 0.0), 1.0)
    risk = _combine(base_keep, up)
    cavity = np.zeros(0)
    if top.pair_u.size:
        # A ratio cannot be corrected by subtraction without losing precision (a large removed term next
        # to tiny remaining ones), so the cavity mean is summed directly over u's other incoming edges.
        idx, pid = _cavity_edges(top)
        n_pairs = top.pair_u.shape[0]
        c_num = np.bincount(pid, weights=term[idx], minlength=n_pairs)
        c_den = np.bincount(pid, weights=sc[idx], minlength=n_pairs)
        c_ok = c_den > 0
        cav_up = np.minimum(np.where(c_ok, c_num / np.where(c_ok, c_den, 1.0), 0.0), 1.0)
        cavity = _combine(base_keep[top.pair_u], cav_up)
    return _State(risk, cavity, term, seg_sum, 1.0 - up)


def _cavity_edges(top: _Topology) -> tuple[IntArray, IntArray]:
    """For each reciprocal pair (u, v): u's incoming edges not from v, as (edge index, pair index)."""
    first = np.zeros(top.n, dtype=np.int64)
    count = np.zeros(top.n, dtype=np.int64)
    first[top.enode] = top.estart
    count[top.enode] = np.diff(np.append(top.estart, top.src.shape[0]))
    starts, counts = first[top.pair_u], count[top.pair_u]
    total = int(counts.sum())
    pid = np.repeat(np.arange(top.pair_u.shape[0], dtype=np.int64), counts)
    idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    keep = top.src[idx] != top.pair_v[pid]
    return idx[keep], pid[keep]


def propagate(
    inp: PropagationInput,
    *,
    delta: float = 0.85,
    k: int = 5,
    aggregator: Aggregator = "grouped_noisy_or",
    prune: float = 1e-4,
) -> PropagationResult:
    """Propagate local risk K rounds from suppliers to buyers with cavity messages (module docstring)."""
    if aggregator not in AGGREGATORS:
        msg = f"unknown aggregator {aggregator!r}; expected one of {', '.join(AGGREGATORS)}"
        raise InputError(msg)
    if not np.isfinite(delta) or not (0.0 <= delta <= 1.0):
        msg = f"delta must be in [0, 1], got {delta!r}"
        raise InputError(msg)
    if k < 0:
        msg = f"k (rounds) must be >= 0, got {k!r}"
        raise InputError(msg)
    inp.validate()
    top = inp.topology()
    perm = top.perm
    share = inp.share if perm is None else inp.share[perm]
    conf = inp.confidence if perm is None else inp.confidence[perm]
    mask = np.asarray(inp.propagate_mask, dtype=bool)
    sc = share * conf
    # edges that carry nothing: self-loops, either end a logistics node, masked out by the caller
    if top.self_loops is not None:
        sc[top.self_loops] = 0.0
    if not mask.all():
        sc[~(mask[top.src] & mask[top.dst])] = 0.0
    if inp.edge_mask is not None:
        sc[~(inp.edge_mask if perm is None else inp.edge_mask[perm])] = 0.0
    weight = sc * delta
    local = np.asarray(inp.local, dtype=np.float64)
    base_keep = (1.0 - local) * (1.0 - np.asarray(inp.backfill, dtype=np.float64))
    den = np.zeros(top.n)
    if aggregator == "weighted_mean" and sc.size:
        den[top.enode] = np.add.reduceat(sc, top.estart)

    buf = _Buffers.for_topology(top) if aggregator == "grouped_noisy_or" else None
    message = np.take(local, top.src, out=buf.message) if buf is not None else np.take(local, top.src)
    risk = local.copy()
    previous = risk
    state: _State | None = None
    for t in range(k):
        if t > 0:
            assert state is not None
            np.take(risk, top.src, out=message)
            if top.corr_edges.size:
                message[top.corr_edges] = state.cavity[top.corr_edge_pair]
        if aggregator == "grouped_noisy_or":
            state = _round_noisy_or(top, weight, base_keep, message, buf)
        elif aggregator == "max":
            state = _round_max(top, weight, base_keep, message)
        else:
            state = _round_weighted_mean(top, weight, sc, den, base_keep, message)
        previous, risk = risk, state.risk
    used = message
    last_change = float(np.max(np.abs(risk - previous))) if risk.size else 0.0

    if top.groups_are_segments:
        group_dst = top.seg_dst
    else:
        group_dst = np.full(top.n_groups, -1, dtype=np.int64)
        group_dst[top.seg_group] = top.seg_dst
    if state is None:
        term = np.zeros(top.src.shape[0])
        seg_sum = np.zeros(top.seg_group.shape[0])
        upstream_keep = np.ones(top.n)
    else:
        term, seg_sum, upstream_keep = state.term, state.seg_sum, state.upstream_keep
    group_sum = top.to_caller_groups(seg_sum)
    # other aggregators: filled in below from the edge hazards
    group_x = np.minimum(group_sum, 1.0) if aggregator == "grouped_noisy_or" else np.zeros(top.n_groups)
    result = PropagationResult(
        risk=risk,
        edge_message=top.to_caller_edges(used),
        edge_weight=top.to_caller_edges(weight),
        edge_term=top.to_caller_edges(term),
        group_dst=group_dst,
        group_sum=group_sum,
        group_x=group_x,
        upstream_keep=upstream_keep,
        local=local,
        backfill=np.asarray(inp.backfill, dtype=np.float64),
        dst=np.asarray(inp.dst, dtype=np.int64),
        aggregator=aggregator,
        delta=delta,
        k=k,
        prune=prune,
        last_change=last_change,
        _edge_group=np.asarray(inp.group, dtype=np.int64),
    )
    if aggregator != "grouped_noisy_or":
        np.copyto(result.group_x, -np.expm1(-result.group_hazard))
    return result
