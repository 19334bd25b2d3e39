"""Table contracts: the canonical columns of every input kind, their aliases and types.

Readers (``risk_engine.io.readers``) map a file's header onto these columns, clean the cells
(countries to ISO 3166 alpha-2, HS codes to digits, dates, ILO indicators) and return the good rows
plus a rejects table (``REJECTS_SCHEMA``). Every later stage consumes frames with exactly these
column names; ``frame_schema(kind)`` gives the names and dtypes of a cleaned frame. Header matching
(``header_key``, ``resolve_header``) lives here too, so the contract and its aliases stay together.

Row numbers (``row`` column, and in rejects) are spreadsheet row numbers: the header is row 1, the
first data row is row 2, for CSV and XLSX alike (Parquet: row index + 2, for consistency).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import polars as pl

Kind = Literal["suppliers", "trade", "audits", "enforcement"]
KINDS: tuple[Kind, ...] = ("suppliers", "trade", "audits", "enforcement")

CellType = Literal[
    "id", "text", "country", "hs_list", "hs", "date", "float", "int", "ilo_list", "text_list", "bool"
]


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, cell type, whether a row needs it, and header aliases."""

    name: str
    type: CellType
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TableContract:
    """The contract of one input kind."""

    kind: Kind
    columns: tuple[Column, ...]
    description: str

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the columns every row must fill."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        msg = f"{self.kind} has no column {name!r}"
        raise KeyError(msg)


_IDENTIFIERS: tuple[Column, ...] = (
    Column(
        "lei", "id", aliases=("lei code", "legal entity identifier"), description="ISO 17442 LEI (20 chars)"
    ),
    Column(
        "duns", "id", aliases=("duns number", "d-u-n-s", "duns no"), description="Dun & Bradstreet number"
    ),
    Column(
        "os_id",
        "id",
        aliases=("os hub id", "oar id", "open supply hub id", "osid"),
        description="Open Supply Hub id",
    ),
    Column(
        "tax_id",
        "id",
        aliases=(
            "uscc",
            "unified social credit code",
            "vat",
            "vat number",
            "tax number",
            "registration number",
        ),
        description="tax or registration id, e.g. China USCC (18 chars)",
    ),
)

SUPPLIERS = TableContract(
    kind="suppliers",
    description="A member's supplier list: one row per supplier (site or legal entity).",
    columns=(
        Column(
            "id",
            "id",
            aliases=(
                "supplier id",
                "supplier_id",
                "vendor id",
                "vendor code",
                "supplier code",
                "buyer_supplier_id",
            ),
            description="the member's own key; row number if absent",
        ),
        Column(
            "name",
            "text",
            required=True,
            aliases=(
                "supplier name",
                "supplier",
                "company",
                "company name",
                "facility name",
                "factory name",
                "vendor",
                "vendor name",
                "legal name",
            ),
            description="supplier name as the member writes it",
        ),
        Column(
            "country",
            "country",
            required=True,
            aliases=(
                "country/region",
                "country region",
                "country name",
                "country code",
                "supplier country",
                "nation",
            ),
            description="any common spelling; normalised to ISO 3166 alpha-2",
        ),
        Column(
            "address",
            "text",
            aliases=("supplier address", "street", "street address", "full address", "facility address"),
        ),
        Column("city", "text", aliases=("town",)),
        Column("region", "text", aliases=("province", "state", "admin1", "region_admin1", "state/province")),
        Column("native_name", "text", aliases=("local name", "name (local)", "name_native", "chinese name")),
        Column(
            "products",
            "text_list",
            aliases=("product", "product category", "goods", "commodity", "commodities"),
            description="';'-separated product words",
        ),
        Column(
            "hs_code",
            "hs_list",
            aliases=("hs", "hs codes", "hs_codes", "tariff code", "hts"),
            description="one or more HS codes, ';'-separated; cleaned to digits",
        ),
        Column("tier", "int", aliases=("supplier tier", "tier level")),
        Column(
            "parent_id",
            "id",
            aliases=(
                "parent",
                "parent supplier id",
                "parent_buyer_supplier_id",
                "supplies to",
                "customer id",
            ),
            description="declared sub-supplier of which supplier (its id)",
        ),
        Column("annual_spend", "float", aliases=("spend", "annual spend", "spend usd", "purchase value")),
        Column("currency", "text", aliases=("ccy",)),
        *_IDENTIFIERS,
        Column(
            "buyer",
            "text",
            aliases=("buyer name", "member", "brand"),
            description="the buying company whose list this is (for multi-buyer files)",
        ),
        # Optional buyer-side fields of METHODOLOGY §2 (SupplierRecord).
        Column(
            "relationship",
            "text",
            aliases=("relationship type", "supplier type"),
            description="direct, indirect_declared or agent_trader",
        ),
        Column(
            "sector",
            "text",
            aliases=("sector_isic4", "isic", "isic4", "industry", "sector code"),
            description="sector label or ISIC rev.4 code",
        ),
        Column("facility_type", "text", aliases=("facility type", "site type", "processing type")),
        Column(
            "workers",
            "int",
            aliases=("number of workers", "workers count", "headcount", "employees", "number_of_workers"),
            description="number of workers at the site",
        ),
        Column(
            "tax_id_scheme",
            "text",
            aliases=("tax id scheme", "tax id type", "registration scheme"),
            description="which scheme tax_id follows, e.g. CN-USCC, VAT",
        ),
    ),
)

