"""Screening of records against the snapshot: candidates, remembered decisions, scores.

Pure functions over rows: the upload job and ``POST /v1/score`` share them, so a record gets the same
answer both ways.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from risk_engine.api.repository import RememberedDecision
from risk_engine.api.snapshot import Candidate, Snapshot

IDENTIFIER_FIELDS = ("lei", "duns", "os_id", "tax_id")


def new_id(kind: str) -> str:
    """An opaque, unguessable object id such as ``lst_3x9...`` (ids reveal nothing and cannot be enumerated)."""
    return f"{kind}_{secrets.token_hex(12)}"


def fingerprint(name: str, country: str | None) -> str:
    """The key a decision is remembered under: the normalised name and the country."""
    from risk_engine.matching.normalise import name_key

    return f"{name_key(name)[:500]}|{(country or '').upper()}"


@dataclass(frozen=True)
class DecisionBook:
    """A tenant's remembered decisions, indexed by record fingerprint."""

    confirmed: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, decisions: Iterable[RememberedDecision]) -> DecisionBook:
        """The book of the latest decision per (fingerprint, entity)."""
        confirmed: dict[str, tuple[Any, str]] = {}
        rejected: dict[str, set[str]] = {}
        for d in decisions:
            if d.decision == "confirm":
                best = confirmed.get(d.fingerprint)
                if best is None or d.decided_at >= best[0]:
                    confirmed[d.fingerprint] = (d.decided_at, d.entity_id)
            else:
                rejected.setdefault(d.fingerprint, set()).add(d.entity_id)
        return cls(
            confirmed={fp: eid for fp, (_, eid) in confirmed.items() if eid not in rejected.get(fp, set())},
            rejected={fp: frozenset(ids) for fp, ids in rejected.items()},
        )


@dataclass(frozen=True)
class RecordOutcome:
    """What one record resolved to."""

    candidates: list[Candidate]
    statuses: dict[str, str]  # entity_id -> match | review | confirmed | rejected
    chosen: Candidate | None
    match_status: str  # match | review | confirmed | none
    scored_from: str  # matched_entity | matched_entity_and_record | record | none
    result: dict[str, Any] | None
    note: str | None


def resolve_records(
    snapshot: Snapshot, records: Sequence[Mapping[str, Any]], book: DecisionBook | None
) -> list[RecordOutcome]:
    """Resolve every record, then score the unmatched ones together from what they carry."""
    found = snapshot.lookup_many(records)
    outcomes = [resolve_record(snapshot, r, book, candidates=c) for r, c in zip(records, found, strict=True)]
    fold_in_additions(snapshot, records, outcomes)
    pending = [i for i, o in enumerate(outcomes) if o.result is None]
    if pending:
        views = snapshot.score_unmatched([records[i] for i in pending])
        for i, view in zip(pending, views, strict=True):
            if view is not None:
                outcomes[i] = dataclasses.replace(outcomes[i], scored_from="record", result=view, note=None)
    return outcomes


def resolve_record(
    snapshot: Snapshot,
    record: Mapping[str, Any],
    book: DecisionBook | None,
    *,
    candidates: list[Candidate] | None = None,
) -> RecordOutcome:
    """Candidates of one record after the tenant's decisions, and the matched entity's score.

    An unmatched record comes back with ``scored_from="none"``; ``resolve_records`` scores those.
    """
    if candidates is None:
        candidates = snapshot.lookup(record)
    statuses = {c.entity_id: c.decision for c in candidates}
    if book is not None:
        fp = fingerprint(str(record.get("name") or ""), record.get("country"))
        rejected = book.rejected.get(fp, frozenset())
        candidates = [c for c in candidates if c.entity_id not in rejected]
        statuses = {c.entity_id: c.decision for c in candidates}
        confirmed = book.confirmed.get(fp)
        if confirmed is not None and snapshot.entity(confirmed) is not None:
            known = next((c for c in candidates if c.entity_id == confirmed), None)
            chosen = Candidate(confirmed, known.probability if known else 1.0, "match")
            candidates = [chosen, *[c for c in candidates if c.entity_id != confirmed]]
            # A record is one entity: the confirmed one settles the other candidates.
            statuses = {c.entity_id: "rejected" for c in candidates}
            statuses[confirmed] = "confirmed"
            return _outcome(snapshot, record, candidates, statuses, chosen, "confirmed")
    if candidates:
        top = candidates[0]
        return _outcome(snapshot, record, candidates, statuses, top, top.decision)
    return _outcome(snapshot, record, candidates, statuses, None, "none")


def _outcome(
    snapshot: Snapshot,
    record: Mapping[str, Any],
    candidates: list[Candidate],
    statuses: dict[str, str],
    chosen: Candidate | None,
    match_status: str,
) -> RecordOutcome:
    if chosen is not None:
        view = snapshot.entity(chosen.entity_id)
        if view is not None:
            note = (
                "provisional: the best candidate needs review; its score is shown until a decision"
                if match_status == "review"
                else None
            )
            return RecordOutcome(candidates, statuses, chosen, match_status, "matched_entity", view, note)
    note = "no matching entity in the snapshot, and the record carries nothing to score it from"
    return RecordOutcome(candidates, statuses, None, "none", "none", None, note)


