"""Data coverage (METHODOLOGY §3.7): the coverage index DCI, the imputed share and the low-coverage rule.

``DCI_v = 0.35·σ₁ + 0.25·σ₂₊ + 0.15·A + 0.15·ID + 0.10·G``. σ₁ is the mapped share of v's direct inputs
(``min(1, Σ_u s_uv)``), σ₂₊ the share-weighted mapped share of its suppliers' inputs (tier 2), A the audit
recency, ID the identifier strength, G whether the admin-1 region is known (0 as well when the country
has no index value: an unknown location is not a known one). Auditors should read low-coverage scores as
*unknown*, not *low*.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from numpy.typing import NDArray

from risk_engine.scoring.registry import Params

FloatArray = NDArray[np.float64]

_STRONG_IDS = ("lei", "duns", "os_id", "tax_id")


def mapped_share(
    n_nodes: int, dst: NDArray[np.int64], share: FloatArray, active: NDArray[np.bool_]
) -> FloatArray:
    """σ₁ per node: ``min(1, Σ s_uv)`` over active incoming edges (0 for a node with none)."""
    total = np.bincount(dst[active], weights=share[active], minlength=n_nodes)
    return np.minimum(total, 1.0)


def tier2_mapped_share(
    src: NDArray[np.int64],
    dst: NDArray[np.int64],
    share: FloatArray,
    active: NDArray[np.bool_],
    sigma1: FloatArray,
) -> FloatArray:
    """σ₂₊ per node: ``Σ_u s_uv σ₁(u) / Σ_u s_uv`` (0 without suppliers)."""
    n = sigma1.shape[0]
    num = np.bincount(dst[active], weights=share[active] * sigma1[src[active]], minlength=n)
    den = np.bincount(dst[active], weights=share[active], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def audit_recency(last_audit: pl.Expr, *, as_of: date, params: Params) -> pl.Expr:
    """A: 1 for an audit within 12 months, 0.5 within 24, else (or none) 0."""
    cp = params.coverage
    months = (pl.lit(as_of) - last_audit).dt.total_days() / (365.25 / 12)
    return (
        pl.when(months.is_null() | (months < 0))
        .then(0.0)
        .when(months <= cp.audit_full_months)
        .then(1.0)
        .when(months <= cp.audit_partial_months)
        .then(cp.audit_partial_value)
        .otherwise(0.0)
    )


def identifier_strength(nodes: pl.DataFrame, *, params: Params) -> pl.Expr:
    """ID: strong identifier 1.0, name and address 0.6, name only 0.3."""
    cp = params.coverage
    strong = [
        pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "") for c in _STRONG_IDS if c in nodes.columns
    ]
    has_strong = pl.any_horizontal(strong) if strong else pl.lit(False)
    has_address = (
        pl.col("address").is_not_null() & (pl.col("address").cast(pl.String) != "")
        if "address" in nodes.columns
        else pl.lit(False)
    )
    return (
        pl.when(has_strong)
        .then(cp.identifier_strong)
        .when(has_address)
        .then(cp.identifier_address)
        .otherwise(cp.identifier_name_only)
    )


def coverage_index(
    sigma1: pl.Expr, sigma2: pl.Expr, audit: pl.Expr, ident: pl.Expr, region: pl.Expr, *, params: Params
) -> pl.Expr:
    """``DCI = 0.35 σ₁ + 0.25 σ₂₊ + 0.15 A + 0.15 ID + 0.10 G``, each component in [0, 1]."""
    cp = params.coverage
    return (
        cp.weight_direct * sigma1.clip(0.0, 1.0)
        + cp.weight_upstream * sigma2.clip(0.0, 1.0)
        + cp.weight_audit * audit.clip(0.0, 1.0)
        + cp.weight_identifier * ident.clip(0.0, 1.0)
        + cp.weight_region * region.clip(0.0, 1.0)
    )


def low_coverage(dci: pl.Expr, r_low: pl.Expr, r_high: pl.Expr, *, params: Params) -> pl.Expr:
    """Display "low coverage" when DCI < 0.4 or the interval is wider than 0.3."""
    cp = params.coverage
    return (dci < cp.low_dci) | ((r_high - r_low) > cp.wide_interval)


def imputed_share(
    *,
    src: NDArray[np.int64],
    dst: NDArray[np.int64],
    confidence: FloatArray,
    edge_hazard: FloatArray,
    backfill_hazard: FloatArray,
    total_hazard: FloatArray,
    rounds: int,
    inferred_max_confidence: float,
) -> FloatArray:
    """Share of each node's hazard that comes from backfill or inferred (c ≤ 0.3) edges, through all tiers.

    ``imp_v = (h_b(v) + Σ_e h_e · [c_e ≤ 0.3 ? 1 : imp_u]) / h_v``, iterated ``rounds`` times from the
    direct terms; nodes with zero hazard have share 0, saturated ones (infinite hazard) are clipped.
    """
    n = total_hazard.shape[0]
    h_tot = np.where(np.isfinite(total_hazard), total_hazard, np.nan)
    eh = np.where(np.isfinite(edge_hazard), edge_hazard, 0.0)
    bh = np.where(np.isfinite(backfill_hazard), backfill_hazard, 0.0)
    inferred = confidence <= inferred_max_confidence
    imp = np.zeros(n)
    for _ in range(max(1, rounds)):
        carried = np.where(inferred, eh, eh * imp[src])
        num = bh + np.bincount(dst, weights=carried, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            imp = np.where((h_tot > 0) & np.isfinite(h_tot), num / np.where(h_tot > 0, h_tot, 1.0), 0.0)
        imp = np.clip(np.nan_to_num(imp), 0.0, 1.0)
    return imp
