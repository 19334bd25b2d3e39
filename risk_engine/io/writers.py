"""Table writers: Parquet, CSV safe against formula injection, and XLSX for people.

CSV: a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is what a spreadsheet
program may execute as a formula (CSV/formula injection, OWASP); such cells are written with a leading
apostrophe. Only text columns are touched: a negative number in a numeric column stays a number.
XLSX: every text cell is written as a string, never as a formula, a number or a URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from risk_engine.io.artifacts import atomic_path, atomic_write_parquet

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"

BAND_COLOURS: dict[str, str] = {
    "low": "#d9f0d3",
    "medium": "#fff2b3",
    "high": "#fdc58f",
    "critical": "#f4a3a3",
}


def escape_formula(value: str | None) -> str | None:
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if value is not None and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def nested_to_json(frame: pl.DataFrame) -> pl.DataFrame:
    """Replace list and struct columns by their JSON text, for formats that hold only scalars."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Array | pl.Struct):
            exprs.append(
                pl.col(name)
                .map_elements(
                    lambda v: None if v is None else json.dumps(_plain(v), ensure_ascii=False),
                    return_dtype=pl.String,
                )
                .alias(name)
            )
    return frame.with_columns(exprs) if exprs else frame


def _plain(value: Any) -> Any:
    if isinstance(value, pl.Series):
        return [_plain(v) for v in value.to_list()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def escape_formula_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Escape every text cell that starts like a formula (see module docstring)."""
    exprs = [
        pl.when(pl.col(name).str.contains(_FORMULA_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    ]
    return frame.with_columns(exprs) if exprs else frame


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet, atomically."""
    atomic_write_parquet(frame, path)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """UTF-8 CSV with nested columns as JSON and formula-like cells escaped, atomically."""
    safe = escape_formula_columns(nested_to_json(frame))
    with atomic_path(path) as tmp:
        safe.write_csv(tmp)


def write_xlsx(
    frame: pl.DataFrame,
    path: Path,
    *,
    sheet: str = "Results",
    band_column: str | None = "band",
    notes: Sequence[tuple[str, str]] = (),
    notes_sheet: str = "How to read",
    column_widths: Mapping[str, int] | None = None,
) -> None:
    """A workbook for people: frozen header, filters, band colours, and a notes sheet.

    ``notes`` are (heading, text) pairs written on the second sheet. Text cells are always strings.
    """
    data = nested_to_json(frame)
    with atomic_path(path) as tmp:
        workbook = xlsxwriter.Workbook(
            str(tmp),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "constant_memory": True,
                "nan_inf_to_errors": True,
            },
        )
        # Constant-memory mode needs rows in order, which is how we write them.
        head = workbook.add_format({"bold": True, "bg_color": "#e8e8e8", "border": 1, "text_wrap": True})
        ws = workbook.add_worksheet(sheet)
        columns = data.columns
        widths = dict(column_widths or {})
        for j, name in enumerate(columns):
            ws.write_string(0, j, name, head)
            ws.set_column(j, j, widths.get(name, _default_width(name, data.schema[name])))
        # One writer per column, chosen once from the dtype (not per cell): text is always a string.
        kinds = []
        for dtype in data.schema.values():
            if dtype == pl.Boolean:
                kinds.append(ws.write_boolean)
            elif dtype.is_numeric():
                kinds.append(ws.write_number)
            else:
                kinds.append(None)
        nan_safe = data.with_columns(
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c)
            for c, t in data.schema.items()
            if t.is_float()
        )
        for i, row in enumerate(nan_safe.iter_rows(), start=1):
            for j, value in enumerate(row):
                if value is None:
                    continue
                writer = kinds[j]
                if writer is None:
                    ws.write_string(i, j, value if isinstance(value, str) else str(value))
                else:
                    writer(i, j, value)
        n = data.height
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(n, 1), len(columns) - 1)
        if band_column is not None and band_column in columns and n:
            col = columns.index(band_column)
            for band, colour in BAND_COLOURS.items():
                fmt = workbook.add_format({"bg_color": colour})
                ws.conditional_format(
                    1, col, n, col, {"type": "cell", "criteria": "==", "value": f'"{band}"', "format": fmt}
                )
        if notes:
            ns = workbook.add_worksheet(notes_sheet)
            bold = workbook.add_format({"bold": True, "valign": "top"})
            wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
            ns.set_column(0, 0, 28)
            ns.set_column(1, 1, 110)
            for i, (heading, text) in enumerate(notes):
                ns.write_string(i, 0, heading, bold)
                ns.write_string(i, 1, text, wrap)
        workbook.close()


def _default_width(name: str, dtype: pl.DataType) -> int:
    if dtype == pl.String:
        return max(12, min(40, len(name) + 4))
    return max(9, min(16, len(name) + 2))