TRADE = TableContract(
    kind="trade",
    description="Trade records (bills of lading / customs lines): one row per shipment line.",
    columns=(
        Column("shipment_id", "id", aliases=("bol", "bill of lading", "bol number", "shipment", "record id")),
        Column(
            "date",
            "date",
            required=True,
            aliases=("arrival date", "shipment date", "date_arrival", "ship date"),
        ),
        Column(
            "shipper_name",
            "text",
            required=True,
            aliases=("shipper", "exporter", "supplier name", "shipper name"),
        ),
        Column(
            "shipper_country",
            "country",
            required=True,
            aliases=("shipper country", "exporter country", "country of origin", "origin country"),
        ),
        Column("shipper_address", "text", aliases=("shipper address", "exporter address")),
        Column(
            "consignee_name",
            "text",
            required=True,
            aliases=("consignee", "importer", "buyer", "consignee name"),
        ),
        Column(
            "consignee_country",
            "country",
            required=True,
            aliases=("consignee country", "importer country", "destination country"),
        ),
        Column("consignee_address", "text", aliases=("consignee address", "importer address")),
        Column("notify_name", "text", aliases=("notify party", "notify", "notify party name")),
        Column("hs_code", "hs", aliases=("hs", "hs code", "hts code", "tariff code", "commodity code")),
        Column(
            "description",
            "text",
            aliases=("goods description", "product description", "commodity description"),
        ),
        Column("value_usd", "float", aliases=("value", "value (usd)", "customs value", "declared value")),
        Column("weight_kg", "float", aliases=("weight", "weight (kg)", "gross weight", "net weight")),
        # Optional Shipment fields of METHODOLOGY §2.
        Column("currency", "text", aliases=("value currency", "ccy")),
        Column("quantity", "float", aliases=("qty", "quantity shipped", "units")),
        Column(
            "port_lading",
            "text",
            aliases=("port of lading", "port of loading", "foreign port", "loading port", "pol"),
        ),
        Column(
            "port_unlading",
            "text",
            aliases=("port of unlading", "port of discharge", "us port", "discharge port", "pod"),
        ),
        Column(
            "source",
            "text",
            aliases=("data source", "record source"),
            description="US_AMS, CUSTOMS_<ISO2>, VENDOR or BUYER_ASN",
        ),
    ),
)

