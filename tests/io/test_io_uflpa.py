"""UFLPA Entity List parser: the DHS alias forms, pasted tables, rejects, and no crashes."""

from __future__ import annotations

import contextlib
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_engine.errors import InputSchemaError
from risk_engine.io.uflpa import (
    UFLPA_FRAME_SCHEMA,
    UflpaEntry,
    country_from_name,
    parse_uflpa_entry,
    parse_uflpa_lines,
    parse_uflpa_text,
)
from risk_engine.schemas import ENFORCEMENT, REJECTS_SCHEMA

# The entries quoted in ../shared/data/enforcement/UFLPA_EXAMPLES.md (US DHS UFLPA Entity List),
# with the date each entity was added, and what the parser must make of them.
DHS_EXAMPLES: list[tuple[str, str, UflpaEntry]] = [
    (
        "Hoshine Silicon Industry (Shanshan) Co., Ltd (including one alias: Hesheng Silicon Industry "
        "(Shanshan) Co.) and subsidiaries",
        "2022-06-21",
        UflpaEntry(
            name="Hoshine Silicon Industry (Shanshan) Co., Ltd",
            aliases=("Hesheng Silicon Industry (Shanshan) Co.",),
            includes_subsidiaries=True,
        ),
    ),
    (
        "Baoding LYSZD Trade and Business Co., Ltd.",
        "2022-06-21",
        UflpaEntry(name="Baoding LYSZD Trade and Business Co., Ltd."),
    ),
    (
        "Hetian Haolin Hair Accessories Co. Ltd. (and two aliases: Hotan Haolin Hair Accessories; and "
        "Hollin Hair Accessories)",
        "2022-06-21",
        UflpaEntry(
            name="Hetian Haolin Hair Accessories Co. Ltd.",
            aliases=("Hotan Haolin Hair Accessories", "Hollin Hair Accessories"),
        ),
    ),
    ("Camel Group Co., Ltd.", "2023-08-02", UflpaEntry(name="Camel Group Co., Ltd.")),
    (
        "Aksu Huafu Color Spinning Co., Ltd. (also known as Aksu Huafu Textiles Co., Ltd.; Akesu Huafu; "
        "Aksu Huafu Dyed Melange Yarn; and Akesu Huafu Melange Yarn Co., Ltd.)",
        "2025-01-15",
        UflpaEntry(
            name="Aksu Huafu Color Spinning Co., Ltd.",
            aliases=(
                "Aksu Huafu Textiles Co., Ltd.",
                "Akesu Huafu",
                "Aksu Huafu Dyed Melange Yarn",
                "Akesu Huafu Melange Yarn Co., Ltd.",
            ),
        ),
    ),
    (
        "Xinjiang Goens Energy Technology Co., Ltd. (formerly known as Xinjiang GCL New Energy Material "
        "Technology Co., Ltd.; and Xinjiang GCL New Energy Materials Technology Co., Ltd.)",
        "2026-08-03",
        UflpaEntry(
            name="Xinjiang Goens Energy Technology Co., Ltd.",
            former_names=(
                "Xinjiang GCL New Energy Material Technology Co., Ltd.",
                "Xinjiang GCL New Energy Materials Technology Co., Ltd.",
            ),
        ),
    ),
    (
        "Shihezi Xinren Battery Aluminum Foil Technology Co., Ltd.",
        "2026-08-03",
        UflpaEntry(name="Shihezi Xinren Battery Aluminum Foil Technology Co., Ltd."),
    ),
]

EXPECTED_COUNTRY = {
    "Baoding LYSZD Trade and Business Co., Ltd.": "CN",  # Baoding, Hebei
    "Camel Group Co., Ltd.": None,  # the name names no place: do not guess
    "Shihezi Xinren Battery Aluminum Foil Technology Co., Ltd.": "CN",
}


