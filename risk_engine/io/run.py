"""The batch screening job on disk: read inputs, run ``pipeline.screen`` with checkpoints, write outputs.

``run_screen`` is what ``risk-engine screen`` calls; ``run_demo`` screens the bundled fixtures. Order
of work: every input is read and validated before anything is written (an unreadable input stops the
run with the reason and leaves the output directory untouched); then the output directory is locked,
the run id computed from the inputs' sha256, the parameters and the versions; a directory already
holding this run's complete result is left as it is; otherwise the stages run (or resume), the
outputs are written atomically, and ``_SUCCESS`` is written last.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from risk_engine.errors import InputError, InputSchemaError, RunError, UnreadableFileError
from risk_engine.io.artifacts import (
    OutputLock,
    RunDirectory,
    atomic_write_text,
    canonical_json,
    compute_run_id,
    sha256_file,
)
from risk_engine.io.writers import write_csv, write_parquet, write_xlsx
from risk_engine.pipeline import (
    BANDS,
    Engine,
    InputInfo,
    ScreenInputs,
    ScreenResult,
    collect_versions,
    empty_rejects,
    evaluation_date,
    screen,
)

# Every file a complete output directory holds (besides manifest.json and _SUCCESS).
OUTPUT_FILES = (
    "scores.parquet",
    "scores.csv",
    "scores.xlsx",
    "matches.parquet",
    "edges.parquet",
    "entities.parquet",
    "explanations.parquet",
    "rejects.csv",
    "report.html",
    # scoring inputs besides the edges (``risk_engine.api.rescoring`` re-scores one entity from them)
    "graph_nodes.parquet",
    "audit_findings.parquet",
    "enforcement_hits.parquet",
)
# User-supplied reference tables (GSI, a newer TVPRA list, a country index), one file each when given.
REFERENCE_FILE = "reference_{}.parquet"
DECISION_COLUMNS = ("left_id", "right_id", "decision")


# --- messages and progress ----------------------------------------------------------------------------
class ConsoleProgress:
    """Progress bars per stage on a terminal (tqdm), plain timestamped log lines otherwise."""

    def __init__(self, stream: TextIO | None = None, *, bars: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bars = self.stream.isatty() if bars is None else bars
        self._bar: Any = None
        self._t0 = time.perf_counter()
        self._stage_t0 = self._t0
        self.timings: dict[str, float] = {}

    def log(self, message: str) -> None:
        """One line of progress."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(f"[{time.perf_counter() - self._t0:7.1f}s] {message}", file=self.stream, flush=True)

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins."""
        self._stage_t0 = time.perf_counter()
        if self.bars:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=f"{stage:<9}", file=self.stream, leave=False, unit="step")
        else:
            self.log(f"{stage}: started")

    def advance(self, n: int = 1) -> None:
        """Units of the current stage done."""
        if self._bar is not None:
            self._bar.update(n)

    def finish(self, stage: str, summary: str) -> None:
        """The stage is done."""
        elapsed = time.perf_counter() - self._stage_t0
        self.timings[stage] = round(elapsed, 3)
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.log(f"{stage}: done in {elapsed:.1f} s — {summary}")


# --- inputs -------------------------------------------------------------------------------------------
@dataclass
class LoadedInputs:
    """Inputs read from disk, with what the run id and the manifest need."""

    inputs: ScreenInputs
    decisions: pl.DataFrame | None
    hashes: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise UnreadableFileError(str(path), f"the {what} file does not exist")
    if path.is_dir():
        raise UnreadableFileError(str(path), f"the {what} path is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise UnreadableFileError(str(path), f"the {what} file is not readable (permissions)")


def read_decisions(path: Path) -> pl.DataFrame:
    """Remembered match decisions (CSV or Parquet): left_id, right_id, decision (confirm|reject), ..."""
    _check_file(path, "decisions")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # polars raises several types for malformed files
        raise UnreadableFileError(str(path), f"cannot read decisions: {exc}") from exc
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"decisions file lacks column(s) {', '.join(missing)} (needs left_id, right_id, decision)"
        raise InputSchemaError(msg, path=str(path))
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in DECISION_COLUMNS)
    bad = frame.with_row_index("row", offset=2).filter(~pl.col("decision").is_in(["confirm", "reject"]))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputSchemaError(
            "decision must be 'confirm' or 'reject'",
            path=str(path),
            row=int(r["row"]),
            column="decision",
            value=r["decision"],
        )
    return frame


def load_inputs(
    *,
    suppliers: Path,
    trade: Path | None,
    audits: Path | None,
    enforcement: Path | None,
    reference: Path | None,
    decisions: Path | None,
    progress: ConsoleProgress,
) -> LoadedInputs:
    """Read and validate every input; raise ``InputError`` before anything is written."""
    from risk_engine.io.readers import read_table

    paths: dict[str, Path | None] = {
        "suppliers": suppliers,
        "trade": trade,
        "audits": audits,
        "enforcement": enforcement,
    }
    for kind, path in paths.items():
        if path is not None:
            _check_file(path, kind)
    if reference is not None and not reference.is_dir():
        raise UnreadableFileError(str(reference), "--reference must be a directory of reference files")
    frames: dict[str, pl.DataFrame | None] = {}
    rejects = [empty_rejects()]
    sources: dict[str, InputInfo] = {}
    hashes: dict[str, str | None] = {}
    files: dict[str, str | None] = {}
    progress.start("read", total=sum(p is not None for p in paths.values()))
    for kind, path in paths.items():
        if path is None:
            frames[kind], hashes[kind], files[kind] = None, None, None
            continue
        result = read_table(path, kind)
        digest = sha256_file(path)
        frames[kind] = result.frame
        rejects.append(result.rejects)
        hashes[kind], files[kind] = digest, str(path)
        sources[kind] = InputInfo(
            kind=kind,
            file=path.name,
            sha256=digest,
            rows_read=result.rows_read,
            rows_rejected=result.rejected_rows,
        )
        progress.advance()
    decisions_frame = None
    if decisions is not None:
        decisions_frame = read_decisions(decisions)
        hashes["decisions"], files["decisions"] = sha256_file(decisions), str(decisions)
        sources["decisions"] = InputInfo(
            kind="decisions",
            file=decisions.name,
            sha256=hashes["decisions"],
            rows_read=decisions_frame.height,
        )
    reference_frames: dict[str, pl.DataFrame] = {}
    if reference is not None:
        for ref_file in sorted(p for p in reference.iterdir() if p.is_file()):
            hashes[f"reference/{ref_file.name}"] = sha256_file(ref_file)
        reference_frames = _load_reference(reference)
    suppliers_frame = frames["suppliers"]
    assert suppliers_frame is not None
    rows = sum(i.rows_read for k, i in sources.items() if k != "decisions")
    rejected = sum(i.rows_rejected for i in sources.values())
    progress.finish("read", f"{rows:,} rows read, {rejected:,} rejected")
    inputs = ScreenInputs(
        suppliers=suppliers_frame,
        trade=frames["trade"],
        audits=frames["audits"],
        enforcement=frames["enforcement"],
        rejects=pl.concat(rejects, how="vertical_relaxed"),
        sources=sources,
        reference=reference_frames,
    )
    return LoadedInputs(inputs=inputs, decisions=decisions_frame, hashes=hashes, files=files)


def _load_reference(directory: Path) -> dict[str, pl.DataFrame]:
    """User-supplied reference files: a GSI table (``gsi*``) and a newer TVPRA list (``tvpra*``)."""
    from risk_engine.reference import loaders

    out: dict[str, pl.DataFrame] = {}
    for path in sorted(directory.iterdir()):
        name = path.name.lower()
        if name.startswith("gsi") and hasattr(loaders, "load_gsi"):
            out["gsi"] = loaders.load_gsi(path)
        elif name.startswith("tvpra") and hasattr(loaders, "load_tvpra_file"):
            out["tvpra"] = loaders.load_tvpra_file(path)
    return out


# --- the run ------------------------------------------------------------------------------------------
class DiskStageStore:
    """``pipeline.StageStore`` over a ``RunDirectory``: each completed stage is checkpointed to disk."""

    def __init__(self, run: RunDirectory, reusable: list[str]) -> None:
        self.run = run
        self.reusable = set(reusable)
        self.reused: list[str] = []

    def load(self, stage: str) -> tuple[dict[str, pl.DataFrame], dict[str, Any]] | None:
        """A checkpoint of this run, if the stage completed before."""
        if stage not in self.reusable:
            return None
        self.reused.append(stage)
        return self.run.load_stage(stage)

    def save(self, stage: str, frames: Mapping[str, pl.DataFrame], meta: Mapping[str, Any]) -> None:
        """Checkpoint a stage."""
        self.run.save_stage(stage, frames, meta)
        if os.environ.get("RISK_ENGINE_TEST_PAUSE_AFTER_STAGE") == stage:
            # Test hook: hold the run here so a test can kill the process between two stages.
            time.sleep(float(os.environ.get("RISK_ENGINE_TEST_PAUSE_SECONDS", "60")))


def run_screen(
    *,
    suppliers: Path,
    trade: Path | None,
    audits: Path | None,
    enforcement: Path | None,
    reference: Path | None,
    decisions: Path | None,
    methodology: str,
    out: Path,
    engine: str,
    resume: bool,
    stream: TextIO | None = None,
    as_of: date | None = None,
    save_index: bool = False,
) -> int:
    """The batch job behind ``risk-engine screen``; returns the exit code (errors raise).

    ``save_index`` also saves the API's entity index of the result in ``out/entity_index``, so
    ``risk-engine serve --snapshot out`` starts without building it.
    """
    progress = ConsoleProgress(stream)
    t_start = time.perf_counter()
    loaded = load_inputs(
        suppliers=suppliers,
        trade=trade,
        audits=audits,
        enforcement=enforcement,
        reference=reference,
        decisions=decisions,
        progress=progress,
    )
    if engine not in ("local", "spark"):
        msg = f"unknown engine {engine!r}; use local or spark"
        raise InputError(msg)
    engine_name: Engine = "spark" if engine == "spark" else "local"
    evaluated = evaluation_date(loaded.inputs, as_of)
    versions = collect_versions(methodology, reference=loaded.inputs.reference)
    # The engine is not part of the run id: both engines must produce the same tables.
    parameters = {"methodology": methodology, "as_of": evaluated.isoformat()}
    run_id = compute_run_id(inputs=loaded.hashes, parameters=parameters, versions=versions)

    with OutputLock(out):
        run = RunDirectory(out, run_id)
        if run.is_complete() and _outputs_intact(out):
            progress.log(f"{out} already holds the complete result of run {run_id}; nothing to do")
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            if save_index:
                _save_api_index(out, progress)
            _print_summary(manifest, out, stream=stream, reused=True)
            return 0
        state = run.read_state()
        reusable = run.begin(resume=resume)
        if reusable:
            progress.log(f"resuming run {run_id}: reusing completed stage(s) {', '.join(reusable)}")
        elif resume:
            progress.log(f"nothing to resume in {out}; starting run {run_id} from the beginning")
        elif state.run_id is not None and state.stages:
            progress.log(
                f"{out} holds an incomplete earlier run (stages done: {', '.join(state.stages)}); "
                "starting over (use --resume to continue it)"
            )
        store = DiskStageStore(run, reusable)
        result = screen(
            loaded.inputs,
            methodology=methodology,
            decisions=loaded.decisions,
            engine=engine_name,
            as_of=evaluated,
            progress=progress,
            store=store,
            release_trade=True,
        )
        progress.start("write", total=len(OUTPUT_FILES) + 1)
        result.manifest.update(
            {
                "run_id": run_id,
                "engine": engine_name,
                "parameters": parameters,
                "input_files": loaded.files,
                "resumed_stages": store.reused,
            }
        )
        write_outputs(result, out, progress=progress)
        result.manifest["timings_s"] = {**progress.timings, "total": round(time.perf_counter() - t_start, 3)}
        result.manifest["outputs"] = {name: sha256_file(out / name) for name in output_names(result)}
        atomic_write_text(out / "manifest.json", json.dumps(result.manifest, indent=2, sort_keys=True) + "\n")
        progress.finish("write", f"{len(OUTPUT_FILES) + 1} files in {out}")
        if save_index:
            _save_api_index(out, progress)
        run.finish()
    _print_summary(result.manifest, out, stream=stream, reused=False)
    return 0


def _save_api_index(out: Path, progress: ConsoleProgress) -> None:
    """The entity index ``serve`` needs, built and saved in ``out/entity_index`` (unless current)."""
    from risk_engine.api.snapshot import prepare_snapshot_index

    progress.start("index")
    prepare_snapshot_index(out)
    progress.finish("index", f"entity index saved in {out / 'entity_index'}")


def _outputs_intact(out: Path) -> bool:
    """True when the manifest's recorded checksums match every output file."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        recorded: dict[str, str] = manifest["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return set(OUTPUT_FILES) <= set(recorded) and all(
        (out / name).is_file() and sha256_file(out / name) == digest for name, digest in recorded.items()
    )


