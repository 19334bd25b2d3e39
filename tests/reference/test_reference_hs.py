import pytest

from risk_engine.reference.hs import clean_hs, hs2, hs4, hs_description, hs_level, is_known_hs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6109.10", "610910"),
        ("61091000", "610910"),
        ("6109.10.0010", "610910"),
        ("610910.0", "610910"),
        ("30110", "030110"),
        ("HS 8471.30", "847130"),
        ("hs:5201", "5201"),
        ("52", "52"),
        (" 8541 ", "8541"),
        ("5201.00.00", "520100"),
        (610910, "610910"),
        ("0", None),
        ("00", None),
        ("7701", None),
        ("abc", None),
        ("61A9", None),
        ("1234567890123", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_hs(raw: object, expected: str | None) -> None:
    assert clean_hs(raw) == expected  # type: ignore[arg-type]


def test_levels_and_prefixes() -> None:
    assert hs_level("61") == 2
    assert hs_level("6109") == 4
    assert hs_level("610910") == 6
    with pytest.raises(ValueError, match="not a cleaned HS code"):
        hs_level("61091")
    assert hs4("610910") == "6109"
    assert hs4("61") is None
    assert hs4(None) is None
    assert hs2("610910") == "61"


def test_nomenclature_lookups() -> None:
    assert is_known_hs("610910")
    assert is_known_hs("52")
    assert not is_known_hs("6198")
    description = hs_description("2804")
    assert description is not None
    assert "silicon" in description.lower() or "hydrogen" in description.lower()