AUDITS = TableContract(
    kind="audits",
    description="Social-audit findings: one row per finding, with the audit header repeated.",
    columns=(
        Column("audit_id", "id", required=True, aliases=("audit id", "audit reference", "audit ref")),
        Column(
            "facility_name",
            "text",
            required=True,
            aliases=("facility", "site", "site name", "supplier name", "factory name", "name"),
        ),
        Column(
            "facility_country",
            "country",
            required=True,
            aliases=("country", "site country", "facility country"),
        ),
        Column("facility_address", "text", aliases=("address", "site address")),
        *_IDENTIFIERS,
        Column("audit_date", "date", required=True, aliases=("date", "audit date", "date of audit")),
        Column("scheme", "text", aliases=("audit scheme", "standard", "programme")),
        Column("audit_type", "text", aliases=("audit type", "type", "announcement")),
        Column("finding_id", "id", aliases=("finding id", "finding", "non-compliance id", "nc id")),
        Column(
            "ilo_indicator",
            "ilo_list",
            aliases=("ilo indicator", "indicator", "ilo", "ilo_indicators"),
            description="1-11 or indicator name; several ';'-separated",
        ),
        Column("clause", "text", aliases=("clause id", "code clause", "requirement", "question")),
        Column("grade", "text", aliases=("severity", "rating", "finding grade")),
        Column("scope", "text", aliases=("systemic", "extent")),
        Column("status", "text", aliases=("remediation status", "cap status", "finding status")),
        Column("status_date", "date", aliases=("status date", "remediation date", "closure date")),
        Column(
            "workers_affected", "int", aliases=("workers affected", "number affected", "affected workers")
        ),
        Column("source", "text", aliases=("source quality", "evidence source", "source type")),
        # Optional AuditFinding fields of METHODOLOGY §2.
        Column("scheme_version", "text", aliases=("scheme version", "standard version", "version")),
        Column("repeat", "bool", aliases=("repeat finding", "repeated", "recurring")),
        Column(
            "evidence_text",
            "text",
            aliases=("finding description", "description", "evidence", "details", "finding text"),
            description="the auditor's words; kept for explanation, access-controlled",
        ),
    ),
)

ENFORCEMENT = TableContract(
    kind="enforcement",
    description="Enforcement lists (UFLPA Entity List, WROs, user lists): one row per listed entity.",
    columns=(
        Column("name", "text", required=True, aliases=("entity", "entity name", "listed entity", "company")),
        Column("aliases", "text_list", aliases=("alias", "aka", "also known as")),
        Column("country", "country", aliases=("country/region",)),
        Column("list", "text", aliases=("list name", "source list", "program")),
        Column("listed_date", "date", aliases=("date added", "added", "effective date", "listed")),
        Column("revoked_date", "date", aliases=("removed", "date removed", "revoked")),
        Column("products", "text_list", aliases=("product", "goods", "merchandise")),
        Column("includes_subsidiaries", "bool", aliases=("subsidiaries",)),
        Column("section", "text", aliases=("sub_list", "list section")),
        # Optional ListEntry fields of METHODOLOGY §2.
        Column("region", "text", aliases=("province", "state", "region_admin1")),
        Column(
            "hs_code",
            "hs_list",
            aliases=("hs", "hs codes", "hts", "tariff code"),
            description="HS codes named by the listing; read as hs_codes",
        ),
        Column(
            "source_doc",
            "text",
            aliases=("source document", "federal register notice", "fr notice", "notice", "decision id"),
        ),
        Column("list_version_date", "date", aliases=("list version date", "list date", "as of")),
    ),
)

CONTRACTS: dict[str, TableContract] = {c.kind: c for c in (SUPPLIERS, TRADE, AUDITS, ENFORCEMENT)}

Severity = Literal["error", "warning"]

# One row per problem; a row with three problems appears three times. ``error``: the row is rejected
# (not in the good frame). ``warning``: the row is kept, the offending optional cell is set to null,
# and the problem is reported here, so nothing changes silently.
REJECTS_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
    "severity": pl.String(),
}


def contract(kind: str) -> TableContract:
    """The contract for ``kind`` (suppliers, trade, audits, enforcement)."""
    try:
        return CONTRACTS[kind]
    except KeyError:
        from risk_engine.errors import InputError

        msg = f"unknown input kind {kind!r}; expected one of {', '.join(KINDS)}"
        raise InputError(msg) from None


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def header_key(text: str | None) -> str:
    """The comparison key of a header: NFKC, case-folded, punctuation and spacing collapsed.

    ``"Supplier_Name"``, ``" supplier  name "`` and ``"SUPPLIER-NAME"`` all give ``"supplier name"``;
    ``"Country/Region"`` gives ``"country region"``.
    """
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").casefold()
    return _NON_ALNUM.sub(" ", folded).strip()


@cache
def alias_index(kind: str) -> dict[str, str]:
    """Header key -> canonical column name, for every column name and alias of ``kind``."""
    index: dict[str, str] = {}
    table = contract(kind)
    # Canonical names first so an alias never shadows another column's own name.
    for col in table.columns:
        index[header_key(col.name)] = col.name
    for col in table.columns:
        for alias in col.aliases:
            index.setdefault(header_key(alias), col.name)
    return index


