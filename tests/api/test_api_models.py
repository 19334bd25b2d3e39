"""Hypothesis on the request models: valid inputs round-trip, anything else is a ValidationError."""

from __future__ import annotations

import contextlib
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from risk_engine.api.schemas import DecisionRequest, ScoreRecord, ScoreRequest

text = st.text(alphabet=string.ascii_letters + " .,&-", min_size=1, max_size=40).filter(lambda s: s.strip())
records = st.fixed_dictionaries(
    {"key": text, "name": text, "country": st.sampled_from(["BD", "China", "Viet Nam", "DE"])},
    optional={
        "address": st.text(max_size=100),
        "hs_codes": st.lists(st.from_regex(r"[0-9]{2,6}", fullmatch=True), max_size=5),
        "identifiers": st.fixed_dictionaries(
            {}, optional={"lei": st.from_regex(r"[0-9A-Z]{20}", fullmatch=True)}
        ),
    },
)


@given(st.lists(records, min_size=1, max_size=100, unique_by=lambda r: r["key"].strip()))
@settings(max_examples=60)
def test_valid_requests_round_trip(items: list[dict[str, Any]]) -> None:
    request = ScoreRequest.model_validate({"records": items})
    again = ScoreRequest.model_validate_json(request.model_dump_json())
    assert again == request
    assert [r.key for r in request.records] == [i["key"].strip() for i in items]


@given(
    records,
    st.text(min_size=1, max_size=20).filter(lambda k: k not in ScoreRecord.model_fields),
    st.none() | st.integers() | st.text(),
)
def test_unknown_fields_are_rejected(record: dict[str, Any], field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate({"records": [{**record, field: value}]})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_crashes_validation(value: object) -> None:
    with contextlib.suppress(ValidationError):
        ScoreRequest.model_validate(value)


@given(records)
def test_too_long_strings_are_rejected(record: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate({"records": [{**record, "name": "x" * 513}]})


@given(records, st.integers(min_value=101, max_value=300))
@settings(max_examples=10)
def test_batches_over_100_are_rejected(record: dict[str, Any], n: int) -> None:
    items = [{**record, "key": f"k{i}"} for i in range(n)]
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate({"records": items})


@given(st.sampled_from(["confirm", "reject"]), text)
def test_decisions(decision: str, reason: str) -> None:
    assert DecisionRequest.model_validate({"decision": decision, "reason": reason}).decision == decision
    with pytest.raises(ValidationError):
        DecisionRequest.model_validate({"decision": decision, "reason": reason, "decided_by": "x"})
