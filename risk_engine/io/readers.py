"""Readers for the four input kinds: CSV, XLSX and Parquet in, canonical polars frames out.

``read_table`` (files) and ``read_upload`` (API bytes) sniff the content, run the hostile-input
checks of ``risk_engine.io.safety``, load every cell as a string (nothing is coerced silently),
then ``clean_table`` maps the header onto the contract of ``risk_engine.schemas`` and cleans each
column with the vectorised cleaners of ``risk_engine.io.cells``. The result holds the good rows and
a rejects table with one line per problem (file, row, column, value, reason, severity): a row with
an error in a required cell is left out of the frame, a bad optional cell is nulled, and both are
reported. Row numbers are the ones a spreadsheet shows (header = row 1).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from risk_engine.errors import InputSchemaError, UnreadableFileError
from risk_engine.io import cells
from risk_engine.io.safety import (
    DEFAULT_LIMITS,
    MIB,
    ArchiveLimits,
    Source,
    check_parquet,
    check_utf8_text,
    check_xlsx_archive,
    is_parser_panic,
    read_head,
    sniff_format,
)
from risk_engine.schemas import (
    REJECTS_SCHEMA,
    Column,
    HeaderMapping,
    Kind,
    contract,
    frame_schema,
    header_key,
    resolve_header,
)

DEFAULT_MAX_BYTES = 2048 * MIB
UPLOAD_MAX_BYTES = 50 * MIB
HEADER_SEARCH_ROWS = 10
_SEPARATORS = (",", ";", "\t", "|")
_TEXT_EXTENSIONS = {".txt", ".text"}


@dataclass(frozen=True)
class ReadResult:
    """The good rows of one input file, its rejects, and what was noticed on the way."""

    frame: pl.DataFrame
    rejects: pl.DataFrame
    file: str
    kind: str
    rows_read: int
    notes: tuple[str, ...] = ()

    @property
    def rejected_rows(self) -> int:
        """How many data rows were left out of ``frame`` because of an error."""
        return self.rows_read - self.frame.height

    @property
    def problems(self) -> int:
        """How many problems (errors and warnings) the rejects table lists."""
        return self.rejects.height


@dataclass
class Grid:
    """A file's cells as strings, by position: row 0 is the file's first (non-empty) row."""

    cells: pl.DataFrame
    first_row: int = 1
    problems: list[pl.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Spreadsheet error cells (#N/A, #DIV/0!): (grid row, grid column, shown value). The loader
    # reads them as empty; they are reported once the header says which column they belong to.
    cell_errors: list[tuple[int, int, str]] = field(default_factory=list)


def empty_rejects() -> pl.DataFrame:
    """A rejects table with no rows."""
    return pl.DataFrame(schema=REJECTS_SCHEMA)


# --- loading -------------------------------------------------------------------------------------


def _detect_separator(source: Source) -> str:
    data = read_head(source, 1 << 20)
    end = data.find(b"\n")
    line = data[: end if end >= 0 else 1 << 16].decode("utf-8", errors="replace")
    line = re.sub(r'"[^"]*"', "", line)  # separators inside quoted headers do not count
    counts = {sep: line.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _polars_csv(source: Source, *, file: str, separator: str, **kwargs: Any) -> pl.DataFrame:
    try:
        return pl.read_csv(
            source if isinstance(source, Path) else io.BytesIO(source),
            has_header=False,
            infer_schema=False,
            separator=separator,
            quote_char='"',
            truncate_ragged_lines=True,
            raise_if_empty=False,
            **kwargs,
        )
    except BaseException as exc:
        if not isinstance(exc, pl.exceptions.PolarsError) and not is_parser_panic(exc):
            raise
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            check_utf8_text(source, file=file)  # raises with the line, byte and likely encoding
        raise UnreadableFileError(file, _csv_error_reason(source, str(exc))) from None


def _csv_error_reason(source: Source, message: str) -> str:
    """A readable reason for a CSV parse failure; an unclosed quote is named with its line."""
    field_match = re.search(r"Field `(.*?)` is not properly escaped", message, flags=re.DOTALL)
    if field_match is None:
        return f"the CSV cannot be parsed: {message.splitlines()[0] if message else 'unknown error'}"
    start = field_match[1].splitlines()[0] if field_match[1] else ""
    data = source.read_bytes() if isinstance(source, Path) else source
    pos = data.find(start.encode("utf-8")) if start else -1
    line = data.count(b"\n", 0, pos) + 1
    where = f" on line {line}" if pos >= 0 else ""
    shown = start if len(start) <= 60 else start[:59] + "…"
    return (
        f"a double quote opened{where} is never closed (the field starts {shown!r}); "
        "a stray quote makes the rest of the file one cell"
    )


def load_csv(source: Source, *, file: str) -> Grid:
    """UTF-8 CSV (with or without BOM; ',', ';', tab or '|' separated) to a string grid."""
    check_utf8_text(source, file=file, decode=False)
    separator = _detect_separator(source)
    head = _polars_csv(source, file=file, separator=separator, n_rows=1)
    width = head.width
    if width == 0 or head.height == 0:
        raise UnreadableFileError(file, "the file holds no rows")
    # One column more than the header: a non-empty cell there means the row is longer than the
    # header, which polars would otherwise truncate without a word.
    names = [f"c{i}" for i in range(width + 1)]
    grid = _polars_csv(
        source,
        file=file,
        separator=separator,
        schema=dict.fromkeys(names, pl.String()),
        missing_columns="insert",
    )
    extra = names[-1]
    problems = []
    if grid[extra].null_count() < grid.height:
        ragged = (
            grid.with_row_index("i")
            .filter(pl.col(extra).is_not_null())
            .select(
                pl.lit(file).alias("file"),
                (pl.col("i").cast(pl.Int64) + 1).alias("row"),
                pl.lit("(beyond the last header)").alias("column"),
                pl.col(extra).alias("value"),
                pl.lit(
                    f"the row has more cells than the header's {width} columns; cells are misaligned"
                ).alias("reason"),
                pl.lit("error").alias("severity"),
            )
        )
        problems.append(ragged)
    grid = grid.drop(extra)
    out = Grid(grid, first_row=1, problems=problems)
    if separator != ",":
        out.notes.append(f"separator detected: {separator!r}")
    return out


_SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_REL_ENTRY = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_FIRST_CELL = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="[A-Z]{1,3}(\d{1,7})"[^>]*?(?<!/)>\s*<(?:\w+:)?(?:v|is|f)\b'
)


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {k.split(b":")[-1] if k != b"r:id" else k: v for k, v in _ATTR.findall(tag)}


def _sheet_part(archive: Any, sheet_index: int) -> str | None:
    """The archive path of the n-th sheet, following workbook.xml and its relationships."""
    workbook = archive.read("xl/workbook.xml")
    sheets = [_attrs(m) for m in _SHEET_ENTRY.findall(workbook)]
    if sheet_index >= len(sheets):
        return None
    rel_id = next((v for k, v in sheets[sheet_index].items() if k.endswith(b"id") and k != b"sheetId"), None)
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    for tag in _REL_ENTRY.findall(rels):
        attrs = _attrs(tag)
        if attrs.get(b"Id") == rel_id:
            target = attrs.get(b"Target", b"").decode("utf-8", "replace")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _first_cell_row(source: Source, sheet_index: int, *, file: str) -> int | None:
    """The spreadsheet row of the first non-empty cell (where calamine's data range starts)."""
    try:
        return _scan_first_cell_row(source, sheet_index)
    except Exception as exc:  # the archive passed the checks, but a part may still be corrupt
        raise UnreadableFileError(file, f"corrupt XLSX archive: {exc}".splitlines()[0]) from None


def _scan_first_cell_row(source: Source, sheet_index: int) -> int | None:
    import zipfile

    with zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source)) as archive:
        part = _sheet_part(archive, sheet_index)
        if part is None or part not in archive.namelist():
            return None
        with archive.open(part) as stream:
            buffer = b""
            while chunk := stream.read(MIB):
                buffer = buffer[-4096:] + chunk
                if m := _FIRST_CELL.search(buffer):
                    return int(m[1])
    return None


