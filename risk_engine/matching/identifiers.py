"""Company identifiers: cleaning and checksum validation (LEI, China USCC, DUNS, OS ID, tax id).

An identifier that is present on both sides and valid settles a pair: equal values are a match,
different values of the same scheme are strong evidence against. Values that fail their checksum are
kept out of that decision (a typo in an LEI must not merge two companies) but are reported.
"""

from __future__ import annotations

import re
from typing import Literal

Scheme = Literal["lei", "os_id", "duns", "tax_id"]
SCHEMES: tuple[Scheme, ...] = ("lei", "os_id", "duns", "tax_id")

_NON_ALNUM = re.compile(r"[^0-9A-Z]")

# GB 32100-2015: the 31 characters of the Unified Social Credit Code (no I, O, S, V, Z) and weights.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def clean_identifier(value: object) -> str | None:
    """Upper-case, keep letters and digits only; ``None`` for empty values."""
    if value is None:
        return None
    s = _NON_ALNUM.sub("", str(value).upper())
    return s or None


def lei_is_valid(value: str) -> bool:
    """ISO 17442: 20 alphanumerics, the last two check digits by ISO 7064 MOD 97-10."""
    s = clean_identifier(value) or ""
    if len(s) != 20 or not s[-2:].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in s)
    return int(digits) % 97 == 1


def uscc_check_char(first17: str) -> str | None:
    """The GB 32100-2015 check character for the first 17 characters, ``None`` if they are invalid."""
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        return None
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_is_valid(value: str) -> bool:
    """China Unified Social Credit Code: 18 characters, check character per GB 32100-2015."""
    s = clean_identifier(value) or ""
    return len(s) == 18 and uscc_check_char(s[:17]) == s[17]


def duns_is_valid(value: str) -> bool:
    """DUNS: nine digits (the scheme has no public check digit)."""
    s = clean_identifier(value) or ""
    return len(s) == 9 and s.isdigit()


def os_id_is_valid(value: str) -> bool:
    """Open Supply Hub id: ISO country code, 7 digits (year + day) and 6 alphanumerics."""
    s = clean_identifier(value) or ""
    return len(s) == 15 and s[:2].isalpha() and s[2:9].isdigit()


def tax_id_is_valid(value: str) -> bool:
    """Tax/registration id: USCC-shaped values must pass the USCC check; others need 5+ characters."""
    s = clean_identifier(value) or ""
    if len(s) == 18 and s[:2].isalnum() and not s.isdigit() and s[0] in _USCC_VALUE and s[1] in _USCC_VALUE:
        return uscc_is_valid(s)
    return len(s) >= 5


_VALIDATORS = {
    "lei": lei_is_valid,
    "os_id": os_id_is_valid,
    "duns": duns_is_valid,
    "tax_id": tax_id_is_valid,
}


def valid_identifier(scheme: Scheme, value: object) -> str | None:
    """The cleaned identifier if it is valid for ``scheme``, else ``None``."""
    s = clean_identifier(value)
    if s is None or not _VALIDATORS[scheme](s):
        return None
    return s
