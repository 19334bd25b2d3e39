"""The read-only screening snapshot the API serves: entities, scores, explanations, matcher.

A snapshot is the output directory of a batch screen (``scores.parquet``, ``entities.parquet``,
``matches.parquet``, ``edges.parquet``, ``explanations.parquet``, ``manifest.json``, ``_SUCCESS``, and the
scoring inputs ``graph_nodes.parquet``, ``audit_findings.parquet``, ``enforcement_hits.parquet`` that let
``api.rescoring`` fold a request's own findings into a matched entity's score).
The API depends only on the small ``Snapshot`` protocol below, so that routes, persistence and
limits can be tested against a snapshot built from tiny frames.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import polars as pl

from risk_engine.errors import RunError

if TYPE_CHECKING:
    from risk_engine.api.rescoring import ScoringInputs

log = logging.getLogger("risk_engine.api.snapshot")

BANDS = ("low", "medium", "high", "critical")
MAX_CANDIDATES = 5
QUERY_COLUMNS = ("country", "address", "native_name", "lei", "duns", "os_id", "tax_id")
LOW_COVERAGE_DCI = 0.4
LOW_COVERAGE_WIDTH = 0.3


@dataclass(frozen=True)
class Candidate:
    """A snapshot entity a record may be, with the matcher's calibrated probability."""

    entity_id: str
    probability: float
    decision: str  # "match" | "review"


@dataclass(frozen=True)
class SnapshotInfo:
    """What identifies a snapshot in every response."""

    snapshot_id: str
    source: str
    entities: int
    methodology: str
    versions: dict[str, Any] = field(default_factory=dict)


