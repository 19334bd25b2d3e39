import csv
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.reference.countries import (
    ascii_country_key,
    country_key,
    country_name,
    iso3_to_iso2,
    iso_codes,
    series_to_iso2,
    to_iso2,
)
from risk_engine.reference.loaders import load_countries, load_country_aliases

SHARED = Path("/work/shared/data")
CROSSWALK = SHARED / "reference" / "country_codes" / "source_name_crosswalk.csv"
OAR = SHARED / "company_names" / "oar_facility_lists" / "oar_facility_lists_2019.csv"

# OAR 2019 country cells that are not countries; none today (all 89 spellings are countries or codes).
OAR_NOT_COUNTRIES: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PRC", "CN"),
        ("China (PRC)", "CN"),
        ("中国", "CN"),
        ("UAE", "AE"),
        ("Ivory Coast", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("Burma", "MM"),
        ("Korea, Rep.", "KR"),
        ("Korea Rep.", "KR"),
        ("Korea, Dem. Rep.", "KP"),
        ("Congo, Dem. Rep.", "CD"),
        ("Congo, Rep.", "CG"),
        ("Viet Nam", "VN"),
        ("Türkiye", "TR"),
        ("Turkey (Türkiye)", "TR"),
        ("Deutschland", "DE"),
        ("Россия", "RU"),
        ("日本", "JP"),
        ("Kosovo", "XK"),
        ("XKX", "XK"),
        ("KSV", "XK"),
        ("the Netherlands", "NL"),
        ("Bahamas, The", "BS"),
        ("St. Lucia", "LC"),
        ("Micronesia, Fed. Sts.", "FM"),
        ("usa", "US"),
        ("U.S.A.", "US"),
        ("  Viet   Nam  ", "VN"),
        ("ST", "ST"),
        ("IS", "IS"),
        ("Xinjiang", "CN"),
        ("West Bank and Gaza", "PS"),
        ("Russian Fed.", "RU"),
        ("Chinese Taipei", "TW"),
        ("P.R.C.", "CN"),
        ("COTE D IVOIRE", "CI"),
        ("Lao P.D.R.", "LA"),
        ("Korea (North)", "KP"),
        ("Congo-Kinshasa", "CD"),
        ("Guinea-Bissau", "GW"),
        ("Niger", "NE"),
        ("Nigeria", "NG"),
        ("Dominica", "DM"),
        ("South Sudan", "SS"),
        ("Kosovo (UNSCR 1244)", "XK"),
        ("Channel Islands (Jersey)", "JE"),
    ],
)
def test_to_iso2_resolves_spellings_and_aliases(value: str, expected: str) -> None:
    assert to_iso2(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Channel Islands",
        "West Indies",
        "N/A",
        "unknown",
        "Africa",
        "USSR",
        "Yugoslavia",
        "",
        "   ",
        None,
        "Qwerty",
    ],
)
def test_to_iso2_returns_none_for_non_countries(value: str | None) -> None:
    assert to_iso2(value) is None


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_to_iso2_never_crashes_and_returns_a_known_code(text: str) -> None:
    result = to_iso2(text)
    assert result is None or result in iso_codes()


def test_countrynames_fail_list_never_resolves() -> None:
    aliases = load_country_aliases()
    failing = aliases.filter(pl.col("source") == "countrynames:FAIL")
    assert failing.height > 20
    for alias in failing["alias"].to_list():
        assert to_iso2(alias) is None, alias


def test_alias_keys_match_the_current_key_functions() -> None:
    """The shipped keys were built with country_key/ascii_country_key; a change there needs a rebuild."""
    aliases = load_country_aliases()
    sample = aliases.gather_every(37)
    for alias, key in sample.select("alias", "key").iter_rows():
        assert key in {country_key(alias), ascii_country_key(alias)}, alias


def test_series_to_iso2_maps_each_value_and_keeps_nulls() -> None:
    s = pl.Series("country", ["China", "CN", None, "nowhere land", "China", "Vietnam"])
    out = series_to_iso2(s)
    assert out.name == "country"
    assert out.dtype == pl.String
    assert out.to_list() == ["CN", "CN", None, None, "CN", "VN"]


