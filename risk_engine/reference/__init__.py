"""The shipped reference data pack: loaders, normalisers and manifest.

Tables are Parquet files in ``risk_engine/reference/data`` listed in ``manifest.json`` (source, edition,
licence, rows, sha256); ``scripts/build_reference.py`` rebuilds them. Normalisers live in ``countries``, ``hs``
and ``ilo``; the country index ``C_c`` in ``country_index``.
"""

from risk_engine.reference.country_index import compute_country_index, country_index_from_gsi
from risk_engine.reference.loaders import (
    country_index_parameters,
    load_clause_map,
    load_countries,
    load_country_aliases,
    load_country_index,
    load_country_iso3,
    load_dol_findings,
    load_goods_hs,
    load_gsi,
    load_hs,
    load_hs_sections,
    load_ilo_indicators,
    load_sector_index,
    load_tvpra,
    load_tvpra_file,
    load_uflpa_priority_hs,
    load_wgi,
    load_wgi_history,
    manifest,
    unmapped_goods,
)

__all__ = [
    "compute_country_index",
    "country_index_from_gsi",
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