def xlsx_notes(result: ScreenResult) -> list[tuple[str, str]]:
    """The "How to read" sheet: methodology, thresholds, columns and data versions."""
    m = result.manifest
    notes = [
        (
            "What this is",
            "A forced-labour risk screen: a score ranks where to look first; it is not a finding.",
        ),
        ("Methodology", f"{m.get('methodology')} (parameters {m.get('versions', {}).get('params', '?')})"),
        ("Run", f"run id {m.get('run_id')}, evaluated as of {m.get('as_of')}"),
        (
            "Bands",
            "low < 0.10 (routine monitoring); medium 0.10-0.25 (questionnaire / desk review); high 0.25-0.50 "
            "(in-depth assessment, worker voice, tier-2 mapping); critical >= 0.50 or a high-severity "
            "enforcement flag (escalate, remediation plan, import-compliance review).",
        ),
        (
            "score",
            "Combined risk in [0,1]: inherent country x sector risk, the entity's own evidence (audit findings "
            "mapped to the 11 ILO indicators, enforcement lists) and risk carried from upstream suppliers "
            "(grouped noisy-OR), raised to the flag floor when a flag applies.",
        ),
        ("score_low / score_high", "Plausible range given uncertain links, shares and matches."),
        (
            "coverage, low_coverage",
            "Data coverage index in [0,1]; when low, read the score as unknown, not as low.",
        ),
        ("flags", "JSON list of enforcement flags (type, severity, jurisdiction, distance, path)."),
        ("top_paths, top_indicators", "JSON: the upstream paths and ILO findings contributing most."),
        ("role", "supplier = a row of your list; upstream = an entity found in trade or audit data."),
    ]
    for key, value in sorted(m.get("versions", {}).items()):
        notes.append((f"version: {key}", str(value)))
    for missing in result.missing:
        notes.append(("Missing input", missing))
    return notes


