import csv
import zipfile
from pathlib import Path

import polars as pl
import pytest

from risk_engine.io.writers import escape_formula, escape_formula_columns, write_csv, write_xlsx

PAYLOADS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_are_escaped(payload: str) -> None:
    assert escape_formula(payload) == "'" + payload


@pytest.mark.parametrize("value", ["ACME Ltd", "", "a=b", "1-2", None])
def test_ordinary_text_is_untouched(value: str | None) -> None:
    assert escape_formula(value) == value


def test_escape_columns_touches_only_text_columns() -> None:
    frame = pl.DataFrame({"name": PAYLOADS, "score": [-0.5] * len(PAYLOADS)})
    out = escape_formula_columns(frame)
    assert out["name"].to_list() == ["'" + p for p in PAYLOADS]
    assert out["score"].to_list() == [-0.5] * len(PAYLOADS)


def test_csv_export_has_no_cell_starting_like_a_formula(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"name": PAYLOADS, "paths": [[{"p": ["=a"]}]] * len(PAYLOADS), "score": [-1.0] * len(PAYLOADS)}
    )
    path = tmp_path / "x.csv"
    write_csv(frame, path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["name", "paths", "score"]
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[1] == '[{"p": ["=a"]}]'
        assert row[2] == "-1.0"


def _sheet_xml(path: Path, n: int) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(f"xl/worksheets/sheet{n}.xml").decode()


def test_xlsx_writes_payloads_as_text_with_frozen_header_and_filter(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"name": PAYLOADS[:4], "band": ["low", "medium", "high", "critical"], "score": [0.0, 0.1, 0.3, 0.9]}
    )
    path = tmp_path / "x.xlsx"
    write_xlsx(frame, path, notes=[("Bands", "low < 0.10")])
    xml = _sheet_xml(path, 1)
    assert "<f>" not in xml  # no formula cell anywhere
    assert "=HYPERLINK" in xml and "@SUM(A1)" in xml
    assert '<pane ySplit="1"' in xml
    assert "<autoFilter" in xml
    assert "conditionalFormatting" in xml
    assert "low &lt; 0.10" in _sheet_xml(path, 2)
    with zipfile.ZipFile(path) as zf:
        assert 'name="How to read"' in zf.read("xl/workbook.xml").decode()


def test_xlsx_reads_back_with_fastexcel(tmp_path: Path) -> None:
    import fastexcel

    frame = pl.DataFrame({"name": ["=1+1", "b"], "n": [1, 2], "lst": [["a"], []]})
    path = tmp_path / "y.xlsx"
    write_xlsx(frame, path, band_column=None)
    back = fastexcel.read_excel(str(path)).load_sheet(0).to_polars()
    assert back["name"].to_list() == ["=1+1", "b"]
    assert back["lst"].to_list() == ['["a"]', "[]"]
