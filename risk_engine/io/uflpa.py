"""Parser for the UFLPA Entity List as the US DHS prints it.

The list names each entity once, with its aliases inline::

    Hoshine Silicon Industry (Shanshan) Co., Ltd (including one alias: Hesheng Silicon
    Industry (Shanshan) Co.) and subsidiaries

``parse_uflpa_entry`` turns one such name into a primary name, aliases, former names and an
``includes_subsidiaries`` flag. ``parse_uflpa_lines`` reads a whole pasted copy of the list (one
entity per line or per table row, optionally with the date added and section headings) into the
ENFORCEMENT contract of ``risk_engine.schemas`` plus a rejects table; ``parse_uflpa_text`` is the
strict variant that raises on the first malformed line.

Row numbers are 1-based line numbers of the pasted text. ``country`` is never guessed from the
list being a Chinese-enforcement list: it is "CN" only when the name itself contains a PRC
province, autonomous region, municipality or a city/prefecture name (``CHINESE_PLACE_WORDS``),
otherwise null.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from risk_engine.errors import InputSchemaError
from risk_engine.schemas import REJECTS_SCHEMA

LIST_NAME = "UFLPA"

# Output frame: the ENFORCEMENT contract columns, in the order the IO readers produce them.
UFLPA_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "name": pl.String(),
    "aliases": pl.List(pl.String()),
    "country": pl.String(),
    "country_raw": pl.String(),
    "list": pl.String(),
    "listed_date": pl.Date(),
    "revoked_date": pl.Date(),
    "products": pl.List(pl.String()),
    "includes_subsidiaries": pl.Boolean(),
    "section": pl.String(),
    "source_doc": pl.String(),
}

# PRC place words whose presence in a listed name justifies country "CN": provinces, autonomous
# regions, municipalities (pinyin and Chinese script), and cities/prefectures that recur on the
# list (mostly in Xinjiang). Hong Kong and Macau are deliberately absent: they have their own
# ISO codes, and a name mentioning them says nothing certain about the registering jurisdiction.
CHINESE_PLACE_WORDS: frozenset[str] = frozenset(
    {
        # provinces, autonomous regions, municipalities
        "anhui", "beijing", "chongqing", "fujian", "gansu", "guangdong", "guangxi", "guizhou",
        "hainan", "hebei", "heilongjiang", "henan", "hubei", "hunan", "jiangsu", "jiangxi", "jilin",
        "liaoning", "ningxia", "qinghai", "shaanxi", "shandong", "shanghai", "shanxi", "sichuan",
        "tianjin", "xinjiang", "xizang", "yunnan", "zhejiang",
        # Xinjiang prefectures, cities and counties
        "aksu", "akesu", "altay", "artux", "bayingolin", "bortala", "changji", "hami", "hetian",
        "hotan", "kashgar", "kashi", "karamay", "kelamayi", "korla", "kuitun", "shanshan", "shihezi",
        "tacheng", "tulufan", "turpan", "urumqi", "wulumuqi", "wusu", "yili", "moyu", "luopu",
        # other cities that recur in listed names
        "baoding", "dongguan", "foshan", "guangzhou", "hangzhou", "hefei", "nanjing", "ningbo",
        "qingdao", "quanzhou", "shenzhen", "suzhou", "wenzhou", "wuhan", "xiamen", "zhengzhou",
        "dalian", "chengdu", "zhuhai",
    }
)  # fmt: skip
CHINESE_PLACE_PHRASES: tuple[str, ...] = ("inner mongolia", "nei mongol", "lop county")
CHINESE_PLACE_SCRIPT: tuple[str, ...] = (
    "新疆", "西藏", "内蒙古", "宁夏", "广西", "北京", "上海", "天津", "重庆", "安徽", "福建",
    "甘肃", "广东", "贵州", "海南", "河北", "河南", "湖北", "湖南", "江苏", "江西", "吉林",
    "辽宁", "青海", "陕西", "山东", "山西", "四川", "云南", "浙江", "黑龙江", "乌鲁木齐",
    "和田", "阿克苏", "喀什", "石河子", "吐鲁番", "哈密",
)  # fmt: skip


@dataclass(frozen=True)
class UflpaEntry:
    """One listed entity: its primary name, aliases, former names and the subsidiaries flag.

    ``subsidiaries`` holds subsidiaries the entry names itself ("X and its eight subsidiaries: A; B;
    and C"); they are listed entities in their own right and become rows of their own.
    """

    name: str
    aliases: tuple[str, ...] = ()
    includes_subsidiaries: bool = False
    former_names: tuple[str, ...] = ()
    subsidiaries: tuple[str, ...] = ()


class _MalformedEntry(ValueError):
    """Internal: an entry cannot be parsed; carries the reason only."""


_SPACE_LIKE = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_ZERO_WIDTH = re.compile(r"[\u200c\u200d\u2060]")
_COUNT_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2})"
_ALIAS_KEYWORD = re.compile(
    rf"^(?:(?:and|including|with)\s+)?(?:the\s+following\s+)?(?:{_COUNT_WORD}\s+)?alias(?:es)?\b\s*:?\s*"
    r"|^(?:and\s+)?(?:also\s+known\s+as|a\.?\s?k\.?\s?a\b\.?)\s*:?\s*",
    re.IGNORECASE,
)
_FORMER_KEYWORD = re.compile(
    r"^(?:and\s+)?(?:formerly\s+known\s+as|f\.?\s?k\.?\s?a\b\.?|formerly\b)\s*:?\s*", re.IGNORECASE
)
# "and subsidiaries", "and its subsidiaries", "and its eight Zhuhai-based subsidiaries", "and its
# subordinate and affiliated entities" (up to four words between the possessive and the noun).
_GROUP_NOUN = r"(?:subsidiaries|subsidiary|affiliates|affiliated\s+entities)"
_SUBSIDIARIES = re.compile(
    rf"[\s,;]*\band\s+(?:(?:its|their)\s+)?(?:[\w-]+\s+){{0,4}}?{_GROUP_NOUN}\s*\.?\s*$", re.IGNORECASE
)
_SUBSIDIARY_LIST_HEAD = re.compile(
    rf"[\s,;]*\band\s+(?:its|their)\s+(?:[\w-]+\s+){{0,4}}?{_GROUP_NOUN}\s*$", re.IGNORECASE
)
_LEADING_AND = re.compile(r"^and\s+", re.IGNORECASE)


def normalise_text(text: str) -> str:
    """NFKC, non-breaking and other odd spaces to one space, zero-width characters removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACE_LIKE.sub(" ", text).strip()


def _check_parentheses(text: str) -> None:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _MalformedEntry("unbalanced parentheses: ')' without '('")
    if depth:
        raise _MalformedEntry("unbalanced parentheses: '(' not closed")


def _top_level_groups(text: str) -> list[tuple[int, int]]:
    """Spans (start of '(', index after ')') of the top-level parenthesised groups."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans


def _split_top_level(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _is_alias_group(content: str) -> bool:
    return bool(_ALIAS_KEYWORD.match(content) or _FORMER_KEYWORD.match(content))


_TRAILING_LIST_PUNCTUATION = re.compile(r"(?:[;,]\s*and|[;,:])\s*$", re.IGNORECASE)


def _clean_name(text: str) -> str:
    """Strip list punctuation around a name ("A Co.;", "B Co.; and" as in bulleted copies)."""
    text = text.strip()
    while True:
        cut = _TRAILING_LIST_PUNCTUATION.sub("", text).strip()
        if cut == text:
            return text.lstrip(",;:").strip()
        text = cut


def _parse_alias_group(content: str) -> tuple[list[str], list[str]]:
    """Aliases and former names inside one '(... alias: a; b; and c)' group."""
    aliases: list[str] = []
    former: list[str] = []
    target = aliases
    for raw_item in _split_top_level(content, ";"):
        item = raw_item.strip()
        if not item:
            continue
        keyword = _FORMER_KEYWORD.match(item)
        if keyword:
            target = former
            item = item[keyword.end() :]
        else:
            keyword = _ALIAS_KEYWORD.match(item)
            if keyword:
                target = aliases
                item = item[keyword.end() :]
            else:
                item = _LEADING_AND.sub("", item)
        pieces = _split_serial_list(item) if ";" not in content else [item]
        for piece in pieces:
            name = _clean_name(piece)
            if not name:
                raise _MalformedEntry("empty alias")
            target.append(name)
    if not aliases and not former:
        raise _MalformedEntry("alias clause without any name")
    return aliases, former


# Pieces that end a company name rather than start a new one ("Co., Ltd., X Co., Ltd., and Y").
_LEGAL_TAILS = frozenset(
    {"ltd", "limited", "inc", "llc", "corp", "co", "coltd", "plc", "sa", "gmbh", "ag", "bv", "pte", "pteltd"}
)


def _split_serial_list(item: str) -> list[str]:
    """Split 'A Co., Ltd., B Co., Ltd., and C' (a comma list closed by ', and') into names.

    Only a list closed by ', and' is split, and commas inside a name ('Co., Ltd.') stay with it; a
    single alias with a comma ('X, Hetian Branch') is left whole.
    """
    if not re.search(r",\s+and\s+", item, flags=re.IGNORECASE):
        return [item]
    names: list[str] = []
    for piece in re.split(r",\s+(?:and\s+)?", item, flags=re.IGNORECASE):
        key = re.sub(r"[^a-z]", "", piece.casefold())
        if names and key in _LEGAL_TAILS:
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    return names


def _unique(names: list[str], exclude: str) -> tuple[str, ...]:
    seen = {exclude.casefold()}
    out: list[str] = []
    for n in names:
        key = n.casefold()
        if key not in seen:
            seen.add(key)
            out.append(n)
    return tuple(out)


def _parse_entry(text: str) -> UflpaEntry:
    text = normalise_text(text)
    if not text:
        raise _MalformedEntry("empty entity name")
    _check_parentheses(text)
    named_subsidiaries: list[str] = []
    colon = _top_level_index(text, ":")
    if colon is not None:
        head = _SUBSIDIARY_LIST_HEAD.search(text[:colon])
        if head:
            listed = text[colon + 1 :].strip()
            for raw_item in _split_top_level(listed, ";") if listed else []:
                item = _clean_name(_LEADING_AND.sub("", raw_item.strip()))
                if not item:
                    raise _MalformedEntry("empty subsidiary name")
                named_subsidiaries.append(item)
            text = text[: head.start()] + " and subsidiaries"
    subsidiaries = _SUBSIDIARIES.search(text)
    includes_subsidiaries = subsidiaries is not None
    if subsidiaries:
        text = text[: subsidiaries.start()]
    aliases: list[str] = []
    former: list[str] = []
    kept: list[str] = []
    cursor = 0
    for start, end in _top_level_groups(text):
        content = text[start + 1 : end - 1].strip()
        if _is_alias_group(content):
            kept.append(text[cursor:start])
            group_aliases, group_former = _parse_alias_group(content)
            aliases.extend(group_aliases)
            former.extend(group_former)
            cursor = end
    kept.append(text[cursor:])
    # An alias clause sits between name parts only in odd copies; joining keeps every word.
    name = _clean_name(" ".join(part.strip() for part in kept if part.strip()))
    # "X and subsidiaries" may also appear inside the kept name, before an alias clause.
    inner = _SUBSIDIARIES.search(name)
    if inner:
        includes_subsidiaries = True
        name = _clean_name(name[: inner.start()])
    if not name:
        raise _MalformedEntry("empty entity name")
    return UflpaEntry(
        name=name,
        aliases=_unique(aliases, name),
        includes_subsidiaries=includes_subsidiaries,
        former_names=_unique(former, name),
        subsidiaries=_unique(named_subsidiaries, name),
    )


def _top_level_index(text: str, char: str) -> int | None:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == char and depth == 0:
            return i
    return None


def parse_uflpa_entry(text: str) -> UflpaEntry:
    """Parse one entity as the DHS list prints it; raise ``InputSchemaError`` if malformed."""
    try:
        return _parse_entry(text)
    except _MalformedEntry as exc:
        msg = str(exc)
        raise InputSchemaError(msg, column="name", value=text) from None


def country_from_name(*names: str) -> str | None:
    """'CN' when a name contains a PRC place word (see ``CHINESE_PLACE_WORDS``), else None."""
    for name in names:
        folded = name.casefold()
        if any(script in name for script in CHINESE_PLACE_SCRIPT):
            return "CN"
        if any(phrase in folded for phrase in CHINESE_PLACE_PHRASES):
            return "CN"
        if not CHINESE_PLACE_WORDS.isdisjoint(re.findall(r"[a-z]+", folded)):
            return "CN"
    return None


# ---------------------------------------------------------------------------------------------
# Whole-list parsing


_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH_WORD = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"),
    re.compile(rf"(?P<mw>{_MONTH_WORD})\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})", re.IGNORECASE),
    re.compile(rf"(?P<d>\d{{1,2}})\s+(?P<mw>{_MONTH_WORD})\s+(?P<y>\d{{4}})", re.IGNORECASE),
)
_TRAILING_DATE = re.compile(
    r"(?:^|[\s,;|])(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}"
    rf"|{_MONTH_WORD}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH_WORD}\s+\d{{4}})\s*$",
    re.IGNORECASE,
)
_FR_CITATION = re.compile(r"^\d{1,3}\s*FR\s*\d{3,6}$", re.IGNORECASE)
_TABLE_SEPARATOR = re.compile(r"^:?-{3,}:?$")
_HEADER_CELLS = frozenset(
    {
        "entry", "entity", "entities", "entity name", "name", "listed entity", "added",
        "date added", "date", "effective date", "listed", "federal register notice", "fr notice",
        "federal register", "section", "#", "no.", "no",
    }
)  # fmt: skip
_HEADING_START = re.compile(
    r"^(?:#+\s*|(?:entities|facilities and entities|facilities|section|list of|uflpa entity list)\b)",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"^(?:[-*\u2022]\s+|\d{1,4}[.)]\s+)")


class _BadDate(ValueError):
    """Internal: a date-shaped cell that is not a calendar date."""


def _looks_like_date(cell: str) -> bool:
    return any(p.fullmatch(cell) for p in _DATE_PATTERNS)


def _parse_date(cell: str) -> date:
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(cell.strip())
        if m is None:
            continue
        groups = m.groupdict()
        month = _MONTHS[groups["mw"].rstrip(".").casefold()] if groups.get("mw") else int(groups["m"])
        try:
            return date(int(groups["y"]), month, int(groups["d"]))
        except ValueError:
            raise _BadDate(cell) from None
    raise _BadDate(cell)


@dataclass
class _Line:
    row: int
    entry: str
    date_text: str | None
    extras: list[str]
    citations: list[str] = field(default_factory=list)


def _split_cells(line: str) -> list[str] | None:
    """Cells of a table row ('|' or tab separated), or None for a plain line."""
    if "\t" in line.strip():
        return line.strip().split("\t")
    stripped = normalise_text(line)
    if stripped.startswith("|") or stripped.endswith("|") or stripped.count(" | ") >= 1:
        return [c.strip() for c in stripped.strip("|").split("|")]
    return None


def _read_line(row: int, line: str) -> _Line | str | None:
    """One physical line: an entity line, a section heading (str), or None to skip."""
    text = normalise_text(line)
    if not text:
        return None
    cells = _split_cells(line)
    if cells is not None:
        cells = [c for c in (normalise_text(c) for c in cells) if c]
        if not cells or all(_TABLE_SEPARATOR.fullmatch(c.replace(" ", "")) for c in cells):
            return None
        if all(c.casefold() in _HEADER_CELLS for c in cells):
            return None
        if len(cells) == 1 and _is_heading(cells[0]):
            return _heading_text(cells[0])
        entry, rest = cells[0], cells[1:]
        date_text: str | None = None
        extras: list[str] = []
        citations: list[str] = []
        for cell in rest:
            if date_text is None and _looks_like_date(cell):
                date_text = cell
            elif _FR_CITATION.fullmatch(cell):
                citations.append(cell)
            else:
                extras.append(cell)
        return _Line(row, _LIST_MARKER.sub("", entry), date_text, extras, citations)
    if _is_heading(text):
        return _heading_text(text)
    text = _LIST_MARKER.sub("", text)
    trailing = _TRAILING_DATE.search(text)
    if trailing and trailing.start("date") > 0:
        return _Line(row, text[: trailing.start("date")].rstrip(" ,;|"), trailing["date"], [])
    return _Line(row, text, None, [])


def _is_heading(text: str) -> bool:
    if text.startswith("#"):
        return True
    if text.endswith(":") and not _is_alias_group(text):
        # "X and its eight subsidiaries:" introduces a list of entities; it is an entity, not a heading.
        return _SUBSIDIARY_LIST_HEAD.search(text[:-1]) is None
    return bool(_HEADING_START.match(text))


def _heading_text(text: str) -> str:
    return text.lstrip("#").strip().rstrip(":").strip()


def _reject(file: str, row: int, column: str, value: str, reason: str, severity: str) -> dict[str, object]:
    return {
        "file": file,
        "row": row,
        "column": column,
        "value": value,
        "reason": reason,
        "severity": severity,
    }


def parse_uflpa_lines(text: str, *, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse a pasted UFLPA Entity List into (entities, rejects).

    Accepts one entity per line or per row of a '|'- or tab-separated table, the date added in a
    cell or trailing the name (ISO, US m/d/Y, or 'June 21, 2022'), section headings (lines
    starting with '#', ending with ':' or starting 'Entities ...'/'Section ...'), list markers,
    and non-breaking spaces. Malformed entries become rejects with severity "error"; a bad date
    or an unrecognised extra cell keeps the row and becomes a "warning". Federal Register
    citations in extra cells (e.g. '87 FR 39501') go to ``source_doc``.
    """
    rows: list[dict[str, object]] = []
    rejects: list[dict[str, object]] = []
    section: str | None = None
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, physical in enumerate(lines, start=1):
        parsed = _read_line(number, physical)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            section = parsed or None
            continue
        try:
            entry = _parse_entry(parsed.entry)
        except _MalformedEntry as exc:
            rejects.append(_reject(file, number, "name", parsed.entry, str(exc), "error"))
            continue
        listed: date | None = None
        if parsed.date_text is not None:
            try:
                listed = _parse_date(parsed.date_text)
            except _BadDate:
                rejects.append(
                    _reject(file, number, "listed_date", parsed.date_text, "not a calendar date", "warning")
                )
        for extra in parsed.extras:
            rejects.append(
                _reject(file, number, "extra", extra, "unrecognised extra cell ignored", "warning")
            )
        all_aliases = [*entry.aliases, *entry.former_names]
        named = [(entry.name, all_aliases, entry.includes_subsidiaries)]
        # Subsidiaries the entry names are listed entities too: one row each, same line and date.
        named += [(sub, [], False) for sub in entry.subsidiaries]
        for name, aliases, subsidiaries in named:
            rows.append(
                {
                    "row": number,
                    "name": name,
                    "aliases": aliases,
                    "country": country_from_name(name, *aliases),
                    "country_raw": None,
                    "list": LIST_NAME,
                    "listed_date": listed,
                    "revoked_date": None,
                    "products": None,
                    "includes_subsidiaries": subsidiaries,
                    "section": section,
                    "source_doc": "; ".join(parsed.citations) or None,
                }
            )
    frame = pl.DataFrame(rows, schema=UFLPA_FRAME_SCHEMA)
    rejects_frame = pl.DataFrame(rejects, schema=REJECTS_SCHEMA)
    return frame, rejects_frame


def parse_uflpa_text(text: str, *, file: str) -> pl.DataFrame:
    """Parse a pasted UFLPA Entity List; raise ``InputSchemaError`` on the first malformed entry.

    Warnings (bad dates, extra cells) do not raise; use ``parse_uflpa_lines`` to see them.
    """
    frame, rejects = parse_uflpa_lines(text, file=file)
    errors = rejects.filter(pl.col("severity") == "error")
    if errors.height:
        first = errors.row(0, named=True)
        more = f" ({errors.height - 1} more malformed entries)" if errors.height > 1 else ""
        msg = f"{first['reason']}{more}"
        raise InputSchemaError(msg, path=file, row=first["row"], column="name", value=first["value"])
    return frame