def write_outputs(result: ScreenResult, out: Path, *, progress: ConsoleProgress) -> None:
    """Every output file, each written atomically (``_SUCCESS`` comes later, from the caller)."""
    from risk_engine.report.html import render_report

    writers: list[tuple[str, Any]] = [
        ("scores.parquet", lambda p: write_parquet(result.scores, p)),
        ("scores.csv", lambda p: write_csv(result.scores, p)),
        ("scores.xlsx", lambda p: write_xlsx(result.scores, p, notes=xlsx_notes(result))),
        ("matches.parquet", lambda p: write_parquet(result.matches, p)),
        ("edges.parquet", lambda p: write_parquet(result.edges, p)),
        ("entities.parquet", lambda p: write_parquet(result.entities, p)),
        ("explanations.parquet", lambda p: write_parquet(result.explanations, p)),
        ("rejects.csv", lambda p: write_csv(result.rejects, p)),
        ("graph_nodes.parquet", lambda p: write_parquet(_or_empty(result.graph_nodes), p)),
        ("audit_findings.parquet", lambda p: write_parquet(_or_empty(result.audits), p)),
        ("enforcement_hits.parquet", lambda p: write_parquet(_or_empty(result.enforcement_hits), p)),
        (
            "report.html",
            lambda p: atomic_write_text(p, render_report(result, tiers=result.tiers)),
        ),
    ]
    for key, frame in sorted(result.reference.items()):
        writers.append((REFERENCE_FILE.format(key), lambda p, f=frame: write_parquet(f, p)))
    for name, write in writers:
        write(out / name)
        progress.advance()
        if name == "matches.parquet" and os.environ.get("RISK_ENGINE_TEST_PAUSE_AFTER_STAGE") == "write":
            time.sleep(float(os.environ.get("RISK_ENGINE_TEST_PAUSE_SECONDS", "60")))


