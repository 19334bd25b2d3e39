from __future__ import annotations

import polars as pl
import pytest

from risk_engine.scoring.bands import apply_floor, band_expr, band_of, floor_expr, worst_severity
from risk_engine.scoring.registry import get_methodology

P = get_methodology("fl-v1").params


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, "low"),
        (0.0999, "low"),
        (0.10, "medium"),
        (0.2499, "medium"),
        (0.25, "high"),
        (0.4999, "high"),
        (0.5, "critical"),
        (1.0, "critical"),
    ],
)
def test_band_boundaries(score, band):
    assert band_of(score, params=P) == band


def test_high_flag_is_always_critical():
    assert band_of(0.05, params=P, high_flag=True) == "critical"


@pytest.mark.parametrize(
    ("severity", "score", "floored"),
    [("high", 0.41, 0.60), ("medium", 0.2, 0.35), ("low", 0.2, 0.2), (None, 0.2, 0.2), ("high", 0.9, 0.9)],
)
def test_floors(severity, score, floored):
    assert apply_floor(score, severity, params=P) == pytest.approx(floored)


def test_vectorised_floor_and_band_match_scalar():
    frame = pl.DataFrame({"r": [0.05, 0.2, 0.41, 0.3, 0.7], "sev": [None, "medium", "high", "low", None]})
    out = frame.with_columns(score=floor_expr("r", "sev", params=P)).with_columns(
        band=band_expr("score", "sev", params=P)
    )
    for r, sev, score, band in out.rows():
        assert score == pytest.approx(apply_floor(r, sev, params=P))
        assert band == band_of(score, params=P, high_flag=sev == "high")


def test_worst_severity():
    assert worst_severity([None, "low", "medium"]) == "medium"
    assert worst_severity(["high", "low"]) == "high"
    assert worst_severity([None]) is None
