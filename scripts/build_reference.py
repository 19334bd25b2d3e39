"""Build the shipped reference data pack from the shared public data.

Usage: .venv/bin/python scripts/build_reference.py [--source /work/shared/data]

Reads the public sources (see each SOURCE.md) and the hand-built tables in risk_engine/reference/data_src/, writes
risk_engine/reference/data/*.parquet and manifest.json. Deterministic: rebuilding gives identical bytes.
Never reads or writes GSI, FLSRI or other non-redistributable data.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk_engine.reference.countries import ascii_country_key, country_key  # noqa: E402

OUT = ROOT / "risk_engine" / "reference" / "data"
SRC = ROOT / "risk_engine" / "reference" / "data_src"
PACK_VERSION = "2026.11.1"

# Codes in countrynames that are not ISO 3166-1 countries: subdivisions and special areas map to the
# sovereign ISO code (country-level risk applies); dissolved states and non-countries must not resolve.
SPECIAL_CODES: dict[str, str | None] = {
    "AZ-NK": "AZ",
    "X-SO": "GE",
    "GE-AB": "GE",
    "UA-LPR": "UA",
    "UA-DPR": "UA",
    "UA-CRI": "UA",
    "GB-WLS": "GB",
    "GB-SCT": "GB",
    "GB-NIR": "GB",
    "MD-PMR": "MD",
    "CN-SH": "CN",
    "CN-BJ": "CN",
    "CN-XZ": "CN",
    "CN-CQ": "CN",
    "CY-TRNC": "CY",
    "IQ-KR": "IQ",
    "PK-KM": "PK",
    "SO-SOM": "SO",
    "ZR": "CD",  # Zaire
    "CP": "FR",  # Clipperton
    "AC": "SH",  # Ascension
    "TA": "SH",  # Tristan da Cunha
    "DG": "IO",  # Diego Garcia
    "IC": "ES",  # Canary Islands
    "CQ": "GG",  # Sark
    "AN": None,  # Netherlands Antilles, dissolved 2010: successor is ambiguous (CW, SX, BQ)
    "YUCS": None,
    "CSXX": None,
    "SUHH": None,
    "CSHH": None,
    "DD": None,
    "ZZ": None,
    "UN": None,
    "EU": None,
    "FAIL": None,
}
# World Bank codes that differ from ISO alpha-3 (WGI SOURCE.md) and Kosovo's conventional XKX.
LEGACY_ISO3 = {"ZAR": "CD", "ADO": "AD", "KSV": "XK", "ROM": "RO", "TMP": "TL", "WBG": "PS", "XKX": "XK"}

COUNTRY_NAME_COLUMNS = [
    "official_name_en",
    "official_name_fr",
    "official_name_es",
    "official_name_ar",
    "official_name_cn",
    "official_name_ru",
    "UNTERM English Short",
    "UNTERM English Formal",
    "UNTERM French Short",
    "UNTERM French Formal",
    "UNTERM Spanish Short",
    "UNTERM Spanish Formal",
    "UNTERM Russian Short",
    "UNTERM Russian Formal",
    "UNTERM Chinese Short",
    "UNTERM Chinese Formal",
    "UNTERM Arabic Short",
    "UNTERM Arabic Formal",
    "CLDR display name",
    "ISO4217-currency_country_name",
]

LICENCES = {
    "pddl": "ODC-PDDL-1.0",
    "mit_countrynames": "MIT (countrynames, OpenSanctions Datenbanken GmbH)",
    "us_pd": "Public domain (work of the US federal government, 17 U.S.C. §105)",
    "cc_by": "CC BY 4.0",
    "project": "Apache-2.0 (written for this project)",
}


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write deterministically: fixed compression, no timestamps, stable column order."""
    table = frame.to_arrow()
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        use_dictionary=True,
        write_statistics=False,
        store_schema=True,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False, encoding="utf8")


# --------------------------------------------------------------------------------------------------- countries