def load_xlsx(
    source: Source, *, file: str, sheet: str | None, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Grid:
    """First (or named) sheet of an XLSX workbook to a string grid, after the archive checks."""
    import fastexcel

    check_xlsx_archive(source, file=file, limits=limits)
    try:
        reader = fastexcel.read_excel(str(source) if isinstance(source, Path) else source)
        names = list(reader.sheet_names)
        if not names:
            raise UnreadableFileError(file, "the workbook has no sheets")
        if sheet is not None and sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise UnreadableFileError(file, f"sheet {sheet!r} not found; the workbook has {listed}")
        index = names.index(sheet) if sheet is not None else 0
        loaded = reader.load_sheet(index, header_row=None, dtypes="string")
        batch, errors = loaded.to_arrow_with_errors()
        frame = pl.from_arrow(batch)
        if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a RecordBatch gives a frame
            raise UnreadableFileError(file, "the sheet did not load as a table")
    except UnreadableFileError:
        raise
    except BaseException as exc:  # fastexcel/calamine raise their own and OS errors on corrupt parts
        if not isinstance(exc, Exception) and not is_parser_panic(exc):
            raise
        raise UnreadableFileError(file, f"the workbook cannot be read: {exc}".splitlines()[0]) from None
    if frame.height == 0 or frame.width == 0:
        raise UnreadableFileError(file, f"sheet {names[index]!r} is empty")
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
    frame = frame.with_columns(pl.all().cast(pl.String))
    first = _first_cell_row(source, index, file=file)
    grid = Grid(frame, first_row=first or 1)
    for error in errors.errors if errors is not None else []:
        row, col = error.position
        grid.cell_errors.append((int(row), int(col), _excel_error_text(str(error.detail))))
    if first is None:
        grid.notes.append("row numbers assume the sheet's data starts on row 1 (no cell references found)")
    if len(names) > 1:
        grid.notes.append(f"read sheet {names[index]!r} of {len(names)} ({', '.join(names)})")
    return grid


_EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Value": "#VALUE!",
    "Ref": "#REF!",
    "Name": "#NAME?",
    "Num": "#NUM!",
    "Null": "#NULL!",
    "GettingData": "#GETTING_DATA",
}