@dataclass(frozen=True)
class HeaderProblem:
    """A problem with the header row: the header text, its 0-based position, and why."""

    header: str
    position: int
    reason: str
    fatal: bool


@dataclass(frozen=True)
class HeaderMapping:
    """Where each canonical column sits in a file, and what in the header did not fit."""

    positions: dict[str, int]
    headers: dict[str, str]
    ignored: tuple[tuple[int, str], ...] = ()
    problems: tuple[HeaderProblem, ...] = field(default_factory=tuple)

    @property
    def fatal(self) -> bool:
        """Whether the header makes the file unusable (missing required or ambiguous columns)."""
        return any(p.fatal for p in self.problems)


def resolve_header(headers: Sequence[str | None], kind: str) -> HeaderMapping:
    """Map a file's header cells onto the canonical columns of ``kind``.

    Matching is case-, space- and punctuation-insensitive and accepts each column's aliases. A
    header cell that is the canonical name wins over aliases of the same column; two cells that
    both claim a column without one of them being its exact name make the header ambiguous.
    """
    table = contract(kind)
    index = alias_index(kind)
    claims: dict[str, list[int]] = {}
    ignored: list[tuple[int, str]] = []
    problems: list[HeaderProblem] = []
    for pos, raw in enumerate(headers):
        key = header_key(raw)
        if not key:
            continue
        name = index.get(key)
        if name is None:
            ignored.append((pos, str(raw)))
            continue
        claims.setdefault(name, []).append(pos)
    positions: dict[str, int] = {}
    names_by_pos: dict[str, str] = {}
    for name, poss in claims.items():
        chosen = poss
        if len(poss) > 1:
            exact = [p for p in poss if header_key(headers[p]) == header_key(name)]
            if len(exact) == 1:
                chosen = exact
                for p in poss:
                    if p != exact[0]:
                        problems.append(
                            HeaderProblem(
                                str(headers[p]),
                                p,
                                f"also maps to column {name!r}, which column {headers[exact[0]]!r} "
                                "already provides; this column is ignored",
                                fatal=False,
                            )
                        )
            else:
                listed = ", ".join(repr(str(headers[p])) for p in poss)
                for p in poss[1:]:
                    problems.append(
                        HeaderProblem(
                            str(headers[p]),
                            p,
                            f"duplicate header: {listed} all map to column {name!r}; "
                            "keep one of them or rename the others",
                            fatal=True,
                        )
                    )
        positions[name] = chosen[0]
        names_by_pos[name] = str(headers[chosen[0]])
    for col in table.columns:
        if col.required and col.name not in positions:
            accepted = ", ".join(repr(a) for a in (col.name, *col.aliases))
            problems.append(
                HeaderProblem(
                    "",
                    -1,
                    f"required column {col.name!r} is missing (accepted headers: {accepted})",
                    fatal=True,
                )
            )
    return HeaderMapping(positions, names_by_pos, tuple(ignored), tuple(problems))


_CELL_DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "text": pl.String(),
    "country": pl.String(),
    "hs": pl.String(),
    "hs_list": pl.List(pl.String()),
    "date": pl.Date(),
    "float": pl.Float64(),
    "int": pl.Int64(),
    "ilo_list": pl.List(pl.Int8()),
    "text_list": pl.List(pl.String()),
    "bool": pl.Boolean(),
}


def frame_schema(kind: str) -> dict[str, pl.DataType]:
    """Column names and dtypes of the canonical frame the readers return for ``kind``.

    ``row`` first; a country column ``c`` adds ``c_raw``; trade ``hs_code`` adds ``hs_level``; an
    ``hs_list`` column is named ``hs_codes``; audits turn ``ilo_indicator`` into ``ilo_indicators``
    and add ``ilo_source`` ("indicator" or "clause").
    """
    out: dict[str, pl.DataType] = {"row": pl.Int64()}
    for col in contract(kind).columns:
        if col.type == "hs_list":
            out["hs_codes"] = _CELL_DTYPES["hs_list"]
        elif col.type == "ilo_list":
            out["ilo_indicators"] = _CELL_DTYPES["ilo_list"]
        else:
            out[col.name] = _CELL_DTYPES[col.type]
        if col.type == "country":
            out[f"{col.name}_raw"] = pl.String()
        elif col.type == "hs":
            out["hs_level"] = pl.Int8()
    if kind == "audits":
        out["ilo_source"] = pl.String()
    return out