def _or_empty(frame: pl.DataFrame | None) -> pl.DataFrame:
    return pl.DataFrame() if frame is None else frame


def output_names(result: ScreenResult) -> list[str]:
    """Every file ``write_outputs`` writes for this result (fixed outputs, then reference tables)."""
    return [*OUTPUT_FILES, *(REFERENCE_FILE.format(key) for key in sorted(result.reference))]


def _print_summary(manifest: Mapping[str, Any], out: Path, *, stream: TextIO | None, reused: bool) -> None:
    counts = manifest.get("counts", {})
    bands = counts.get("bands", {})
    flags = counts.get("flags", {})
    lines = [
        "",
        f"risk-engine screen {'(already complete) ' if reused else ''}— run {manifest.get('run_id')}",
        f"  rows read        {counts.get('rows_read', 0):>10,}   rejected {counts.get('rows_rejected', 0):,}"
        f" (warnings {counts.get('warnings', 0):,})",
        f"  entities         {counts.get('entities', 0):>10,}   edges {counts.get('edges', 0):,}",
        f"  scored rows      {counts.get('scored_rows', 0):>10,}   ({counts.get('suppliers', 0):,} suppliers,"
        f" {counts.get('upstream', 0):,} upstream)",
        "  per band         " + "   ".join(f"{b} {bands.get(b, 0):,}" for b in reversed(BANDS)),
        "  flags            "
        + ("   ".join(f"{k} {v:,}" for k, v in sorted(flags.items())) if flags else "none"),
        f"  review matches   {counts.get('review_matches', 0):>10,}",
    ]
    for missing in manifest.get("missing", []):
        lines.append(f"  note: {missing}")
    timings = manifest.get("timings_s", {})
    if timings:
        lines.append("  time             " + "  ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    lines.append(f"  outputs in {out.resolve()}: report.html, scores.csv/.xlsx/.parquet, matches.parquet,")
    lines.append("    edges.parquet, entities.parquet, explanations.parquet, rejects.csv, manifest.json,")
    lines.append("    and the scoring inputs graph_nodes/audit_findings/enforcement_hits.parquet")
    print("\n".join(lines), file=sys.stdout if stream is None else stream, flush=True)


# --- demo ---------------------------------------------------------------------------------------------
def demo_fixtures_dir() -> Path:
    """``fixtures/demo`` of the source tree (the package is installed editable) or beside the package."""
    import risk_engine

    package_dir = Path(risk_engine.__file__).resolve().parent
    candidates = [package_dir.parent / "fixtures" / "demo", package_dir / "fixtures" / "demo"]
    env = os.environ.get("RISK_ENGINE_FIXTURES")
    if env:
        candidates.insert(0, Path(env))
    for candidate in candidates:
        if (candidate / "suppliers.csv").is_file():
            return candidate
    msg = (
        "the demo fixtures are not installed (looked for suppliers.csv in "
        + ", ".join(str(c) for c in candidates)
        + "); run the demo from a source checkout (`make demo`) or set RISK_ENGINE_FIXTURES"
    )
    raise RunError(msg)


def run_demo(*, out: Path, engine: str, stream: TextIO | None = None) -> int:
    """Screen the bundled demo fixtures into ``out`` (default ``./risk-engine-demo``)."""
    fixtures = demo_fixtures_dir()

    def optional(name: str) -> Path | None:
        path = fixtures / name
        return path if path.is_file() else None

    enforcement = optional("enforcement_uflpa.txt") or optional("enforcement.csv")
    return run_screen(
        suppliers=fixtures / "suppliers.csv",
        trade=optional("trade.csv"),
        audits=optional("audits.csv"),
        enforcement=enforcement,
        reference=None,
        decisions=optional("decisions.csv"),
        methodology="fl-v1",
        out=out,
        engine=engine,
        resume=False,
        stream=stream,
    )


__all__ = ["canonical_json", "load_inputs", "run_demo", "run_screen", "write_outputs"]
