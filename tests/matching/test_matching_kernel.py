import polars as pl
import pyarrow as pa

from risk_engine.matching.index import EntityIndex
from risk_engine.matching.kernel import pairs_arrow_schema, score_batches, score_candidates_batch


def test_kernel_matches_link_and_keeps_schema() -> None:
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "name": ["Acme Textile Mills Inc", "Bright Star Toys Co Ltd"],
            "country": ["US", "CN"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["a", "b"],
            "name": ["ACME TEXTILE MILLS", "Bright Star Toys Company Limited"],
            "country": ["US", "CN"],
        }
    )
    batch = q.to_arrow().to_batches()[0]
    out = score_candidates_batch(batch, index)
    assert isinstance(out, pa.RecordBatch)
    assert out.schema == pairs_arrow_schema()
    got = pl.from_arrow(out)
    assert isinstance(got, pl.DataFrame)
    assert got.equals(index.link(q))
    empty = q.head(0).to_arrow()
    assert [
        b.num_rows
        for b in score_batches(
            empty.to_batches(max_chunksize=1) or [pa.RecordBatch.from_pylist([], schema=empty.schema)], index
        )
    ] == [0]
