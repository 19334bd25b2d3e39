"""Engine-free scoring kernel: Arrow record batches in, Arrow record batches out.

``score_candidates_batch(batch, index)`` is what a distributed engine runs per partition (Spark's
``mapInArrow`` with the ``EntityIndex`` broadcast): it takes a batch of query records (``id``,
``name``, optional ``country``, ``address``, ``native_name`` and identifiers) and returns the pair
table of ``EntityIndex.link`` for that batch. Nothing here imports an engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl
import pyarrow as pa

from risk_engine.matching.index import EntityIndex, pairs_schema


def pairs_arrow_schema() -> pa.Schema:
    """Arrow schema of the batches the kernel returns."""
    return pl.DataFrame(schema=pairs_schema()).to_arrow().schema


def score_candidates_batch(batch: pa.RecordBatch, index: EntityIndex) -> pa.RecordBatch:
    """Link one batch of query records against a (broadcast) index; returns the pair batch."""
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        return pa.RecordBatch.from_pylist([], schema=pairs_arrow_schema())
    if "id" in frame.columns:
        frame = frame.with_columns(pl.col("id").cast(pl.String))
    pairs = index.link(frame, workers=1)  # the engine parallelises; never fork inside its workers
    table = pairs.to_arrow().cast(pairs_arrow_schema())
    batches = table.to_batches()
    if not batches:
        return pa.RecordBatch.from_pylist([], schema=pairs_arrow_schema())
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


def score_batches(batches: Iterable[pa.RecordBatch], index: EntityIndex) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``-shaped wrapper: every input batch yields one output batch."""
    for batch in batches:
        yield score_candidates_batch(batch, index)
