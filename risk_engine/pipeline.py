"""The screening pipeline: frames in, ``ScreenResult`` out; no file paths inside.

``screen()`` runs four stages, each a pure function of the previous stages' frames:

1. ``resolve``: supplier rows, trade parties, audit facilities and enforcement entries become entities
   (matching's dedupe/link); every record keeps its entity id and match probability.
2. ``graph``: trade aggregated into edges per (shipper, consignee, HS4), plus declared edges.
3. ``score``: the methodology (fl-v1) scores every entity and explains it.
4. ``assemble``: the result tables (one scores row per supplier row and per upstream entity).

A ``StageStore`` (given by ``risk_engine.io.run``) may checkpoint each stage's frames so an interrupted
run resumes where it stopped; the CLI and the API both call ``screen()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import polars as pl

from risk_engine.schemas import REJECTS_SCHEMA

Engine = Literal["local", "spark"]
Band = Literal["low", "medium", "high", "critical"]
BANDS: tuple[Band, ...] = ("low", "medium", "high", "critical")
STAGES: tuple[str, ...] = ("resolve", "graph", "score", "assemble")

# The scores table: one row per supplier row of the uploaded lists and per resolved upstream entity.
SCORES_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "supplier_id": pl.String(),  # the member's own id; null for upstream entities
    "buyer": pl.String(),
    "role": pl.String(),  # "supplier" (a row of the list) or "upstream" (found in trade/audits)
    "name": pl.String(),
    "country": pl.String(),
    "tier": pl.Int64(),
    "score": pl.Float64(),
    "band": pl.String(),
    "score_low": pl.Float64(),
    "score_high": pl.Float64(),
    "coverage": pl.Float64(),
    "low_coverage": pl.Boolean(),
    "flags": pl.String(),  # JSON list of {type, severity, jurisdiction, distance, path}
    "flag_severity": pl.String(),  # highest severity among flags, null when none
    "inherent": pl.Float64(),
    "evidence": pl.Float64(),
    "propagated": pl.Float64(),
    "score_unfloored": pl.Float64(),
    "match_probability": pl.Float64(),
    "sector": pl.String(),
    "top_paths": pl.String(),  # JSON
    "top_indicators": pl.String(),  # JSON
    "methodology": pl.String(),
    "versions": pl.String(),  # JSON: params, engine, model, reference data
}

EXPLANATIONS_SCHEMA: dict[str, pl.DataType] = {"entity_id": pl.String(), "explanation": pl.String()}

MATCHES_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),  # suppliers / trade_shipper / trade_consignee / audits / enforcement
    "record_id": pl.String(),
    "record_name": pl.String(),
    "record_country": pl.String(),
    "entity_id": pl.String(),
    "entity_name": pl.String(),
    "probability": pl.Float64(),
    "decision": pl.String(),  # match / review
    "method": pl.String(),
}


class Progress(Protocol):
    """Receives stage progress; the CLI shows bars on a terminal and log lines otherwise."""

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins (``total`` units of work when known)."""

    def advance(self, n: int = 1) -> None:
        """``n`` units of the current stage are done."""

    def finish(self, stage: str, summary: str) -> None:
        """The stage is done; ``summary`` is one line of exact counts."""


class StageStore(Protocol):
    """Checkpoints of completed stages (frames plus small JSON metadata)."""

    def load(self, stage: str) -> tuple[dict[str, pl.DataFrame], dict[str, Any]] | None:
        """The frames and metadata of ``stage`` when it completed earlier, else None."""

    def save(self, stage: str, frames: Mapping[str, pl.DataFrame], meta: Mapping[str, Any]) -> None:
        """Record ``stage`` as completed."""


@dataclass(frozen=True)
class InputInfo:
    """Where an input came from (for the manifest): file name, checksum, row counts."""

    kind: str
    file: str
    sha256: str | None = None
    rows_read: int = 0
    rows_rejected: int = 0


@dataclass
class ScreenInputs:
    """The frames one screen consumes; everything but ``suppliers`` is optional.

    Frames follow the canonical contracts of ``risk_engine.schemas`` (as ``risk_engine.io.readers``
    returns them). ``rejects`` are the readers' rejects, passed through to the result.
    """

    suppliers: pl.DataFrame
    trade: pl.DataFrame | None = None
    audits: pl.DataFrame | None = None
    enforcement: pl.DataFrame | None = None
    rejects: pl.DataFrame | None = None
    sources: dict[str, InputInfo] = field(default_factory=dict)
    reference: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass
class ScreenResult:
    """Everything a screen produces; written to disk by ``risk_engine.io.run``, served by the API."""

    scores: pl.DataFrame
    entities: pl.DataFrame
    matches: pl.DataFrame
    edges: pl.DataFrame
    explanations: pl.DataFrame
    rejects: pl.DataFrame
    manifest: dict[str, Any]
    audits: pl.DataFrame | None = None  # findings with their entity id (for the ILO breakdown)
    missing: list[str] = field(default_factory=list)  # what the result lacks because an input was absent

    def band_counts(self) -> dict[str, int]:
        """Rows of the scores table per band (all bands present, zero when empty)."""
        counts: dict[str, int] = dict.fromkeys(BANDS, 0)
        if self.scores.height:
            for band, n in self.scores.group_by("band").len().iter_rows():
                counts[str(band)] = int(n)
        return counts


def empty_rejects() -> pl.DataFrame:
    """An empty rejects table."""
    return pl.DataFrame(schema=REJECTS_SCHEMA)


class _NullProgress:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self, stage: str, summary: str) -> None:
        pass


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _as_of(inputs: ScreenInputs, as_of: date | None) -> date:
    """The evaluation date: given, else the latest date in the inputs, else today.

    Defaulting to the data's own latest date (not the clock) keeps re-runs reproducible.
    """
    if as_of is not None:
        return as_of
    latest: list[date] = []
    for frame, col in ((inputs.trade, "date"), (inputs.audits, "audit_date")):
        if frame is not None and col in frame.columns and frame.height:
            value = frame[col].max()
            if isinstance(value, date):
                latest.append(value)
    return max(latest) if latest else date.today()
