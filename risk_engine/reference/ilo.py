"""The 11 ILO indicators of forced labour: ids, names, parsing, and the audit clause -> indicator table."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from anyascii import anyascii
from rapidfuzz import fuzz, process

__all__ = [
    "INDICATORS",
    "SCHEMES",
    "clause_to_indicators",
    "normalise_scheme",
    "parse_indicator",
]

INDICATORS: dict[int, str] = {
    1: "Abuse of vulnerability",
    2: "Deception",
    3: "Restriction of movement",
    4: "Isolation",
    5: "Physical and sexual violence",
    6: "Intimidation and threats",
    7: "Retention of identity documents",
    8: "Withholding of wages",
    9: "Debt bondage",
    10: "Abusive working and living conditions",
    11: "Excessive overtime",
}

# Everyday wordings found in audit reports and grievance data, beside the ILO names.
_SYNONYMS: dict[int, tuple[str, ...]] = {
    1: ("vulnerability", "abuse of vulnerable position", "exploitation of vulnerability"),
    2: ("deceptive recruitment", "false promises", "contract substitution", "deceit"),
    3: ("restricted movement", "freedom of movement", "movement restriction", "confinement"),
    4: ("isolated", "isolation of workers"),
    5: ("physical violence", "sexual violence", "violence", "physical abuse", "sexual abuse"),
    6: ("threats", "intimidation", "threats and intimidation", "threat of denunciation"),
    7: (
        "retention of documents",
        "retention of identity papers",
        "passport retention",
        "document retention",
        "identity documents retained",
        "confiscation of passports",
        "retention of passports",
    ),
    8: ("wage withholding", "withheld wages", "withholding wages", "unpaid wages", "delayed wages"),
    9: ("debt", "bonded labour", "bonded labor", "debt bondage and recruitment fees"),
    10: (
        "abusive working conditions",
        "abusive living conditions",
        "abusive conditions",
        "degrading working conditions",
    ),
    11: ("overtime", "excessive working hours", "excessive hours", "forced overtime"),
}

SCHEMES = ("SMETA", "BSCI", "RBA_VAP", "SLCP", "OTHER")
_SCHEME_ALIASES = {
    "smeta": "SMETA",
    "eti": "SMETA",
    "sedex": "SMETA",
    "smeta eti": "SMETA",
    "eti base code": "SMETA",
    "bsci": "BSCI",
    "amfori": "BSCI",
    "amfori bsci": "BSCI",
    "rba": "RBA_VAP",
    "rba vap": "RBA_VAP",
    "vap": "RBA_VAP",
    "eicc": "RBA_VAP",
    "slcp": "SLCP",
    "other": "OTHER",
}
_SCHEME_WORDS = frozenset({"SMETA", "ETI", "SEDEX", "BSCI", "AMFORI", "RBA", "VAP", "EICC", "CLAUSE"})
_NUMBERED = re.compile(r"^(?:ilo|indicator|ind|no|number)?\s*(\d{1,2})(?:\s|$)")
_FUZZY_CUTOFF = 88.0


def _key(text: str) -> str:
    text = anyascii(unicodedata.normalize("NFKC", text)).casefold()
    text = text.replace("&", " and ").replace("labour", "labor")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@cache
def _name_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for number, name in INDICATORS.items():
        table[_key(name)] = number
        for synonym in _SYNONYMS[number]:
            table[_key(synonym)] = number
    return table


def parse_indicator(value: str | int | None) -> int | None:
    """ILO indicator id 1-11 from "7", "ILO-7", "ILO 7: Retention ...", a name or a near-name; else None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if value in INDICATORS else None
    key = _key(str(value))
    if not key:
        return None
    numbered = _NUMBERED.match(key)
    if numbered:
        number = int(numbered.group(1))
        return number if number in INDICATORS else None
    table = _name_table()
    if key in table:
        return table[key]
    best = process.extractOne(key, list(table), scorer=fuzz.token_sort_ratio, score_cutoff=_FUZZY_CUTOFF)
    if best is not None:
        return table[best[0]]
    return None


def normalise_scheme(scheme: str | None) -> str | None:
    """Canonical scheme name (SMETA, BSCI, RBA_VAP, SLCP, OTHER) or None when unknown/absent."""
    if scheme is None:
        return None
    key = _key(scheme)
    if key in _SCHEME_ALIASES:
        return _SCHEME_ALIASES[key]
    # "SMETA 7.0", "SMETA 4-Pillar", "amfori BSCI v2", "RBA VAP 7.1": a scheme word plus a version
    found = {_SCHEME_ALIASES[t] for t in key.split() if t in _SCHEME_ALIASES and t != "other"}
    return found.pop() if len(found) == 1 else None


