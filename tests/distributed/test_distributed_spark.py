"""The Spark engine (local[2]) produces the same tables as the local engine on the demo fixtures."""

from pathlib import Path

import polars as pl
import pytest

from risk_engine.io.readers import read_table
from risk_engine.pipeline import ScreenInputs, screen

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    # PySpark 4 warns that it does not yet support pandas >= 3; mapInArrow does not use pandas.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


@pytest.fixture(scope="module")
def inputs() -> ScreenInputs:
    frames = {
        kind: read_table(FIXTURES / name, kind).frame
        for kind, name in (
            ("suppliers", "suppliers.csv"),
            ("trade", "trade.csv"),
            ("audits", "audits.csv"),
            ("enforcement", "enforcement_uflpa.txt"),
        )
    }
    return ScreenInputs(**frames)


@pytest.fixture(scope="module")
def spark_session():  # type: ignore[no-untyped-def]
    from risk_engine.distributed.spark import spark_session, stop_spark

    session = spark_session("local[2]")
    yield session
    stop_spark()


def test_spark_engine_gives_the_same_tables_as_local(
    inputs: ScreenInputs, spark_session: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import risk_engine.matching.cluster as cluster

    local = screen(inputs, engine="local")

    def driver_dedupe(*args: object, **kwargs: object) -> None:
        raise AssertionError("the spark engine ran the entity dedupe on the driver")

    # The Spark run must score the dedupe candidates on Spark, never with the driver's dedupe.
    monkeypatch.setattr(cluster, "dedupe_with_pairs", driver_dedupe)
    spark = screen(inputs, engine="spark")
    assert local.edges.height > 1000
    # the dedupe path is exercised: key groups merged by the model, and review-band pairs listed
    mentions = local.matches.filter(pl.col("source") != "enforcement")
    assert mentions.filter(pl.col("method") == "model").height > 100
    assert mentions.filter(pl.col("decision") == "review").height > 10
    for name in ("scores", "entities", "matches", "edges", "explanations", "rejects"):
        a, b = getattr(local, name), getattr(spark, name)
        assert a.schema == b.schema, name
        assert a.equals(b), name


def test_run_partitioned_keeps_all_rows_of_a_key_together(spark_session: object) -> None:
    from risk_engine.distributed.spark import run_partitioned

    frame = pl.DataFrame({"k": [f"k{i % 7}" for i in range(700)], "v": list(range(700))})

    def kernel(part: pl.DataFrame) -> pl.DataFrame:
        return part.group_by("k").agg(pl.col("v").sum(), pl.len().alias("n")).sort("k")

    out = run_partitioned(frame, kernel, key="k", partitions=3).sort("k")
    assert out.equals(kernel(frame))
    assert out.schema == kernel(frame).schema  # unsigned len() restored after Spark's signed ints
