"""Loaders for the shipped reference data pack (``risk_engine/reference/data``) and user-supplied files.

Every shipped table is a Parquet file listed in ``manifest.json`` with its source, edition, licence, row count and
sha256. Frames are read once and returned as cheap clones, so callers may add columns freely.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from risk_engine.errors import ReferenceDataError

DATA_DIR = Path(__file__).with_name("data")
MANIFEST_PATH = DATA_DIR / "manifest.json"

__all__ = [
    "DATA_DIR",
    "load_clause_map",
    "load_countries",
    "load_country_aliases",
    "load_country_iso3",
    "load_dol_findings",
    "load_goods_hs",
    "load_hs",
    "load_ilo_indicators",
    "load_sector_index",
    "load_tvpra",
    "load_uflpa_priority_hs",
    "load_wgi",
    "load_wgi_history",
    "manifest",
]


@cache
def _manifest() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"reference pack manifest missing: {MANIFEST_PATH} (run scripts/build_reference.py)"
        raise ReferenceDataError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"reference pack manifest is not valid JSON: {MANIFEST_PATH}: {exc}"
        raise ReferenceDataError(msg) from exc
    return data


def manifest() -> dict[str, Any]:
    """The pack manifest: pack version and, per table, file, source, edition, licence, rows and sha256."""
    return json.loads(json.dumps(_manifest()))


@cache
def _read(table: str) -> pl.DataFrame:
    entry = _manifest()["tables"].get(table)
    if entry is None:
        msg = f"reference table {table!r} is not in the pack manifest {MANIFEST_PATH}"
        raise ReferenceDataError(msg)
    path = DATA_DIR / entry["file"]
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        msg = f"reference table {table!r} cannot be read from {path}: {exc}"
        raise ReferenceDataError(msg) from exc
    if frame.height != entry["rows"]:
        msg = f"reference table {table!r} has {frame.height} rows, manifest says {entry['rows']} ({path})"
        raise ReferenceDataError(msg)
    return frame


def _load(table: str) -> pl.DataFrame:
    return _read(table).clone()


def load_countries() -> pl.DataFrame:
    """ISO 3166-1 countries (+ Kosovo XK): iso2, iso3, numeric, name, region, subregion, flags."""
    return _load("countries")


def load_country_aliases() -> pl.DataFrame:
    """Normalised country-name keys -> iso2 (null iso2 = a string that must not resolve)."""
    return _load("country_aliases")


def load_country_iso3() -> pl.DataFrame:
    """ISO alpha-3 (and World Bank legacy codes ROM, KSV, TMP, ADO, WBG, XKX) -> iso2."""
    return _load("country_iso3")


def load_hs() -> pl.DataFrame:
    """HS 2022 nomenclature: hscode, level (2/4/6), parent, section, description."""
    return _load("hs")


def load_ilo_indicators() -> pl.DataFrame:
    """The 11 ILO indicators of forced labour: indicator_id, indicator, short_description."""
    return _load("ilo_indicators")


def load_clause_map() -> pl.DataFrame:
    """METHODOLOGY §1 clause table: finding_type, scheme, clause, indicator_id (+ state_imposed flag)."""
    return _load("clause_map")


def load_tvpra() -> pl.DataFrame:
    """TVPRA goods x country, all app editions (edition column), with iso2 and listing flags."""
    return _load("tvpra")


def load_dol_findings() -> pl.DataFrame:
    """DOL ILAB Findings 2022 country indicators (selected columns) with iso2."""
    return _load("dol_findings")


def load_wgi() -> pl.DataFrame:
    """World Bank WGI 2019 (2020 release): six indicators, estimate and percentile rank, per iso2."""
    return _load("wgi")


def load_wgi_history() -> pl.DataFrame:
    """World Bank WGI 1996-2019 percentile ranks (long: iso2, year, indicator, percentile_rank)."""
    return _load("wgi_history")


def load_goods_hs() -> pl.DataFrame:
    """Hand-built crosswalk: TVPRA good -> HS chapter/heading codes (one row per good x code)."""
    return _load("goods_hs")


def load_sector_index() -> pl.DataFrame:
    """HS chapter/heading -> sector label and S_p (METHODOLOGY §3.2)."""
    return _load("sector_index")


def load_uflpa_priority_hs() -> pl.DataFrame:
    """UFLPA high-priority sectors -> HS codes, with the material name."""
    return _load("uflpa_priority_hs")