def build_countries(data: Path) -> pl.DataFrame:
    raw = read_csv(data / "reference" / "country_codes" / "country-codes.csv")
    raw = raw.filter(pl.col("ISO3166-1-Alpha-2").is_not_null())
    frame = raw.select(
        pl.col("ISO3166-1-Alpha-2").alias("iso2"),
        pl.col("ISO3166-1-Alpha-3").alias("iso3"),
        pl.col("ISO3166-1-numeric").alias("numeric"),
        pl.coalesce("CLDR display name", "official_name_en", "UNTERM English Short").alias("name"),
        pl.col("official_name_en"),
        pl.col("Region Name").alias("region"),
        pl.col("Sub-region Name").alias("subregion"),
        pl.col("Intermediate Region Name").alias("intermediate_region"),
        (pl.col("is_independent") == "Yes").alias("is_independent"),
        (pl.col("Least Developed Countries (LDC)") == "x").fill_null(False).alias("ldc"),
        (pl.col("Small Island Developing States (SIDS)") == "x").fill_null(False).alias("sids"),
    )
    kosovo = pl.DataFrame(
        {
            "iso2": ["XK"],
            "iso3": ["XKX"],
            "numeric": [None],
            "name": ["Kosovo"],
            "official_name_en": ["Kosovo"],
            "region": ["Europe"],
            "subregion": ["Southern Europe"],
            "intermediate_region": [None],
            "is_independent": [True],
            "ldc": [False],
            "sids": [False],
        },
        schema=frame.schema,
    )
    frame = pl.concat([frame, kosovo]).with_columns(pl.col("numeric").str.zfill(3))
    return frame.sort("iso2")


def build_country_aliases(data: Path, countries: pl.DataFrame) -> pl.DataFrame:
    """One row per normalised key: the highest-priority unambiguous ISO code (or null = must not resolve)."""
    iso2s = set(countries["iso2"].to_list())
    # candidates: (alias, iso2 | None, priority, source); lower priority wins a key conflict.
    candidates: list[tuple[str, str | None, int, str]] = []
    path = data / "reference" / "country_codes" / "countrynames_aliases.yaml"
    with path.open(encoding="utf-8") as fh:
        # BaseLoader keeps every scalar a string ("NO" stays Norway, not False).
        names = yaml.load(fh, Loader=yaml.BaseLoader)
    for code, aliases in names.items():
        if code == "FAIL":
            candidates.extend((alias, None, 0, "countrynames:FAIL") for alias in aliases)
            continue
        if code in SPECIAL_CODES:
            target = SPECIAL_CODES[code]
        elif code in iso2s:
            target = code
        else:
            msg = f"countrynames code {code!r} is neither ISO nor in SPECIAL_CODES"
            raise SystemExit(msg)
        candidates.extend((alias, target, 3, f"countrynames:{code}") for alias in aliases)
    raw = read_csv(data / "reference" / "country_codes" / "country-codes.csv").filter(
        pl.col("ISO3166-1-Alpha-2").is_not_null()
    )
    for row in raw.iter_rows(named=True):
        iso2 = row["ISO3166-1-Alpha-2"]
        for column in COUNTRY_NAME_COLUMNS:
            value = row[column]
            if value and value.strip():
                candidates.append((value.strip(), iso2, 2, f"country-codes:{column}"))
    with (SRC / "country_aliases_extra.csv").open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            candidates.append((rec["alias"], rec["iso2"] or None, 1, "project"))
    for row in countries.iter_rows(named=True):
        candidates.append((row["name"], row["iso2"], 2, "countries"))

    by_key: dict[str, dict[int, set[str | None]]] = defaultdict(lambda: defaultdict(set))
    source_of: dict[tuple[str, str | None, int], tuple[str, str]] = {}
    for alias, iso2, priority, source in candidates:
        for offset, key in ((0, country_key(alias)), (1, ascii_country_key(alias))):
            if not key:
                continue
            prio = priority * 2 + offset  # the script-preserving key beats a transliterated one
            by_key[key][prio].add(iso2)
            source_of.setdefault((key, iso2, prio), (alias, source))
    rows: list[dict[str, Any]] = []
    for key in sorted(by_key):
        best = min(by_key[key])
        targets = by_key[key][best]
        if len(targets) != 1:
            continue  # ambiguous at the same priority: leave it unresolved rather than guess
        iso2 = next(iter(targets))
        alias, source = source_of[(key, iso2, best)]
        rows.append({"key": key, "iso2": iso2, "alias": alias, "source": source})
    return pl.DataFrame(
        rows, schema={"key": pl.String, "iso2": pl.String, "alias": pl.String, "source": pl.String}
    )


# --------------------------------------------------------------------------------------------------- HS / ILO


def build_hs(data: Path) -> pl.DataFrame:
    frame = read_csv(data / "reference" / "hs_codes" / "harmonized-system.csv")
    frame = frame.filter(pl.col("hscode") != "TOTAL").select(
        pl.col("hscode"),
        pl.col("level").cast(pl.Int8),
        pl.when(pl.col("parent") == "TOTAL").then(None).otherwise(pl.col("parent")).alias("parent"),
        pl.col("section"),
        pl.col("description"),
    )
    return frame.sort("hscode")


