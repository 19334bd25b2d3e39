"""The small-graph memos of ``score_graph`` reproduce the unmemoised scoring exactly.

The API scores small request graphs (unmatched records, re-scored neighbourhoods); for them some
row-wise steps are memoised per process (``risk_engine.scoring.memo``) and empty edge frames are
cleaned and indexed once per schema. Here every output table of ``score_graph``, and every score view
``score_records`` returns, is compared with the same run with the memos switched off (the functions
they wrap, called directly): exact equality, no tolerance, on varied records (with and without
findings and declared suppliers, several countries, HS codes, regions, batches of several records),
with the memos cold and warm.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from risk_engine.api import record_scoring
from risk_engine.api.snapshot import SnapshotInfo
from risk_engine.graph import build
from risk_engine.graph.build import EDGE_SCHEMA, NODE_SCHEMA
from risk_engine.scoring import inherent, memo
from risk_engine.scoring import score as score_mod
from risk_engine.scoring.inherent import inherent_risk, inherent_risk_memo, load_inherent_reference
from risk_engine.scoring.registry import get_methodology

COUNTRIES = ["DE", "CN", "BD", "IN", "VN", "MY", "US", "KP", "TH", "TR", "UZ", "BR", "XX", "cn", "ZZ"]
HS_CODES = [
    [],
    ["6109.10"],
    ["5205.11", "8541.40"],
    ["0306"],
    ["85"],
    ["1701.14", "9"],
    ["2804.61"],
    ["0702.00"],
    ["8541"],
    ["6203.42", "6109.10", "5208"],
]
NAMES = [
    "Nobody GmbH",
    "Aksu Ruixiang Textile Co",
    "Hotan Cotton Mill",
    "Dhaka Knit Ltd",
    "新疆 Solar",
    "Kashgar Trading",
    "Sunrise Fisheries",
    "Xinjiang Polysilicon",
]
REGIONS = [None, "Xinjiang", "Guangdong", "XUAR", " "]


def _finding(rng: random.Random, j: int) -> dict[str, Any]:
    f: dict[str, Any] = {
        "audit_date": f"202{rng.randint(3, 6)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "ilo_indicator": rng.choice([None, 1, 3, 4, 7, 9, 11]),
        "grade": rng.choice(["major", "minor", "critical", "priority", None, "zero tolerance"]),
        "status": rng.choice(["open", "closed", None, "remediated"]),
        "scheme": rng.choice([None, "SMETA", "amfori BSCI", "RBA"]),
    }
    if f["ilo_indicator"] is None:
        f["clause"] = rng.choice(["passport retention", "debt bondage", "wages", "8.1"])
    if rng.random() < 0.3:
        f["status_date"] = "2026-01-15"
    if rng.random() < 0.3:
        f["workers_affected"] = rng.randint(0, 500)
    if rng.random() < 0.2:
        f["finding_id"] = f"F{j}"
    return f


def _record(rng: random.Random, key: str) -> dict[str, Any]:
    r: dict[str, Any] = {
        "key": key,
        "name": rng.choice(NAMES),
        "country": rng.choice(COUNTRIES),
        "hs_codes": rng.choice(HS_CODES),
    }
    if rng.random() < 0.2:
        r["region"] = rng.choice(REGIONS)
    if rng.random() < 0.35:
        r["audit_findings"] = [_finding(rng, j) for j in range(rng.randint(1, 3))]
    if rng.random() < 0.35:
        r["upstream_suppliers"] = [
            {
                "name": rng.choice(NAMES),
                "country": rng.choice(COUNTRIES),
                "hs_codes": rng.choice(HS_CODES),
                "share": rng.choice([None, 0.2, 0.5, 0.9, 1.0]),
            }
            for _ in range(rng.randint(1, 3))
        ]
    return r


def varied_batches(n: int, *, seed: int) -> list[list[dict[str, Any]]]:
    """``n`` requests of 1-5 records each (deterministic)."""
    rng = random.Random(seed)
    return [[_record(rng, f"b{b}r{i}") for i in range(rng.choice([1, 1, 1, 2, 3, 5]))] for b in range(n)]


def _without_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route ``score_graph`` through the wrapped functions themselves (the code before the memos)."""

    def evidence_free_terms(nodes: pl.DataFrame, ev: pl.DataFrame, **kw: Any) -> pl.DataFrame:
        return score_mod._entity_terms(nodes, None, ev, **kw)

    monkeypatch.setattr(score_mod, "inherent_risk_memo", inherent_risk)
    monkeypatch.setattr(score_mod, "_variant_evidence", score_mod._compute_variant_evidence)
    monkeypatch.setattr(score_mod, "_indexed_edges", score_mod._index_edges)
    monkeypatch.setattr(score_mod, "_evidence_free_terms", evidence_free_terms)
    monkeypatch.setattr(build, "_clean_edges", build._clean_edge_rows)


