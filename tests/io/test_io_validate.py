import re
import shutil
from pathlib import Path

import pytest

from risk_engine.cli import main
from risk_engine.io.validate import validate_bytes, validate_file

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "fixtures" / "broken"
DEMO = ROOT / "fixtures" / "demo"

LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<row>\d+): column '(?P<column>[^']*)' value '(?P<value>[^']*)': .+ \((error|warning)\)$"
)

CELL_FIXTURES = {
    "suppliers_bad_cells.csv": ("suppliers", {(3, "Country/Region", "Narnia"), (5, "supplier_id", "S1")}),
    "trade_bad_cells.csv": ("trade", {(3, "arrival date", "31/02/2024"), (4, "shipper country", "Atlantis")}),
    "audits_bad_cells.csv": (
        "audits",
        {(4, "finding_id", "F2"), (5, "ilo_indicator", "99"), (6, "ilo_indicator", "")},
    ),
    "enforcement_bad_cells.csv": ("enforcement", {(3, "name", ""), (4, "subsidiaries", "maybe")}),
    "ragged.csv": ("suppliers", {(3, "(beyond the last header)", "India")}),
    "duplicate_headers.csv": ("suppliers", {(1, "Name", "Name")}),
    "header_only.csv": ("suppliers", {(1, "(file)", "")}),
}


@pytest.mark.parametrize("name", sorted(CELL_FIXTURES))
def test_cli_validate_names_row_column_and_value_and_exits_2(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kind, expected = CELL_FIXTURES[name]
    code = main(["validate", str(BROKEN / name), "--kind", kind])
    out = capsys.readouterr().out
    assert code == 2
    found = {(int(m["row"]), m["column"], m["value"]) for m in map(LINE.match, out.splitlines()) if m}
    assert expected <= found, out
    assert "PROBLEMS FOUND" in out.splitlines()[-1]


@pytest.mark.parametrize(
    "name",
    [
        "empty.csv",
        "latin1.csv",
        "utf16.csv",
        "garbage.bin",
        "not_zip.xlsx",
        "zip_bomb.xlsx",
        "xml_entity.xlsx",
        "unclosed_quote.csv",
    ],
)
def test_cli_validate_unreadable_files_exit_2_with_a_reason(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(BROKEN / name), "--kind", "suppliers"])
    out = capsys.readouterr().out
    assert code == 2
    assert f"{BROKEN / name}: unreadable: " in out
    assert "FAILED" in out.splitlines()[-1]


def test_every_problem_is_reported_at_once() -> None:
    report = validate_file(BROKEN / "suppliers_bad_cells.csv", kind="suppliers")
    assert not report.ok
    assert (report.errors, report.warnings) == (3, 4)
    assert len(report.lines()) == 7
    assert report.summary().endswith("6 data rows read, 3 usable, 3 rejected; 3 errors, 4 warnings")


def test_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("Supplier Name,Country\nAcme Textiles,China\n", encoding="utf-8")
    assert main(["validate", str(path), "--kind", "suppliers"]) == 0
    assert ": OK: 1 data rows read" in capsys.readouterr().out


def test_validate_writes_nothing(tmp_path: Path) -> None:
    for name in ("suppliers_bad_cells.csv", "zip_bomb.xlsx"):
        shutil.copy(BROKEN / name, tmp_path / name)
    before = sorted(p.name for p in tmp_path.iterdir())
    for name in before:
        validate_file(tmp_path / name, kind="suppliers")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    report = validate_file(tmp_path / "nope.csv", kind="trade")
    assert not report.ok and report.unreadable == "no such file"


def test_values_with_newlines_stay_on_one_report_line() -> None:
    report = validate_bytes(b'name,country\nAcme,"Nar\nnia"\n', file="f.csv", kind="suppliers")
    (line,) = report.lines()
    assert "'Nar\\nnia'" in line


DEMO_FILES = {
    "trade.csv": "trade",
    "audits.csv": "audits",
    "enforcement_uflpa.txt": "enforcement",
}


def _demo(name: str) -> Path:
    path = DEMO / name
    if not path.exists():
        pytest.skip(f"{path} not generated yet")
    return path


@pytest.mark.parametrize("name", sorted(DEMO_FILES))
def test_demo_fixtures_validate_clean(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(_demo(name)), "--kind", DEMO_FILES[name]])
    assert code == 0, capsys.readouterr().out


def test_demo_supplier_list_reports_exactly_its_planted_rejects() -> None:
    # The demo supplier list carries three rows a careful reader must reject (ground_truth.json);
    # validation must find those and nothing else.
    import json

    import polars as pl

    from risk_engine.io.readers import read_table

    path = _demo("suppliers.csv")
    truth = json.loads((DEMO / "ground_truth.json").read_text(encoding="utf-8"))
    planted = {r["supplier_id"] for r in truth["expected_rejects"] if r["file"] == "suppliers.csv"}
    report = validate_file(path, kind="suppliers")
    assert report.warnings == 0
    assert report.errors == len(planted) == report.rows_read - report.rows_ok
    raw = pl.read_csv(path, infer_schema=False).with_row_index("row", offset=2)
    rejected_ids = set(raw.filter(pl.col("row").is_in(report.problems["row"].implode()))["Supplier ID"])
    assert rejected_ids == planted
    assert len(read_table(path, "suppliers").frame) == report.rows_ok