def _markdown_table() -> str:
    lines = ["| entry | added |", "|---|---|"]
    lines += [f"| {entry} | {added} |" for entry, added, _ in DHS_EXAMPLES]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for t, _, e in DHS_EXAMPLES], ids=lambda v: str(v)[:30]
)
def test_every_dhs_example_parses_to_name_aliases_former_names_and_subsidiaries(
    text: str, expected: UflpaEntry
) -> None:
    assert parse_uflpa_entry(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for t, _, e in DHS_EXAMPLES], ids=lambda v: str(v)[:30]
)
def test_non_breaking_spaces_inside_names_are_normalised(text: str, expected: UflpaEntry) -> None:
    assert parse_uflpa_entry(text.replace(" ", "\u00a0", 3).replace("Co.,", "Co.,\u202f")) == expected


def test_markdown_table_as_in_the_examples_file_gives_the_enforcement_contract() -> None:
    frame = parse_uflpa_text(_markdown_table(), file="uflpa.md")
    assert frame.schema == pl.Schema(UFLPA_FRAME_SCHEMA)
    assert frame.columns[0] == "row"
    # The parser fills what a DHS copy can say; the readers add the contract's other columns as null.
    core = {"name", "aliases", "country", "list", "listed_date", "revoked_date", "products"}
    core |= {"includes_subsidiaries", "section", "source_doc"}
    assert core <= set(frame.columns)
    contract_names = {c.name for c in ENFORCEMENT.columns} | {"source_doc"}  # source_doc: METHODOLOGY §2
    assert set(frame.columns) - {"row", "country_raw"} <= contract_names
    assert frame["row"].to_list() == list(range(3, 3 + len(DHS_EXAMPLES)))
    assert frame["name"].to_list() == [e.name for _, _, e in DHS_EXAMPLES]
    assert frame["aliases"].to_list() == [[*e.aliases, *e.former_names] for _, _, e in DHS_EXAMPLES]
    assert frame["listed_date"].to_list() == [date.fromisoformat(a) for _, a, _ in DHS_EXAMPLES]
    assert frame["includes_subsidiaries"].to_list() == [e.includes_subsidiaries for _, _, e in DHS_EXAMPLES]
    assert set(frame["list"].to_list()) == {"UFLPA"}
    assert frame["revoked_date"].null_count() == frame.height
    for name, country in EXPECTED_COUNTRY.items():
        assert frame.filter(pl.col("name") == name)["country"].item() == country


@pytest.mark.parametrize(
    ("line", "expected_date"),
    [
        ("Camel Group Co., Ltd.\t2023-08-02", date(2023, 8, 2)),
        ("Camel Group Co., Ltd.\t08/02/2023\t88 FR 51000", date(2023, 8, 2)),
        ("Camel Group Co., Ltd. | 2023-08-02", date(2023, 8, 2)),
        ("Camel Group Co., Ltd. 2023-08-02", date(2023, 8, 2)),
        ("Camel Group Co., Ltd., 8/2/2023", date(2023, 8, 2)),
        ("Camel Group Co., Ltd. August 2, 2023", date(2023, 8, 2)),
        ("Camel Group Co., Ltd. 2 Aug 2023", date(2023, 8, 2)),
        ("1. Camel Group Co., Ltd.", None),
        ("- Camel Group Co., Ltd.", None),
    ],
)
def test_date_added_in_a_cell_or_trailing_the_name(line: str, expected_date: date | None) -> None:
    frame, rejects = parse_uflpa_lines(line, file="list.txt")
    assert rejects.is_empty()
    assert frame["name"].to_list() == ["Camel Group Co., Ltd."]
    assert frame["listed_date"].to_list() == [expected_date]


