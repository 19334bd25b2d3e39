import polars as pl
import pytest

from risk_engine.errors import InputError
from risk_engine.schemas import (
    CONTRACTS,
    KINDS,
    REJECTS_SCHEMA,
    alias_index,
    contract,
    header_key,
    resolve_header,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Supplier_Name", "supplier name"),
        ("  SUPPLIER   NAME ", "supplier name"),
        ("Country/Region", "country region"),
        ("\ufeffname", "name"),
        ("Value (USD)", "value usd"),
        ("ＮＡＭＥ", "name"),  # full-width letters fold under NFKC
        (None, ""),
    ],
)
def test_header_key_folds_case_spacing_and_punctuation(raw: str | None, key: str) -> None:
    assert header_key(raw) == key


@pytest.mark.parametrize("kind", KINDS)
def test_no_header_key_claims_two_columns(kind: str) -> None:
    claims: dict[str, set[str]] = {}
    for col in contract(kind).columns:
        for text in (col.name, *col.aliases):
            claims.setdefault(header_key(text), set()).add(col.name)
    clashes = {key: names for key, names in claims.items() if len(names) > 1}
    assert clashes == {}


@pytest.mark.parametrize("kind", KINDS)
def test_every_contract_column_resolves_by_its_own_name(kind: str) -> None:
    table = contract(kind)
    mapping = resolve_header([c.name for c in table.columns], kind)
    assert mapping.positions == {c.name: i for i, c in enumerate(table.columns)}
    assert not mapping.problems
    assert set(alias_index(kind).values()) == {c.name for c in table.columns}


def test_product_md_aliases_map_to_name_and_country() -> None:
    for header in ("supplier name", "Name", "company", "Company Name"):
        assert resolve_header([header, "Country/Region"], "suppliers").positions == {"name": 0, "country": 1}


def test_exact_name_wins_over_alias_and_the_alias_is_reported() -> None:
    mapping = resolve_header(["Company", "country", "Name"], "suppliers")
    assert mapping.positions["name"] == 2
    assert not mapping.fatal
    assert [p.header for p in mapping.problems] == ["Company"]


def test_two_aliases_for_one_column_are_a_fatal_ambiguity() -> None:
    mapping = resolve_header(["Company", "Supplier Name", "country"], "suppliers")
    assert mapping.fatal
    assert "duplicate header" in mapping.problems[0].reason


def test_missing_required_column_is_fatal_and_lists_accepted_headers() -> None:
    mapping = resolve_header(["name", "city"], "suppliers")
    assert mapping.fatal
    (problem,) = mapping.problems
    assert "'country'" in problem.reason and "'country/region'" in problem.reason


def test_unknown_headers_are_listed_as_ignored() -> None:
    mapping = resolve_header(["name", "country", "Favourite colour", ""], "suppliers")
    assert mapping.ignored == ((2, "Favourite colour"),)


def test_unknown_kind_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown input kind"):
        contract("invoices")


def test_contracts_cover_the_four_kinds_with_required_columns() -> None:
    assert set(CONTRACTS) == set(KINDS)
    assert contract("suppliers").required == ("name", "country")
    assert set(contract("trade").required) >= {"date", "shipper_name", "consignee_name"}
    assert list(REJECTS_SCHEMA) == ["file", "row", "column", "value", "reason", "severity"]
    assert REJECTS_SCHEMA["row"] == pl.Int64()


def test_inputs_doc_lists_every_column_and_alias() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "INPUTS.md").read_text(encoding="utf-8")
    missing = [
        f"{kind}.{text}"
        for kind in KINDS
        for col in contract(kind).columns
        for text in (col.name, *col.aliases)
        if f"`{text}`" not in doc
    ]
    assert missing == []
