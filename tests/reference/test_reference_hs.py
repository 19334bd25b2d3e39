import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("6109/6205", None),
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


def test_sector_lookup_uses_the_longest_prefix() -> None:
    import polars as pl

    from risk_engine.reference.hs import sector_of, sector_of_codes

    assert sector_of("610910") == ("yarn, fabric and garments", 0.8)
    assert sector_of("520100") == ("cotton growing and ginning", 1.0)
    assert sector_of("854143") == ("polysilicon and solar wafers", 0.8)
    assert sector_of("170114") == ("sugarcane farming", 1.0)
    assert sector_of("120740") == ("other agriculture", 0.6)
    assert sector_of("8517") == ("electronics assembly and components", 0.6)
    assert sector_of("99") is None
    out = sector_of_codes(pl.Series(["030617", None, "030617", "7601"]))
    assert out["hs_code"].to_list() == ["030617", "7601"]
    assert out["s_p"].to_list() == [1.0, 0.8]


def test_uflpa_and_tvpra_prefix_matches() -> None:
    import polars as pl

    from risk_engine.reference.hs import tvpra_goods_of_codes, uflpa_sectors_of_codes

    uflpa = uflpa_sectors_of_codes(pl.Series(["610910", "85", "854143", "0702", "281511"]))
    assert set(uflpa.select("hs_code", "sector").iter_rows()) == {
        ("610910", "apparel"),
        ("854143", "silica-based products"),
        ("0702", "tomatoes"),
        ("281511", "caustic soda"),
    }
    goods = tvpra_goods_of_codes(pl.Series(["5201", "520512"]))
    assert set(goods.select("hs_code", "good").iter_rows()) == {
        ("5201", "Cotton"),
        ("520512", "Textiles"),
        ("520512", "Thread/Yarn"),
    }
    derived = tvpra_goods_of_codes(pl.Series(["520512"]), links=("derived",))
    assert derived["good"].to_list() == ["Cotton"]


@given(st.one_of(st.text(max_size=20), st.integers(min_value=0, max_value=10**13)))
@settings(max_examples=300, deadline=None)
def test_clean_hs_output_is_none_or_a_2_4_6_digit_code(raw: object) -> None:
    code = clean_hs(raw)  # type: ignore[arg-type]
    assert code is None or (code.isdigit() and len(code) in (2, 4, 6) and hs_level(code) == len(code))
