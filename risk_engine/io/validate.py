"""``risk-engine validate``: read one input file and report every problem in it, all at once.

Validation reads exactly like a screen does (same sniffing, safety checks, header mapping and cell
cleaning) but never stops at the first problem and never writes anything: header problems, row
errors (the row would be rejected) and warnings (a bad optional cell would be nulled) are listed
together, each with file, row, column and value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from risk_engine.errors import InputError, InputSchemaError
from risk_engine.io.readers import DEFAULT_MAX_BYTES, ReadResult, check_file, empty_rejects, read_source
from risk_engine.io.safety import Source
from risk_engine.schemas import contract

_MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class ValidationReport:
    """What validating one file found: problems (rejects schema), notes, and row counts."""

    file: str
    kind: str
    rows_read: int
    rows_ok: int
    problems: pl.DataFrame
    notes: tuple[str, ...] = ()
    unreadable: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was readable and no problem (error or warning) was found."""
        return self.unreadable is None and self.problems.height == 0

    @property
    def errors(self) -> int:
        """Problems that reject a row or the file."""
        return int((self.problems["severity"] == "error").sum())

    @property
    def warnings(self) -> int:
        """Problems that null an optional cell or flag a value but keep the row."""
        return int((self.problems["severity"] == "warning").sum())

    def lines(self) -> list[str]:
        """One line per problem: ``file:row: column 'x' value 'v': reason (severity)``."""
        out = []
        for file, row, column, value, reason, severity in self.problems.iter_rows():
            where = f"{file}:{row}" if row is not None else str(file)
            out.append(f"{where}: column {column!r} value {_show(value)}: {reason} ({severity})")
        return out

    def render(self) -> str:
        """The full report as text: problems, notes, then one summary line."""
        parts: list[str] = []
        if self.unreadable is not None:
            parts.append(f"{self.file}: unreadable: {self.unreadable}")
        parts.extend(self.lines())
        parts.extend(f"{self.file}: note: {note}" for note in self.notes)
        parts.append(self.summary())
        return "\n".join(parts) + "\n"

    def summary(self) -> str:
        """The last line of the report."""
        if self.unreadable is not None:
            return f"{self.file}: {self.kind}: FAILED, the file could not be read"
        verdict = "OK" if self.ok else "PROBLEMS FOUND"
        return (
            f"{self.file}: {self.kind}: {verdict}: {self.rows_read:,} data rows read, "
            f"{self.rows_ok:,} usable, {self.rows_read - self.rows_ok:,} rejected; "
            f"{self.errors:,} errors, {self.warnings:,} warnings"
        )


def _show(value: object) -> str:
    if value is None:
        return "''"
    text = str(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return repr(text)  # repr escapes newlines and control characters: one problem, one line


def report_from_result(result: ReadResult) -> ValidationReport:
    """A validation report for an already-read file."""
    return ValidationReport(
        file=result.file,
        kind=result.kind,
        rows_read=result.rows_read,
        rows_ok=result.frame.height,
        problems=result.rejects,
        notes=result.notes,
    )


def validate_bytes(data: bytes, *, file: str, kind: str, sheet: str | None = None) -> ValidationReport:
    """Validate an in-memory file (as the API receives it)."""
    return _validate(bytes(data), file=file, kind=kind, sheet=sheet)


def _validate(source: Source, *, file: str, kind: str, sheet: str | None) -> ValidationReport:
    table = contract(kind)
    try:
        result = read_source(source, file=file, kind=table.kind, sheet=sheet, strict=False)
    except InputSchemaError as exc:
        problems = pl.DataFrame(
            [
                {
                    "file": file,
                    "row": exc.row,
                    "column": exc.column or "(file)",
                    "value": None if exc.value is None else str(exc.value),
                    "reason": str(exc),
                    "severity": "error",
                }
            ],
            schema=empty_rejects().schema,
        )
        return ValidationReport(file, table.kind, 0, 0, problems)
    except InputError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return ValidationReport(file, table.kind, 0, 0, empty_rejects(), unreadable=reason)
    return report_from_result(result)


def validate_file(
    path: Path, *, kind: str, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ValidationReport:
    """Validate one input file of ``kind``; never raises for bad input, never writes anything."""
    table = contract(kind)
    file = str(path)
    try:
        checked = check_file(Path(path), max_bytes)
    except InputError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return ValidationReport(file, table.kind, 0, 0, empty_rejects(), unreadable=reason)
    return _validate(checked, file=file, kind=table.kind, sheet=sheet)