def _request_tables(records: list[dict[str, Any]], as_of: date) -> score_mod.ScoreTables:
    """``score_graph`` on a request's graph, built as ``score_records`` builds it."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        n, e = record_scoring.record_graph(r, i)
        nodes += n
        edges += e
        findings += record_scoring.record_findings(r, i)
    graph = record_scoring._Graph(
        pl.DataFrame(nodes, schema=NODE_SCHEMA), pl.DataFrame(edges, schema=EDGE_SCHEMA)
    )
    return score_mod.score_graph(
        graph,
        audits=pl.DataFrame(findings, schema=record_scoring.FINDINGS_SCHEMA) if findings else None,
        enforcement_hits=None,
        methodology=get_methodology("fl-v1"),
        as_of=as_of,
    )


def _assert_tables_equal(got: score_mod.ScoreTables, want: score_mod.ScoreTables) -> None:
    for name in ("scores", "explanations", "terms", "flags", "issues"):
        assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    assert got.versions == want.versions


class _Snapshot:
    info = SnapshotInfo("snap-test", "memory", 0, "fl-v1", {"engine": "test"})


def _fresh_memos() -> None:
    load_inherent_reference()._row_memo.clear()
    score_mod._NO_EVIDENCE.clear()
    score_mod._EMPTY_INDEXED.clear()
    build._EMPTY_EDGES.clear()


@pytest.mark.slow
def test_memoised_score_graph_equals_unmemoised_on_varied_request_graphs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches = varied_batches(60, seed=11)
    as_of = date(2026, 12, 5)
    with monkeypatch.context() as m:
        _without_memos(m)
        want = [_request_tables(b, as_of) for b in batches]
    _fresh_memos()
    for warm in (False, True):  # first pass fills the memos, the second reads them
        for records, expected in zip(batches, want, strict=True):
            _assert_tables_equal(_request_tables(records, as_of), expected)
        assert warm or len(load_inherent_reference()._row_memo) > 0


@pytest.mark.slow
def test_score_records_views_equal_unmemoised(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = varied_batches(120, seed=5)
    snapshot: Any = _Snapshot()
    day = datetime.now(UTC).date()
    with monkeypatch.context() as m:
        _without_memos(m)
        want = [record_scoring.score_records(b, snapshot) for b in batches]
    _fresh_memos()
    got_cold = [record_scoring.score_records(b, snapshot) for b in batches]
    got_warm = [record_scoring.score_records(b, snapshot) for b in batches]
    if datetime.now(UTC).date() != day:  # the as-of date moved at midnight: nothing to compare
        pytest.skip("the evaluation date changed during the test")
    assert sum(len(b) for b in batches) > 200
    assert got_cold == want  # exact: floats compared with ==
    assert got_warm == want


def test_inherent_memo_keys_cover_what_inherent_risk_reads() -> None:
    params = get_methodology("fl-v1").params
    ip = params.inherent
    base = {"country": "CN", "region": None, "address": None, "tax_id": None, "name": "Acme Co"}
    key = inherent.inherent_row_key(base, None, ip)
    # a Chinese name led by an XUAR place name is an override cue: a different key
    assert inherent.inherent_row_key({**base, "name": "Aksu Acme Co"}, None, ip) != key
    # outside China the name is not read: the same key
    de = {**base, "country": "DE"}
    assert inherent.inherent_row_key(de, None, ip) == inherent.inherent_row_key(
        {**de, "name": "Aksu Acme Co"}, None, ip
    )
    # countries the graph builder would not leave (lower case, names) are not memoised
    assert inherent.inherent_row_key({**base, "country": "cn"}, None, ip) is None
    assert inherent.inherent_row_key({**base, "country": "China"}, None, ip) is None


def test_inherent_risk_memo_equals_inherent_risk_and_falls_back() -> None:
    params = get_methodology("fl-v1").params
    ref = load_inherent_reference()
    nodes = pl.DataFrame(
        {
            "entity_id": ["a", "b", "c", "d"],
            "name": ["Aksu Textile", "Hotan Farm", "Acme", None],
            "country": ["CN", "CN", "DE", None],
            "region": [None, "Xinjiang", None, None],
            "hs4_list": [["5205"], [], ["6109", "8541"], None],
        },
        schema={
            **dict.fromkeys(("entity_id", "name", "country", "region"), pl.String),
            "hs4_list": pl.List(pl.String),
        },
    )
    want = inherent_risk(nodes, params=params, reference=ref)
    for _ in range(2):
        assert_frame_equal(inherent_risk_memo(nodes, params=params, reference=ref), want, check_exact=True)
    # a reordered frame: rows follow the frame, values follow the entity
    rev = nodes.reverse()
    assert_frame_equal(
        inherent_risk_memo(rev, params=params, reference=ref),
        inherent_risk(rev, params=params, reference=ref),
        check_exact=True,
    )
    # duplicate ids and non-canonical countries go to inherent_risk directly
    assert inherent.inherent_memo_keys(pl.concat([nodes, nodes]), params.inherent) is None
    lower = nodes.with_columns(pl.col("country").str.to_lowercase())
    assert inherent.inherent_memo_keys(lower, params.inherent) is None
    assert_frame_equal(
        inherent_risk_memo(lower, params=params, reference=ref),
        inherent_risk(lower, params=params, reference=ref),
        check_exact=True,
    )


def test_memo_rows_computes_each_key_once_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[int]] = []
    ids = ["x", "y", "z"]

    def compute(missing: list[int]) -> pl.DataFrame:
        calls.append(missing)
        return pl.DataFrame({"entity_id": [ids[i] for i in missing], "v": [float(i) for i in missing]})

    store: dict[Any, Any] = {}
    first = memo.memo_rows(store, "t", ["k1", "k2"], ids[:2], compute)
    assert first.to_dicts() == [{"entity_id": "x", "v": 0.0}, {"entity_id": "y", "v": 1.0}]
    # rows of known keys are reused, with the entity ids of this frame, in its order
    again = memo.memo_rows(store, "t", ["k2", "k1"], ["p", "q"], compute)
    assert again.to_dicts() == [{"entity_id": "p", "v": 1.0}, {"entity_id": "q", "v": 0.0}]
    assert again.schema == first.schema and calls == [[0, 1]]
    # a full memo is emptied before it grows further
    monkeypatch.setattr(memo, "MEMO_LIMIT", 1)
    memo.memo_rows(store, "t", ["k3"], ["x"], compute)
    assert calls == [[0, 1], [0]] and set(store) == {("t", "k3"), ("t", None)}


def test_memo_rows_survives_the_memo_being_emptied_meanwhile() -> None:
    # Another request thread may empty a full memo while this one reads it.
    store: dict[Any, Any] = {}

    def compute(positions: list[int]) -> pl.DataFrame:
        return pl.DataFrame({"entity_id": [f"e{i}" for i in positions], "v": [float(i) for i in positions]})

    memo.memo_rows(store, "t", ["a", "b"], ["e0", "e1"], compute)

    def compute_and_clear(positions: list[int]) -> pl.DataFrame:
        store.clear()
        return compute(positions)

    out = memo.memo_rows(store, "t", ["a", "b", "c"], ["x0", "x1", "e2"], compute_and_clear)
    assert out.to_dict(as_series=False) == {"entity_id": ["x0", "x1", "e2"], "v": [0.0, 1.0, 2.0]}
    store.clear()
    store[("t", "a")] = {"entity_id": "e0", "v": 0.0}  # a row whose schema entry is gone
    assert memo.memo_rows(store, "t", ["a"], ["e0"], compute)["v"].to_list() == [0.0]


def test_memo_rows_of_no_entities_keep_the_step_columns_in_a_fresh_memo() -> None:
    # A new process has no schema in its memo yet; an empty graph must still get the step's columns.
    from risk_engine.scoring.memo import memo_rows

    def compute(positions: list[int]) -> pl.DataFrame:
        return pl.DataFrame({"entity_id": [], "x": []}, schema={"entity_id": pl.String, "x": pl.Float64})

    out = memo_rows({}, "step", [], [], compute)
    assert out.schema == pl.Schema({"entity_id": pl.String, "x": pl.Float64})
    assert out.height == 0
