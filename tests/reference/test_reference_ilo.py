import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.reference.ilo import INDICATORS, clause_to_indicators, normalise_scheme, parse_indicator
from risk_engine.reference.loaders import load_clause_map, load_ilo_indicators


def test_indicator_names_match_the_shipped_table() -> None:
    frame = load_ilo_indicators()
    assert dict(zip(frame["indicator_id"].to_list(), frame["indicator"].to_list(), strict=True)) == INDICATORS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7),
        (7, 7),
        ("07", 7),
        ("ILO-7", 7),
        ("ilo 11", 11),
        ("ILO 7: Retention of identity documents", 7),
        ("Retention of identity documents", 7),
        ("retention of passports", 7),
        ("Debt Bondage", 9),
        ("overtime", 11),
        ("excesive overtime", 11),
        ("Physical & sexual violence", 5),
        ("Abusive working & living conditions", 10),
        ("Withholding of wages", 8),
        ("12", None),
        ("0", None),
        (0, None),
        ("banana", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_indicator(raw: object, expected: int | None) -> None:
    assert parse_indicator(raw) == expected  # type: ignore[arg-type]


def test_every_indicator_name_parses_to_itself() -> None:
    for number, name in INDICATORS.items():
        assert parse_indicator(name) == number
        assert parse_indicator(name.upper()) == number


@pytest.mark.parametrize(
    ("clause", "scheme", "expected"),
    [
        ("6", "SMETA", (11,)),
        ("ETI-6", None, (11,)),
        ("10A", "SMETA", (1, 7, 9)),
        ("10.A", "smeta", (1, 7, 9)),
        ("5", "SMETA", (8,)),
        ("A3", None, (11,)),
        ("RBA-A4", None, (8,)),
        ("A.5", "RBA", (4, 5, 6)),
        ("B3", "RBA_VAP", (10,)),
        ("BSCI-PA11-Q3", None, (1, 3, 6, 7, 9)),
        ("PA 6", "amfori BSCI", (11,)),
        ("PA7", "BSCI", (10,)),
        ("RBA-A1", "OTHER", (1, 2, 3, 4, 6, 7, 9)),
        ("ETI 1", "SMETA 7.0", (1, 2, 3, 4, 6, 7, 9)),
        ("6", "SLCP", ()),
        ("6", "unknown scheme", ()),
        ("xyz", None, ()),
        ("", "SMETA", ()),
        ("42", "SMETA", ()),
    ],
)
def test_clause_to_indicators(clause: str, scheme: str | None, expected: tuple[int, ...]) -> None:
    assert clause_to_indicators(clause, scheme) == expected


def test_clause_map_covers_every_methodology_row() -> None:
    frame = load_clause_map()
    assert set(frame["scheme"].unique().to_list()) == {"SMETA", "RBA_VAP", "BSCI"}
    assert set(frame["indicator_id"].unique().to_list()) == set(INDICATORS)
    assert frame.filter("state_imposed")["finding_type"].unique().to_list() == ["state_imposed_labour"]


def test_normalise_scheme() -> None:
    assert normalise_scheme("SMETA") == "SMETA"
    assert normalise_scheme("ETI") == "SMETA"
    assert normalise_scheme("RBA") == "RBA_VAP"
    assert normalise_scheme("amfori BSCI") == "BSCI"
    assert normalise_scheme("SMETA 7.0") == "SMETA"
    assert normalise_scheme("SMETA 4-Pillar") == "SMETA"
    assert normalise_scheme("amfori BSCI v2") == "BSCI"
    assert normalise_scheme("RBA VAP 7.1") == "RBA_VAP"
    assert normalise_scheme("SMETA and BSCI") is None
    assert normalise_scheme("iso 9001") is None
    assert normalise_scheme(None) is None


@given(st.text(max_size=30), st.one_of(st.none(), st.text(max_size=12)))
@settings(max_examples=300, deadline=None)
def test_parsers_never_crash(text: str, scheme: str | None) -> None:
    assert parse_indicator(text) in (None, *INDICATORS)
    assert set(clause_to_indicators(text, scheme)) <= set(INDICATORS)