class Matcher(Protocol):
    """The part of ``risk_engine.matching.EntityIndex`` the API needs."""

    def lookup(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Candidates for one record: dicts with the entity id, probability and decision."""
        ...


class Snapshot(Protocol):
    """What the API reads from a snapshot."""

    info: SnapshotInfo

    def lookup(self, record: Mapping[str, Any]) -> list[Candidate]:
        """Candidate entities for one record, most probable first."""
        ...

    def lookup_many(self, records: Sequence[Mapping[str, Any]]) -> list[list[Candidate]]:
        """Candidates of many records at once (one matcher call), in the order of ``records``."""
        ...

    def entity(self, entity_id: str) -> dict[str, Any] | None:
        """The score view of one entity (``EntityScore`` fields), or None."""
        ...

    def paths(self, entity_id: str) -> dict[str, Any] | None:
        """The top paths and flags of one entity, or None."""
        ...

    def rescore_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any] | None]:
        """Score views of (entity id, record) items with each record's findings and suppliers folded in."""
        ...

    def score_unmatched(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Score views computed from what unmatched records carry (None where not possible)."""
        ...

    def methodology(self) -> dict[str, Any]:
        """Name, description, parameters and versions of the methodology behind the scores."""
        ...


UnmatchedScorer = Callable[[Sequence[Mapping[str, Any]], "FrameSnapshot"], list[dict[str, Any] | None]]


def _json_value(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        if not value:
            return default
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    if isinstance(value, pl.Series):
        return value.to_list()
    return value


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def score_view(row: Mapping[str, Any], *, snapshot_versions: Mapping[str, Any]) -> dict[str, Any]:
    """An ``EntityScore`` dict from one row of ``scores.parquet``."""
    score = _finite(row.get("score"))
    # Column names of the RUN contract (r_low/r_high/dci) and of pipeline.SCORES_SCHEMA both work.
    r_low = _finite(_first(row, "r_low", "score_low"))
    r_high = _finite(_first(row, "r_high", "score_high"))
    interval = [r_low, r_high] if r_low is not None and r_high is not None else None
    dci = _finite(_first(row, "dci", "coverage"))
    low_coverage = row.get("low_coverage")
    if low_coverage is not None:
        low_coverage = bool(low_coverage)
    elif dci is not None or interval is not None:
        low_coverage = bool(
            (dci is not None and dci < LOW_COVERAGE_DCI)
            or (interval is not None and interval[1] - interval[0] > LOW_COVERAGE_WIDTH)
        )
    band = row.get("band")
    band = str(band).lower() if band is not None else None
    versions = dict(snapshot_versions)
    row_versions = _json_value(row.get("versions"), {})
    if isinstance(row_versions, dict):
        versions.update(row_versions)
    tier = row.get("tier")
    return {
        "entity_id": None if row.get("entity_id") is None else str(row.get("entity_id")),
        "name": row.get("name"),
        "country": row.get("country"),
        "tier": int(tier) if tier is not None else None,
        "score": score,
        "band": band if band in BANDS else None,
        "interval": interval,
        "coverage": dci,
        "low_coverage": low_coverage,
        "flags": _as_list(_json_value(row.get("flags"), [])),
        "top_paths": _as_list(_json_value(row.get("top_paths"), [])),
        "top_indicators": _as_list(_json_value(row.get("top_indicators"), [])),
        "methodology": row.get("methodology"),
        "versions": versions,
    }


def _first(row: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def _as_list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, dict) else {"value": v} for v in value]


def _hit(hit: Any) -> Mapping[str, Any]:
    entity_id, probability, decision = hit
    return {"entity_id": entity_id, "probability": probability, "decision": decision}


def _candidate_from(raw: Mapping[str, Any]) -> Candidate | None:
    entity_id = raw.get("entity_id", raw.get("right_id", raw.get("id")))
    probability = _finite(raw.get("probability"))
    if entity_id is None or probability is None:
        return None
    decision = str(raw.get("decision") or ("match" if probability >= 0.9 else "review"))
    if decision not in ("match", "review"):
        return None  # below the matcher's review threshold: not a candidate
    return Candidate(str(entity_id), probability, decision)


def _sorted_id_bytes(ids: pl.Series) -> np.ndarray | None:
    """The sorted ids as a fixed-width bytes array (ASCII ids up to 64 characters), else None."""
    if ids.is_empty() or ids.null_count() or int(ids.str.len_bytes().max() or 0) > 64:  # type: ignore[arg-type]
        return None
    try:
        arr = ids.to_numpy().astype("S")
    except UnicodeEncodeError:
        return None
    # Unique ids sorted by polars are strictly increasing as bytes; anything else (e.g. NULs, which an
    # "S" array drops at the end) keeps the polars search.
    if (arr[1:] <= arr[:-1]).any():
        return None
    return arr


class FrameSnapshot:
    """A snapshot held as polars frames, sorted by entity id for O(log n) lookups."""

    def __init__(
        self,
        scores: pl.DataFrame,
        *,
        matcher: Matcher,
        info: SnapshotInfo,
        explanations: pl.DataFrame | None = None,
        unmatched_scorer: UnmatchedScorer | None = None,
        methodology_document: Mapping[str, Any] | None = None,
        scoring_inputs: Callable[[], ScoringInputs | None] | None = None,
    ) -> None:
        if "entity_id" not in scores.columns:
            msg = "scores table has no entity_id column"
            raise RunError(msg)
        # One row per entity: the scores table may repeat an entity (one row per list row naming it).
        self.scores = (
            scores.with_columns(pl.col("entity_id").cast(pl.String))
            .filter(pl.col("entity_id").is_not_null())
            .unique(subset="entity_id", keep="first", maintain_order=True)
            .sort("entity_id")
        )
        self._ids = self.scores.get_column("entity_id")
        self._id_bytes = _sorted_id_bytes(self._ids)
        self.matcher = matcher
        self.info = info
        self.explanations = (
            None
            if explanations is None or "entity_id" not in explanations.columns
            else explanations.with_columns(pl.col("entity_id").cast(pl.String)).sort("entity_id")
        )
        self._unmatched_scorer = unmatched_scorer
        self._methodology = dict(methodology_document or {})
        # The batch's scoring inputs, read on first use (most requests never need them).
        self._scoring_loader = scoring_inputs
        self._scoring: ScoringInputs | None = None
        self._scoring_lock = threading.Lock()

    def _row(self, frame: pl.DataFrame, ids: pl.Series, entity_id: str) -> dict[str, Any] | None:
        if not entity_id or len(entity_id) > 512:
            return None
        if frame is self.scores and self._id_bytes is not None:
            # numpy's binary search over the sorted ids as bytes: ~2 us against ~75 us for polars'.
            key = entity_id.encode()
            i = int(np.searchsorted(self._id_bytes, key, side="left"))
            if i >= len(self._id_bytes) or self._id_bytes[i] != key:
                return None
            return frame.row(i, named=True)
        i = int(ids.search_sorted(entity_id, side="left"))
        if i >= len(ids) or ids[i] != entity_id:
            return None
        return frame.row(i, named=True)

    def lookup(self, record: Mapping[str, Any]) -> list[Candidate]:
        """Candidate entities for one record, most probable first, limited to known entities."""
        if getattr(self.matcher, "lookup_many", None) is not None:
            return self.lookup_many([record])[0]
        raw = self.matcher.lookup(dict(record))
        found = [c for c in (_candidate_from(r) for r in raw) if c is not None]
        found.sort(key=lambda c: (-c.probability, c.entity_id))
        return found[:MAX_CANDIDATES]

    def lookup_many(self, records: Sequence[Mapping[str, Any]]) -> list[list[Candidate]]:
        """Candidates of many records with one vectorised matcher call when the matcher has one.

        ``EntityIndex.lookup_many`` (no DataFrame, no contributions) when available, else ``link``.
        """
        fast = getattr(self.matcher, "lookup_many", None)
        if fast is not None:
            rows = [{"name": r.get("name"), **{col: r.get(col) for col in QUERY_COLUMNS}} for r in records]
            result: list[list[Candidate]] = []
            for hits in fast(rows, limit=MAX_CANDIDATES):
                cands = [c for c in (_candidate_from(_hit(h)) for h in hits) if c is not None]
                cands.sort(key=lambda c: (-c.probability, c.entity_id))
                result.append(cands[:MAX_CANDIDATES])
            return result
        link = getattr(self.matcher, "link", None)
        if link is None or len(records) == 1:
            return [self.lookup(r) for r in records]
        rows = []
        for i, r in enumerate(records):
            row = {"id": str(i), "name": None if r.get("name") is None else str(r.get("name"))}
            for col in QUERY_COLUMNS:
                value = r.get(col)
                row[col] = None if value is None else str(value)
            rows.append(row)
        query = pl.DataFrame(rows, schema=dict.fromkeys(["id", "name", *QUERY_COLUMNS], pl.String))
        # workers=1: never fork inside a server process (threads and fork do not mix).
        pairs = link(query, workers=1)
        out: list[list[Candidate]] = [[] for _ in records]
        if pairs.height:
            for left, right, prob, decision in pairs.select(
                "left_id", "right_id", "probability", "decision"
            ).iter_rows():
                candidate = _candidate_from({"entity_id": right, "probability": prob, "decision": decision})
                if candidate is not None:
                    out[int(left)].append(candidate)
        for found in out:
            found.sort(key=lambda c: (-c.probability, c.entity_id))
            del found[MAX_CANDIDATES:]
        return out

    def entity(self, entity_id: str) -> dict[str, Any] | None:
        """The score view of one entity."""
        row = self._row(self.scores, self._ids, entity_id)
        return None if row is None else score_view(row, snapshot_versions=self.info.versions)

    def paths(self, entity_id: str) -> dict[str, Any] | None:
        """The entity's top paths with edge evidence (from the explanation when there is one)."""
        view = self.entity(entity_id)
        if view is None:
            return None
        top_paths, flags = view["top_paths"], view["flags"]
        if self.explanations is not None:
            explained = self._row(self.explanations, self.explanations.get_column("entity_id"), entity_id)
            payload = _json_value((explained or {}).get("explanation"), {}) if explained else {}
            if isinstance(payload, dict):
                top_paths = _as_list(payload.get("top_paths", top_paths))
                flags = _as_list(payload.get("flags", flags))
        return {"entity_id": entity_id, "top_paths": top_paths, "flags": flags, "versions": view["versions"]}

    def scoring_inputs(self) -> ScoringInputs | None:
        """The batch's scoring inputs (None for a snapshot written before they were kept)."""
        if self._scoring is None and self._scoring_loader is not None:
            with self._scoring_lock:
                if self._scoring is None and self._scoring_loader is not None:
                    self._scoring = self._scoring_loader()
                    self._scoring_loader = None
        return self._scoring

    def rescore_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any] | None]:
        """Score views of (entity id, record) items with each record's additions folded in.

        The records' findings and declared suppliers (``api.rescoring``); None where the snapshot keeps
        no scoring inputs or the entity is not in its graph.
        """
        from risk_engine.api.rescoring import rescored_views

        inputs = self.scoring_inputs()
        if inputs is None:
            return [None] * len(items)
        stored = [self.entity(entity_id) for entity_id, _ in items]
        return rescored_views(
            inputs, stored, [record for _, record in items], snapshot_versions=self.info.versions
        )

    def score_unmatched(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Score unmatched records from what they carry, when a scorer is wired in."""
        if self._unmatched_scorer is None or not records:
            return [None] * len(records)
        return self._unmatched_scorer(records, self)

    def methodology(self) -> dict[str, Any]:
        """The methodology document of the snapshot's scores."""
        doc = {
            "name": self.info.methodology,
            "description": "",
            "parameters": {},
            **self._methodology,
        }
        doc["versions"] = {**self.info.versions, **dict(doc.get("versions") or {})}
        return doc


def find_latest_snapshot(data_dir: Path) -> Path | None:
    """The newest complete snapshot (a directory with ``_SUCCESS``) under ``data_dir/snapshots``."""
    root = data_dir / "snapshots"
    if not root.is_dir():
        return None
    complete = [p for p in root.iterdir() if p.is_dir() and (p / "_SUCCESS").exists()]
    if not complete:
        return None
    return max(complete, key=lambda p: ((p / "_SUCCESS").stat().st_mtime, p.name))


def read_manifest(path: Path) -> dict[str, Any]:
    """The snapshot's ``manifest.json`` (empty when absent)."""
    manifest = path / "manifest.json"
    if not manifest.exists():
        return {}
    try:
        loaded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"{manifest}: unreadable manifest ({exc})"
        raise RunError(msg) from exc
    return loaded if isinstance(loaded, dict) else {}


def manifest_versions(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The flat ``versions`` map that every response carries."""
    versions = manifest.get("versions")
    out: dict[str, Any] = dict(versions) if isinstance(versions, dict) else {}
    for key in ("engine_version", "methodology", "model", "reference"):
        if key in manifest and key not in out:
            out[key] = manifest[key]
    return out


def require_columns(frame: pl.DataFrame, columns: Sequence[str], *, file: str) -> None:
    """RunError naming the file when a snapshot table lacks columns the API needs."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{file}: snapshot table lacks columns {', '.join(missing)}"
        raise RunError(msg)


def load_snapshot(path: Path, *, matcher: Matcher | None = None) -> FrameSnapshot:
    """Open a complete snapshot directory: scores, explanations, and a matcher over its entities.

    ``matcher`` (an index already loaded, e.g. by ``serve``'s parent process) replaces the snapshot's
    own; otherwise the saved index in ``DIR/entity_index`` is loaded, or built and saved.
    """
    path = Path(path)
    if not (path / "_SUCCESS").exists():
        msg = f"{path}: not a complete snapshot (no _SUCCESS); run a screen into it first"
        raise RunError(msg)
    manifest = read_manifest(path)
    scores = pl.read_parquet(path / "scores.parquet")
    require_columns(scores, ("entity_id", "score", "band"), file=str(path / "scores.parquet"))
    entities_file = path / "entities.parquet"
    entities = pl.read_parquet(entities_file) if entities_file.exists() else scores
    explanations_file = path / "explanations.parquet"
    explanations = pl.read_parquet(explanations_file) if explanations_file.exists() else None
    if matcher is None:
        matcher = _matcher_for(entities, path)
    methodology = str(manifest.get("methodology") or _first_value(scores, "methodology") or "fl-v1")
    info = SnapshotInfo(
        snapshot_id=str(manifest.get("run_id") or manifest.get("snapshot_id") or path.name),
        source=str(path),
        entities=scores.get_column("entity_id").n_unique(),
        methodology=methodology,
        versions=manifest_versions(manifest),
    )
    snapshot = FrameSnapshot(
        scores,
        matcher=matcher,
        info=info,
        explanations=explanations,
        unmatched_scorer=_unmatched_scorer(),
        methodology_document=_methodology_document(methodology),
        scoring_inputs=functools.partial(_load_scoring_inputs, path, manifest),
    )
    # Load the scorer's reference data now, not in the first request that needs it.
    snapshot.score_unmatched([{"name": "warm-up", "country": "DE"}])
    return snapshot


def _load_scoring_inputs(path: Path, manifest: Mapping[str, Any]) -> ScoringInputs | None:
    from risk_engine.api.rescoring import load_scoring_inputs

    return load_scoring_inputs(path, manifest)


def _first_value(frame: pl.DataFrame, column: str) -> Any:
    if column not in frame.columns:
        return None
    values = frame.get_column(column).drop_nulls()
    return values[0] if len(values) else None


INDEX_DIR = "entity_index"


def entities_file(path: Path) -> Path:
    """The table of a snapshot the matcher indexes: ``entities.parquet``, else ``scores.parquet``."""
    entities = Path(path) / "entities.parquet"
    return entities if entities.exists() else Path(path) / "scores.parquet"


def index_source(path: Path) -> dict[str, str]:
    """What a snapshot's saved index must have been built from (file name and sha256)."""
    import hashlib

    file = entities_file(path)
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"file": file.name, "sha256": digest.hexdigest()}


def index_dirs(path: Path, data_dir: Path | None = None) -> list[Path]:
    """Where a snapshot's index is saved: in the snapshot, else (read-only snapshot) the data directory."""
    dirs = [Path(path) / INDEX_DIR]
    if data_dir is not None:
        dirs.append(Path(data_dir) / "indexes" / Path(path).resolve().name)
    return dirs


def load_saved_index(
    path: Path, *, data_dir: Path | None = None, source: dict[str, str] | None = None
) -> Any:
    """The snapshot's saved ``EntityIndex`` when one matches the snapshot and the code, else None.

    Reads with pyarrow and numpy only (no polars), so a server may call it before forking workers.
    """
    from risk_engine.matching.index import EntityIndex
    from risk_engine.matching.index_store import IndexArtifactError

    source = source or index_source(path)
    for saved in index_dirs(path, data_dir):
        if not saved.exists():
            continue
        try:
            return EntityIndex.load(saved, source=source)
        except IndexArtifactError as exc:
            log.warning("not using the saved entity index: %s", exc)
    return None


def build_snapshot_index(
    path: Path, *, data_dir: Path | None = None, entities: pl.DataFrame | None = None
) -> Any:
    """Build the snapshot's ``EntityIndex`` and save it (in the snapshot, else in the data directory)."""
    from risk_engine.matching.index import EntityIndex

    path = Path(path)
    source = index_source(path)
    ref = pl.read_parquet(entities_file(path)) if entities is None else entities
    if "id" not in ref.columns and "entity_id" in ref.columns:
        ref = ref.rename({"entity_id": "id"})
    index = EntityIndex.build(ref)
    for target in index_dirs(path, data_dir):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            index.save(target, source=source)
            log.info("saved the entity index of %s in %s", path, target)
            break
        except OSError as exc:
            log.warning("could not save the entity index in %s: %s", target, exc)
    return index


def prepare_snapshot_index(path: Path, *, data_dir: Path | None = None) -> None:
    """Make sure a current saved index exists for the snapshot (what a snapshot writer calls)."""
    if load_saved_index(path, data_dir=data_dir) is None:
        build_snapshot_index(path, data_dir=data_dir)


def _matcher_for(entities: pl.DataFrame, path: Path) -> Matcher:
    index: Matcher | None = load_saved_index(path)
    if index is None:
        index = build_snapshot_index(path, entities=entities)
    return index


def _unmatched_scorer() -> UnmatchedScorer | None:
    try:
        from risk_engine.api.record_scoring import score_records
    except ImportError:
        return None
    return score_records


def _methodology_document(name: str) -> dict[str, Any]:
    from risk_engine.scoring.registry import methodology_document

    doc = methodology_document(name)
    return {"name": doc.get("name", name), **doc}


def resolve_snapshot_dir(settings: Any) -> Path:
    """The snapshot directory to serve.

    The configured one, else the newest under the data directory, else a new one screened from the
    bundled fixtures (so a first ``serve`` works at once).
    """
    if settings.snapshot_dir is not None:
        return Path(settings.snapshot_dir)
    latest = find_latest_snapshot(Path(settings.data_dir))
    if latest is not None:
        return latest
    return build_fixture_snapshot(Path(settings.data_dir))


def open_configured_snapshot(settings: Any, *, matcher: Matcher | None = None) -> FrameSnapshot:
    """Load the snapshot ``resolve_snapshot_dir`` picks (with ``matcher`` when already loaded)."""
    return load_snapshot(resolve_snapshot_dir(settings), matcher=matcher)


def build_fixture_snapshot(data_dir: Path) -> Path:
    """Screen the bundled demo fixtures into ``data_dir/snapshots/demo`` and return that directory."""
    from risk_engine.io.run import run_demo

    out = data_dir / "snapshots" / "demo"
    out.parent.mkdir(parents=True, exist_ok=True)
    code = run_demo(out=out, engine="local")
    if code != 0 or not (out / "_SUCCESS").exists():
        msg = f"building the demo snapshot in {out} failed (exit code {code})"
        raise RunError(msg)
    prepare_snapshot_index(out)
    return out
