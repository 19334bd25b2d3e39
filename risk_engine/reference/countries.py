"""Country normalisation to ISO 3166-1 alpha-2.

Names in many languages and scripts, alpha-2 and alpha-3 codes, World Bank and DOL spellings ("Korea, Rep.",
"Congo, Dem. Rep.", "Turkey (Türkiye)") and common aliases (PRC, UAE, Ivory Coast, Burma) resolve through one
dictionary lookup on a normalised key. The alias table ships in the reference pack
(``country_aliases.parquet``); it is read once, lazily. Kosovo resolves to the user-assigned code ``XK``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import polars as pl
from anyascii import anyascii

__all__ = [
    "country_key",
    "country_name",
    "iso3_to_iso2",
    "iso_codes",
    "series_to_iso2",
    "to_iso2",
]

# Abbreviations seen in World Bank / DOL / customs spellings; expanded on both sides of the lookup.
_ABBREVIATIONS = {
    "rep": "republic",
    "repub": "republic",
    "dem": "democratic",
    "democ": "democratic",
    "sts": "states",
    "st": "saint",
    "ste": "sainte",
    "isl": "islands",
    "isls": "islands",
    "pdr": "peoples democratic republic",
    "sar": "special administrative region",
    "utd": "united",
    "ctry": "country",
}
_APOSTROPHES = re.compile(r"[\u0027\u2018\u2019\u02bc\u0060\u00b4]")
_SPACES = re.compile(r"\s+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def _strip_punctuation(text: str) -> str:
    chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Mn":  # combining marks: diacritics are not part of the key
            continue
        chars.append(" " if cat[0] in "PSZC" else ch)
    return "".join(chars)


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)
    words = _SPACES.split(_strip_punctuation(text).strip())
    out: list[str] = []
    for word in _join_letters([w for w in words if w and w != "the"]):
        out.extend(_ABBREVIATIONS.get(word, word).split())
    return out


def _join_letters(tokens: list[str]) -> list[str]:
    """Join spelled-out initials ("p r c" -> "prc", "u s a" -> "usa") and French elisions ("d ivoire")."""
    joined: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and tokens[j].isalpha():
            j += 1
        if j - i >= 2:
            joined.append("".join(tokens[i:j]))
            i = j
        elif j - i == 1 and tokens[i] in {"d", "l"} and j < len(tokens):
            joined.append(tokens[i] + tokens[j])
            i = j + 1
        else:
            joined.append(tokens[i])
            i += 1
    return joined


def country_key(value: str) -> str:
    """Normalised lookup key that keeps the original script (NFKC, casefold, no punctuation/diacritics)."""
    return " ".join(_tokens(value))


def ascii_country_key(value: str) -> str:
    """Normalised lookup key after transliteration to ASCII (anyascii)."""
    return " ".join(_tokens(anyascii(unicodedata.normalize("NFKC", value))))


def _sorted_key(key: str) -> str:
    """Order-free key ("Korea, Republic of" = "Republic of Korea"); "of" carries no information here."""
    return " ".join(sorted(token for token in key.split() if token != "of"))


class _AliasIndex:
    """Lookup tables built once from the shipped alias parquet."""

    def __init__(self, aliases: pl.DataFrame, countries: pl.DataFrame, iso3: pl.DataFrame) -> None:
        # ``iso2`` null marks a string that must not resolve (countrynames' FAIL list, regions).
        self.exact: dict[str, str | None] = dict(
            zip(aliases["key"].to_list(), aliases["iso2"].to_list(), strict=True)
        )
        self._sorted_tokens: dict[str, str | None] | None = None
        self.iso3 = dict(zip(iso3["iso3"].to_list(), iso3["iso2"].to_list(), strict=True))
        self.names = dict(zip(countries["iso2"].to_list(), countries["name"].to_list(), strict=True))

    @property
    def sorted_tokens(self) -> dict[str, str | None]:
        """Order-free keys, built on the first miss of the exact table (most lookups never need it)."""
        if self._sorted_tokens is None:
            sorted_map: dict[str, str | None] = {}
            ambiguous: set[str] = set()
            for key, iso2 in self.exact.items():
                skey = _sorted_key(key)
                if skey in sorted_map and sorted_map[skey] != iso2:
                    ambiguous.add(skey)
                sorted_map[skey] = iso2
            for skey in ambiguous:
                del sorted_map[skey]
            self._sorted_tokens = sorted_map
        return self._sorted_tokens

    def resolve_keys(self, keys: tuple[str, ...]) -> tuple[bool, str | None]:
        """(found, iso2) for normalised keys, exact keys first; found with None = "known non-country"."""
        for key in keys:
            if key in self.exact:
                return True, self.exact[key]
        for key in keys:
            skey = _sorted_key(key)
            if skey in self.sorted_tokens:
                return True, self.sorted_tokens[skey]
        return False, None


@cache
def _index() -> _AliasIndex:
    from risk_engine.reference.loaders import load_countries, load_country_aliases, load_country_iso3

    return _AliasIndex(load_country_aliases(), load_countries(), load_country_iso3())


def _resolve(text: str) -> str | None:
    index = _index()
    code = _code_lookup(text)
    if code is not None:
        return code
    keys = tuple(k for k in dict.fromkeys((country_key(text), ascii_country_key(text))) if k)
    found, iso2 = index.resolve_keys(keys)
    if found:
        return iso2
    # "China (PRC)", "Turkey (Türkiye)", "Jersey [Channel Islands]": try outside, then inside the brackets.
    if _PARENS.search(text):
        outside = _PARENS.sub(" ", text).strip()
        if outside and outside != text:
            iso2 = _resolve(outside)
            if iso2 is not None:
                return iso2
        for inner in re.findall(r"\(([^)]*)\)|\[([^\]]*)\]", text):
            part = inner[0] or inner[1]
            if part.strip():
                iso2 = _resolve(part)
                if iso2 is not None:
                    return iso2
    return None


@lru_cache(maxsize=1 << 16)  # bounded: a column of distinct garbage must not grow memory without limit
def _to_iso2_cached(text: str) -> str | None:
    return _resolve(text)


def to_iso2(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code (upper case) for a country name, code or alias; None when unknown."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return _to_iso2_cached(text)


def _code_lookup(text: str) -> str | None:
    """Exact ISO alpha-2 / alpha-3 codes win over name keys ("ST" is São Tomé, not "Saint")."""
    if len(text) in (2, 3) and text.isascii() and text.isalpha():
        index = _index()
        upper = text.upper()
        if len(upper) == 2 and upper in index.names:
            return upper
        if len(upper) == 3:
            return index.iso3.get(upper)
    return None


def series_to_iso2(s: pl.Series) -> pl.Series:
    """Vectorised :func:`to_iso2`: each distinct value is resolved once."""
    uniques = s.cast(pl.String).unique().drop_nulls()
    mapping = {value: to_iso2(value) for value in uniques.to_list()}
    return s.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String).alias(s.name)


def iso3_to_iso2(code: str | None) -> str | None:
    """ISO alpha-2 for an ISO alpha-3 code (World Bank legacy codes such as ROM, KSV, TMP included)."""
    if code is None:
        return None
    return _index().iso3.get(str(code).strip().upper())


def country_name(iso2: str | None) -> str | None:
    """English short name for an ISO alpha-2 code, None when unknown."""
    if iso2 is None:
        return None
    return _index().names.get(iso2.strip().upper())


def iso_codes() -> frozenset[str]:
    """All alpha-2 codes the pack knows (ISO 3166-1 plus XK)."""
    return frozenset(_index().names)
