"""Score a supply graph with a methodology: local risk, propagation, interval, flags, bands, coverage.

:func:`score_graph` composes the fl-v1 pieces (METHODOLOGY §3.2-3.9):

1. inherent risk per entity (:mod:`.inherent`), discounted by a qualifying clean audit (κ ≥ 0.7; never
   for override entities: an audit does not rebut a location presumption);
2. entity evidence from audit findings and enforcement hits (:mod:`.evidence`) and local risk
   ``L = 1 − (1 − I')(1 − E)``, for the point score and for the interval's low and high variants;
3. the unmapped-input backfill ``b_v = (1 − σ_v) · c_mrio · δ · Ĩ_v`` (none for override entities, whose
   presumption already covers their inputs) and propagation (:mod:`.propagate`) three times: point,
   ``R_low`` (edges with c ≥ 0.8, no backfill, accepted matches, unknown scope isolated) and ``R_high``
   (c = 1, p90 backfill with c_mrio = 1, possible matches, unknown scope systemic);
4. hard flags within K hops and their floors, bands, the coverage index and the explanation payload.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import NDArray

from risk_engine import __version__
from risk_engine.schemas import REJECTS_SCHEMA
from risk_engine.scoring import bands, coverage, evidence, explain
from risk_engine.scoring.inherent import (
    CountryIndexKind,
    InherentReference,
    inherent_memo_keys,
    inherent_risk_memo,
    load_inherent_reference,
    normalise_country_index,
)
from risk_engine.scoring.memo import memo_rows
from risk_engine.scoring.propagate import PropagationInput, PropagationResult, propagate
from risk_engine.scoring.registry import Methodology, Params

SCORES_COLUMNS: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "score": pl.Float64(),
    "score_unfloored": pl.Float64(),
    "band": pl.String(),
    "r_low": pl.Float64(),
    "r_high": pl.Float64(),
    "dci": pl.Float64(),
    "imputed_share": pl.Float64(),
    "low_coverage": pl.Boolean(),
    "inherent": pl.Float64(),
    "evidence": pl.Float64(),
    "local": pl.Float64(),
    "propagated": pl.Float64(),
    "flag_severity": pl.String(),
    "flags": pl.String(),
    "top_paths": pl.String(),
    "top_indicators": pl.String(),
    "country": pl.String(),
    "sector": pl.String(),
    "hs4": pl.String(),
    "methodology": pl.String(),
    "params_version": pl.String(),
    "reference_version": pl.String(),
}


class GraphLike(Protocol):
    """What scoring needs of a supply graph: a nodes frame and an edges frame."""

    @property
    def nodes(self) -> pl.DataFrame:
        """``entity_id, country, region, node_type, hs4_list, ...`` (one row per entity)."""
        ...

    @property
    def edges(self) -> pl.DataFrame:
        """``src, dst, hs4, source, n_shipments, last_date, share, share_imputed, confidence, ...``."""
        ...


@dataclass(frozen=True)
class ScoreTables:
    """The scoring result: per-entity scores, explanation JSON, issues, and the per-entity terms."""

    scores: pl.DataFrame
    explanations: pl.DataFrame
    issues: pl.DataFrame
    terms: pl.DataFrame
    flags: pl.DataFrame
    versions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphArrays:
    """The graph as index arrays (node order = ``node_ids``), shared by the three propagation runs."""

    node_ids: list[str]
    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    group: NDArray[np.int64]
    share: NDArray[np.float64]
    confidence: NDArray[np.float64]
    match_ok: NDArray[np.bool_]
    match_possible: NDArray[np.bool_]
    propagate_mask: NDArray[np.bool_]
    edges: pl.DataFrame  # the edges frame in array order, with ``src_i``/``dst_i``


# The indexed form of an empty edge frame, per (edge schema, node schema): it depends on nothing else.
_EMPTY_INDEXED: dict[tuple[str, str], tuple[pl.DataFrame, pl.DataFrame]] = {}


def _indexed_edges(
    nodes: pl.DataFrame, edges: pl.DataFrame, ids: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`_index_edges`, computed once per schema for an empty edge frame (small request graphs)."""
    if not edges.is_empty():
        return _index_edges(nodes, edges, ids)
    key = (str(edges.schema), str(nodes.schema))
    held = _EMPTY_INDEXED.get(key)
    if held is None:
        if len(_EMPTY_INDEXED) > 64:
            _EMPTY_INDEXED.clear()
        held = _index_edges(nodes, edges, ids)
        _EMPTY_INDEXED[key] = held
    return held


