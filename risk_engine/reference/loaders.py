"""Loaders for the shipped reference data pack (``risk_engine/reference/data``) and user-supplied files.

Every shipped table is a Parquet file listed in ``manifest.json`` with its source, edition, licence, row count and
sha256. Frames are read once and returned as cheap clones, so callers may add columns freely.
"""

from __future__ import annotations

import io
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
    "country_index_parameters",
    "load_clause_map",
    "load_countries",
    "load_country_aliases",
    "load_country_index",
    "load_country_iso3",
    "load_dol_findings",
    "load_goods_hs",
    "load_gsi",
    "load_hs",
    "load_hs_sections",
    "load_ilo_indicators",
    "load_sector_index",
    "load_tvpra",
    "load_tvpra_file",
    "load_uflpa_priority_hs",
    "load_wgi",
    "load_wgi_history",
    "manifest",
    "unmapped_goods",
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


def load_hs_sections() -> pl.DataFrame:
    """HS 2022 sections (roman numeral -> name)."""
    return _load("hs_sections")


def load_country_index() -> pl.DataFrame:
    """Shipped country index: iso2, C_c in [0,1], components, coverage, imputed, missing, index_version."""
    return _load("country_index")


def country_index_parameters() -> dict[str, Any]:
    """Weights, formula and version of the shipped country index (as recorded in the manifest)."""
    params: dict[str, Any] = manifest()["tables"]["country_index"]["parameters"]
    return params


# ----------------------------------------------------------------------------------- user-supplied files


def _header_key(name: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in name.casefold()).split())


def _utf8(data: bytes) -> bytes:
    """UTF-8 bytes of a text file saved as UTF-8 (with or without BOM), UTF-16 or Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8")
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8").encode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").encode("utf-8")


def _read_user_table(path: Path) -> pl.DataFrame:
    """A user reference file (CSV or XLSX) as an all-String frame; errors name the file."""
    from risk_engine.errors import UnreadableFileError

    if not path.is_file():
        raise UnreadableFileError(str(path), "file not found")
    try:
        if path.suffix.casefold() in {".xlsx", ".xlsm", ".xls"}:
            frame = pl.read_excel(path, infer_schema_length=0)
        else:
            frame = pl.read_csv(io.BytesIO(_utf8(path.read_bytes())), infer_schema=False)
    except Exception as exc:  # polars raises several unrelated types for unreadable input
        raise UnreadableFileError(str(path), f"cannot be read as a table: {exc}") from exc
    if frame.height == 0:
        raise UnreadableFileError(str(path), "has no data rows")
    return frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in frame.columns)


def _pick_columns(
    frame: pl.DataFrame, wanted: dict[str, tuple[str, ...]], *, path: Path, required: tuple[str, ...]
) -> dict[str, str]:
    """Canonical name -> the file's column, matched on normalised headers (exact, then containment)."""
    from risk_engine.errors import InputSchemaError

    keys = {_header_key(c): c for c in frame.columns}
    found: dict[str, str] = {}
    for canonical, patterns in wanted.items():
        exact = next((keys[p] for p in patterns if p in keys), None)
        if exact is None:
            exact = next((col for key, col in keys.items() if any(p in key for p in patterns)), None)
        if exact is not None:
            found[canonical] = exact
    missing = [c for c in required if c not in found]
    if missing:
        msg = f"missing required column(s) {missing}; columns present: {frame.columns}"
        raise InputSchemaError(msg, path=str(path))
    return found


def _to_number(column: str, *, path: Path, frame: pl.DataFrame) -> pl.Series:
    """Parse "1,234", " 13.0 ", "45%" to Float64; a non-empty cell that is not a number is an error."""
    from risk_engine.errors import InputSchemaError

    raw = frame[column]
    cleaned = raw.str.replace_all(r"[,\s%]", "").replace("", None)
    cleaned = cleaned.replace({"NA": None, "N/A": None, "-": None, "..": None})
    numbers = cleaned.cast(pl.Float64, strict=False)
    bad = (numbers.is_null() & cleaned.is_not_null()).arg_true()
    if bad.len():
        index = int(bad[0])
        msg = "not a number"
        raise InputSchemaError(msg, path=str(path), row=index + 2, column=column, value=raw[index])
    return numbers


