"""Cell cleaners: one function per contract cell type, vectorised over a polars Series.

Each cleaner takes the stripped raw strings of one column (nulls for empty cells) and returns a
``Cleaned``: the typed values and, per row, the reason the raw value was not usable (null when it
was). Expensive look-ups (countries, HS codes, dates, ILO indicators) run once per distinct value,
so a 1,000,000-row column with a few thousand distinct values costs a few thousand look-ups.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

LIST_SEPARATORS = r"[;|\n]"
HS_SEPARATORS = r"[;,|/\n]"
HS_REASON = "not an HS code (expected 2, 4 or 6 digits, e.g. 6109.10)"
ILO_REASON = "not an ILO forced-labour indicator (expected 1-11 or an indicator name)"
ILO_SEPARATORS = r"[;,|/\n]"

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "x", "ja", "oui", "si", "sí"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "nein", "non"})

MIN_YEAR = 1900
MAX_YEAR = 2100


@dataclass(frozen=True)
class Cleaned:
    """The typed values of a column and, per row, why a raw value was rejected (null: fine)."""

    values: pl.Series
    reason: pl.Series
    note: str | None = None


def strip_cells(s: pl.Series) -> pl.Series:
    """Strip whitespace (incl. non-breaking spaces) and turn empty cells into nulls."""
    text = s.cast(pl.String)
    # Most cells are already clean; skipping the copy keeps a 1,000,000-row file's memory down.
    stripped = text.str.strip_chars()
    # Most cells are already clean: keeping the original column (and dropping the stripped copy)
    # keeps a 1,000,000-row file's memory down.
    if not (stripped.str.len_bytes() != text.str.len_bytes()).any():
        stripped = text
    empty = (stripped == "").fill_null(False)
    return stripped.set(empty, None) if empty.any() else stripped


def nulls(name: str, n: int, dtype: pl.DataType) -> pl.Series:
    """A Series of ``n`` nulls."""
    return pl.repeat(None, n, dtype=dtype, eager=True).alias(name)


def _no_reason(s: pl.Series) -> pl.Series:
    return nulls(s.name, s.len(), pl.String())


def reasons_where(mask: pl.Series, reason: str, name: str) -> pl.Series:
    """``reason`` where ``mask`` is true, null elsewhere (cheap when nothing is wrong)."""
    if not mask.any():
        return nulls(name, mask.len(), pl.String())
    return pl.select(pl.when(pl.lit(mask)).then(pl.lit(reason))).to_series().alias(name)


def _map_unique(s: pl.Series, fn: Callable[[str], Any], dtype: pl.DataType) -> pl.Series:
    """Apply ``fn`` to each distinct non-null value once and map the results back."""
    uniques = s.drop_nulls().unique()
    mapping = {value: fn(value) for value in uniques.to_list()}
    if not mapping:
        return nulls(s.name, s.len(), dtype)
    keys = pl.Series("k", list(mapping.keys()), dtype=pl.String)
    values = pl.Series("v", list(mapping.values()), dtype=dtype)
    return s.replace_strict(keys, values, default=None, return_dtype=dtype).alias(s.name)


def clean_text(s: pl.Series) -> Cleaned:
    """Free text and identifiers: stripped, empty to null; nothing is rejected."""
    return Cleaned(s, _no_reason(s))


def formula_like(s: pl.Series) -> pl.Series:
    """Rows whose text starts like a spreadsheet formula (kept, but reported)."""
    if s.null_count() == s.len():
        return pl.repeat(False, s.len(), eager=True)
    return s.str.starts_with("=").fill_null(False)


def clean_country(s: pl.Series) -> Cleaned:
    """Country names, alpha-2 or alpha-3 codes and aliases to upper-case ISO 3166 alpha-2."""
    from risk_engine.reference.countries import series_to_iso2

    values = series_to_iso2(s) if s.null_count() < s.len() else s
    bad = s.is_not_null() & values.is_null()
    reason = reasons_where(bad, "unknown country (expected a country name or ISO code)", s.name)
    return Cleaned(values.alias(s.name), reason)


def _clean_hs_value(value: str) -> str | None:
    from risk_engine.reference.hs import clean_hs

    return clean_hs(value)


def clean_hs(s: pl.Series) -> Cleaned:
    """One HS code per cell, cleaned to 2, 4 or 6 digits."""
    values = _map_unique(s, _clean_hs_value, pl.String())
    bad = s.is_not_null() & values.is_null()
    return Cleaned(values, reasons_where(bad, HS_REASON, s.name))


def hs_level(codes: pl.Series) -> pl.Series:
    """The HS level (2, 4 or 6 digits) of cleaned codes."""
    return codes.str.len_chars().cast(pl.Int8).alias("hs_level")


@dataclass(frozen=True)
class CleanedList:
    """A list column and one problem per bad element: (row position, element, reason)."""

    values: pl.Series
    problems: pl.DataFrame


def _empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema={"pos": pl.Int64, "item": pl.String, "reason": pl.String})


def _split_text(value: str, separators: re.Pattern[str]) -> list[str]:
    seen: dict[str, None] = {}
    for part in separators.split(value):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def clean_text_list(s: pl.Series) -> CleanedList:
    """';'- or '|'-separated words to a list of distinct stripped strings (empty parts dropped)."""
    values = (
        s.str.replace_all(LIST_SEPARATORS, "\x1f")
        .str.split("\x1f")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != "").unique(maintain_order=True))
    )
    return CleanedList(values.alias(s.name), _empty_problems())


def _clean_list(
    s: pl.Series, separators: str, parse: Callable[[str], Any], inner: pl.DataType, reason: str
) -> CleanedList:
    """Split each distinct cell once, parse each element once, and report the unparsable ones."""
    pattern = re.compile(separators)
    uniques = s.drop_nulls().unique().to_list()
    parsed_items: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {}
    bad: dict[str, list[str]] = {}
    for cell in uniques:
        good: list[Any] = []
        for item in _split_text(cell, pattern):
            if item not in parsed_items:
                parsed_items[item] = parse(item)
            value = parsed_items[item]
            if value is None:
                bad.setdefault(cell, []).append(item)
            elif value not in good:
                good.append(value)
        lists[cell] = good
    if not lists:
        return CleanedList(nulls(s.name, s.len(), pl.List(inner)), _empty_problems())
    table = pl.DataFrame(
        {"cell": list(lists), "value": list(lists.values())},
        schema={"cell": pl.String, "value": pl.List(inner)},
    )
    values = (
        s.alias("cell")
        .to_frame()
        .join(table, on="cell", how="left", maintain_order="left")["value"]
        .alias(s.name)
    )
    if not bad:
        return CleanedList(values, _empty_problems())
    bad_table = pl.DataFrame(
        {"cell": list(bad), "item": list(bad.values())},
        schema={"cell": pl.String, "item": pl.List(pl.String)},
    )
    problems = (
        pl.DataFrame({"pos": pl.int_range(0, s.len(), eager=True, dtype=pl.Int64), "cell": s})
        .filter(pl.col("cell").is_in(bad_table["cell"].implode()))
        .join(bad_table, on="cell", how="inner", maintain_order="left")
        .explode("item")
        .select("pos", "item", pl.lit(reason, dtype=pl.String).alias("reason"))
    )
    return CleanedList(values, problems)


def clean_hs_list(s: pl.Series) -> CleanedList:
    """Several HS codes per cell (';', ',', '|' or '/' separated), each cleaned; bad ones reported."""
    return _clean_list(s, HS_SEPARATORS, _clean_hs_value, pl.String(), HS_REASON)


def _parse_ilo_value(value: str) -> int | None:
    from risk_engine.reference.ilo import parse_indicator

    return parse_indicator(value)


def clean_ilo_list(s: pl.Series) -> CleanedList:
    """ILO indicators given as 1-11, 'ILO-7' or their names; several per cell."""
    return _clean_list(s, ILO_SEPARATORS, _parse_ilo_value, pl.Int8(), ILO_REASON)


def _clause_indicators(clause: str, scheme: str | None) -> tuple[tuple[int, ...], bool]:
    """Indicators for one clause, and whether the scheme name was unknown to the clause table.

    A scheme the table does not recognise (a version suffix such as "SMETA 6.1", a programme name)
    must not hide what the clause itself says, so the clause is then read on its own (the table
    infers the scheme from the clause shape: PA11 -> BSCI, A1 -> RBA, 10A -> SMETA).
    """
    from risk_engine.reference.ilo import clause_to_indicators, normalise_scheme

    found = clause_to_indicators(clause, scheme)
    unknown_scheme = scheme is not None and normalise_scheme(scheme) is None
    if not found and unknown_scheme:
        found = clause_to_indicators(clause, None)
    return found, unknown_scheme


@dataclass(frozen=True)
class ClauseMapping:
    """Indicators per row from (clause, scheme), and the scheme names the table did not know."""

    indicators: pl.Series
    unknown_schemes: tuple[str, ...]


def clauses_to_indicators(clause: pl.Series, scheme: pl.Series) -> ClauseMapping:
    """Map (clause, scheme) pairs through the METHODOLOGY clause table; empty list when unknown."""
    pairs = pl.DataFrame({"clause": clause, "scheme": scheme})
    uniques = pairs.filter(pl.col("clause").is_not_null()).unique(maintain_order=True)
    mapped: list[list[int]] = []
    unknown: dict[str, None] = {}
    for c, sch in zip(uniques["clause"], uniques["scheme"], strict=True):
        found, unknown_scheme = _clause_indicators(c, sch)
        mapped.append(list(found))
        if unknown_scheme:
            unknown.setdefault(sch, None)
    table = uniques.with_columns(pl.Series("ilo", mapped, dtype=pl.List(pl.Int8)))
    out = pairs.join(table, on=["clause", "scheme"], how="left", nulls_equal=True, maintain_order="left")
    return ClauseMapping(out["ilo"], tuple(unknown))


# --- numbers -------------------------------------------------------------------------------------

_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
_CURRENCY = r"^(?:USD|US\$|EUR|GBP|CNY|RMB|\$|€|£|¥)\s*|\s*(?:USD|EUR|GBP|CNY|RMB|\$|€|£|¥)$"


def _first_reason(name: str, checks: list[tuple[pl.Series, str]]) -> pl.Series:
    """Per row, the reason of the first failing check (null when all pass)."""
    failing = [(mask, reason) for mask, reason in checks if mask.any()]
    if not failing:
        return nulls(name, checks[0][0].len(), pl.String())
    out = nulls(name, failing[0][0].len(), pl.String())
    for mask, reason in reversed(failing):
        out = out.zip_with(~mask, pl.repeat(reason, mask.len(), eager=True))
    return out.alias(name)


_US_ONLY = r"^[+-]?\d{1,3}(,\d{3})+\.\d+$"  # 1,234.50
_EU_ONLY = r"^[+-]?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,}))$"  # 1.234,50 / 12,5 / 0,1234
_EU_NUMBER = r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"


def clean_float(s: pl.Series, *, non_negative: bool = True) -> Cleaned:
    """Numbers with optional thousands separators, spaces and a currency sign; e.g. '1,234.50 USD'.

    The decimal mark is decided per column, like the order of slash dates: a column with values
    that only make sense with a decimal comma (1.234,50 or 12,5) and none that only make sense with
    a decimal point (1,234.50) is read the European way, so '1.234' there is one thousand two
    hundred and thirty-four. A column with both kinds of evidence keeps the decimal point and its
    European-only values are reported.
    """
    values = s.cast(pl.Float64, strict=False)
    retry = s.is_not_null() & values.is_null()
    note = None
    if retry.any():
        text = s.str.replace_all(r"[\s\u00a0_']", "").str.replace(_CURRENCY, "")
        european = bool(text.str.contains(_EU_ONLY).any()) and not bool(text.str.contains(_US_ONLY).any())
        if european:
            eu_like = text.str.contains(_EU_NUMBER).fill_null(False)
            converted = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
            values = text.zip_with(~eu_like, converted).cast(pl.Float64, strict=False)
            note = f"column {s.name!r}: numbers read with a decimal comma (values such as 1.234,50 seen)"
        else:
            text = text.zip_with(
                ~text.str.contains(_THOUSANDS).fill_null(False), text.str.replace_all(",", "")
            )
            values = values.zip_with(~retry, text.cast(pl.Float64, strict=False))
    finite = values.is_finite().fill_null(False)
    values = values.set(~finite, None)
    not_number = s.is_not_null() & values.is_null()
    negative = (values < 0).fill_null(False) if non_negative else pl.repeat(False, s.len(), eager=True)
    reason = _first_reason(
        s.name,
        [(not_number, "not a number"), (negative, "negative where only zero or more makes sense")],
    )
    values = values.set(negative, None)
    return Cleaned(values.alias(s.name), reason, note)


def clean_int(s: pl.Series, *, minimum: int = 0) -> Cleaned:
    """Whole numbers; '2', '2.0', 'Tier 2' and 'T2' all read as 2."""
    values = s.cast(pl.Int64, strict=False)
    retry = s.is_not_null() & values.is_null()
    if retry.any():
        digits = s.str.to_lowercase().str.extract(r"^(?:tier\s*|t)?\s*([+-]?\d{1,18})(?:\.0+)?$", 1)
        values = values.zip_with(~retry, digits.cast(pl.Int64, strict=False))
    not_int = s.is_not_null() & values.is_null()
    too_small = (values < minimum).fill_null(False)
    reason = _first_reason(
        s.name, [(not_int, "not a whole number"), (too_small, f"below the minimum of {minimum}")]
    )
    values = values.set(too_small, None)
    return Cleaned(values.alias(s.name), reason)


def clean_bool(s: pl.Series) -> Cleaned:
    """yes/no, true/false, y/n, 1/0, x; anything else is reported."""
    lowered = s.str.to_lowercase()
    mapping = dict.fromkeys(TRUE_WORDS, True) | dict.fromkeys(FALSE_WORDS, False)
    values = lowered.replace_strict(mapping, default=None, return_dtype=pl.Boolean)
    bad = s.is_not_null() & values.is_null()
    reason = reasons_where(bad, "not yes/no (expected yes, no, true, false, 1 or 0)", s.name)
    return Cleaned(values.alias(s.name), reason)


# --- dates ---------------------------------------------------------------------------------------

_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO_PREFIX = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_ISO_DATETIME = r"^(\d{4}-\d{1,2}-\d{1,2})[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
_NAMED_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d. %B %Y",
    "%d.%b.%Y",
    "%Y-%b-%d",
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_EXAMPLES = "expected e.g. 2024-03-31, 31/03/2024, 31.03.2024 or 31 Mar 2024"


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _two_digit_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _parse_date_value(value: str, *, day_first: bool) -> dt.date | None:
    text = value.strip()
    if m := _ISO_PREFIX.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _COMPACT.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC_DATE.match(text):
        a, b, year = int(m[1]), int(m[2]), _two_digit_year(m[3])
        dotted = "." in text
        if dotted or a > 12 or (day_first and b <= 12):
            return _make_date(year, b, a)
        return _make_date(year, a, b)
    if m := _EXCEL_SERIAL.match(text):
        serial = int(m[1])
        date = _EXCEL_EPOCH + dt.timedelta(days=serial)
        return date if MIN_YEAR <= date.year <= MAX_YEAR else None
    squeezed = re.sub(r"\s+", " ", text.replace(",", ", ")).replace(" ,", ",")
    squeezed = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", squeezed)
    for fmt in _NAMED_FORMATS:
        try:
            parsed = dt.datetime.strptime(squeezed, fmt).date()
        except ValueError:
            continue
        return parsed if MIN_YEAR <= parsed.year <= MAX_YEAR else None
    return None


def _slash_order(uniques: list[str]) -> tuple[bool, bool, bool]:
    """Evidence in a column for day-first and month-first slash dates, and whether any is ambiguous."""
    day_first = month_first = ambiguous = False
    for value in uniques:
        m = _NUMERIC_DATE.match(value.strip())
        if not m or "." in value:
            continue
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            day_first = True
        elif b > 12 >= a:
            month_first = True
        elif a <= 12 and b <= 12 and a != b:
            ambiguous = True
    return day_first, month_first, ambiguous


def clean_date(s: pl.Series) -> Cleaned:
    """Dates in the common formats; the day/month order of slash dates is decided per column.

    A column where some values are only valid day-first (31/03/2024) and others only month-first
    (03/31/2024) is contradictory: its ambiguous values (03/04/2024) are rejected as such.
    """
    # Timestamps differ by the second but share a day: parse each distinct day once. The time
    # part is only dropped when it is well formed, so "2024-03-31Tnonsense" is still rejected.
    keys = s
    if s.str.contains(":").any():
        day = s.str.extract(_ISO_DATETIME, 1)
        keys = day.fill_null(s)
    uniques = keys.drop_nulls().unique().to_list()
    day_evidence, month_evidence, ambiguous = _slash_order(uniques)
    contradictory = day_evidence and month_evidence
    day_first = not month_evidence
    note = None
    if ambiguous and not day_evidence and not month_evidence:
        note = (
            f"column {s.name!r}: every slash date could be day/month or month/day; read as day/month/year "
            "(31/03/2024 style). Use ISO dates (2024-03-31) to avoid the ambiguity"
        )
    elif ambiguous and month_evidence and not day_evidence:
        note = f"column {s.name!r}: slash dates read as month/day/year (values such as 03/31/2024 seen)"
    mapping: dict[str, dt.date | None] = {}
    reasons: dict[str, str | None] = {}
    for value in uniques:
        m = _NUMERIC_DATE.match(value.strip())
        if contradictory and m and "." not in value:
            a, b = int(m[1]), int(m[2])
            if a <= 12 and b <= 12 and a != b:
                mapping[value] = None
                reasons[value] = (
                    "ambiguous date: this column mixes day/month and month/day order; use ISO 2024-03-31"
                )
                continue
        parsed = _parse_date_value(value, day_first=day_first)
        mapping[value] = parsed
        reasons[value] = None if parsed is not None else f"not a date ({DATE_EXAMPLES})"
    if not mapping:
        return Cleaned(nulls(s.name, s.len(), pl.Date()), _no_reason(s), note)
    old = pl.Series("k", list(mapping), dtype=pl.String)
    values = keys.replace_strict(old, pl.Series("v", list(mapping.values()), dtype=pl.Date), default=None)
    reason = keys.replace_strict(old, pl.Series("r", list(reasons.values()), dtype=pl.String), default=None)
    return Cleaned(values.alias(s.name), reason.alias(s.name), note)