def _excel_error_text(detail: str) -> str:
    """'#DIV/0!' from fastexcel's "Expected string but got 'Error(Div0)'"."""
    match = re.search(r"Error\((\w+)\)", detail)
    if match:
        return _EXCEL_ERRORS.get(match[1], f"#{match[1].upper()}")
    return detail


def _cell_error_problems(
    grid: Grid, header_index: int, headers: list[str | None], kind: str, file: str
) -> pl.DataFrame:
    mapping = resolve_header(headers, kind)
    by_position = {pos: name for name, pos in mapping.positions.items()}
    table = contract(kind)
    records = []
    for row, col, text in grid.cell_errors:
        name = by_position.get(col)
        if row <= header_index or name is None:
            continue
        records.append(
            {
                "file": file,
                "row": grid.first_row + row,
                "column": mapping.headers[name],
                "value": text,
                "reason": f"spreadsheet error cell {text}; read as empty",
                "severity": "error" if table.column(name).required else "warning",
            }
        )
    return pl.DataFrame(records, schema=REJECTS_SCHEMA)


def _parquet_cell_strings(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            exprs.append(col.cast(pl.List(pl.String)).list.join(";").alias(name))
        elif isinstance(dtype, pl.Struct):
            exprs.append(col.struct.json_encode().alias(name))
        elif dtype == pl.Binary:
            exprs.append(col.cast(pl.String, strict=False).alias(name))
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)


def load_parquet(source: Source, *, file: str) -> Grid:
    """A Parquet table to a string grid whose first row holds the column names."""
    check_parquet(source, file=file)
    try:
        frame = _parquet_cell_strings(
            pl.read_parquet(source if isinstance(source, Path) else io.BytesIO(source))
        )
    except BaseException as exc:  # polars/pyarrow raise many types on corrupt pages
        if not isinstance(exc, Exception) and not is_parser_panic(exc):
            raise
        raise UnreadableFileError(file, f"the Parquet file cannot be read: {exc}".splitlines()[0]) from None
    header = pl.DataFrame(
        [pl.Series(f"c{i}", [name], dtype=pl.String) for i, name in enumerate(frame.columns)]
    )
    body = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
    return Grid(pl.concat([header, body], how="vertical") if body.width else header, first_row=1)


# --- cleaning ------------------------------------------------------------------------------------


def _problem_frame(
    *,
    file: str,
    rows: pl.Series,
    column: str,
    values: pl.Series,
    reasons: pl.Series | str,
    severity: str,
    mask: pl.Series,
) -> pl.DataFrame:
    frame = pl.DataFrame({"row": rows, "value": values.cast(pl.String)})
    if isinstance(reasons, str):
        frame = frame.with_columns(pl.lit(reasons, dtype=pl.String).alias("reason"))
    else:
        frame = frame.with_columns(reasons.alias("reason"))
    return frame.filter(mask).select(
        pl.lit(file, dtype=pl.String).alias("file"),
        pl.col("row").cast(pl.Int64),
        pl.lit(column, dtype=pl.String).alias("column"),
        pl.col("value"),
        pl.col("reason"),
        pl.lit(severity, dtype=pl.String).alias("severity"),
    )


def _header_problem_frame(file: str, header_row: int, mapping: HeaderMapping) -> pl.DataFrame:
    records = [
        {
            "file": file,
            "row": header_row,
            "column": p.header or "(header)",
            "value": p.header,
            "reason": p.reason,
            "severity": "error" if p.fatal else "warning",
        }
        for p in mapping.problems
    ]
    return pl.DataFrame(records, schema=REJECTS_SCHEMA)


