"""Harmonized System codes: cleaning to 2/4/6 digits, levels, and lookups in the shipped HS 2022 table."""

from __future__ import annotations

import re
from functools import cache

import polars as pl

__all__ = [
    "clean_hs",
    "expand_prefixes",
    "hs2",
    "hs4",
    "hs_description",
    "hs_level",
    "is_known_hs",
    "sector_of",
    "sector_of_codes",
    "tvpra_goods_of_codes",
    "uflpa_sectors_of_codes",
]

# HS chapters 01-97; 77 is reserved for future use. 98/99 are national special chapters (kept: they appear in
# declarations and must not be rejected as garbage, but carry no sector meaning).
_VALID_CHAPTERS = frozenset(f"{n:02d}" for n in range(1, 100) if n != 77)
_PREFIX = re.compile(r"^\s*(?:hs|hts|cn|taric|hscode|hs\s*code)[\s:#.-]*", re.IGNORECASE)
_FLOAT_ARTEFACT = re.compile(r"^(\d{5,})\.0+$")  # "610910.0" from a spreadsheet number cell
# "/" is not a separator: "6109/6205" is two codes, and reading it as one would invent 610962
_SEPARATORS = re.compile(r"[\s.\-]")
_MAX_DIGITS = 12  # national tariff lines are 8-10 digits, some 12; anything longer is not an HS code


def clean_hs(value: str | int | None) -> str | None:
    """Digits of an HS code at level 2, 4 or 6 ("6109.10" -> "610910"); None if not a plausible HS code.

    National 8-12 digit lines are cut to HS6. An odd number of digits is read as a number that lost its
    leading zero in a spreadsheet ("30110" -> "030110"). The chapter must exist (01-97 except 77, or 98/99).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    text = _PREFIX.sub("", text)
    artefact = _FLOAT_ARTEFACT.match(text)
    if artefact:
        text = artefact.group(1)
    digits = _SEPARATORS.sub("", text)
    if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_DIGITS:
        return None
    if len(digits) % 2 == 1:
        digits = "0" + digits
    if len(digits) > 6:
        digits = digits[:6]
    if digits[:2] not in _VALID_CHAPTERS:
        return None
    return digits


def hs_level(code: str) -> int:
    """Level of a cleaned HS code: 2 (chapter), 4 (heading) or 6 (subheading)."""
    level = len(code)
    if level not in (2, 4, 6) or not code.isdigit():
        msg = f"not a cleaned HS code (2, 4 or 6 digits): {code!r}"
        raise ValueError(msg)
    return level


def hs4(code: str | None) -> str | None:
    """Heading (4 digits) of a cleaned code; None for a chapter-only code or None."""
    if code is None or len(code) < 4:
        return None
    return code[:4]


def hs2(code: str | None) -> str | None:
    """Chapter (2 digits) of a cleaned code."""
    if code is None or len(code) < 2:
        return None
    return code[:2]


@cache
def _descriptions() -> dict[str, str]:
    from risk_engine.reference.loaders import load_hs

    frame = load_hs()
    return dict(zip(frame["hscode"].to_list(), frame["description"].to_list(), strict=True))


def is_known_hs(code: str) -> bool:
    """True when the cleaned code exists in the HS 2022 nomenclature."""
    return code in _descriptions()


def hs_description(code: str) -> str | None:
    """HS 2022 description of a cleaned code (Comtrade short text), None when unknown."""
    return _descriptions().get(code)


def expand_prefixes(codes: pl.Series) -> pl.DataFrame:
    """One row per (code, prefix) for each cleaned code and each of its 2/4/6-digit prefixes."""
    frame = pl.DataFrame({"hs_code": codes.cast(pl.String)}).drop_nulls().unique()
    parts = [
        frame.filter(pl.col("hs_code").str.len_chars() >= n).with_columns(
            pl.col("hs_code").str.slice(0, n).alias("prefix"), pl.lit(n, pl.Int8).alias("prefix_level")
        )
        for n in (2, 4, 6)
    ]
    return pl.concat(parts).sort("hs_code", "prefix_level")


def sector_of_codes(codes: pl.Series) -> pl.DataFrame:
    """Sector label and ``S_p`` per cleaned HS code (longest matching prefix of the sector index).

    Returns hs_code, sector, s_p, matched_prefix; codes without any match (chapters 98/99) get nulls.
    """
    from risk_engine.reference.loaders import load_sector_index

    index = load_sector_index().select(pl.col("hs_code").alias("prefix"), "sector", "s_p")
    matched = (
        expand_prefixes(codes)
        .join(index, on="prefix", how="inner")
        .sort("hs_code", "prefix_level", descending=[False, True])
        .group_by("hs_code", maintain_order=True)
        .first()
        .select("hs_code", "sector", "s_p", pl.col("prefix").alias("matched_prefix"))
    )
    base = pl.DataFrame({"hs_code": codes.cast(pl.String)}).drop_nulls().unique().sort("hs_code")
    return base.join(matched, on="hs_code", how="left")


def sector_of(code: str | None) -> tuple[str, float] | None:
    """(sector label, S_p) for one cleaned HS code; None when no prefix matches."""
    if code is None:
        return None
    row = sector_of_codes(pl.Series([code])).row(0, named=True)
    if row["sector"] is None:
        return None
    return row["sector"], float(row["s_p"])


def uflpa_sectors_of_codes(codes: pl.Series) -> pl.DataFrame:
    """UFLPA high-priority matches: hs_code, sector, material, matched_prefix (one row per match).

    A code matches when it lies inside a listed code (610910 inside 61). A declared code broader than the
    listed one (85 vs 854143) is not a match: it may or may not contain the priority good.
    """
    from risk_engine.reference.loaders import load_uflpa_priority_hs

    table = load_uflpa_priority_hs().select(pl.col("hs_code").alias("prefix"), "sector", "material")
    return (
        expand_prefixes(codes)
        .join(table, on="prefix", how="inner")
        .select("hs_code", "sector", "material", pl.col("prefix").alias("matched_prefix"))
        .unique()
        .sort("hs_code", "sector", "matched_prefix")
    )


def tvpra_goods_of_codes(codes: pl.Series, *, links: tuple[str, ...] = ("direct",)) -> pl.DataFrame:
    """TVPRA goods whose crosswalk code contains each HS code: hs_code, good, link, matched_prefix.

    ``links`` selects crosswalk rows: "direct" (the good itself) and/or "derived" (products commonly made from
    it, e.g. cotton -> cotton yarn). Join the result with ``load_tvpra()`` on good (and iso2) for listings.
    """
    from risk_engine.reference.loaders import load_goods_hs

    crosswalk = (
        load_goods_hs()
        .filter(pl.col("link").is_in(list(links)))
        .select(pl.col("hs_code").alias("prefix"), "good", "link")
    )
    return (
        expand_prefixes(codes)
        .join(crosswalk, on="prefix", how="inner")
        .select("hs_code", "good", "link", pl.col("prefix").alias("matched_prefix"))
        .unique()
        .sort("hs_code", "good", "matched_prefix")
    )