def test_section_headings_are_kept_per_entity() -> None:
    text = (
        "UFLPA Entity List\n"
        "\n"
        "Entities that mine, produce, or manufacture wholly or in part any goods in the Xinjiang Uyghur "
        "Autonomous Region with forced labor (UFLPA Section 2(d)(2)(B)(i))\n"
        "Camel Group Co., Ltd.\t2023-08-02\n"
        "## Entities working with the government of the Xinjiang Uyghur Autonomous Region\n"
        "Baoding LYSZD Trade and Business Co., Ltd.\t2022-06-21\n"
    )
    frame = parse_uflpa_text(text, file="list.txt")
    assert frame["row"].to_list() == [4, 6]
    assert frame["section"].to_list() == [
        "Entities that mine, produce, or manufacture wholly or in part any goods in the Xinjiang Uyghur "
        "Autonomous Region with forced labor (UFLPA Section 2(d)(2)(B)(i))",
        "Entities working with the government of the Xinjiang Uyghur Autonomous Region",
    ]


def test_unbalanced_parentheses_are_rejected_with_file_row_and_value() -> None:
    text = "Camel Group Co., Ltd.\nAksu Huafu Color Spinning Co., Ltd. (also known as Akesu Huafu\n"
    frame, rejects = parse_uflpa_lines(text, file="list.txt")
    assert frame["name"].to_list() == ["Camel Group Co., Ltd."]
    assert rejects.schema == pl.Schema(REJECTS_SCHEMA)
    assert rejects.select("file", "row", "column", "severity").rows() == [("list.txt", 2, "name", "error")]
    assert "unbalanced" in rejects["reason"].item()
    with pytest.raises(InputSchemaError) as info:
        parse_uflpa_text(text, file="list.txt")
    assert info.value.path == "list.txt"
    assert info.value.row == 2
    assert info.value.value == "Aksu Huafu Color Spinning Co., Ltd. (also known as Akesu Huafu"
    assert "list.txt" in str(info.value)


@pytest.mark.parametrize(
    "entry",
    [
        "(also known as Akesu Huafu)",
        "and subsidiaries",
        "Camel Group) (Co.",
        "Camel Group (also known as ; )",
        "Camel Group (including one alias:)",
    ],
)
def test_malformed_entries_raise_the_projects_schema_error(entry: str) -> None:
    with pytest.raises(InputSchemaError) as info:
        parse_uflpa_entry(entry)
    assert info.value.value == entry


def test_bad_date_keeps_the_row_and_reports_a_warning() -> None:
    frame, rejects = parse_uflpa_lines("Camel Group Co., Ltd.\t2023-02-30\tsee note", file="l.txt")
    assert frame["name"].to_list() == ["Camel Group Co., Ltd."]
    assert frame["listed_date"].to_list() == [None]
    assert rejects.select("column", "value", "severity").rows() == [
        ("listed_date", "2023-02-30", "warning"),
        ("extra", "see note", "warning"),
    ]


def test_parenthesised_place_stays_in_the_name_and_other_keywords_parse() -> None:
    entry = parse_uflpa_entry(
        "Xinjiang Production and Construction Corps (XPCC) (a.k.a. Bingtuan; formerly known as X Corps) "
        "and its subsidiaries"
    )
    assert entry == UflpaEntry(
        name="Xinjiang Production and Construction Corps (XPCC)",
        aliases=("Bingtuan",),
        includes_subsidiaries=True,
        former_names=("X Corps",),
    )
    assert parse_uflpa_entry("Akamai Lake Trading (Akamai) Ltd.").aliases == ()


def test_fullwidth_parentheses_of_chinese_copies_are_handled() -> None:
    entry = parse_uflpa_entry("新疆某某棉业有限公司（also known as Xinjiang Moumou Cotton）")
    assert entry.name == "新疆某某棉业有限公司"
    assert entry.aliases == ("Xinjiang Moumou Cotton",)
    assert country_from_name(entry.name) == "CN"


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("Hotan Taida Apparel Co., Ltd", "CN"),
        ("Lop County Meixin Hair Products Co., Ltd.", "CN"),
        ("Inner Mongolia Something Ltd", "CN"),
        ("Camel Group Co., Ltd.", None),
        ("Hong Kong Trading Ltd.", None),
        ("Aksumite Trading", None),  # the place word must be a whole word
    ],
)
def test_country_is_cn_only_when_the_name_names_a_prc_place(name: str, country: str | None) -> None:
    assert country_from_name(name) == country


