"""The Spark engine: the same Arrow-batch kernels as the local engine, run with ``mapInArrow``.

Only the heavy, data-parallel stages move to Spark:

* trade aggregation: shipment lines are repartitioned by consignee entity, so every partition holds
  all the shipments of its consignees, and ``graph.build.aggregate_trade`` (the local kernel) runs on
  each partition; its per-consignee shares are therefore exact;
* candidate generation and scoring for entity linking: query records are split into Arrow batches and
  ``matching``'s ``score_candidates_batch`` kernel scores each batch against the entity index, which is
  shipped to the executors with the function's closure;
* candidate generation and scoring for entity dedupe (the resolve stage's key groups against
  themselves): the same kernel over Arrow batches of the table, with its index broadcast; the scored
  pairs (a small table) are clustered on the driver (``driver_cluster``, the local dedupe's steps).

Everything else (graph, propagation, explanations) stays on the driver in polars, so the local and
Spark engines produce the same tables (a test asserts it on the fixtures in ``local[2]``).

Where Spark runs: ``RISK_ENGINE_SPARK_MASTER`` (default ``local[2]``) names the master; when the
process already has an active session (``spark-submit``), that session is used as it is.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa

from risk_engine.errors import RunError

KernelFn = Callable[[pl.DataFrame], pl.DataFrame]

_DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": os.environ.get("RISK_ENGINE_SPARK_DRIVER_MEMORY", "4g"),
    "spark.sql.shuffle.partitions": os.environ.get("RISK_ENGINE_SPARK_PARTITIONS", "8"),
}


def spark_session(master: str | None = None) -> Any:
    """The active Spark session, or a new one on ``master`` (env ``RISK_ENGINE_SPARK_MASTER``, else local[2])."""
    try:
        with warnings.catch_warnings():
            # PySpark 4 warns about pandas >= 3 at import; mapInArrow does not go through pandas.
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        msg = "the spark engine needs PySpark: pip install 'risk-engine[spark]' (Java 17 must be on PATH)"
        raise RunError(msg) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(
        master or os.environ.get("RISK_ENGINE_SPARK_MASTER", "local[2]")
    ).appName("risk-engine")
    for key, value in _DEFAULT_CONF.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            session = builder.getOrCreate()
    except Exception as exc:
        msg = f"cannot start Spark ({exc}); is Java 17 installed and JAVA_HOME set?"
        raise RunError(msg) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark() -> None:
    """Stop the active session (tests and benchmarks; a CLI run's process ends anyway)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


# Spark's Arrow conversion has no unsigned integers; widen them on the way in and restore them after.
_WIDEN = {pl.UInt8: pl.Int16, pl.UInt16: pl.Int32, pl.UInt32: pl.Int64, pl.UInt64: pl.Int64}


def _spark_compatible(frame: pl.DataFrame) -> pl.DataFrame:
    casts: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        base = dtype.base_type() if hasattr(dtype, "base_type") else dtype
        if base in _WIDEN:
            casts[name] = _WIDEN[base]  # type: ignore[index]
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            casts[name] = pl.String
        elif isinstance(dtype, pl.List) and dtype.inner in _WIDEN:
            casts[name] = pl.List(_WIDEN[dtype.inner])  # type: ignore[index]
    return frame.cast(casts) if casts else frame  # type: ignore[arg-type]


def _to_arrow(frame: pl.DataFrame) -> pa.Table:
    return _spark_compatible(frame).to_arrow(compat_level=pl.CompatLevel.oldest())


def run_partitioned(
    frame: pl.DataFrame,
    kernel: KernelFn,
    *,
    key: str | None,
    partitions: int | None = None,
    session: Any = None,
) -> pl.DataFrame:
    """Run ``kernel`` on Spark over ``frame``, one call per partition (all rows of a ``key`` together).

    The kernel is a plain polars function (the local engine's); its output schema is taken from a run
    on the first rows, and the output is cast back to the kernel's own dtypes.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = session or spark_session()
    probe = kernel(frame.head(min(frame.height, 200)))
    spark_schema = from_arrow_schema(_to_arrow(probe.head(0)).schema)
    n = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        collected = list(batches)
        if not collected:
            return
        part = pl.from_arrow(pa.Table.from_batches(collected))
        assert isinstance(part, pl.DataFrame)
        if part.height == 0:
            return
        yield from _to_arrow(kernel(part)).to_batches()

    sdf = spark.createDataFrame(_to_arrow(frame))
    sdf = sdf.repartition(n, key) if key is not None else sdf.repartition(n)
    result = sdf.mapInArrow(apply, spark_schema).toArrow()
    out = pl.from_arrow(result)
    assert isinstance(out, pl.DataFrame)
    return out.cast(probe.schema)


def map_batches(
    frame: pl.DataFrame,
    kernel: Callable[[pa.RecordBatch], pa.RecordBatch],
    *,
    output_schema: pa.Schema,
    partitions: int | None = None,
    session: Any = None,
) -> pl.DataFrame:
    """Run a record-batch kernel (e.g. matching's ``score_candidates_batch``) over ``frame`` on Spark."""
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = session or spark_session()
    n = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                out = kernel(batch)
                if out.num_rows:
                    yield from _to_arrow(pl.from_arrow(out)).to_batches()  # type: ignore[arg-type]

    spark_schema = from_arrow_schema(output_schema)
    sdf = spark.createDataFrame(_to_arrow(frame)).repartition(n)
    result = pl.from_arrow(sdf.mapInArrow(apply, spark_schema).toArrow())
    assert isinstance(result, pl.DataFrame)
    return result


def spark_aggregate_trade(
    trade: pl.DataFrame, *, as_of: date, issues: list[pl.DataFrame] | None = None
) -> pl.DataFrame:
    """``graph.build.aggregate_trade`` on Spark, partitioned by consignee (exact per-consignee shares).

    One pass: each partition returns its edges and its row-level issues in one frame (a ``_part``
    column tells them apart), split again on the driver.
    """
    from risk_engine.graph.build import EDGE_SCHEMA, aggregate_trade
    from risk_engine.schemas import REJECTS_SCHEMA

    def kernel(part: pl.DataFrame) -> pl.DataFrame:
        found: list[pl.DataFrame] = []
        edges = aggregate_trade(part, as_of=as_of, issues=found)
        parts = [edges.with_columns(pl.lit("edge").alias("_part"))]
        parts += [f.cast(REJECTS_SCHEMA).with_columns(pl.lit("issue").alias("_part")) for f in found]  # type: ignore[arg-type]
        return pl.concat(parts, how="diagonal")

    columns = [
        c
        for c in (
            "row", "shipper_entity_id", "consignee_entity_id", "date", "hs_code", "value_usd", "weight_kg",
        )
        if c in trade.columns
    ]  # fmt: skip
    out = run_partitioned(trade.select(columns), kernel, key="consignee_entity_id")
    edges = (
        out.filter(pl.col("_part") == "edge")
        .select(list(EDGE_SCHEMA))
        .cast(EDGE_SCHEMA)  # type: ignore[arg-type]
        .sort("dst", "src", "hs4", nulls_last=True)
    )
    if issues is not None:
        issues.append(out.filter(pl.col("_part") == "issue").select(list(REJECTS_SCHEMA)))
    return edges


def spark_link(query: pl.DataFrame, index: Any) -> pl.DataFrame:
    """``EntityIndex.link`` on Spark: candidate generation and scoring per Arrow batch of the query.

    The index travels to the executors in the kernel's closure (cloudpickle); each query row's
    candidates depend only on that row and the index, so batching does not change the pairs.
    """
    from risk_engine.matching.kernel import pairs_arrow_schema, score_candidates_batch

    def kernel(batch: pa.RecordBatch) -> pa.RecordBatch:
        return score_candidates_batch(batch, index)

    pairs = map_batches(query, kernel, output_schema=pairs_arrow_schema())
    local_schema = index.link(query.head(0)).schema
    return pairs.cast(local_schema).sort(["left_id", "rank", "right_id"])


def spark_dedupe_with_pairs(
    frame: pl.DataFrame,
    *,
    decisions: pl.DataFrame | None = None,
    model: Any = None,
    session: Any = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``matching.cluster.dedupe_with_pairs`` with candidate generation and scoring on Spark.

    The table is indexed once on the driver; the index is broadcast and each Arrow batch of the same
    table is scored against it with matching's ``score_candidates_batch`` kernel (the local engine's
    code). Self pairs are dropped by id (the local engine drops them by position, before scoring; the
    other pairs are the same, since a query's candidates depend only on the query and the index). The
    scored pairs (a small table) come back to the driver, which clusters them exactly as the local
    dedupe does (``driver_cluster``). Returns ``(clusters, pairs)`` like ``dedupe_with_pairs``.
    """
    from risk_engine.matching.index import EntityIndex
    from risk_engine.matching.kernel import pairs_arrow_schema, score_candidates_batch
    from risk_engine.matching.model import load_model

    index = EntityIndex.build(frame, model=model or load_model())
    spark = session or spark_session()
    shared = spark.sparkContext.broadcast(index)

    def kernel(batch: pa.RecordBatch) -> pa.RecordBatch:
        return score_candidates_batch(batch, shared.value)

    try:
        pairs = map_batches(frame, kernel, output_schema=pairs_arrow_schema(), session=spark)
    finally:
        shared.unpersist()
    pairs = pairs.filter(pl.col("left_id") != pl.col("right_id"))
    return driver_cluster(index, pairs, decisions=decisions)


def driver_cluster(
    index: Any, pairs: pl.DataFrame, *, decisions: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster a table (the reference side of ``index``) from its scored pairs, on the driver.

    ``pairs`` are ``EntityIndex.link``'s pair table of the table against itself without self pairs,
    in any order and both directions. The steps are those of ``matching.cluster.dedupe_with_pairs``
    after its scoring: each unordered pair kept once (the direction of the lower query position first,
    as the local engine's serial scorer yields them), remembered decisions applied, no-chaining
    ``cluster_pairs``, cluster id = smallest member id, probability = best pair inside the cluster.
    The engine test asserts that both engines give equal tables.
    """
    import numpy as np

    from risk_engine.matching.cluster import DEFAULT_SEPARATION, cluster_scored
    from risk_engine.matching.compare import FEATURES
    from risk_engine.matching.index import ScoredPairs

    rec = index.ref
    n = len(rec)
    position = pl.DataFrame(
        {"id": rec.ids, "pos": np.arange(n, dtype=np.int64)}, schema={"id": pl.String, "pos": pl.Int64}
    )
    keyed = (
        pairs.join(position.rename({"id": "left_id", "pos": "li"}), on="left_id", how="inner")
        .join(position.rename({"id": "right_id", "pos": "ri"}), on="right_id", how="inner")
        .sort("li", "ri")
        .with_columns(
            pl.min_horizontal("li", "ri").alias("__lo"), pl.max_horizontal("li", "ri").alias("__hi")
        )
        .unique(["__lo", "__hi"], keep="first", maintain_order=True)
    )
    scored = ScoredPairs(
        keyed["__lo"].to_numpy().astype(np.int64),
        keyed["__hi"].to_numpy().astype(np.int64),
        keyed["probability"].to_numpy().astype(np.float64),
        np.asarray(keyed["source"].to_list(), dtype=object),
        {f: keyed[f"feat_{f}"].to_numpy().astype(np.float32) for f in FEATURES},
        {f: keyed[f"contrib_{f}"].to_numpy().astype(np.float32) for f in FEATURES},
    )
    return cluster_scored(index, scored, decisions=decisions, separation=DEFAULT_SEPARATION)