def fold_in_additions(
    snapshot: Snapshot, records: Sequence[Mapping[str, Any]], outcomes: list[RecordOutcome]
) -> None:
    """Re-score the matched entities of records that carry findings or suppliers (``api.rescoring``).

    All such records of a request go to ``Snapshot.rescore_many`` together; the outcomes are replaced
    in place with the folded score (``scored_from = matched_entity_and_record``) and a note saying what
    was added, or keep the stored score with a note saying why nothing could be folded in.
    """
    chosen = {
        i: o.chosen.entity_id
        for i, o in enumerate(outcomes)
        if o.scored_from == "matched_entity" and o.chosen is not None and _additions(records[i])
    }
    if not chosen:
        return
    pending = list(chosen)
    rescore_many = getattr(snapshot, "rescore_many", None)
    items = [(chosen[i], records[i]) for i in pending]
    views = rescore_many(items) if rescore_many is not None else [None] * len(items)
    for i, view in zip(pending, views, strict=True):
        added = _additions(records[i])
        if view is not None:
            note = f"the entity's score includes this record's {added} (for this request only; the snapshot is unchanged)"
            outcomes[i] = dataclasses.replace(
                outcomes[i],
                scored_from="matched_entity_and_record",
                result=view,
                note="; ".join(n for n in (outcomes[i].note, note) if n),
            )
        else:
            note = (
                f"this record's {added} could not be folded into the entity's score: the snapshot keeps no "
                "scoring inputs (re-run the screen to add them)"
            )
            outcomes[i] = dataclasses.replace(
                outcomes[i], note="; ".join(n for n in (outcomes[i].note, note) if n)
            )


def _additions(record: Mapping[str, Any]) -> str:
    """What a record adds to its matched entity, in words ("" when nothing)."""
    parts = []
    n_findings = len(record.get("audit_findings") or [])
    n_suppliers = len(record.get("upstream_suppliers") or [])
    if n_findings:
        parts.append(f"{n_findings} audit finding{'s' if n_findings != 1 else ''}")
    if n_suppliers:
        parts.append(f"{n_suppliers} declared upstream supplier{'s' if n_suppliers != 1 else ''}")
    return " and ".join(parts)


def record_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The matcher's record shape from a cleaned supplier row (``risk_engine.schemas.SUPPLIERS``)."""
    record: dict[str, Any] = {
        "id": None if row.get("id") is None else str(row.get("id")),
        "name": row.get("name"),
        "country": row.get("country"),
        "address": row.get("address"),
        "native_name": row.get("native_name"),
        "hs_codes": list(row.get("hs_codes") or []),
    }
    for name in IDENTIFIER_FIELDS:
        record[name] = row.get(name)
    return record


@dataclass
class ScreeningOutcome:
    """Rows to store for one screened list."""

    results: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    rows_matched: int
    rows_review: int


def result_detail(outcome: RecordOutcome) -> dict[str, Any]:
    """The ``detail`` object stored with a list result."""
    view = outcome.result or {}
    return {
        "interval": view.get("interval"),
        "coverage": view.get("coverage"),
        "low_coverage": view.get("low_coverage"),
        "flags": view.get("flags", []),
        "top_paths": list(view.get("top_paths", []))[:3],
        "top_indicators": list(view.get("top_indicators", []))[:5],
        "versions": view.get("versions", {}),
        "note": outcome.note,
    }


def screen_rows(
    snapshot: Snapshot, rows: Sequence[Mapping[str, Any]], book: DecisionBook
) -> ScreeningOutcome:
    """Resolve and score every cleaned row of a list, applying the tenant's decisions."""
    results: list[dict[str, Any]] = []
    matches: list[dict[str, Any]] = []
    matched = review = 0
    records = [record_from_row(row) for row in rows]
    outcomes = resolve_records(snapshot, records, book)
    for seq, (row, record, outcome) in enumerate(zip(rows, records, outcomes, strict=True), start=1):
        name = str(record["name"] or "")
        country = record["country"]
        fp = fingerprint(name, country)
        key = record["id"] or str(row.get("row") or seq)
        if outcome.match_status in ("match", "confirmed"):
            matched += 1
        elif outcome.match_status == "review":
            review += 1
        view = outcome.result or {}
        results.append(
            {
                "seq": seq,
                "row": int(row.get("row") or seq),
                "record_key": key[:255],
                "fingerprint": fp,
                "name": name[:1000],
                "country": country,
                "entity_id": outcome.chosen.entity_id if outcome.chosen else None,
                "probability": outcome.chosen.probability if outcome.chosen else None,
                "match_status": outcome.match_status,
                "scored_from": outcome.scored_from,
                "score": view.get("score"),
                "band": view.get("band"),
                "detail": result_detail(outcome),
            }
        )
        for candidate in outcome.candidates:
            entity = snapshot.entity(candidate.entity_id) or {}
            matches.append(
                {
                    "id": new_id("mt"),
                    "seq": seq,
                    "record_key": key[:255],
                    "fingerprint": fp,
                    "record_name": name[:1000],
                    "record_country": country,
                    "entity_id": candidate.entity_id,
                    "entity_name": entity.get("name"),
                    "entity_country": entity.get("country"),
                    "probability": candidate.probability,
                    "status": outcome.statuses.get(candidate.entity_id, candidate.decision),
                }
            )
    return ScreeningOutcome(results, matches, matched, review)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|")


def _is_formula_like(value: str) -> bool:
    if not value or value[0] not in _FORMULA_START:
        return False
    # "+44 20 7946 0000" and "-5" are data; "=1+1", "+cmd|' /C calc'!A0", "@SUM(...)" are payloads.
    rest = value[1:].lstrip()
    return not (value[0] in "+-" and (rest[:1].isdigit() or rest[:1] in ("", "(")))


def formula_cells(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[tuple[int, str, str]]:
    """Cells that a spreadsheet would execute as a formula (CSV/formula injection), as (row, column, value)."""
    found = []
    for row in rows:
        for column in columns:
            value = row.get(column)
            if isinstance(value, str) and _is_formula_like(value):
                found.append((int(row.get("row") or 0), column, value))
    return found