def build_hs_sections(data: Path) -> pl.DataFrame:
    return read_csv(data / "reference" / "hs_codes" / "sections.csv")


def build_ilo(data: Path) -> pl.DataFrame:
    # The descriptions contain unquoted commas: split each line on its first two commas only.
    path = data / "reference" / "ilo_forced_labour_indicators" / "ilo_11_indicators.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header = lines[0].split(",")
    rows = [line.split(",", 2) for line in lines[1:]]
    frame = pl.DataFrame(rows, schema=header, orient="row")
    return frame.with_columns(pl.col("indicator_id").cast(pl.Int8)).sort("indicator_id")


def build_clause_map() -> pl.DataFrame:
    frame = read_csv(SRC / "clause_map.csv")
    return frame.with_columns(
        pl.col("indicator_id").cast(pl.Int8),
        (pl.col("state_imposed") == "true").alias("state_imposed"),
    )


# --------------------------------------------------------------------------------------------------- main

TableBuilder = Callable[[], pl.DataFrame]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/shared/data"))
    parser.add_argument(
        "--out", type=Path, default=OUT, help="output directory (default: the package data dir)"
    )
    args = parser.parse_args(argv)
    data: Path = args.source
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    countries = build_countries(data)
    aliases = build_country_aliases(data, countries)
    # WB legacy ISO3 codes become extra rows of an iso3 lookup table (not country rows).
    iso3_extra = pl.DataFrame(
        {"iso3": list(LEGACY_ISO3), "iso2": list(LEGACY_ISO3.values())},
        schema={"iso3": pl.String, "iso2": pl.String},
    )
    iso3_map = pl.concat([countries.select("iso3", "iso2"), iso3_extra]).unique("iso3").sort("iso3")

    cc_source = "GitHub datasets/country-codes data/country-codes.csv @ caa72d1e (UN M49, UNTERM, CLDR)"
    tables: list[tuple[str, pl.DataFrame, dict[str, Any]]] = [
        (
            "countries",
            countries,
            {
                "source": cc_source + "; Kosovo (XK) added by convention",
                "edition": "2026-05-15",
                "licence": LICENCES["pddl"],
                "attribution": "Open Knowledge / datahub.io core datasets",
            },
        ),
        (
            "country_iso3",
            iso3_map,
            {
                "source": cc_source + "; World Bank legacy codes ADO, KSV, ROM, TMP, WBG, ZAR and XKX added",
                "edition": "2026-05-15",
                "licence": LICENCES["pddl"],
                "attribution": "Open Knowledge / datahub.io core datasets",
            },
        ),
        (
            "country_aliases",
            aliases,
            {
                "source": "opensanctions/countrynames countrynames/data.yaml @ 02f99fe8 + country-codes names"
                " + risk_engine/reference/data_src/country_aliases_extra.csv; keys normalised by"
                " risk_engine.reference.countries.country_key/ascii_country_key",
                "edition": "2025-08-04",
                "licence": LICENCES["mit_countrynames"] + "; country-codes ODC-PDDL-1.0",
                "attribution": "countrynames (c) OpenSanctions Datenbanken GmbH, MIT licence",
            },
        ),
        (
            "hs",
            build_hs(data),
            {
                "source": "GitHub datasets/harmonized-system data/harmonized-system.csv @ 905e5a0f"
                " (UN Comtrade H6 descriptions)",
                "edition": "HS 2022",
                "licence": LICENCES["pddl"],
                "attribution": "datahub.io core datasets; nomenclature (c) World Customs Organization",
            },
        ),
        (
            "hs_sections",
            build_hs_sections(data),
            {
                "source": "GitHub datasets/harmonized-system data/sections.csv @ 905e5a0f",
                "edition": "HS 2022",
                "licence": LICENCES["pddl"],
                "attribution": "datahub.io core datasets",
            },
        ),
        (
            "ilo_indicators",
            build_ilo(data),
            {
                "source": "ILO Indicators of Forced Labour (SAP-FL, 2012; same 11 indicators in the 2025"
                " revision); descriptions paraphrased for this project",
                "edition": "2012",
                "licence": "indicator names are facts; descriptions " + LICENCES["project"],
                "attribution": "International Labour Organization",
            },
        ),
        (
            "clause_map",
            build_clause_map(),
            {
                "source": "docs/METHODOLOGY.md §1 clause table (engine default, to be reviewed by an"
                " auditor panel); risk_engine/reference/data_src/clause_map.csv",
                "edition": "fl-v1",
                "licence": LICENCES["project"],
                "attribution": "",
            },
        ),
    ]
    tables.extend(build_more_tables(data, countries, iso3_map))

    entries: dict[str, dict[str, Any]] = {}
    for name, frame, meta in tables:
        path = out / f"{name}.parquet"
        write_parquet(frame, path)
        entries[name] = {
            "file": path.name,
            **meta,
            "rows": frame.height,
            "columns": frame.columns,
            "sha256": sha256(path),
        }
    stale = {p.name for p in out.glob("*.parquet")} - {e["file"] for e in entries.values()}
    for name in sorted(stale):
        (out / name).unlink()
    manifest = {"pack_version": PACK_VERSION, "tables": entries}
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    total = sum((out / e["file"]).stat().st_size for e in entries.values())
    print(f"wrote {len(entries)} tables, {total / 1024:.0f} KiB, to {out}")
    return 0


