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
    args = parser.parse_args(argv)
    data: Path = args.source
    OUT.mkdir(parents=True, exist_ok=True)

    countries = build_countries(data)
    aliases = build_country_aliases(data, countries)
    # WB legacy ISO3 codes become extra rows of an iso3 lookup table (not country rows).
    iso3_extra = pl.DataFrame(
        {"iso3": list(LEGACY_ISO3), "iso2": list(LEGACY_ISO3.values())},
        schema={"iso3": pl.String, "iso2": pl.String},
    )
    iso3_map = pl.concat([countries.select("iso3", "iso2"), iso3_extra]).unique("iso3").sort("iso3")

    cc_source = "GitHub datasets/country-codes data/country-codes.csv @ caa72d1e (UN M49, UNTERM, CLDR)"
    tables: list[tuple[str, pl.DataFrame, dict[str, str]]] = [
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
    tables.extend(build_more_tables(data, countries))

    entries: dict[str, dict[str, Any]] = {}
    for name, frame, meta in tables:
        path = OUT / f"{name}.parquet"
        write_parquet(frame, path)
        entries[name] = {
            "file": path.name,
            **meta,
            "rows": frame.height,
            "columns": frame.columns,
            "sha256": sha256(path),
        }
    stale = {p.name for p in OUT.glob("*.parquet")} - {e["file"] for e in entries.values()}
    for name in sorted(stale):
        (OUT / name).unlink()
    manifest = {"pack_version": PACK_VERSION, "tables": entries}
    (OUT / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    total = sum((OUT / e["file"]).stat().st_size for e in entries.values())
    print(f"wrote {len(entries)} tables, {total / 1024:.0f} KiB, to {OUT}")
    return 0


def build_more_tables(data: Path, countries: pl.DataFrame) -> list[tuple[str, pl.DataFrame, dict[str, str]]]:
    """TVPRA, DOL, WGI and hand-built crosswalks (filled in below)."""
    return []


if __name__ == "__main__":
    raise SystemExit(main())
