"""End-to-end batch runs on small hand-made inputs: integrity, resume, locking, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from risk_engine.errors import InputError, RunError
from risk_engine.io.run import OUTPUT_FILES, run_screen

pytestmark = pytest.mark.slow

SUPPLIERS = """id,name,country,hs_code,buyer,parent_id,tier
S1,Dhaka Knit Ltd,Bangladesh,6109,Acme Retail,,1
S2,Acme Textiles Pvt. Ltd.,India,5208,Acme Retail,S1,2
S3,Quiet Cocoa Farm,Cote d'Ivoire,1801,Beta Foods,,1
S4,=HYPERLINK("http://evil"),Vietnam,6403,Beta Foods,,1
S5,Bad Country Co,Atlantis,6109,Acme Retail,,1
"""
TRADE = """shipment_id,date,shipper_name,shipper_country,shipper_address,consignee_name,consignee_country,hs_code,value_usd,weight_kg
B1,2025-01-10,Xinjiang Cotton Co. Ltd,CN,"Aksu, Xinjiang",ACME TEXTILES PVT LTD,IN,520100,1000,500
B2,2025-03-10,Xinjiang Cotton Co. Ltd,CN,"Aksu, Xinjiang",ACME TEXTILES PVT LTD,IN,520100,1200,600
B3,2025-05-10,Xinjiang Cotton Co. Ltd,CN,"Aksu, Xinjiang",ACME TEXTILES PVT LTD,IN,520100,1100,550
B4,2025-02-01,Acme Textiles Pvt Ltd,IN,,Dhaka Knit Limited,BD,520800,5000,900
B5,2025-04-01,Acme Textiles Pvt Ltd,IN,,Dhaka Knit Limited,BD,520800,5000,900
B6,2025-06-01,Dhaka Knit Ltd,BD,,Acme Retail Inc,US,610910,9000,800
"""
AUDITS = """audit_id,facility_name,facility_country,audit_date,scheme,finding_id,ilo_indicator,grade,scope,status
A1,Acme Textiles Pvt Ltd,IN,2025-02-15,SMETA,F1,7,major,systemic,open
A1,Acme Textiles Pvt Ltd,IN,2025-02-15,SMETA,F2,11,minor,isolated,closed
"""
ENFORCEMENT = """name,country,list,listed_date
XINJIANG COTTON CO LTD,CN,UFLPA Entity List,2024-01-01
"""


def write_inputs(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    files = {"suppliers": SUPPLIERS, "trade": TRADE, "audits": AUDITS, "enforcement": ENFORCEMENT}
    out = {}
    for kind, text in files.items():
        path = root / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        out[kind] = path
    return out


def cli_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "risk_engine.cli", "screen", "--out", str(out)]
    for kind, path in files.items():
        args += [f"--{kind}", str(path)]
    return args + list(extra)


def screen(files: dict[str, Path], out: Path, **kw: object) -> int:
    return run_screen(
        suppliers=files["suppliers"],
        trade=files.get("trade"),
        audits=files.get("audits"),
        enforcement=files.get("enforcement"),
        reference=None,
        decisions=None,
        methodology="fl-v1",
        out=out,
        engine=str(kw.get("engine", "local")),
        resume=bool(kw.get("resume", False)),
    )


TABLES = (
    "scores.parquet",
    "scores.csv",
    "matches.parquet",
    "edges.parquet",
    "entities.parquet",
    "explanations.parquet",
    "rejects.csv",
)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    root = tmp_path_factory.mktemp("ref")
    files = write_inputs(root / "in")
    assert screen(files, root / "out") == 0
    return files, root / "out"


def test_complete_run_writes_every_output_and_success_last(
    reference_run: tuple[dict[str, Path], Path],
) -> None:
    _, out = reference_run
    for name in (*OUTPUT_FILES, "manifest.json", "_SUCCESS"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "_SUCCESS").read_text().strip() == manifest["run_id"]
    assert manifest["inputs"]["suppliers"]["sha256"]
    assert manifest["counts"]["rows_rejected"] >= 1  # Atlantis is no country
    assert (out / "_SUCCESS").stat().st_mtime_ns >= max((out / n).stat().st_mtime_ns for n in OUTPUT_FILES)
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_scores_have_one_row_per_supplier_and_upstream_entity(
    reference_run: tuple[dict[str, Path], Path],
) -> None:
    _, out = reference_run
    scores = pl.read_parquet(out / "scores.parquet")
    suppliers = scores.filter(pl.col("role") == "supplier")
    assert sorted(suppliers["supplier_id"].to_list()) == ["S1", "S2", "S3", "S4"]
    upstream = scores.filter(pl.col("role") == "upstream")
    assert "Xinjiang Cotton Co. Ltd" in upstream["name"].to_list()
    assert scores["band"].is_in(["low", "medium", "high", "critical"]).all()


def test_csv_escapes_formula_payloads(reference_run: tuple[dict[str, Path], Path]) -> None:
    _, out = reference_run
    text = (out / "scores.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_rerun_of_same_inputs_does_no_work(
    reference_run: tuple[dict[str, Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files, out = reference_run
    before = {n: (out / n).stat().st_mtime_ns for n in OUTPUT_FILES}
    assert screen(files, out) == 0
    assert "already complete" in capsys.readouterr().out
    assert {n: (out / n).stat().st_mtime_ns for n in OUTPUT_FILES} == before


def test_fresh_rerun_gives_byte_identical_tables(
    reference_run: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    files, out = reference_run
    assert screen(files, tmp_path / "again") == 0
    for name in TABLES:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def _wait_for_stage(out: Path, stage: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            state = json.loads((out / ".run.json").read_text())
            if stage in state.get("stages", []):
                return
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.communicate()[1].decode()}")
        time.sleep(0.2)
    raise AssertionError(f"stage {stage} never completed")


@pytest.mark.parametrize("stage", ["resolve", "score", "write"])
def test_killed_run_resumes_to_the_same_result(
    reference_run: tuple[dict[str, Path], Path], tmp_path: Path, stage: str
) -> None:
    files, ref_out = reference_run
    out = tmp_path / "out"
    env = {**os.environ, "RISK_ENGINE_TEST_PAUSE_AFTER_STAGE": stage, "RISK_ENGINE_TEST_PAUSE_SECONDS": "120"}
    proc = subprocess.Popen(cli_args(files, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if stage == "write":
            deadline = time.time() + 120
            while not (out / "matches.parquet").exists() and time.time() < deadline and proc.poll() is None:
                time.sleep(0.2)
            time.sleep(0.3)
        else:
            _wait_for_stage(out, stage, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert not (out / "_SUCCESS").exists()  # a killed run never looks complete

    done = subprocess.run(cli_args(files, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if stage != "write":
        assert "resuming run" in done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    if stage == "resolve":
        assert manifest["resumed_stages"] == ["resolve"]
    for name in TABLES:
        assert (out / name).read_bytes() == (ref_out / name).read_bytes(), name


def test_second_writer_on_same_directory_is_refused(
    reference_run: tuple[dict[str, Path], Path], tmp_path: Path
) -> None:
    files, _ = reference_run
    out = tmp_path / "busy"
    env = {
        **os.environ,
        "RISK_ENGINE_TEST_PAUSE_AFTER_STAGE": "resolve",
        "RISK_ENGINE_TEST_PAUSE_SECONDS": "120",
    }
    proc = subprocess.Popen(cli_args(files, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_stage(out, "resolve", proc)
        with pytest.raises(RunError, match=f"in use by another risk-engine run \\(pid {proc.pid}"):
            screen(files, out)
        second = subprocess.run(cli_args(files, out), capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert "in use by another risk-engine run" in second.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)


def test_unreadable_input_stops_before_any_output(tmp_path: Path) -> None:
    files = write_inputs(tmp_path / "in")
    files["trade"].write_bytes(b"PK\x03\x04 not really a zip \x00\x01\x02")
    out = tmp_path / "out"
    with pytest.raises(InputError):
        screen(files, out)
    assert not out.exists()


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    files = write_inputs(tmp_path / "in")
    files["audits"] = tmp_path / "nope.csv"
    done = subprocess.run(cli_args(files, tmp_path / "out"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "nope.csv" in done.stderr and "does not exist" in done.stderr
    assert not (tmp_path / "out").exists()


def test_optional_inputs_may_be_missing_and_the_result_says_so(tmp_path: Path) -> None:
    files = write_inputs(tmp_path / "in")
    only = {"suppliers": files["suppliers"]}
    done = subprocess.run(cli_args(only, tmp_path / "out"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "No trade records" in done.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any("No audit findings" in m for m in manifest["missing"])
    assert "What this result lacks" in (tmp_path / "out" / "report.html").read_text()


def test_resume_after_inputs_changed_is_refused(tmp_path: Path) -> None:
    files = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    env = {
        **os.environ,
        "RISK_ENGINE_TEST_PAUSE_AFTER_STAGE": "resolve",
        "RISK_ENGINE_TEST_PAUSE_SECONDS": "120",
    }
    proc = subprocess.Popen(cli_args(files, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_stage(out, "resolve", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    files["suppliers"].write_text(SUPPLIERS + "S9,New Supplier,India,6109,Acme Retail,,1\n", encoding="utf-8")
    with pytest.raises(RunError, match="used other inputs"):
        screen(files, out, resume=True)