TVPRA_EDITIONS = {"2016": "2016", "2017": "2018", "2018": "2018", "2019": "2020", "2021": "2022"}
YES_NO = {"Yes": True, "No": False}


def nfc(column: str) -> pl.Expr:
    return pl.col(column).str.normalize("NFC").str.strip_chars()


def to_iso2_column(frame: pl.DataFrame, iso3_col: str, iso3_map: dict[str, str]) -> pl.Expr:
    return pl.col(iso3_col).replace_strict(iso3_map, default=None, return_dtype=pl.String)


def build_tvpra(data: Path, iso3_map: dict[str, str]) -> pl.DataFrame:
    raw = read_csv(data / "tvpra_goods" / "tvpra_goods_all_app_editions.csv")
    frame = raw.select(
        pl.col("app_file_year").replace_strict(TVPRA_EDITIONS).alias("edition"),
        pl.col("app_file_year"),
        nfc("country").alias("country"),
        pl.col("iso3").replace_strict(iso3_map, default=None, return_dtype=pl.String).alias("iso2"),
        nfc("good").alias("good"),
        pl.col("sector"),
        pl.col("region"),
        pl.col("child_labor").replace_strict(YES_NO).alias("child_labor"),
        pl.col("forced_labor").replace_strict(YES_NO).alias("forced_labor"),
        pl.col("forced_child_labor").replace_strict(YES_NO).alias("forced_child_labor"),
        pl.col("produced_with_inputs").replace_strict(YES_NO, default=None).alias("produced_with_inputs"),
        pl.when(pl.col("input_source_country").is_in(["", "No"]))
        .then(None)
        .otherwise(pl.col("input_source_country"))
        .alias("input_source_country"),
    )
    # Input-source countries are spelled as in the country column, whose iso3 the file gives.
    name_to_iso2 = dict(zip(frame["country"].to_list(), frame["iso2"].to_list(), strict=True))
    frame = frame.with_columns(
        nfc("input_source_country")
        .replace_strict(name_to_iso2, default=None, return_dtype=pl.String)
        .alias("input_source_iso2")
    )
    bad = frame.filter(
        pl.col("iso2").is_null()
        | (pl.col("input_source_country").is_not_null() & pl.col("input_source_iso2").is_null())
    )
    if bad.height:
        raise SystemExit(f"TVPRA rows without ISO code: {bad}")
    return frame.sort("edition", "app_file_year", "iso2", "good")


def build_dol(data: Path, iso3_map: dict[str, str]) -> pl.DataFrame:
    raw = read_csv(data / "dol_country_findings" / "dol_findings_2022_country_indicators.csv")
    frame = raw.with_columns(
        nfc("country").alias("country"),
        pl.col("iso3").replace_strict(iso3_map, default=None, return_dtype=pl.String).alias("iso2"),
        pl.col("n_goods_listed").cast(pl.Int64),
    )
    if frame["iso2"].null_count():
        raise SystemExit("DOL rows without ISO code")
    first = ["iso2", "country", "region", "advancement_level"]
    return frame.select(first + [c for c in frame.columns if c not in first and c != "iso3"]).sort("iso2")


WGI_INDICATORS = [
    "ControlofCorruption",
    "GovernmentEffectiveness",
    "PoliticalStability",
    "RegulatoryQuality",
    "RuleofLaw",
    "VoiceandAccountability",
]


