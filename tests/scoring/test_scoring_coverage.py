from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from risk_engine.scoring.coverage import (
    audit_recency,
    coverage_index,
    identifier_strength,
    imputed_share,
    low_coverage,
    mapped_share,
    tier2_mapped_share,
)
from risk_engine.scoring.registry import get_methodology

P = get_methodology("fl-v1").params


def test_mapped_shares():
    # 0 <- 1 (0.6), 0 <- 2 (0.4), 1 <- 3 (0.5); node 2 and 3 have no inputs
    src = np.array([1, 2, 3])
    dst = np.array([0, 0, 1])
    share = np.array([0.6, 0.4, 0.5])
    active = np.ones(3, dtype=bool)
    s1 = mapped_share(4, dst, share, active)
    assert s1.tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    s2 = tier2_mapped_share(src, dst, share, active, s1)
    assert s2.tolist() == pytest.approx([0.6 * 0.5, 0.0, 0.0, 0.0])
    assert mapped_share(4, dst, share, np.array([False, True, True])).tolist() == pytest.approx(
        [0.4, 0.5, 0, 0]
    )


def test_audit_recency_and_identifiers():
    as_of = date(2025, 6, 30)
    frame = pl.DataFrame(
        {
            "last": [date(2025, 1, 1), date(2024, 1, 1), date(2021, 1, 1), None],
            "tax_id": ["9132...", None, None, None],
            "address": [None, "1 Road", None, ""],
        }
    )
    out = frame.select(
        a=audit_recency(pl.col("last"), as_of=as_of, params=P), i=identifier_strength(frame, params=P)
    )
    assert out["a"].to_list() == [1.0, 0.5, 0.0, 0.0]
    assert out["i"].to_list() == [1.0, 0.6, 0.3, 0.3]


def test_coverage_index_weights_and_low_coverage_rule():
    frame = pl.DataFrame(
        {
            "s1": [1.0, 0.0],
            "s2": [1.0, 0.0],
            "a": [1.0, 0.0],
            "i": [1.0, 0.3],
            "g": [1.0, 0.0],
            "lo": [0.2, 0.1],
            "hi": [0.3, 0.2],
        }
    )
    out = frame.select(
        dci=coverage_index(pl.col("s1"), pl.col("s2"), pl.col("a"), pl.col("i"), pl.col("g"), params=P)
    ).with_columns(frame)
    assert out["dci"].to_list() == pytest.approx([1.0, 0.045])
    flags = (
        out.select(low_coverage(pl.col("dci"), pl.col("lo"), pl.col("hi"), params=P)).to_series().to_list()
    )
    assert flags == [False, True]
    wide = pl.DataFrame({"d": [0.9], "lo": [0.1], "hi": [0.5]}).select(
        low_coverage(pl.col("d"), pl.col("lo"), pl.col("hi"), params=P)
    )
    assert wide.item() is True


def test_imputed_share_follows_inferred_edges_and_backfill_through_tiers():
    # 0 <- 1 (inferred edge, c=0.3) and 0 <- 2 (bol); node 2's hazard is half backfill
    src, dst = np.array([1, 2]), np.array([0, 0])
    conf = np.array([0.3, 0.9])
    edge_h = np.array([0.2, 0.2])
    back_h = np.array([0.0, 0.0, 0.1])
    total = np.array([0.6, 0.3, 0.2])  # node 0: 0.2 local + 0.4 upstream
    imp = imputed_share(
        src=src,
        dst=dst,
        confidence=conf,
        edge_hazard=edge_h,
        backfill_hazard=back_h,
        total_hazard=total,
        rounds=5,
        inferred_max_confidence=0.3,
    )
    assert imp[2] == pytest.approx(0.5)
    assert imp[0] == pytest.approx((0.2 + 0.2 * 0.5) / 0.6)
    assert imp[1] == 0.0
