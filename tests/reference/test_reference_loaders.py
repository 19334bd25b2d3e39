import hashlib
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from risk_engine.reference import loaders
from risk_engine.reference.countries import to_iso2
from risk_engine.reference.hs import clean_hs, is_known_hs

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/data")
TABLES = [
    "countries",
    "country_aliases",
    "country_iso3",
    "hs",
    "hs_sections",
    "ilo_indicators",
    "clause_map",
    "tvpra",
    "dol_findings",
    "wgi",
    "wgi_history",
    "goods_hs",
    "sector_index",
    "uflpa_priority_hs",
    "country_index",
]
# Never redistributable (see each SOURCE.md): none of these may appear in the package.
FORBIDDEN_WORDS = ("gsi", "slavery", "flsri", "sibur", "patstat", "walk free")


def test_manifest_lists_every_table_with_provenance() -> None:
    manifest = loaders.manifest()
    assert manifest["pack_version"]
    assert set(manifest["tables"]) == set(TABLES)
    for name, entry in manifest["tables"].items():
        for field in ("file", "source", "edition", "licence", "rows", "sha256", "columns"):
            assert entry.get(field) not in (None, ""), (name, field)


def test_files_match_their_manifest_sha256_and_rows() -> None:
    for name, entry in loaders.manifest()["tables"].items():
        path = loaders.DATA_DIR / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name
        assert pl.read_parquet(path).height == entry["rows"], name


def test_pack_is_small_and_ships_nothing_unlicensed() -> None:
    files = sorted(loaders.DATA_DIR.iterdir())
    assert sum(f.stat().st_size for f in files) < 3 * 1024 * 1024
    for f in files:
        assert not any(word in f.name.lower() for word in FORBIDDEN_WORDS), f
    text = json.dumps(loaders.manifest()).lower()
    assert "walk free" not in text and "flsri" not in text


def test_wgi_is_attributed_to_the_world_bank() -> None:
    for name in ("wgi", "wgi_history", "country_index"):
        entry = loaders.manifest()["tables"][name]
        assert "World Bank" in entry["attribution"]
        assert "CC BY 4.0" in entry["licence"]


def test_loaders_return_independent_frames() -> None:
    first = loaders.load_tvpra()
    first = first.with_columns(pl.lit(1).alias("extra"))
    assert "extra" not in loaders.load_tvpra().columns


def test_every_tvpra_good_of_every_edition_maps_to_hs_codes() -> None:
    goods_hs = loaders.load_goods_hs()
    tvpra = loaders.load_tvpra()
    assert tvpra["edition"].unique().sort().to_list() == ["2016", "2018", "2020", "2022"]
    direct = set(goods_hs.filter(pl.col("link") == "direct")["good"].to_list())
    assert set(tvpra["good"].unique().to_list()) <= direct
    assert loaders.unmapped_goods(tvpra) == []


def test_every_crosswalk_code_is_a_clean_hs2022_code() -> None:
    for table in ("goods_hs", "sector_index", "uflpa_priority_hs"):
        frame = getattr(loaders, f"load_{table}")()
        for code, level in frame.select("hs_code", "hs_level").iter_rows():
            assert clean_hs(code) == code, (table, code)
            assert level == len(code)
            assert is_known_hs(code), (table, code)


def test_named_goods_map_to_the_expected_hs() -> None:
    goods_hs = loaders.load_goods_hs()

    def codes(good: str) -> set[str]:
        return set(goods_hs.filter(pl.col("good") == good)["hs_code"].to_list())

    assert {"61", "62"} <= codes("Garments")
    assert "5201" in codes("Cotton")
    assert "280461" in codes("Polysilicon")
    assert "1801" in codes("Cocoa")
    assert codes("Açaí Berries")


def test_sector_index_follows_the_methodology_tiers() -> None:
    sector = loaders.load_sector_index()
    s_p = dict(zip(sector["hs_code"].to_list(), sector["s_p"].to_list(), strict=True))
    assert set(s_p.values()) <= {0.1, 0.3, 0.6, 0.8, 1.0}
    assert s_p["03"] == 1.0 and s_p["5201"] == 1.0 and s_p["6901"] == 1.0
    assert s_p["61"] == 0.8 and s_p["64"] == 0.8 and s_p["4015"] == 0.8 and s_p["2804"] == 0.8
    assert set(sector["hs_level"].to_list()) == {2, 4}  # the agreed shape: chapters and headings only
    assert s_p["85"] == 0.6 and s_p["94"] == 0.6 and s_p["95"] == 0.6
    assert s_p["84"] == 0.3 and s_p["87"] == 0.3
    chapters = {c for c in s_p if len(c) == 2}
    assert chapters == {f"{n:02d}" for n in range(1, 98) if n != 77}


def test_uflpa_priority_sectors_are_all_present() -> None:
    sectors = set(loaders.load_uflpa_priority_hs()["sector"].to_list())
    assert sectors == {
        "apparel",
        "cotton",
        "tomatoes",
        "silica-based products",
        "aluminum",
        "PVC",
        "seafood",
        "steel",
        "copper",
        "lithium",
        "caustic soda",
        "red dates",
    }


def test_every_country_in_the_shipped_tables_is_iso() -> None:
    iso = set(loaders.load_countries()["iso2"].to_list())
    for table in ("tvpra", "dol_findings", "wgi", "wgi_history", "country_index"):
        codes = set(getattr(loaders, f"load_{table}")()["iso2"].to_list())
        assert None not in codes and codes <= iso, table
    tvpra = loaders.load_tvpra()
    for name, iso2 in tvpra.select("country", "iso2").unique().iter_rows():
        assert to_iso2(name) == iso2, name
    dol = loaders.load_dol_findings()
    for name, iso2 in dol.select("country", "iso2").iter_rows():
        assert to_iso2(name) == iso2, name
    wgi = loaders.load_wgi()
    for name, code, iso2 in wgi.select("country", "wb_code", "iso2").iter_rows():
        assert to_iso2(name) == iso2, name
        assert to_iso2(code) == iso2, code


def test_missing_manifest_entry_is_a_reference_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from risk_engine.errors import ReferenceDataError

    with pytest.raises(ReferenceDataError, match="not in the pack manifest"):
        loaders._read("no_such_table")


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.exists(), reason="shared source data not available")
def test_build_is_deterministic_and_matches_the_committed_pack(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_reference.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    built = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    shipped = loaders.manifest()
    assert {k: v["sha256"] for k, v in built["tables"].items()} == {
        k: v["sha256"] for k, v in shipped["tables"].items()
    }
    assert (tmp_path / "manifest.json").read_bytes() == (loaders.DATA_DIR / "manifest.json").read_bytes()
