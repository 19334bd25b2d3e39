"""Score floors from hard flags (METHODOLOGY §3.6) and bands (§3.8).

A High flag lifts the score to at least 0.60 and makes the band critical; a Medium flag lifts it to at
least 0.35; a Low flag only annotates. Bands: low < 0.10 <= medium < 0.25 <= high < 0.50 <= critical.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from risk_engine.scoring.registry import Band, Params

Severity = Literal["high", "medium", "low"]
BANDS: tuple[Band, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


def band_of(score: float, *, params: Params, high_flag: bool = False) -> Band:
    """The band of a (floored) score; a High flag always gives critical."""
    b = params.bands
    if high_flag or score >= b.critical:
        return "critical"
    if score >= b.high:
        return "high"
    if score >= b.medium:
        return "medium"
    return "low"


def floor_for(severity: str | None, *, params: Params) -> float:
    """The score floor a flag of this severity imposes (0 for low or none)."""
    if severity == "high":
        return params.flags.high_floor
    if severity == "medium":
        return params.flags.medium_floor
    return 0.0


def apply_floor(score: float, severity: str | None, *, params: Params) -> float:
    """``max(score, floor)``: a flag never lowers a score."""
    return max(score, floor_for(severity, params=params))


def floor_expr(score: str, severity: str, *, params: Params) -> pl.Expr:
    """Vectorised :func:`apply_floor` over a score column and a severity column (null = no flag)."""
    floor = (
        pl.when(pl.col(severity) == "high")
        .then(params.flags.high_floor)
        .when(pl.col(severity) == "medium")
        .then(params.flags.medium_floor)
        .otherwise(0.0)
    )
    return pl.max_horizontal(pl.col(score), floor)


def band_expr(score: str, severity: str, *, params: Params) -> pl.Expr:
    """Vectorised :func:`band_of`: the band from a floored score column and the worst flag severity."""
    b = params.bands
    return (
        pl.when((pl.col(severity) == "high").fill_null(False) | (pl.col(score) >= b.critical))
        .then(pl.lit("critical"))
        .when(pl.col(score) >= b.high)
        .then(pl.lit("high"))
        .when(pl.col(score) >= b.medium)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def worst_severity(severities: list[str | None]) -> Severity | None:
    """The most severe of several flag severities (None when there is no flag)."""
    best: Severity | None = None
    for s in severities:
        if s in SEVERITY_RANK and (best is None or SEVERITY_RANK[s] > SEVERITY_RANK[best]):
            best = s  # type: ignore[assignment]
    return best