def test_empty_text_gives_empty_frames_with_the_contract_schema() -> None:
    frame, rejects = parse_uflpa_lines("\ufeff\n \n\u00a0\n", file="empty.txt")
    assert frame.is_empty()
    assert frame.schema == pl.Schema(UFLPA_FRAME_SCHEMA)
    assert rejects.is_empty()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises_anything_but_the_projects_errors(text: str) -> None:
    frame, rejects = parse_uflpa_lines(text, file="fuzz.txt")
    assert frame.schema == pl.Schema(UFLPA_FRAME_SCHEMA)
    assert rejects.schema == pl.Schema(REJECTS_SCHEMA)
    assert frame["name"].str.strip_chars().str.len_chars().min() != 0
    try:
        parse_uflpa_text(text, file="fuzz.txt")
    except InputSchemaError as exc:
        assert exc.path == "fuzz.txt"
    with contextlib.suppress(InputSchemaError):
        parse_uflpa_entry(text)


_WORD = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz", min_size=2, max_size=8)
_NAME = (
    st.lists(_WORD, min_size=1, max_size=4)
    .map(" ".join)
    .filter(
        lambda n: (
            n.split()[0].casefold() not in {"and", "formerly", "aka", "alias", "aliases", "including", "with"}
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(
    name=_NAME,
    aliases=st.lists(_NAME, max_size=3, unique_by=str.casefold),
    former=st.lists(_NAME, max_size=2, unique_by=str.casefold),
    subsidiaries=st.booleans(),
)
def test_built_entries_round_trip(
    name: str, aliases: list[str], former: list[str], subsidiaries: bool
) -> None:
    aliases = [a for a in aliases if a.casefold() != name.casefold()]
    former = [f for f in former if f.casefold() not in {name.casefold(), *(a.casefold() for a in aliases)}]
    clauses = []
    if aliases:
        clauses.append(
            "also known as "
            + "; ".join([*aliases[:-1], f"and {aliases[-1]}"] if len(aliases) > 1 else aliases)
        )
    if former:
        clauses.append("formerly known as " + "; ".join(former))
    text = (
        name + (f" ({'; '.join(clauses)})" if clauses else "") + (" and subsidiaries" if subsidiaries else "")
    )
    assert parse_uflpa_entry(text) == UflpaEntry(
        name=name, aliases=tuple(aliases), includes_subsidiaries=subsidiaries, former_names=tuple(former)
    )


_LIST_TOKENS = st.sampled_from(
    [
        *"()（）;:|\t\n ,.aA1/-#",
        "also known as ",
        "formerly known as ",
        "and subsidiaries",
        "including one alias:",
        "2023-02-30",
        "June 2, 2020",
        "\xa0",
        "Entities ",
        "\u2028",
        "\x85",
        "Xinjiang",
        " 88 FR 1234",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LIST_TOKENS, max_size=30).map("".join))
def test_list_shaped_noise_never_raises_anything_but_the_projects_errors(text: str) -> None:
    frame, _ = parse_uflpa_lines(text, file="fuzz.txt")
    assert all(name.strip() for name in frame["name"])
    with contextlib.suppress(InputSchemaError):
        parse_uflpa_text(text, file="fuzz.txt")


def test_named_subsidiaries_become_listed_rows_of_their_own() -> None:
    text = (
        "Ninestar Corporation and its eight Zhuhai-based subsidiaries: Zhuhai Ninestar Information Technology "
        "Co., Ltd.; Zhuhai Pantum Electronics Co., Ltd.; and Zhuhai Ninestar Management Co., Ltd.\t2023-06-12\n"
    )
    entry = parse_uflpa_entry(text.split("\t")[0])
    assert entry.name == "Ninestar Corporation"
    assert entry.includes_subsidiaries
    assert entry.subsidiaries == (
        "Zhuhai Ninestar Information Technology Co., Ltd.",
        "Zhuhai Pantum Electronics Co., Ltd.",
        "Zhuhai Ninestar Management Co., Ltd.",
    )
    frame = parse_uflpa_text(text, file="list.txt")
    assert frame["name"].to_list() == ["Ninestar Corporation", *entry.subsidiaries]
    assert frame["row"].to_list() == [1, 1, 1, 1]
    assert frame["includes_subsidiaries"].to_list() == [True, False, False, False]
    assert frame["listed_date"].to_list() == [date(2023, 6, 12)] * 4
    # Zhuhai (Guangdong) names the subsidiaries' place; the parent's name names none: no guess.
    assert frame["country"].to_list() == [None, "CN", "CN", "CN"]


def test_bulleted_subsidiaries_under_an_introducing_line_are_entities_not_a_heading() -> None:
    text = (
        "Entities working with the government of the XUAR\n"
        "Ninestar Corporation and its eight Zhuhai-based subsidiaries:\n"
        "- Zhuhai Pantum Electronics Co., Ltd.;\n"
        "- Geehy Semiconductor Co., Ltd.; and\n"
        "- Zhuhai Seine Printing Technology Co., Ltd.\n"
    )
    frame = parse_uflpa_text(text, file="list.txt")
    assert frame["name"].to_list() == [
        "Ninestar Corporation",
        "Zhuhai Pantum Electronics Co., Ltd.",
        "Geehy Semiconductor Co., Ltd.",
        "Zhuhai Seine Printing Technology Co., Ltd.",
    ]
    assert frame["includes_subsidiaries"].to_list() == [True, False, False, False]
    assert set(frame["section"].to_list()) == {"Entities working with the government of the XUAR"}


@pytest.mark.parametrize(
    "text",
    [
        "Xinjiang Production and Construction Corps (XPCC) and its subordinate and affiliated entities",
        "Xinjiang Production and Construction Corps (XPCC) and its subsidiaries",
        "Xinjiang Production and Construction Corps (XPCC), and subsidiaries.",
    ],
)
def test_group_wording_sets_the_subsidiaries_flag(text: str) -> None:
    entry = parse_uflpa_entry(text)
    assert entry.name == "Xinjiang Production and Construction Corps (XPCC)"
    assert entry.includes_subsidiaries
    assert entry.subsidiaries == ()


def test_a_name_that_merely_contains_and_keeps_its_words() -> None:
    entry = parse_uflpa_entry("Baoding LYSZD Trade and Business Co., Ltd.")
    assert entry == UflpaEntry(name="Baoding LYSZD Trade and Business Co., Ltd.")


def test_a_comma_list_closed_by_and_splits_between_names_not_inside_them() -> None:
    entry = parse_uflpa_entry(
        "Xinjiang Daqo New Energy Co., Ltd. (also known as Xinjiang Great New Energy Co., Ltd., "
        "Xinjiang Daxin Energy Co., Ltd., and Xinjiang Daqin Energy Co., Ltd.)"
    )
    assert entry.aliases == (
        "Xinjiang Great New Energy Co., Ltd.",
        "Xinjiang Daxin Energy Co., Ltd.",
        "Xinjiang Daqin Energy Co., Ltd.",
    )
    # Without a closing ', and' a comma is part of the one alias.
    assert parse_uflpa_entry("X Co. (also known as Hotan Haolin, Hetian Branch)").aliases == (
        "Hotan Haolin, Hetian Branch",
    )


def test_federal_register_citations_go_to_source_doc() -> None:
    frame, rejects = parse_uflpa_lines("Camel Group Co., Ltd.\t08/02/2023\t88 FR 50902", file="l.txt")
    assert rejects.is_empty()
    assert frame["source_doc"].to_list() == ["88 FR 50902"]
    assert parse_uflpa_text("Camel Group Co., Ltd.", file="l.txt")["source_doc"].to_list() == [None]