def _resolve_countries(
    frame: pl.DataFrame, cols: dict[str, str], *, path: Path, country_col: str = "country"
) -> pl.Series:
    from risk_engine.errors import InputSchemaError
    from risk_engine.reference.countries import iso3_to_iso2, series_to_iso2

    by_name = series_to_iso2(frame[cols[country_col]]) if country_col in cols else None
    if "iso3" in cols:
        by_code = frame[cols["iso3"]].map_elements(iso3_to_iso2, return_dtype=pl.String)
        iso2 = by_code if by_name is None else by_code.fill_null(by_name)
    else:
        assert by_name is not None
        iso2 = by_name
    unresolved = iso2.is_null().arg_true()
    if unresolved.len():
        index = int(unresolved[0])
        column = cols.get(country_col, cols.get("iso3", ""))
        msg = f"country not recognised ({unresolved.len()} row(s) in all)"
        raise InputSchemaError(msg, path=str(path), row=index + 2, column=column, value=frame[column][index])
    return iso2.alias("iso2")


_GSI_COLUMNS: dict[str, tuple[str, ...]] = {
    "country": ("country", "country_name"),
    "iso3": ("iso3", "iso_3", "iso", "iso_code", "country_code"),
    "region": ("region",),
    "population": ("population",),
    "prevalence_per_1000": ("prevalence_per_1000", "prevalence"),
    "estimated_number_in_modern_slavery": ("estimated_number_in_modern_slavery", "estimated_number"),
    "vulnerability": (
        "vulnerability",
        "total_vulnerability",
        "vulnerability_score",
        "total_vulnerability_score",
    ),
    "government_response": (
        "government_response",
        "total_government_response",
        "government_response_score",
        "response",
    ),
}


def load_gsi(path: str | Path) -> pl.DataFrame:
    """A user-supplied Global Slavery Index 2023 table (CSV/XLSX) as a frame keyed by iso2.

    Columns: iso2, country, region, population, prevalence_per_1000, estimated_number_in_modern_slavery and,
    when the file has them, vulnerability and government_response (0-100). The GSI is not redistributable,
    so the pack never ships it; pass the copy you are licensed to use.
    """
    from risk_engine.errors import InputSchemaError

    path = Path(path)
    frame = _read_user_table(path)
    cols = _pick_columns(frame, _GSI_COLUMNS, path=path, required=("prevalence_per_1000",))
    if "country" not in cols and "iso3" not in cols:
        msg = "needs a country or iso3 column"
        raise InputSchemaError(msg, path=str(path))
    out = pl.DataFrame({"iso2": _resolve_countries(frame, cols, path=path)})
    out = out.with_columns(
        (
            frame[cols["country"]] if "country" in cols else pl.Series([None] * frame.height, dtype=pl.String)
        ).alias("country"),
        (
            frame[cols["region"]] if "region" in cols else pl.Series([None] * frame.height, dtype=pl.String)
        ).alias("region"),
    )
    for name in ("population", "prevalence_per_1000", "estimated_number_in_modern_slavery"):
        values = (
            _to_number(cols[name], path=path, frame=frame)
            if name in cols
            else pl.Series([None] * frame.height, dtype=pl.Float64)
        )
        out = out.with_columns(values.alias(name))
    for name in ("vulnerability", "government_response"):
        if name in cols:
            out = out.with_columns(_to_number(cols[name], path=path, frame=frame).alias(name))
    duplicated = out.filter(pl.col("iso2").is_duplicated())
    if duplicated.height:
        msg = f"country appears more than once: {sorted(set(duplicated['iso2'].to_list()))}"
        raise InputSchemaError(msg, path=str(path), column=cols.get("country", cols.get("iso3")))
    return out.sort("iso2")


_TVPRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "country": ("country", "country_area", "country_territory"),
    "iso3": ("iso3",),
    "good": ("good", "goods", "product"),
    "sector": ("sector",),
    "child_labor": ("child_labor", "child_labour", "cl"),
    "forced_labor": ("forced_labor", "forced_labour", "fl"),
    "forced_child_labor": ("forced_child_labor", "forced_child_labour", "fcl"),
    "produced_with_inputs": ("produced_with_inputs", "derived", "downstream"),
    "input_source_country": ("input_source_country", "input_country"),
}
_TRUE = {"yes", "y", "x", "true", "1"}
_FALSE = {"no", "n", "", "false", "0"}


