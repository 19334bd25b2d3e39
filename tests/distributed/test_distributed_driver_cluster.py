"""The Spark engine's dedupe: pairs scored batch by batch, clustered on the driver, equal to the local dedupe.

No Spark here: the kernel's output for a batch is ``EntityIndex.link`` of that batch, so linking the
table against itself in a few batches (self pairs dropped by id, as ``spark_dedupe_with_pairs`` does)
gives exactly what the executors return; ``driver_cluster`` must then reproduce ``dedupe_with_pairs``.
"""

from __future__ import annotations

import polars as pl
import pytest

from risk_engine.distributed.spark import driver_cluster
from risk_engine.matching.cluster import dedupe_with_pairs
from risk_engine.matching.index import EntityIndex, pairs_schema
from risk_engine.matching.kernel import score_candidates_batch

FRAME = pl.DataFrame(
    {
        "id": [f"g{i:02d}" for i in range(14)],
        "name": [
            "Acme Textile Mills Inc",
            "ACME TEXTILE MILLS",
            "Acme Textile Mills Incorporated",
            "Bright Star Toys Factory",
            "Bright Star Toy Factory Ltd",
            "Zhejiang Huafu Dyeing Co., Ltd.",
            "Zhejiang Huafu Dyeing Company Limited",
            "Huafu Dyeing (Zhejiang)",
            "Dhaka Knit Composite Ltd",
            "Dhaka Knit Composite Limited",
            "Tiruppur Cotton Spinners Pvt Ltd",
            "Tirupur Cotton Spinners Private Limited",
            "Northern Seafood Processing Co",
            "",
        ],
        "country": ["US", "US", "US", "CN", "CN", "CN", "CN", "CN", "BD", "BD", "IN", "IN", "TH", None],
        "address": [None] * 14,
        "lei": [None] * 14,
        "duns": [None] * 14,
        "os_id": [None] * 14,
        "tax_id": [None] * 14,
    },
    schema_overrides=dict.fromkeys(("address", "lei", "duns", "os_id", "tax_id"), pl.String),
)


def _batched_pairs(frame: pl.DataFrame, index: EntityIndex, size: int) -> pl.DataFrame:
    parts = []
    for start in range(0, frame.height, size):
        batch = frame.slice(start, size).to_arrow().to_batches()[0]
        parts.append(pl.from_arrow(score_candidates_batch(batch, index)))
    pairs = pl.concat([p for p in parts if isinstance(p, pl.DataFrame)])
    # the executors return batches in any order
    return pairs.filter(pl.col("left_id") != pl.col("right_id")).sample(fraction=1.0, shuffle=True, seed=7)


@pytest.mark.parametrize(
    "decisions",
    [
        None,
        pl.DataFrame(
            {
                "left_id": ["g05", "g10", "g03"],
                "right_id": ["g07", "g11", "g12"],
                "decision": ["reject", "reject", "confirm"],
            }
        ),
    ],
    ids=["model-only", "remembered-decisions"],
)
def test_driver_clustering_of_batch_scored_pairs_equals_the_local_dedupe(
    decisions: pl.DataFrame | None,
) -> None:
    local_clusters, local_pairs = dedupe_with_pairs(FRAME, decisions=decisions)
    index = EntityIndex.build(FRAME)
    clusters, pairs = driver_cluster(index, _batched_pairs(FRAME, index, size=5), decisions=decisions)
    assert local_pairs.height > 0
    # a probability may differ in its last bit with the batch it was scored in; the pipeline rounds it
    rounded = pl.col("probability").round(12)
    assert clusters.sort("id").with_columns(rounded).equals(local_clusters.sort("id").with_columns(rounded))
    assert pairs.with_columns(rounded).equals(local_pairs.with_columns(rounded))
    features = [c for c in pairs.columns if c.startswith("feat_")]
    assert pairs.select(features).equals(local_pairs.select(features))
    assert clusters["cluster_id"].n_unique() < FRAME.height  # something merged


def test_driver_cluster_of_no_pairs_leaves_every_row_alone() -> None:
    names = pl.Series("name", ["Alpha Ltd", "Beta Ltd", "Gamma"])
    index = EntityIndex.build(FRAME.head(3).with_columns(names))
    clusters, pairs = driver_cluster(index, pl.DataFrame(schema=pairs_schema()))
    assert clusters["cluster_id"].to_list() == clusters["id"].to_list()
    assert clusters["probability"].is_null().all()
    assert pairs.height == 0