def build_wgi(data: Path, iso3_map: dict[str, str]) -> pl.DataFrame:
    raw = read_csv(data / "wgi" / "wgi_2019_wide.csv")
    numeric = [f"{i}_{kind}" for i in WGI_INDICATORS for kind in ("est", "pctrank")]
    frame = raw.select(
        pl.col("iso3").replace_strict(iso3_map, default=None, return_dtype=pl.String).alias("iso2"),
        pl.col("iso3").alias("wb_code"),
        nfc("country").alias("country"),
        pl.lit(2019, pl.Int16).alias("year"),
        *[
            pl.when(pl.col(c).is_in(["NA", "#N/A", ""]))
            .then(None)
            .otherwise(pl.col(c))
            .cast(pl.Float64)
            .alias(c)
            for c in numeric
        ],
    )
    # Netherlands Antilles (former) has no successor code: it stays out of the pack.
    return frame.filter(pl.col("iso2").is_not_null()).sort("iso2")


def build_wgi_history(data: Path, iso3_map: dict[str, str]) -> pl.DataFrame:
    raw = read_csv(data / "wgi" / "wgi_2020_release_1996_2019_long.csv")
    na = ["NA", "#N/A", ""]
    frame = raw.select(
        pl.col("iso3").replace_strict(iso3_map, default=None, return_dtype=pl.String).alias("iso2"),
        pl.col("year").cast(pl.Int16),
        pl.col("indicator").cast(pl.Categorical).cast(pl.String),
        pl.when(pl.col("estimate").is_in(na))
        .then(None)
        .otherwise(pl.col("estimate"))
        .cast(pl.Float64)
        .round(4)
        .alias("estimate"),
        pl.when(pl.col("percentile_rank").is_in(na))
        .then(None)
        .otherwise(pl.col("percentile_rank"))
        .cast(pl.Float64)
        .round(2)
        .alias("percentile_rank"),
    )
    return frame.filter(pl.col("iso2").is_not_null()).sort("iso2", "indicator", "year")


def build_goods_hs(tvpra: pl.DataFrame) -> pl.DataFrame:
    from risk_engine.reference.hs import clean_hs

    frame = read_csv(SRC / "goods_hs.csv").with_columns(nfc("good").alias("good"))
    cleaned = frame["hs_code"].map_elements(clean_hs, return_dtype=pl.String)
    if (cleaned != frame["hs_code"]).any() or cleaned.null_count():
        raise SystemExit("goods_hs.csv has HS codes that are not clean 2/4/6-digit codes")
    frame = frame.with_columns(
        pl.col("hs_code").str.len_chars().cast(pl.Int8).alias("hs_level"),
        pl.col("hs_code").str.slice(0, 4).alias("hs4"),
        # a subheading row covers only part of its heading: matching at hs4 level overstates it
        (pl.col("hs_code").str.len_chars() <= 4).alias("covers_heading"),
    )
    unmapped = set(tvpra["good"].unique()) - set(frame["good"].unique())
    if unmapped:
        raise SystemExit(f"TVPRA goods without HS mapping: {sorted(unmapped)}")
    return frame.select("good", "hs_code", "hs_level", "hs4", "covers_heading", "link", "note").sort(
        "good", "hs_code"
    )


def build_sector_index() -> pl.DataFrame:
    frame = read_csv(SRC / "sector_index.csv")
    if not frame["hs_code"].str.len_chars().is_in([2, 4]).all():
        raise SystemExit("sector_index.csv: codes must be HS chapters (2 digits) or headings (4 digits)")
    return frame.with_columns(
        pl.col("s_p").cast(pl.Float64), pl.col("hs_code").str.len_chars().cast(pl.Int8).alias("hs_level")
    ).sort("hs_code")


def build_uflpa() -> pl.DataFrame:
    frame = read_csv(SRC / "uflpa_priority_hs.csv")
    return frame.with_columns(
        pl.col("designated").cast(pl.Int16),
        pl.col("hs_code").str.len_chars().cast(pl.Int8).alias("hs_level"),
        pl.col("hs_code").str.slice(0, 4).alias("hs4"),
        (pl.col("hs_code").str.len_chars() <= 4).alias("covers_heading"),
    )