def test_iso3_to_iso2_handles_world_bank_legacy_codes() -> None:
    assert iso3_to_iso2("CHN") == "CN"
    assert iso3_to_iso2("rom") == "RO"
    assert iso3_to_iso2("TMP") == "TL"
    assert iso3_to_iso2("ZAR") == "CD"
    assert iso3_to_iso2("ANT") is None
    assert iso3_to_iso2(None) is None


def test_every_country_code_resolves_to_itself() -> None:
    countries = load_countries()
    assert countries.height == 250
    for iso2, iso3, name in countries.select("iso2", "iso3", "name").iter_rows():
        assert to_iso2(iso2) == iso2
        assert to_iso2(iso3) == iso2
        assert to_iso2(name) == iso2, name
        assert country_name(iso2) == name
    assert "XK" in iso_codes()


@pytest.mark.skipif(not CROSSWALK.exists(), reason="shared crosswalk oracle not available")
def test_every_source_spelling_in_the_crosswalk_oracle_maps_to_its_iso() -> None:
    with CROSSWALK.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 617
    wrong = []
    for row in rows:
        expected = iso3_to_iso2(row["iso3"]) if row["iso3"] else None
        if row["iso3"]:
            assert expected is not None, row
        got = to_iso2(row["name_in_source"])
        if got != expected:
            wrong.append((row["source"], row["name_in_source"], got, expected))
    assert wrong == []


@pytest.mark.skipif(not OAR.exists(), reason="shared OAR facility lists not available")
def test_every_oar_facility_country_spelling_maps() -> None:
    with OAR.open(encoding="utf-8") as fh:
        spellings = {row["country"] for row in csv.DictReader(fh)}
    assert len({s.upper() for s in spellings}) == 83
    unmapped = sorted(s for s in spellings if to_iso2(s) is None and s not in OAR_NOT_COUNTRIES)
    assert unmapped == []
    assert to_iso2("UAE") == "AE"
    assert to_iso2("Slovak Republic") == "SK"


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Planted bad cells of the demo fixtures (fixtures/generate.py lists them as expected rejects).
FIXTURE_NOT_COUNTRIES = frozenset({"Atlantis"})


@pytest.mark.skipif(not (FIXTURES / "demo").exists(), reason="demo fixtures not generated")
def test_every_country_spelling_in_the_fixtures_maps() -> None:
    checked = 0
    for path in sorted([*FIXTURES.glob("demo/*.csv"), *FIXTURES.glob("sources/*.csv")]):
        frame = pl.read_csv(path, infer_schema=False)
        for column in (c for c in frame.columns if "country" in c.lower()):
            values = set(frame[column].drop_nulls().str.strip_chars().to_list()) - {""}
            unmapped = sorted(v for v in values if to_iso2(v) is None and v not in FIXTURE_NOT_COUNTRIES)
            assert unmapped == [], (path.name, column)
            checked += len(values)
    assert checked > 100


def test_series_to_iso2_handles_empty_all_null_and_categorical() -> None:
    assert series_to_iso2(pl.Series("c", [], dtype=pl.String)).to_list() == []
    assert series_to_iso2(pl.Series("c", [None, None], dtype=pl.String)).to_list() == [None, None]
    assert series_to_iso2(pl.Series("c", ["China", "DE"], dtype=pl.Categorical)).to_list() == ["CN", "DE"]


ALIASES_YAML = SHARED / "reference" / "country_codes" / "countrynames_aliases.yaml"


@pytest.mark.skipif(not ALIASES_YAML.exists(), reason="countrynames source not available")
def test_every_countrynames_alias_resolves_to_its_own_code() -> None:
    import importlib.util

    import yaml

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_reference.py"
    spec = importlib.util.spec_from_file_location("build_reference_script", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    special_codes = build.SPECIAL_CODES

    with ALIASES_YAML.open(encoding="utf-8") as fh:
        names = yaml.load(fh, Loader=yaml.BaseLoader)
    wrong = []
    total = 0
    for code, aliases in names.items():
        target = None if code == "FAIL" else special_codes.get(code, code)
        for alias in aliases:
            total += 1
            if to_iso2(alias) != target:
                wrong.append((code, alias, to_iso2(alias)))
    assert total > 27_000
    # the one exception: "THE VIRGIN ISLANDS" (listed under VG) is also on the FAIL list as "VIRGIN ISLANDS"
    assert wrong == [("VG", "THE VIRGIN ISLANDS", None)]
