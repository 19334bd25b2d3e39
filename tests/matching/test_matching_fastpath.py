"""The API's fast path (``EntityIndex.lookup_many``, ``lookup``) gives what the batch ``link`` gives."""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest

from risk_engine.matching.index import EntityIndex
from risk_engine.matching.records import prepare_records, prepare_rows
from risk_engine.matching.synth import generate_entities, perturb

QUERY_COLUMNS = ("country", "address", "native_name", "lei", "duns", "os_id", "tax_id")


@pytest.fixture(scope="module")
def ref() -> pl.DataFrame:
    frame = generate_entities(3000, seed=21)
    lei: list[str | None] = [None] * frame.height
    lei[10] = "HWUPKR0MPOU8FGXBT394"
    return frame.with_columns(pl.Series("lei", lei, pl.String))


@pytest.fixture(scope="module")
def index(ref: pl.DataFrame) -> EntityIndex:
    return EntityIndex.build(ref)


@pytest.fixture(scope="module")
def records(ref: pl.DataFrame) -> list[dict[str, Any]]:
    rng = random.Random(4)
    rows = ref.sample(300, seed=8).to_dicts()
    out: list[dict[str, Any]] = []
    for i, r in enumerate(rows):
        rec: dict[str, Any] = {
            "name": perturb(r["name"], rng),
            "country": r["country"],
            "address": r["address"] if i % 3 else None,
        }
        if i % 17 == 0:
            rec["country"] = None  # searched across all countries
        if i % 29 == 0:
            rec["name"] = r["name"]  # exact names (settled by the exact-key tier too)
        out.append(rec)
    out.append({"name": "Quite Unrelated Name", "country": "US", "lei": "HWUPKR0MPOU8FGXBT394"})
    out.append({"name": "", "country": "CN"})
    out.append({"name": None, "country": None})
    out.append({"name": "广州华美服装有限公司", "country": "China", "native_name": "广州华美服装有限公司"})
    return out


def _link_top(
    index: EntityIndex, records: list[dict[str, Any]], limit: int = 5
) -> list[list[tuple[str, float, str]]]:
    rows = [
        {"id": str(i), "name": r.get("name"), **{c: r.get(c) for c in QUERY_COLUMNS}}
        for i, r in enumerate(records)
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(["id", "name", *QUERY_COLUMNS], pl.String))
    pairs = index.link(frame, workers=1)
    out: list[list[tuple[str, float, str]]] = [[] for _ in records]
    for left, right, prob, decision in pairs.select(
        "left_id", "right_id", "probability", "decision"
    ).iter_rows():
        out[int(left)].append((right, prob, decision))
    for found in out:
        found.sort(key=lambda c: (-c[1], c[0]))
        del found[limit:]
    return out


def _link_top_batched(
    index: EntityIndex, records: list[dict[str, Any]], size: int
) -> list[list[tuple[str, float, str]]]:
    return [hits for a in range(0, len(records), size) for hits in _link_top(index, records[a : a + size])]


def test_prepare_rows_equals_prepare_records(records: list[dict[str, Any]]) -> None:
    rows = [
        {"id": str(i), "name": r.get("name"), **{c: r.get(c) for c in QUERY_COLUMNS}}
        for i, r in enumerate(records)
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(["id", "name", *QUERY_COLUMNS], pl.String))
    a, b = prepare_records(frame, side="query"), prepare_rows(rows)
    for name in a.__dataclass_fields__:
        left, right = getattr(a, name), getattr(b, name)
        assert (left == right).all() if name == "truncated" else left == right, name


def test_lookup_many_equals_link(index: EntityIndex, records: list[dict[str, Any]]) -> None:
    expected = _link_top(index, records)
    assert sum(1 for e in expected if e) > 250  # most queries find their entity
    singles = [index.lookup_many([r])[0] for r in records]
    assert singles == _link_top_batched(index, records, 1)  # one record: identical, bit for bit
    for size in (16, len(records)):
        got = [
            hits for a in range(0, len(records), size) for hits in index.lookup_many(records[a : a + size])
        ]
        want = _link_top_batched(index, records, size)
        # The same candidates and decisions; the model's vectorised arithmetic over a batch of another
        # shape may differ in the last bit (as ``link``'s own results do between batch sizes).
        assert [[(i, d) for i, _, d in hits] for hits in got] == [[(i, d) for i, _, d in e] for e in want]
        assert all(
            abs(p - q) < 1e-12
            for hits, w in zip(got, want, strict=True)
            for (_, p, _), (_, q, _) in zip(hits, w, strict=True)
        )
    assert expected[-4][0][0] == index.ref.ids[10] and expected[-4][0][1] == 1.0  # identifier settles it
    assert expected[-3] == [] and expected[-2] == []


def test_lookup_equals_link(index: EntityIndex, records: list[dict[str, Any]]) -> None:
    expected = [_link_top(index, [r], limit=50)[0] for r in records]  # link of the record alone
    for record, want in zip(records, expected, strict=True):
        got = index.lookup(record, limit=50)
        assert sorted((h["id"], h["probability"], h["decision"]) for h in got) == sorted(want)


def test_prepare_rows_names_the_duplicate_id() -> None:
    import pytest

    from risk_engine.errors import InputSchemaError

    with pytest.raises(InputSchemaError, match=r"duplicate id 'a' \(2 records, e.g. positions \[0, 2\]\)"):
        prepare_rows([{"id": "a", "name": "X"}, {"id": "b", "name": "Y"}, {"id": "a", "name": "Z"}])