@dataclass
class _Cleaning:
    """The state of one table being cleaned: its rows, output columns, problems and error mask."""

    file: str
    rows: pl.Series
    columns: dict[str, pl.Series] = field(default_factory=dict)
    problems: list[pl.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: pl.Series | None = None

    def report(
        self,
        header: str,
        values: pl.Series,
        reasons: pl.Series | str,
        mask: pl.Series,
        *,
        severity: str,
    ) -> None:
        if not mask.any():
            return
        self.problems.append(
            _problem_frame(
                file=self.file,
                rows=self.rows,
                column=header,
                values=values,
                reasons=reasons,
                severity=severity,
                mask=mask,
            )
        )
        if severity == "error":
            self.error = mask if self.error is None else (self.error | mask)

    def report_items(self, header: str, problems: pl.DataFrame, *, severity: str) -> None:
        if problems.height == 0:
            return
        frame = problems.select(
            pl.lit(self.file, dtype=pl.String).alias("file"),
            pl.col("pos").map_batches(lambda p: self.rows.gather(p), return_dtype=pl.Int64).alias("row"),
            pl.lit(header, dtype=pl.String).alias("column"),
            pl.col("item").alias("value"),
            pl.col("reason"),
            pl.lit(severity, dtype=pl.String).alias("severity"),
        )
        self.problems.append(frame)


def _null_series(name: str, n: int, dtype: pl.DataType) -> pl.Series:
    return cells.nulls(name, n, dtype)


def _clean_column(state: _Cleaning, col: Column, raw: pl.Series, header: str, present: bool) -> None:
    n = raw.len()
    severity = "error" if col.required else "warning"
    if col.required and present:
        state.report(header, raw, "required value is empty", raw.is_null(), severity="error")
    kind = col.type
    if kind in ("id", "text"):
        state.columns[col.name] = raw
        formula = cells.formula_like(raw)
        state.report(
            header,
            raw,
            "starts with '=' like a spreadsheet formula; kept as text (outputs escape it)",
            formula,
            severity="warning",
        )
        return
    if kind == "country":
        cleaned = cells.clean_country(raw) if present else cells.Cleaned(raw, raw)
        state.columns[col.name] = cleaned.values.cast(pl.String)
        state.columns[f"{col.name}_raw"] = raw
    elif kind == "hs":
        cleaned = cells.clean_hs(raw) if present else cells.Cleaned(raw, raw)
        state.columns[col.name] = cleaned.values.cast(pl.String)
        state.columns["hs_level"] = cells.hs_level(cleaned.values.cast(pl.String))
    elif kind == "date":
        cleaned = (
            cells.clean_date(raw) if present else cells.Cleaned(_null_series(col.name, n, pl.Date()), raw)
        )
        if cleaned.note:
            state.notes.append(cleaned.note.replace(repr(col.name), repr(header), 1))
        state.columns[col.name] = cleaned.values
    elif kind == "float":
        cleaned = (
            cells.clean_float(raw) if present else cells.Cleaned(_null_series(col.name, n, pl.Float64()), raw)
        )
        if cleaned.note:
            state.notes.append(cleaned.note.replace(repr(col.name), repr(header), 1))
        state.columns[col.name] = cleaned.values
    elif kind == "int":
        minimum = 1 if col.name == "tier" else 0
        cleaned = (
            cells.clean_int(raw, minimum=minimum)
            if present
            else cells.Cleaned(_null_series(col.name, n, pl.Int64()), raw)
        )
        state.columns[col.name] = cleaned.values
    elif kind == "bool":
        cleaned = (
            cells.clean_bool(raw) if present else cells.Cleaned(_null_series(col.name, n, pl.Boolean()), raw)
        )
        state.columns[col.name] = cleaned.values
    elif kind in ("hs_list", "text_list", "ilo_list"):
        name = {"hs_list": "hs_codes", "ilo_list": "ilo_indicators"}.get(kind, col.name)
        inner: pl.DataType = pl.Int8() if kind == "ilo_list" else pl.String()
        if not present:
            state.columns[name] = _null_series(name, n, pl.List(inner))
            return
        listed = {
            "hs_list": cells.clean_hs_list,
            "text_list": cells.clean_text_list,
            "ilo_list": cells.clean_ilo_list,
        }[kind](raw)
        state.columns[name] = listed.values.alias(name)
        state.report_items(header, listed.problems, severity="warning")
        return
    else:  # pragma: no cover - the CellType literal is exhaustive
        msg = f"unknown cell type {kind!r}"
        raise AssertionError(msg)
    if present:
        bad = cleaned.reason.is_not_null()
        state.report(header, raw, cleaned.reason, bad, severity=severity)


def _later_duplicates(rows: pl.Series, keys: pl.DataFrame, what: str) -> tuple[pl.Series, pl.Series]:
    """Rows whose key already appeared on an earlier row, and a reason naming that first row."""
    # Distinct hashes prove distinct keys, and hashing is several times faster than n_unique.
    if keys.hash_rows().n_unique() == keys.height:
        return pl.repeat(False, rows.len(), eager=True), cells.nulls("reason", rows.len(), pl.String())
    duplicated = keys.is_duplicated()
    frame = keys.with_columns(rows.alias("__row"))
    cols = keys.columns
    first = frame.filter(duplicated).group_by(cols).agg(pl.col("__row").min().alias("__first"))
    joined = frame.join(first, on=cols, how="left", maintain_order="left", nulls_equal=True)
    later = (joined["__row"] != joined["__first"]).fill_null(False)
    reasons = joined.select(pl.format(what + " (first used on row {})", pl.col("__first")))
    return later, reasons.to_series()


def _check_suppliers(state: _Cleaning, mapping: HeaderMapping) -> None:
    ids = state.columns["id"]
    rows_text = state.rows.cast(pl.String)
    if "id" not in mapping.positions:
        state.columns["id"] = rows_text.alias("id")
        return
    state.columns["id"] = ids.fill_null(rows_text).alias("id")
    ids = state.columns["id"]
    header = mapping.headers["id"]
    dup, reasons = _later_duplicates(state.rows, pl.DataFrame({"id": ids}), "duplicate id")
    state.report(header, ids, reasons, dup, severity="error")
    parents = state.columns.get("parent_id")
    if parents is not None and "parent_id" in mapping.positions:
        unknown = parents.is_not_null() & ~parents.is_in(ids.implode())
        selfref = (parents == ids).fill_null(False)
        p_header = mapping.headers["parent_id"]
        state.report(
            p_header, parents, "parent id matches no supplier id in this file", unknown, severity="warning"
        )
        state.report(p_header, parents, "a supplier cannot be its own parent", selfref, severity="warning")
        state.columns["parent_id"] = parents.set(unknown | selfref, None)


def _check_audits(state: _Cleaning, mapping: HeaderMapping, header_row: int) -> None:
    n = state.rows.len()
    indicators = state.columns["ilo_indicators"]
    clause = state.columns["clause"]
    scheme = state.columns["scheme"]
    has_indicator = (indicators.list.len() > 0).fill_null(False)
    source = cells.nulls("ilo_source", n, pl.String()).set(has_indicator, "indicator")
    if "clause" in mapping.positions:
        use_clause = ~has_indicator & clause.is_not_null()
        if use_clause.any():
            from_clause = cells.clauses_to_indicators(clause, scheme)
            mapped = use_clause & (from_clause.indicators.list.len() > 0).fill_null(False)
            indicators = indicators.zip_with(~use_clause, from_clause.indicators)
            source = source.set(mapped, "clause")
            unmapped = use_clause & ~mapped
            if unmapped.any():
                # Most scheme clauses (fire safety, living wage) are simply not forced-labour
                # clauses: a note, not a problem. Their count and examples are shown.
                examples = clause.filter(unmapped).unique(maintain_order=True).head(5).to_list()
                state.notes.append(
                    f"{int(unmapped.sum()):,} finding(s) cite a clause that maps to no ILO forced-labour "
                    f"indicator in the clause table (e.g. {', '.join(repr(e) for e in examples)}); "
                    "they are kept without indicator evidence"
                )
            if from_clause.unknown_schemes:
                listed = ", ".join(repr(s) for s in from_clause.unknown_schemes[:5])
                state.notes.append(
                    f"scheme name(s) not in the clause table ({listed}); their clauses were read by "
                    "their shape (PA11 = BSCI, A1 = RBA, 10A = SMETA)"
                )
    empty = pl.Series([[]], dtype=pl.List(pl.Int8()))
    state.columns["ilo_indicators"] = indicators.fill_null(empty.first()).alias("ilo_indicators")
    state.columns["ilo_source"] = source
    findings = state.columns["finding_id"]
    if "ilo_indicator" in mapping.positions or "clause" in mapping.positions:
        raw_indicator = state.columns.get("_ilo_raw")
        no_indicator = (
            raw_indicator.is_null() if raw_indicator is not None else pl.repeat(True, n, eager=True)
        )
        # A row with no finding id, indicator or clause is an audit that found nothing: fine.
        neither = clause.is_null() & no_indicator & findings.is_not_null()
        header = mapping.headers.get("ilo_indicator") or mapping.headers["clause"]
        state.report(
            header,
            clause,
            "the finding has neither an ILO indicator nor a clause, so it evidences no indicator",
            neither,
            severity="warning",
        )
    ids = state.columns["audit_id"]
    if "finding_id" in mapping.positions:
        keys = pl.DataFrame({"a": ids, "f": findings})
        dup, reasons = _later_duplicates(state.rows, keys, "duplicate finding id within this audit")
        dup = dup & findings.is_not_null()
        state.report(mapping.headers["finding_id"], findings, reasons, dup, severity="error")


def clean_grid(grid: Grid, kind: Kind | str, *, file: str, strict: bool = True) -> ReadResult:
    """Find the header row of a string grid, then clean it (see ``clean_table``)."""
    table = contract(kind)
    cells_frame = grid.cells
    search = min(HEADER_SEARCH_ROWS, cells_frame.height)
    header_index: int | None = None
    for i in range(search):
        candidate = resolve_header(list(cells_frame.row(i)), kind)
        if not any(p.fatal and p.position == -1 for p in candidate.problems):
            header_index = i
            break
    notes = list(grid.notes)
    if (
        header_index is None
        and search
        and grid.first_row > 1
        and not resolve_header(list(cells_frame.row(0)), kind).positions
    ):
        # No header anywhere, and the grid starts below an empty row 1 (XLSX loaders drop leading
        # empty rows). The header is then row 1, as in any other file; the first non-empty row
        # holds no contract column, so it is data, not a header that would swallow it unreported.
        headers: list[str | None] = [None] * cells_frame.width
        body = cells_frame
        header_index = -1
        header_row = 1
        first_data_row = grid.first_row
        notes.append(
            f"no header found; row 1 is empty and is read as the header, rows from {first_data_row} on as data"
        )
    else:
        header_index = header_index or 0
        headers = [None if v is None else str(v) for v in cells_frame.row(header_index)] if search else []
        body = cells_frame.slice(header_index + 1)
        header_row = grid.first_row + header_index
        first_data_row = header_row + 1
        if header_index:
            notes.append(
                f"header found on row {header_row}; rows {grid.first_row}-{header_row - 1} above it skipped"
            )
    return _clean(
        headers,
        body,
        first_row=first_data_row,
        header_row=header_row,
        kind=table.kind,
        file=file,
        strict=strict,
        extra_problems=[
            *(p.filter(pl.col("row") > header_row) for p in grid.problems),
            _cell_error_problems(grid, header_index, headers, table.kind, file),
        ],
        notes=notes,
    )


def clean_table(raw: pl.DataFrame, kind: Kind | str, *, file: str, strict: bool = True) -> ReadResult:
    """Map a raw all-String table (the file's own headers) onto the contract of ``kind``.

    Returns the canonical frame (``row`` first, then the contract columns, typed as in
    ``docs/INPUTS.md``) and the rejects. With ``strict`` (the default) a header that makes the file
    unusable (a required column missing, two columns claiming the same field) raises
    ``InputSchemaError``; without it those problems are reported in the rejects instead.
    """
    body = raw.select([pl.col(c).cast(pl.String).alias(f"c{i}") for i, c in enumerate(raw.columns)])
    return _clean(list(raw.columns), body, first_row=2, header_row=1, kind=kind, file=file, strict=strict)


def _clean(
    headers: list[str | None],
    body: pl.DataFrame,
    *,
    first_row: int,
    header_row: int,
    kind: Kind | str,
    file: str,
    strict: bool,
    extra_problems: list[pl.DataFrame] | None = None,
    notes: list[str] | None = None,
) -> ReadResult:
    table = contract(kind)
    mapping = resolve_header(headers, table.kind)
    notes = list(notes or [])
    for position, header in mapping.ignored:
        notes.append(
            f"column {header!r} (position {position + 1}) is not part of the {table.kind} contract; ignored"
        )
    for position, cell in enumerate(headers):
        if not header_key(cell) and position < body.width and body[f"c{position}"].null_count() < body.height:
            filled = body.height - body[f"c{position}"].null_count()
            notes.append(f"column {position + 1} has no header but holds {filled:,} value(s); ignored")
    body = body.with_columns(pl.int_range(first_row, first_row + body.height, dtype=pl.Int64).alias("__row"))
    # Mapped columns are stripped once here; a row is blank when every mapped cell is empty and
    # every other cell is empty or whitespace (checked only on those few candidate rows).
    raws = {name: cells.strip_cells(body[f"c{pos}"]).alias(name) for name, pos in mapping.positions.items()}
    if body.height:
        blank = pl.repeat(True, body.height, eager=True)
        for raw in raws.values():
            blank = blank & raw.is_null()
        flagged = [p.filter(pl.col("severity") == "error")["row"] for p in extra_problems or [] if p.height]
        if flagged:
            # A row whose only content lies beyond the header is not blank: it is misaligned.
            blank = blank & ~body["__row"].is_in(pl.concat(flagged).implode())
        others = [f"c{i}" for i in range(body.width - 1) if i not in set(mapping.positions.values())]
        if blank.any() and others:
            candidates = body.filter(blank)
            empty_others = candidates.select(
                pl.all_horizontal([pl.col(c).str.strip_chars().fill_null("") == "" for c in others])
            ).to_series()
            blank_rows = candidates["__row"].filter(empty_others)
            blank = blank & body["__row"].is_in(blank_rows.implode())
        n_blank = int(blank.sum())
        if n_blank:
            keep_rows = ~blank
            body = body.filter(keep_rows)
            raws = {name: raw.filter(keep_rows) for name, raw in raws.items()}
            notes.append(f"{n_blank} blank row(s) skipped")
    header_problems = _header_problem_frame(file, header_row, mapping)
    if (
        table.kind == "audits"
        and "ilo_indicator" not in mapping.positions
        and "clause" not in mapping.positions
    ):
        header_problems = pl.concat(
            [
                header_problems,
                pl.DataFrame(
                    [
                        {
                            "file": file,
                            "row": header_row,
                            "column": "(header)",
                            "value": "",
                            "reason": "audit findings need an 'ilo_indicator' or a 'clause' column",
                            "severity": "error",
                        }
                    ],
                    schema=REJECTS_SCHEMA,
                ),
            ]
        )
    no_rows = body.height == 0
    if no_rows:
        header_problems = pl.concat(
            [
                header_problems,
                pl.DataFrame(
                    [
                        {
                            "file": file,
                            "row": header_row,
                            "column": "(file)",
                            "value": "",
                            "reason": "the file has a header but no data rows",
                            "severity": "error",
                        }
                    ],
                    schema=REJECTS_SCHEMA,
                ),
            ]
        )
    fatal = header_problems.filter(pl.col("severity") == "error")
    if strict and fatal.height:
        reasons = "; ".join(
            f"column {c!r}: {r}" if c not in ("(header)", "(file)", "") else r
            for c, r in zip(fatal["column"], fatal["reason"], strict=True)
        )
        raise InputSchemaError(reasons, path=file, row=header_row)
    rows = body["__row"]
    state = _Cleaning(file=file, rows=rows, notes=notes)
    state.problems.append(header_problems)
    state.problems.extend(extra_problems or [])
    for col in table.columns:
        pos = mapping.positions.get(col.name)
        present = pos is not None
        raw = raws[col.name] if pos is not None else _null_series(col.name, body.height, pl.String())
        if col.name == "ilo_indicator":
            state.columns["_ilo_raw"] = raw
        _clean_column(state, col, raw, mapping.headers.get(col.name, col.name), present)
    if table.kind == "suppliers":
        _check_suppliers(state, mapping)
    elif table.kind == "audits":
        _check_audits(state, mapping, header_row)
    state.columns.pop("_ilo_raw", None)
    frame = conform_frame(pl.DataFrame({"row": rows, **state.columns}), table.kind)
    extra_error_rows = [
        p.filter(pl.col("severity") == "error")["row"] for p in extra_problems or [] if p.height
    ]
    keep = ~state.error if state.error is not None else pl.repeat(True, body.height, eager=True)
    if extra_error_rows:
        keep = keep & ~rows.is_in(pl.concat(extra_error_rows).implode())
    if not keep.all():
        frame = frame.filter(keep)
    rejects = pl.concat(
        [p.select(list(REJECTS_SCHEMA)).cast(pl.Schema(REJECTS_SCHEMA)) for p in state.problems],
        how="vertical",
    )
    rejects = rejects.sort("row", maintain_order=True, nulls_last=False)
    return ReadResult(frame, rejects, file, table.kind, int(body.height), tuple(state.notes))


def conform_frame(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``frame`` with exactly the canonical columns of ``kind``, in order; missing ones null."""
    schema = frame_schema(kind)
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


# --- entry points --------------------------------------------------------------------------------


def _looks_like_table(text_head: str, kind: str) -> bool:
    first = next((line for line in text_head.splitlines() if line.strip()), "")
    for sep in _SEPARATORS:
        mapping = resolve_header(first.split(sep), kind)
        if mapping.positions:
            return True
    return False


def _read_enforcement_text(source: Source, *, file: str) -> ReadResult:
    from risk_engine.io.uflpa import parse_uflpa_lines

    check_utf8_text(source, file=file)
    data = source.read_bytes() if isinstance(source, Path) else source
    text = data.decode("utf-8-sig")
    frame, rejects = parse_uflpa_lines(text, file=file)
    frame = conform_frame(frame, "enforcement")
    rejects = rejects.select(list(REJECTS_SCHEMA)).cast(pl.Schema(REJECTS_SCHEMA))
    if frame.height == 0 and rejects.height == 0:
        raise UnreadableFileError(file, "the text holds no UFLPA entries")
    rows_read = frame.height + rejects.filter(pl.col("severity") == "error")["row"].n_unique()
    return ReadResult(frame, rejects, file, "enforcement", rows_read, ("read as UFLPA Entity List text",))


def read_source(
    source: Source,
    *,
    file: str,
    kind: Kind | str,
    sheet: str | None = None,
    strict: bool = True,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> ReadResult:
    """Read one input from a path (streamed) or bytes: sniff, check, load and clean.

    ``file`` names the input in every message; ``strict=False`` reports unusable headers in the
    rejects instead of raising (``validate`` uses it to list everything at once).
    """
    table = contract(kind)
    extension = Path(file).suffix.lower()
    head = read_head(source, 65536)
    fmt = sniff_format(head[:8192], file=file, extension=extension)
    if fmt == "xlsx":
        grid = load_xlsx(source, file=file, sheet=sheet, limits=limits)
    elif fmt == "parquet":
        grid = load_parquet(source, file=file)
    else:
        if table.kind == "enforcement":
            text_head = head.decode("utf-8", errors="replace")
            if extension in _TEXT_EXTENSIONS or not _looks_like_table(text_head, table.kind):
                return _read_enforcement_text(source, file=file)
        grid = load_csv(source, file=file)
    if sheet is not None and fmt != "xlsx":
        grid.notes.append(f"--sheet {sheet!r} ignored: the file is {fmt.upper()}, not a workbook")
    return clean_grid(grid, table.kind, file=file, strict=strict)


def read_bytes(
    data: bytes,
    *,
    file: str,
    kind: Kind | str,
    sheet: str | None = None,
    strict: bool = True,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> ReadResult:
    """Read one input held in memory (see ``read_source``)."""
    return read_source(bytes(data), file=file, kind=kind, sheet=sheet, strict=strict, limits=limits)


def check_file(path: Path, max_bytes: int) -> Path:
    """Refuse a path that is missing, not a regular file, unreadable or larger than ``max_bytes``."""
    file = str(path)
    try:
        if path.is_dir():
            raise UnreadableFileError(file, "is a directory, not a file")
        if path.exists() and not path.is_file():
            raise UnreadableFileError(file, "is not a regular file (device, pipe or socket)")
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise UnreadableFileError(file, "no such file") from None
    except PermissionError:
        raise UnreadableFileError(file, "permission denied") from None
    except OSError as exc:
        raise UnreadableFileError(file, f"cannot be read: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise UnreadableFileError(
            file, f"the file is {size / MIB:,.0f} MiB (limit {max_bytes / MIB:,.0f} MiB)"
        )
    return path


def read_table(
    path: Path, kind: Kind | str, *, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ReadResult:
    """Read a CSV, XLSX or Parquet file (and for enforcement, UFLPA list text) of one input kind.

    Raises ``UnreadableFileError`` for files that cannot be read safely and ``InputSchemaError``
    when the header does not fit the contract; row-level problems go to ``ReadResult.rejects``.
    """
    contract(kind)
    path = check_file(Path(path), max_bytes)
    return read_source(path, file=str(path), kind=kind, sheet=sheet)


def read_upload(
    data: bytes,
    filename: str,
    kind: Kind | str,
    *,
    sheet: str | None = None,
    max_bytes: int = UPLOAD_MAX_BYTES,
) -> ReadResult:
    """Read an uploaded file from memory with the same checks as ``read_table``, plus a size cap."""
    contract(kind)
    name = Path(filename or "upload").name or "upload"
    if len(data) > max_bytes:
        raise UnreadableFileError(
            name, f"the upload is {len(data) / MIB:,.1f} MiB (limit {max_bytes / MIB:,.1f} MiB)"
        )
    return read_bytes(bytes(data), file=name, kind=kind, sheet=sheet)