def build_more_tables(
    data: Path, countries: pl.DataFrame, iso3_frame: pl.DataFrame
) -> list[tuple[str, pl.DataFrame, dict[str, Any]]]:
    from risk_engine.reference.country_index import CountryIndexParams, compute_country_index

    iso3_map = dict(zip(iso3_frame["iso3"].to_list(), iso3_frame["iso2"].to_list(), strict=True))
    tvpra = build_tvpra(data, iso3_map)
    dol = build_dol(data, iso3_map)
    wgi = build_wgi(data, iso3_map)
    params = CountryIndexParams()
    index = compute_country_index(countries, wgi, dol, tvpra, params=params)
    ilab = "GitHub USDepartmentofLabor/Child-Labor-Android app/src/main/assets"
    wgi_history_attr = (
        "Worldwide Governance Indicators, 2020 update, World Bank (Kaufmann & Kraay), www.govindicators.org;"
        " licensed CC BY 4.0; reshaped, re-keyed to ISO alpha-2, estimates rounded to 4 dp and ranks to 2 dp"
    )
    wgi_attr = (
        "Worldwide Governance Indicators, 2020 update, World Bank (Kaufmann & Kraay), www.govindicators.org;"
        " licensed CC BY 4.0; values unchanged, reshaped and re-keyed to ISO alpha-2"
    )
    return [
        (
            "tvpra",
            tvpra,
            {
                "source": f"{ilab}/goods_<year>.xml @ b8891386, flattened (shared/data tvpra_goods_all_app_editions.csv);"
                " app files 2016/2017/2018/2019/2021 = list editions 2016/2018/2018/2020/2022",
                "edition": "2016-2022 (latest: 2022 list, published Sept 2022)",
                "licence": LICENCES["us_pd"],
                "attribution": "US Department of Labor, Bureau of International Labor Affairs (ILAB)",
            },
        ),
        (
            "dol_findings",
            dol,
            {
                "source": f"{ilab}/countries_2021.xml @ b8891386, flattened (shared/data"
                " dol_findings_2022_country_indicators.csv)",
                "edition": "Findings on the Worst Forms of Child Labor, reporting year 2022 (published Sept 2023)",
                "licence": LICENCES["us_pd"],
                "attribution": "US Department of Labor, Bureau of International Labor Affairs (ILAB)",
            },
        ),
        (
            "wgi",
            wgi,
            {
                "source": "Global-Development-and-Politics-of-Data/Chapter12_Governance @ 00f71366 (from the"
                " official wgidataset.xlsx), year 2019 pivot; WB legacy codes remapped",
                "edition": "WGI 2020 release, data year 2019",
                "licence": LICENCES["cc_by"],
                "attribution": wgi_attr,
            },
        ),
        (
            "wgi_history",
            build_wgi_history(data, iso3_map),
            {
                "source": "as wgi: long table 1996-2019, estimate (4 dp) and percentile rank (2 dp) only",
                "edition": "WGI 2020 release, data years 1996-2019",
                "licence": LICENCES["cc_by"],
                "attribution": wgi_history_attr,
            },
        ),
        (
            "goods_hs",
            build_goods_hs(tvpra),
            {
                "source": "hand-built for this project: risk_engine/reference/data_src/goods_hs.csv (every TVPRA"
                " good of editions 2016-2022 -> HS 2022 chapter/heading/subheading; link = direct | derived)",
                "edition": "HS 2022 / TVPRA 2016-2022",
                "licence": LICENCES["project"],
                "attribution": "",
            },
        ),
        (
            "sector_index",
            build_sector_index(),
            {
                "source": "hand-built for this project from docs/METHODOLOGY.md §3.2 sector tiers:"
                " risk_engine/reference/data_src/sector_index.csv (chapters and headings; the heading wins)",
                "edition": "fl-v1",
                "licence": LICENCES["project"],
                "attribution": "",
            },
        ),
        (
            "uflpa_priority_hs",
            build_uflpa(),
            {
                "source": "hand-built for this project from the UFLPA Strategy high-priority sectors (DHS FLETF,"
                " 2022; updates 2023 and 2024): risk_engine/reference/data_src/uflpa_priority_hs.csv",
                "edition": "UFLPA Strategy 2024 update",
                "licence": LICENCES["project"],
                "attribution": "sector list: US Forced Labor Enforcement Task Force (public domain)",
            },
        ),
        (
            "country_index",
            index,
            {
                "source": "computed by risk_engine.reference.country_index.compute_country_index from the wgi,"
                " dol_findings and tvpra tables of this pack",
                "edition": params.version,
                "licence": LICENCES["cc_by"] + " (derived from WGI) + public domain (DOL)",
                "attribution": wgi_attr,
                "parameters": params.as_dict(),
            },
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