_MAPPED_SCHEMES = frozenset({"SMETA", "BSCI", "RBA_VAP"})
_CLAUSE_PREFIXES = {
    "ETI": "SMETA",
    "SMETA": "SMETA",
    "SEDEX": "SMETA",
    "RBA": "RBA_VAP",
    "VAP": "RBA_VAP",
    "EICC": "RBA_VAP",
    "BSCI": "BSCI",
    "AMFORI": "BSCI",
}


def _scheme_named_in(clause: str) -> str | None:
    for word in re.split(r"[^A-Z0-9]+", clause.upper()):
        if word in _CLAUSE_PREFIXES:
            return _CLAUSE_PREFIXES[word]
    return None


def _infer_scheme(head: str) -> str | None:
    if head.startswith("PA"):
        return "BSCI"
    if re.fullmatch(r"[A-E]\d{0,2}", head):
        return "RBA_VAP"
    if re.fullmatch(r"\d{1,2}[A-C]?\d?", head):
        return "SMETA"
    return None


def _clause_code(clause: str, scheme: str | None) -> tuple[str | None, str | None]:
    """(scheme, clause code) from e.g. "ETI-1", "RBA-A1", "BSCI-PA11-Q3", "10.A", "A.1"."""
    parts = [p for p in re.split(r"[^A-Z0-9]+", clause.upper()) if p and p not in _SCHEME_WORDS]
    if not parts:
        return scheme, None
    head = parts[0]
    nxt = parts[1] if len(parts) > 1 else ""
    # "PA 11", "A.1", "10.A": the code was split by a separator
    if (
        (head == "PA" and nxt.isdigit())
        or (re.fullmatch(r"[A-E]", head) and re.fullmatch(r"\d{1,2}", nxt))
        or (head.isdigit() and re.fullmatch(r"[A-C]\d?", nxt))
    ):
        head += nxt
    if scheme is None:
        scheme = _infer_scheme(head)
    if scheme == "BSCI":
        match = re.match(r"^PA(\d{1,2})", head)
        return scheme, f"PA{int(match.group(1))}" if match else None
    if scheme == "RBA_VAP":
        match = re.match(r"^([A-E])(\d{1,2})?", head)
        if not match:
            return scheme, None
        return scheme, match.group(1) + (str(int(match.group(2))) if match.group(2) else "")
    if scheme == "SMETA":
        match = re.match(r"^(\d{1,2})([A-C])?", head)
        if not match:
            return scheme, None
        return scheme, str(int(match.group(1))) + (match.group(2) or "")
    return scheme, None


@cache
def _clause_table() -> dict[tuple[str, str], tuple[int, ...]]:
    from risk_engine.reference.loaders import load_clause_map

    frame = load_clause_map()
    table: dict[tuple[str, str], set[int]] = {}
    for scheme, clause, indicator in frame.select("scheme", "clause", "indicator_id").iter_rows():
        table.setdefault((scheme, clause), set()).add(int(indicator))
    return {k: tuple(sorted(v)) for k, v in table.items()}


@lru_cache(maxsize=1 << 14)
def clause_to_indicators(clause: str, scheme: str | None = None) -> tuple[int, ...]:
    """ILO indicators a scheme clause can evidence (METHODOLOGY §1 table); empty tuple when unknown.

    ``scheme`` may be None: it is inferred from the clause shape (PA11 -> BSCI, A1 -> RBA, 10A -> SMETA).
    A clause covers several finding types, so the result is the union of their indicators.
    """
    if not clause or not clause.strip():
        return ()
    canonical = normalise_scheme(scheme) if scheme is not None else None
    named = _scheme_named_in(clause)
    if named is not None and canonical not in _MAPPED_SCHEMES:
        canonical = named  # "RBA-A1" filed under scheme "Other" still says which code it is
    elif canonical is not None and canonical not in _MAPPED_SCHEMES:
        return ()  # SLCP / OTHER clauses have no row in the table: do not guess from the shape
    elif scheme is not None and canonical is None:
        return ()  # an unrecognised scheme name
    canonical, code = _clause_code(clause, canonical)
    if canonical is None or code is None:
        return ()
    table = _clause_table()
    if (canonical, code) in table:
        return table[(canonical, code)]
    # RBA sub-clauses inside section B (health & safety) map as the section; "A1.2"-style already cut.
    if canonical == "RBA_VAP" and (canonical, code[0]) in table and code[0] == "B":
        return table[(canonical, code[0])]
    return ()