def _flag(frame: pl.DataFrame, column: str | None, *, path: Path) -> pl.Series:
    from risk_engine.errors import InputSchemaError

    if column is None:
        return pl.Series([False] * frame.height, dtype=pl.Boolean)
    values = frame[column].fill_null("").str.strip_chars().str.to_lowercase()
    bad = (~values.is_in(list(_TRUE | _FALSE))).arg_true()
    if bad.len():
        index = int(bad[0])
        msg = "expected Yes/No (or X/blank)"
        raise InputSchemaError(msg, path=str(path), row=index + 2, column=column, value=frame[column][index])
    return values.is_in(list(_TRUE))


def load_tvpra_file(path: str | Path, *, edition: str | None = None) -> pl.DataFrame:
    """A user-supplied TVPRA list (e.g. the 2024 edition, CSV/XLSX) in the shape of :func:`load_tvpra`.

    Needs country and good columns and at least one of child/forced labour flags (Yes/No or X/blank).
    ``edition`` defaults to the file's ``edition`` column or, failing that, the year in the file name.
    Goods without a row in the goods -> HS crosswalk are kept; check them with ``unmapped_goods``.
    """
    import re

    from risk_engine.errors import InputSchemaError

    path = Path(path)
    frame = _read_user_table(path)
    wanted = dict(_TVPRA_COLUMNS)
    wanted["edition"] = ("edition", "list_year", "year")
    cols = _pick_columns(frame, wanted, path=path, required=("country", "good"))
    if not any(k in cols for k in ("child_labor", "forced_labor", "forced_child_labor")):
        msg = "needs a child_labor or forced_labor column"
        raise InputSchemaError(msg, path=str(path))
    if "edition" in cols:
        editions = frame[cols["edition"]]
    else:
        if edition is None:
            year = re.search(r"(20\d\d)", path.name)
            if year is None:
                msg = "edition unknown: pass edition= or put the list year in the file name"
                raise InputSchemaError(msg, path=str(path))
            edition = year.group(1)
        editions = pl.Series([edition] * frame.height, dtype=pl.String)
    if edition is not None:
        editions = pl.Series([edition] * frame.height, dtype=pl.String)
    iso2 = _resolve_countries(frame, cols, path=path)
    source = frame[cols["input_source_country"]] if "input_source_country" in cols else None
    if source is not None:
        from risk_engine.reference.countries import series_to_iso2

        source = source.replace({"No": None, "": None, "N/A": None})
        source_iso2 = series_to_iso2(source)
    else:
        source_iso2 = pl.Series([None] * frame.height, dtype=pl.String)
    good = frame[cols["good"]].str.normalize("NFC")
    empty_good = (good.is_null() | (good == "")).arg_true()
    if empty_good.len():
        index = int(empty_good[0])
        msg = "good is empty"
        raise InputSchemaError(msg, path=str(path), row=index + 2, column=cols["good"], value="")
    out = pl.DataFrame(
        {
            "edition": editions.cast(pl.String),
            "app_file_year": pl.Series([None] * frame.height, dtype=pl.String),
            "country": frame[cols["country"]],
            "iso2": iso2,
            "good": good,
            "sector": frame[cols["sector"]]
            if "sector" in cols
            else pl.Series([None] * frame.height, dtype=pl.String),
            "region": pl.Series([None] * frame.height, dtype=pl.String),
            "child_labor": _flag(frame, cols.get("child_labor"), path=path),
            "forced_labor": _flag(frame, cols.get("forced_labor"), path=path),
            "forced_child_labor": _flag(frame, cols.get("forced_child_labor"), path=path),
            "produced_with_inputs": _flag(frame, cols.get("produced_with_inputs"), path=path),
            "input_source_country": source
            if source is not None
            else pl.Series([None] * frame.height, dtype=pl.String),
            "input_source_iso2": source_iso2,
        }
    )
    return out.select(_read("tvpra").columns).sort("edition", "iso2", "good")


def unmapped_goods(tvpra: pl.DataFrame) -> list[str]:
    """Goods of a TVPRA frame that have no row in the shipped goods -> HS crosswalk."""
    known = set(load_goods_hs()["good"].str.to_lowercase().to_list())
    return sorted({g for g in tvpra["good"].unique().to_list() if g.lower() not in known})