def _index_edges(
    nodes: pl.DataFrame, edges: pl.DataFrame, ids: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Edges with ``src_i``/``dst_i``, defaults, shares and correlation ``group``; dangling edges as issues."""
    index = pl.DataFrame(
        {"entity_id": ids, "_i": np.arange(len(ids), dtype=np.int64)},
        schema={"entity_id": pl.String, "_i": pl.Int64},
    )
    e = edges
    for name, dtype, default in (
        ("hs4", pl.String(), None),
        ("source", pl.String(), None),
        ("share", pl.Float64(), None),
        ("confidence", pl.Float64(), 1.0),
        ("n_shipments", pl.Int64(), None),
        ("last_date", pl.Date(), None),
        ("share_imputed", pl.Boolean(), False),
        ("match_confidence", pl.Float64(), 1.0),
    ):
        if name not in e.columns:
            e = e.with_columns(pl.lit(default, dtype).alias(name))
    e = (
        e.with_columns(pl.col("src").cast(pl.String), pl.col("dst").cast(pl.String))
        .join(index.rename({"entity_id": "src", "_i": "src_i"}), on="src", how="left")
        .join(index.rename({"entity_id": "dst", "_i": "dst_i"}), on="dst", how="left")
    )
    dangling = e.filter(pl.col("src_i").is_null() | pl.col("dst_i").is_null())
    issues = pl.DataFrame(
        {
            "file": ["graph"] * dangling.height,
            "row": [None] * dangling.height,
            "column": ["src/dst"] * dangling.height,
            "value": [f"{a}->{b}" for a, b in zip(dangling["src"], dangling["dst"], strict=True)],
            "reason": ["edge end is not a node of the graph: edge not propagated"] * dangling.height,
            "severity": ["warning"] * dangling.height,
        },
        schema=REJECTS_SCHEMA,
    )
    e = e.filter(pl.col("src_i").is_not_null() & pl.col("dst_i").is_not_null())
    # Equal split inside (buyer, hs4) where a share is missing: the builder normally does this already.
    e = e.with_columns(
        share=pl.col("share").fill_null(1.0 / pl.len().over("dst", "hs4")).clip(0.0, 1.0),
        confidence=pl.col("confidence").fill_null(1.0).clip(0.0, 1.0),
        match_confidence=pl.col("match_confidence").fill_null(1.0),
    )
    country = (
        nodes.select(pl.col("entity_id").cast(pl.String), pl.col("country").cast(pl.String))
        if "country" in nodes.columns
        else index.select("entity_id", pl.lit(None, pl.String).alias("country"))
    )
    e = e.join(country.rename({"entity_id": "src", "country": "src_country"}), on="src", how="left")
    e = e.with_columns(
        pl.struct(pl.col("dst_i"), pl.col("src_country").fill_null("??"), pl.col("hs4").fill_null("????"))
        .rank("dense")
        .cast(pl.Int64)
        .sub(1)
        .alias("group")
    )
    return e, issues


def graph_arrays(
    nodes: pl.DataFrame, edges: pl.DataFrame, *, params: Params
) -> tuple[GraphArrays, pl.DataFrame]:
    """Index the graph; edges whose ends are not nodes are returned as issues (never silently dropped)."""
    ids = nodes.get_column("entity_id").cast(pl.String).to_list()
    node_type = (
        nodes.get_column("node_type").cast(pl.String).fill_null("supplier")
        if "node_type" in nodes.columns
        else pl.Series([None] * len(ids), dtype=pl.String).fill_null("supplier")
    )
    mask = (node_type != "logistics").to_numpy().astype(bool)
    e, issues = _indexed_edges(nodes, edges, ids)
    ep = params.evidence
    m = e.get_column("match_confidence").to_numpy()
    arrays = GraphArrays(
        node_ids=ids,
        src=e.get_column("src_i").to_numpy().astype(np.int64),
        dst=e.get_column("dst_i").to_numpy().astype(np.int64),
        group=e.get_column("group").to_numpy().astype(np.int64) if e.height else np.zeros(0, dtype=np.int64),
        share=e.get_column("share").to_numpy().astype(np.float64),
        confidence=e.get_column("confidence").to_numpy().astype(np.float64),
        match_ok=m >= ep.auto_match,
        match_possible=m >= ep.possible_match,
        propagate_mask=mask,
        edges=e,
    )
    return arrays, issues


def _node_frame(nodes: pl.DataFrame) -> pl.DataFrame:
    n = nodes.with_columns(pl.col("entity_id").cast(pl.String))
    return n.unique("entity_id", keep="first", maintain_order=True)


_VariantEvidence = tuple[pl.DataFrame, evidence.FindingFactors | None, pl.DataFrame, pl.DataFrame]
# The evidence frames of a graph without findings or hits, per (parameters, as-of): they depend on nothing
# else. Keyed by ``id(params)``; the params object is kept and checked.
_NO_EVIDENCE: dict[tuple[int, date], tuple[Params, _VariantEvidence]] = {}


def _variant_evidence(
    audits: pl.DataFrame | None, hits: pl.DataFrame | None, *, params: Params, as_of: date
) -> _VariantEvidence:
    """E_audit, E_enf, E_alleg per entity and variant; finding factors; distance-0 flags; issues.

    Without findings and hits the (empty) result is computed once per parameters and as-of date.
    """
    if audits is not None or hits is not None:
        return _compute_variant_evidence(audits, hits, params=params, as_of=as_of)
    held = _NO_EVIDENCE.get((id(params), as_of))
    if held is None or held[0] is not params:
        if len(_NO_EVIDENCE) > 64:
            _NO_EVIDENCE.clear()
        held = (params, _compute_variant_evidence(None, None, params=params, as_of=as_of))
        _NO_EVIDENCE[(id(params), as_of)] = held
    return held[1]


def _compute_variant_evidence(
    audits: pl.DataFrame | None, hits: pl.DataFrame | None, *, params: Params, as_of: date
) -> _VariantEvidence:
    ff = evidence.finding_factors(audits, params=params, as_of=as_of) if audits is not None else None
    frames = []
    issues = [ff.issues] if ff is not None else []
    hit_flags = pl.DataFrame(schema=evidence.HIT_FLAG_SCHEMA)
    for variant in evidence.VARIANTS:
        a = evidence.audit_evidence(ff, params=params, as_of=as_of, variant=variant)
        en = evidence.enforcement_evidence(hits, params=params, as_of=as_of, variant=variant)
        if variant == "high":
            hit_flags = en.flags
            issues.append(en.issues)
        merged = (
            a.select("entity_id", pl.col("e_audit"), "pattern_met", "grave_met")
            .join(
                en.evidence.select("entity_id", "e_enf", "e_alleg", "items"),
                on="entity_id",
                how="full",
                coalesce=True,
            )
            .with_columns(pl.lit(variant).alias("variant"))
        )
        frames.append(merged)
    ev = pl.concat(frames, how="vertical_relaxed").with_columns(
        pl.col("e_audit").fill_null(0.0),
        pl.col("e_enf").fill_null(0.0),
        pl.col("e_alleg").fill_null(0.0),
        pl.col("pattern_met").fill_null(False),
        pl.col("grave_met").fill_null(False),
    )
    all_issues = pl.concat(issues) if issues else evidence.empty_issues()
    return ev, ff, hit_flags, all_issues


def _unknown_entity_issues(ev: pl.DataFrame, node_ids: list[str]) -> pl.DataFrame:
    """Evidence for entities that are not nodes of the graph cannot be scored: report it."""
    if ev.is_empty():
        return pl.DataFrame(schema=REJECTS_SCHEMA)
    known = pl.DataFrame({"entity_id": node_ids}, schema={"entity_id": pl.String})
    stray = (
        ev.filter(pl.col("variant") == "high").join(known, on="entity_id", how="anti").get_column("entity_id")
    )
    return pl.DataFrame(
        {
            "file": ["audits/enforcement"] * stray.len(),
            "row": [None] * stray.len(),
            "column": ["entity_id"] * stray.len(),
            "value": stray.to_list(),
            "reason": ["evidence for an entity that is not in the supply graph: not scored"] * stray.len(),
            "severity": ["warning"] * stray.len(),
        },
        schema=REJECTS_SCHEMA,
    )


def _entity_terms(
    nodes: pl.DataFrame,
    audits: pl.DataFrame | None,
    ev: pl.DataFrame,
    *,
    params: Params,
    as_of: date,
    reference: InherentReference,
) -> pl.DataFrame:
    """Row-wise terms per entity (any order): inherent, κ, and evidence and local risk of each variant."""
    inh = inherent_risk_memo(nodes, params=params, reference=reference)
    clean = evidence.clean_audits(audits, params=params, as_of=as_of)
    last_audit = evidence.latest_audit_dates(audits)
    t = inh.join(clean, on="entity_id", how="left").join(last_audit, on="entity_id", how="left")
    t = t.with_columns(
        clean_kappa=pl.when(pl.col("override").is_null()).then(pl.col("clean_kappa")).otherwise(None),
    ).with_columns(
        inherent_adj=pl.col("inherent") * pl.col("clean_kappa").fill_null(1.0),
        inherent_adj_high=pl.col("inherent_high") * pl.col("clean_kappa").fill_null(1.0),
        # the country/sector prior: the scorecard value without overrides or clean-audit discount
        prior_local=pl.min_horizontal(1.0 / (1.0 + (-pl.col("logit")).exp()), pl.lit(params.inherent.cap)),
    )
    for variant in evidence.VARIANTS:
        sub = ev.filter(pl.col("variant") == variant).drop("variant")
        suffix = "" if variant == "point" else f"_{variant}"
        sub = sub.rename({c: f"{c}{suffix}" for c in sub.columns if c != "entity_id"})
        t = t.join(sub, on="entity_id", how="left")
        e_col = f"evidence{suffix}"
        t = t.with_columns(
            pl.col(f"e_audit{suffix}").fill_null(0.0),
            pl.col(f"e_enf{suffix}").fill_null(0.0),
            pl.col(f"e_alleg{suffix}").fill_null(0.0),
        ).with_columns(
            (
                1.0
                - (1.0 - pl.col(f"e_audit{suffix}"))
                * (1.0 - pl.col(f"e_enf{suffix}"))
                * (1.0 - pl.col(f"e_alleg{suffix}"))
            ).alias(e_col)
        )
        i_col = "inherent_adj_high" if variant == "high" else "inherent_adj"
        t = t.with_columns((1.0 - (1.0 - pl.col(i_col)) * (1.0 - pl.col(e_col))).alias(f"local{suffix}"))
    return t


def _evidence_free_terms(
    nodes: pl.DataFrame, ev: pl.DataFrame, *, params: Params, as_of: date, reference: InherentReference
) -> pl.DataFrame:
    """:func:`_entity_terms` without findings or hits, memoised for small graphs.

    Without findings or hits an entity's row depends only on its inherent-risk key and the as-of date.
    """
    keys = inherent_memo_keys(nodes, params.inherent)
    if keys is None:
        return _entity_terms(nodes, None, ev, params=params, as_of=as_of, reference=reference)
    return memo_rows(
        reference.row_memo(params),
        "evidence_free_terms",
        [(as_of, key) for key in keys],
        nodes.get_column("entity_id").to_list(),
        lambda missing: _entity_terms(
            nodes[missing], None, ev, params=params, as_of=as_of, reference=reference
        ),
    )


def node_terms(
    nodes: pl.DataFrame,
    arrays: GraphArrays,
    *,
    audits: pl.DataFrame | None,
    enforcement_hits: pl.DataFrame | None,
    params: Params,
    as_of: date,
    reference: InherentReference,
) -> tuple[pl.DataFrame, evidence.FindingFactors | None, pl.DataFrame, pl.DataFrame]:
    """Per-entity terms in node order: inherent, κ, evidence and local risk of each variant, σ and backfill."""
    ev, ff, hit_flags, issues = _variant_evidence(audits, enforcement_hits, params=params, as_of=as_of)
    if audits is None and enforcement_hits is None:
        t = _evidence_free_terms(nodes, ev, params=params, as_of=as_of, reference=reference)
    else:
        t = _entity_terms(nodes, audits, ev, params=params, as_of=as_of, reference=reference)
    issues = pl.concat([issues, _unknown_entity_issues(ev, arrays.node_ids)], how="vertical_relaxed")
    # node order and the graph-derived terms
    order = pl.DataFrame({"entity_id": arrays.node_ids}, schema={"entity_id": pl.String}).with_row_index("_i")
    t = order.join(t, on="entity_id", how="left").sort("_i")
    active = arrays.propagate_mask[arrays.src] & arrays.propagate_mask[arrays.dst] & arrays.match_ok
    sigma1 = coverage.mapped_share(len(arrays.node_ids), arrays.dst, arrays.share, active)
    sigma2 = coverage.tier2_mapped_share(arrays.src, arrays.dst, arrays.share, active, sigma1)
    pp = params.propagation
    no_backfill = t.get_column("override").is_not_null().to_numpy() | ~arrays.propagate_mask
    bf_i = t.get_column("backfill_inherent").fill_null(0.0).to_numpy()
    bf_i_high = t.get_column("backfill_inherent_high").fill_null(0.0).to_numpy()
    backfill = np.where(no_backfill, 0.0, (1.0 - sigma1) * pp.c_mrio * pp.delta * bf_i)
    sigma1_high = coverage.mapped_share(
        len(arrays.node_ids),
        arrays.dst,
        arrays.share,
        arrays.propagate_mask[arrays.src] & arrays.propagate_mask[arrays.dst] & arrays.match_possible,
    )
    backfill_high = np.where(
        no_backfill,
        0.0,
        (1.0 - sigma1_high) * params.interval.high_c_mrio * pp.delta * np.maximum(bf_i_high, bf_i),
    )
    t = t.with_columns(
        pl.Series("sigma1", sigma1),
        pl.Series("sigma2", sigma2),
        pl.Series("backfill", backfill),
        pl.Series("backfill_high", backfill_high),
    )
    return t.drop("_i"), ff, hit_flags, issues


@dataclass(frozen=True)
class Propagated:
    """The propagation runs of one scoring: point, interval ends, and the country/sector prior alone."""

    point: PropagationResult
    low: PropagationResult
    high: PropagationResult
    prior: PropagationResult
    inputs: PropagationInput

    def capped_risk(self, cap: float) -> NDArray[np.float64]:
        """The point risk with its country/sector-prior part capped (§3.0 principle 3).

        In hazard space ``h' = min(h_prior, h(cap)) + max(0, h(R) − h_prior)``: the prior alone (inherent
        risk without overrides or clean-audit discounts, and backfill, propagated) never takes an entity
        above the cap; entity evidence, overrides and enforcement hits anywhere upstream add on top. The
        prior does not depend on any evidence, so the result stays monotone in evidence.
        """
        h_cap = -np.log1p(-cap)
        h_prior = np.minimum(self.prior.hazard, 1e6)
        h_point = np.minimum(self.point.hazard, 1e6)
        h = np.minimum(h_prior, h_cap) + np.maximum(0.0, h_point - h_prior)
        return np.minimum(-np.expm1(-h), self.point.risk)


def propagate_variants(arrays: GraphArrays, terms: pl.DataFrame, *, params: Params) -> Propagated:
    """Run propagation for the point score, ``R_low`` and ``R_high`` (see the module docstring)."""
    pp = params.propagation
    n = len(arrays.node_ids)

    def col(name: str) -> NDArray[np.float64]:
        return np.clip(terms.get_column(name).fill_null(0.0).to_numpy().astype(np.float64), 0.0, 1.0)

    base = PropagationInput(
        n_nodes=n,
        src=arrays.src,
        dst=arrays.dst,
        group=arrays.group,
        share=arrays.share,
        confidence=arrays.confidence,
        local=col("local"),
        backfill=col("backfill"),
        propagate_mask=arrays.propagate_mask,
        edge_mask=arrays.match_ok,
    )
    kw: dict[str, Any] = {
        "delta": pp.delta,
        "k": pp.max_depth,
        "aggregator": pp.aggregator,
        "prune": pp.prune,
    }
    point = propagate(base, **kw)
    low = propagate(
        base.replace(
            local=col("local_low"),
            backfill=np.zeros(n),
            edge_mask=arrays.match_ok & (arrays.confidence >= params.interval.low_min_confidence),
        ),
        **kw,
    )
    high = propagate(
        base.replace(
            local=col("local_high"),
            backfill=col("backfill_high"),
            confidence=np.ones_like(arrays.confidence),
            edge_mask=arrays.match_possible,
        ),
        **kw,
    )
    # the country/sector prior alone: inherent risk without overrides or discounts, same backfill
    prior = propagate(base.replace(local=col("prior_local")), **kw)
    return Propagated(point=point, low=low, high=high, prior=prior, inputs=base)


def score_graph(
    graph: GraphLike,
    *,
    audits: pl.DataFrame | None,
    enforcement_hits: pl.DataFrame | None,
    methodology: Methodology,
    as_of: date,
    country_index: pl.DataFrame | None = None,
    reference: InherentReference | None = None,
    explain_top: int = 5,
) -> ScoreTables:
    """Score every entity of ``graph`` (see the module docstring); nothing is read from disk here.

    ``country_index`` replaces the country index: a frame with ``iso2`` and ``C_c`` (or ``C``), such as
    ``risk_engine.reference.country_index_from_gsi`` builds from a user-supplied GSI file (recorded as
    ``gsi`` when it carries ``gsi_components``, else ``user``). ``reference`` replaces the whole
    inherent-risk reference (a newer TVPRA edition, tests, validation). The versions stamped on every
    row say which country index ran.
    """
    params = methodology.params
    ref = reference if reference is not None else load_inherent_reference()
    if country_index is not None:
        kind: CountryIndexKind = "gsi" if "gsi_components" in country_index.columns else "user"
        ref = dataclasses.replace(
            ref,
            country_index=normalise_country_index(country_index),
            country_index_kind=kind,
            versions={**ref.versions, "country_index": kind},
        )
    nodes = _node_frame(graph.nodes)
    arrays, graph_issues = graph_arrays(nodes, graph.edges, params=params)
    terms, ff, hit_flags, ev_issues = node_terms(
        nodes,
        arrays,
        audits=audits,
        enforcement_hits=enforcement_hits,
        params=params,
        as_of=as_of,
        reference=ref,
    )
    runs = propagate_variants(arrays, terms, params=params)
    flags = detect_flags(nodes, arrays, terms, hit_flags, params=params, as_of=as_of, reference=ref)
    versions = _versions(methodology, ref, enforcement_hits)
    scores, explanations = _assemble(
        nodes,
        arrays,
        terms,
        runs,
        flags,
        ff,
        params=params,
        methodology=methodology,
        as_of=as_of,
        versions=versions,
        explain_top=explain_top,
    )
    issues = pl.concat([graph_issues, ev_issues, _inherent_issues(terms)], how="vertical_relaxed")
    return ScoreTables(
        scores=scores, explanations=explanations, issues=issues, terms=terms, flags=flags, versions=versions
    )


def _inherent_issues(terms: pl.DataFrame) -> pl.DataFrame:
    rows = terms.select("entity_id", "issues").explode("issues").drop_nulls("issues")
    return pl.DataFrame(
        {
            "file": ["entities"] * rows.height,
            "row": [None] * rows.height,
            "column": ["country/hs_code"] * rows.height,
            "value": rows.get_column("entity_id").to_list(),
            "reason": rows.get_column("issues").to_list(),
            "severity": ["warning"] * rows.height,
        },
        schema=REJECTS_SCHEMA,
    )


def _versions(methodology: Methodology, ref: InherentReference, hits: pl.DataFrame | None) -> dict[str, str]:
    v = {
        "methodology": methodology.name,
        "params": methodology.params_version,
        "engine": __version__,
        "country_index": ref.country_index_kind,
        **{k: str(val) for k, val in ref.versions.items()},
    }
    if hits is not None and "list_version" in hits.columns and hits.height:
        lv = hits.get_column("list_version").drop_nulls()
        if lv.len():
            v["enforcement_lists"] = str(lv.cast(pl.String).max())
    return v


# ---------------------------------------------------------------------------------------------------
# Flags (§3.6). The upstream search is done by risk_engine.scoring.flags when the graph module
# provides it; this module only decides which nodes carry a flag and applies floors.

FLAGGED_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "flag": pl.String(),
    "possible_match": pl.Boolean(),
    "match_probability": pl.Float64(),
    "list_version": pl.String(),
    "evidence": pl.String(),
}

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "flag": pl.String(),
    "source_entity_id": pl.String(),
    "distance": pl.Int64(),
    "severity": pl.String(),
    "jurisdiction": pl.String(),
    "path": pl.List(pl.String()),
    "material": pl.String(),
    "list_version": pl.String(),
    "match_probability": pl.Float64(),
    "evidence": pl.String(),
}


def flagged_nodes(terms: pl.DataFrame, hit_flags: pl.DataFrame) -> pl.DataFrame:
    """Nodes that carry a flag themselves: enforcement hits and the XUAR override (``FLAGGED_SCHEMA``)."""
    xuar = terms.filter(pl.col("override") == "XUAR_LOCATED").select(
        "entity_id",
        pl.lit("XUAR_LOCATED").alias("flag"),
        pl.lit(False).alias("possible_match"),
        pl.lit(1.0).alias("match_probability"),
        pl.lit("n/a").alias("list_version"),
        pl.col("override_evidence").alias("evidence"),
    )
    return pl.concat([hit_flags.cast(FLAGGED_SCHEMA), xuar.cast(FLAGGED_SCHEMA)])  # type: ignore[arg-type]


def detect_flags(
    nodes: pl.DataFrame,
    arrays: GraphArrays,
    terms: pl.DataFrame,
    hit_flags: pl.DataFrame,
    *,
    params: Params,
    as_of: date,
    reference: InherentReference,
) -> pl.DataFrame:
    """Flags on every node within K hops downstream of a flagged node, with severity (``FLAG_SCHEMA``)."""
    flagged = flagged_nodes(terms, hit_flags)
    if flagged.is_empty():
        return pl.DataFrame(schema=FLAG_SCHEMA)
    return upstream_flag_search(arrays, flagged, params=params, as_of=as_of, reference=reference)


def upstream_flag_search(
    arrays: GraphArrays,
    flagged: pl.DataFrame,
    *,
    params: Params,
    as_of: date,
    reference: InherentReference,
) -> pl.DataFrame:
    """§3.6 flags within K hops downstream of each flagged node (the graph module's search, fl-v1 rules)."""
    from risk_engine.scoring import flags as flag_search

    fp = params.flags
    rules = flag_search.FlagRules(
        k=params.propagation.max_depth,
        min_confidence=fp.min_confidence,
        high_max_distance=fp.high_max_distance,
        medium_max_distance=fp.medium_max_distance,
        recent_months=int(fp.recent_months),
    )
    e = arrays.edges
    cut = as_of - timedelta(days=round(fp.recent_months * 365.25 / 12))
    recent = e.select((pl.col("last_date").is_null() | (pl.col("last_date") >= cut)).alias("r"))[
        "r"
    ].to_numpy()
    priority = dict(reference.uflpa_priority.select("hs_prefix", "material").unique("hs_prefix").iter_rows())
    fe = flag_search.FlagEdges(
        node_ids=arrays.node_ids,
        src=arrays.src,
        dst=arrays.dst,
        confidence=arrays.confidence,
        recent=recent.astype(bool),
        ownership=(e.get_column("source") == "ownership").fill_null(False).to_numpy().astype(bool),
        material=flag_search.edge_materials(e.get_column("hs4").to_list(), priority),
        usable=arrays.match_possible & arrays.propagate_mask[arrays.src] & arrays.propagate_mask[arrays.dst],
    )
    out = flag_search.search_flags(fe, flagged, rules=rules)
    # jurisdiction labels of this methodology (evidence.JURISDICTION_OF_FLAG) win over the search's defaults
    return out.with_columns(
        pl.col("flag")
        .replace_strict(evidence.JURISDICTION_OF_FLAG, default=pl.col("jurisdiction"))
        .alias("jurisdiction")
    ).cast(FLAG_SCHEMA)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# Assembly.


def _assemble(
    nodes: pl.DataFrame,
    arrays: GraphArrays,
    terms: pl.DataFrame,
    runs: Propagated,
    flags: pl.DataFrame,
    ff: evidence.FindingFactors | None,
    *,
    params: Params,
    methodology: Methodology,
    as_of: date,
    versions: Mapping[str, str],
    explain_top: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    r_uncapped = runs.point.risk
    r = runs.capped_risk(params.inherent.cap)
    r_low = np.minimum(runs.low.risk, r)
    r_high = np.maximum(runs.high.risk, r_uncapped)
    h = runs.point.hazard
    with np.errstate(divide="ignore", invalid="ignore"):
        upstream_share = np.where(
            h > 0, (runs.point.upstream_hazard + runs.point.backfill_hazard) / np.where(h > 0, h, 1.0), 0.0
        )
    upstream_share = np.nan_to_num(np.clip(upstream_share, 0.0, 1.0))
    imputed = coverage.imputed_share(
        src=arrays.src,
        dst=arrays.dst,
        confidence=arrays.confidence,
        edge_hazard=runs.point.edge_hazard,
        backfill_hazard=runs.point.backfill_hazard,
        total_hazard=h,
        rounds=params.propagation.max_depth,
        inferred_max_confidence=params.coverage.inferred_max_confidence,
    )
    worst = (
        flags.with_columns(
            _rank=pl.col("severity").replace_strict(bands.SEVERITY_RANK, return_dtype=pl.Int64)
        )
        .group_by("entity_id")
        .agg(flag_severity=pl.col("severity").sort_by("_rank").last())
        if flags.height
        else pl.DataFrame(schema={"entity_id": pl.String, "flag_severity": pl.String})
    )
    ident_nodes = nodes.select(
        "entity_id",
        *[c for c in ("lei", "duns", "os_id", "tax_id", "address", "region") if c in nodes.columns],
    )
    base = (
        terms.select(
            "entity_id",
            "country",
            "hs4",
            "sector",
            "inherent_adj",
            "evidence",
            "local",
            "C_missing",
            "override",
            "sigma1",
            "sigma2",
            "last_audit_date",
        )
        .with_columns(
            pl.Series("score_unfloored", r),
            pl.Series("score_uncapped", r_uncapped),
            pl.Series("prior_risk", runs.prior.risk),
            pl.Series("r_low", r_low),
            pl.Series("r_high", r_high),
            pl.Series("propagated", upstream_share),
            pl.Series("imputed_share", imputed),
        )
        .join(worst, on="entity_id", how="left")
        .join(ident_nodes, on="entity_id", how="left")
    )
    region_known = (
        (pl.col("region").is_not_null() & (pl.col("region").cast(pl.String).str.strip_chars() != ""))
        | pl.col("override").is_not_null()
        if "region" in base.columns
        else pl.col("override").is_not_null()
    )
    base = base.with_columns(
        score=bands.floor_expr("score_unfloored", "flag_severity", params=params),
        dci=coverage.coverage_index(
            pl.col("sigma1"),
            pl.col("sigma2"),
            coverage.audit_recency(pl.col("last_audit_date"), as_of=as_of, params=params),
            coverage.identifier_strength(base, params=params),
            (region_known & ~pl.col("C_missing")).cast(pl.Float64),
            params=params,
        ),
    ).with_columns(
        band=bands.band_expr("score", "flag_severity", params=params),
        low_coverage=coverage.low_coverage(pl.col("dci"), pl.col("r_low"), pl.col("r_high"), params=params),
    )
    payloads = explain.explain_all(
        base,
        arrays,
        terms,
        runs.point,
        flags,
        ff,
        params=params,
        as_of=as_of,
        versions=versions,
        top=explain_top,
    )
    scores = base.join(
        payloads.select("entity_id", "flags", "top_paths", "top_indicators"), on="entity_id", how="left"
    )
    scores = scores.with_columns(
        inherent=pl.col("inherent_adj"),
        methodology=pl.lit(methodology.name),
        params_version=pl.lit(methodology.params_version),
        reference_version=pl.lit(json.dumps(dict(versions), sort_keys=True)),
    ).select([pl.col(c).cast(t) for c, t in SCORES_COLUMNS.items()])
    return scores, payloads.select("entity_id", "explanation")
