"""Harmonized System codes: cleaning to 2/4/6 digits, levels, and lookups in the shipped HS 2022 table."""

from __future__ import annotations

import re
from functools import cache

__all__ = ["clean_hs", "hs2", "hs4", "hs_description", "hs_level", "is_known_hs"]

# HS chapters 01-97; 77 is reserved for future use. 98/99 are national special chapters (kept: they appear in
# declarations and must not be rejected as garbage, but carry no sector meaning).
_VALID_CHAPTERS = frozenset(f"{n:02d}" for n in range(1, 100) if n != 77)
_PREFIX = re.compile(r"^\s*(?:hs|hts|cn|taric|hscode|hs\s*code)[\s:#.-]*", re.IGNORECASE)
_FLOAT_ARTEFACT = re.compile(r"^(\d{5,})\.0+$")  # "610910.0" from a spreadsheet number cell
_SEPARATORS = re.compile(r"[\s.\-/]")
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
