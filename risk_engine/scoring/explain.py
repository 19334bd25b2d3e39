"""Explanations (METHODOLOGY §3.9): why an entity has its score, in the auditor's terms.

The hazard ``h = −ln(1 − R)`` splits exactly into local, backfill and one term per upstream group
(``h_v = h(L_v) + h(b_v) + Σ_k h(x_k)``); a group's hazard is split over its member edges by their share of
``Σ s c δ R`` and each member's part is split recursively by that member's own components. Paths are the
result (proportional-hazard heuristic: exact at each node, approximate inside groups and on cycles,
where messages are cavity risks). Each payload carries the score, band, interval, coverage, the hazard
split, the top paths with their edges, the top ILO indicators with the findings behind them, the
inherent-risk terms, the evidence terms, the flags with their paths, and version stamps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from risk_engine.scoring import evidence
from risk_engine.scoring.propagate import PropagationResult
from risk_engine.scoring.registry import Params

if TYPE_CHECKING:
    from risk_engine.scoring.score import GraphArrays

_MAX_HAZARD = 50.0  # a saturated term (R = 1) is shown as dominating, not as inf/NaN
_MAX_GROUPS = 20  # the hazard split lists the largest groups, then one "other groups" line
_MAX_MEMBERS = 5
_MAX_FLAGS = 10  # flags listed per entity (most severe, then nearest); the payload also gives the count
_WALK_MIN_SHARE = 0.01  # the path search stops descending below 1 % of the entity's hazard
_MAX_BRANCH = 4  # and follows at most the four largest inputs of each node


def _indicator_names() -> dict[int, str]:
    try:
        from risk_engine.reference.ilo import INDICATORS

        return dict(INDICATORS)
    except ImportError:  # pragma: no cover - the reference package ships with the engine
        return {k: f"ILO indicator {k}" for k in range(1, 12)}


def _h(p: float) -> float:
    if p >= 1.0:
        return _MAX_HAZARD
    return min(_MAX_HAZARD, -math.log1p(-max(0.0, p)))


_EDGE_FIELDS = ("src", "dst", "hs4", "source", "n_shipments", "share_imputed", "last_date", "src_country")


@dataclass
class _Hazards:
    """Per-node and per-edge hazards of the point run as Python lists (fast scalar access), finite."""

    total: list[float]
    local: list[float]
    backfill: list[float]
    edge: list[float]
    incoming: list[list[int]]
    src: list[int]
    group: list[int]
    edge_columns: dict[str, list[Any]]


def _hazards(arrays: GraphArrays, run: PropagationResult) -> _Hazards:
    n = len(arrays.node_ids)
    local = np.minimum(np.nan_to_num(run.local_hazard, posinf=_MAX_HAZARD), _MAX_HAZARD)
    backfill = np.minimum(np.nan_to_num(run.backfill_hazard, posinf=_MAX_HAZARD), _MAX_HAZARD)
    edge = np.minimum(np.nan_to_num(run.edge_hazard, posinf=_MAX_HAZARD), _MAX_HAZARD)
    upstream = np.bincount(arrays.dst, weights=edge, minlength=n) if edge.size else np.zeros(n)
    incoming: list[list[int]] = [[] for _ in range(n)]
    positive = np.flatnonzero(edge > 0)
    # by buyer, then by hazard descending, so each list is ordered largest first
    order = positive[np.lexsort((-edge[positive], arrays.dst[positive]))]
    for e, d in zip(order.tolist(), arrays.dst[order].tolist(), strict=True):
        incoming[d].append(e)
    return _Hazards(
        total=(local + backfill + upstream).tolist(),
        local=local.tolist(),
        backfill=backfill.tolist(),
        edge=edge.tolist(),
        incoming=incoming,
        src=arrays.src.tolist(),
        group=arrays.group.tolist(),
        edge_columns={
            f: arrays.edges.get_column(f).to_list()
            if f in arrays.edges.columns
            else [None] * arrays.edges.height
            for f in _EDGE_FIELDS
        },
    )


def decompose_paths(
    v: int, hz: _Hazards, *, max_depth: int, min_share: float = _WALK_MIN_SHARE
) -> list[dict[str, Any]]:
    """Path contributions to node ``v``'s hazard: dicts with ``nodes`` (v first), ``edges``, ``kind``, ``share``."""
    out: list[dict[str, Any]] = []
    if hz.total[v] <= 0:
        return out
    other = 0.0

    def walk(node: int, weight: float, nodes: list[int], edges: list[int], depth: int) -> None:
        nonlocal other
        total = hz.total[node]
        if total <= 0:
            return
        local = weight * hz.local[node] / total
        if local > 0:
            kind = "local" if depth == 0 else "local_of_upstream"
            out.append({"nodes": nodes, "edges": edges, "kind": kind, "share": local})
        back = weight * hz.backfill[node] / total
        if back > 0:
            out.append({"nodes": nodes, "edges": edges, "kind": "backfill", "share": back})
        # incoming edges are sorted by hazard, largest first: descend into the few that matter and
        # account for the rest in one sum
        incoming = hz.incoming[node]
        for i, e in enumerate(incoming):
            w = weight * hz.edge[e] / total
            if w < min_share or i >= _MAX_BRANCH or depth + 1 > max_depth:
                other += weight * sum(hz.edge[x] for x in incoming[i:]) / total
                break
            u = hz.src[e]
            if u in nodes:
                other += w
                continue
            walk(u, w, [*nodes, u], [*edges, e], depth + 1)

    walk(v, 1.0, [v], [], 0)
    if other > 0:
        out.append({"nodes": [v], "edges": [], "kind": "other_paths", "share": other})
    return out


def hazard_split(v: int, arrays: GraphArrays, hz: _Hazards) -> dict[str, Any]:
    """The exact split of ``v``'s hazard: local, backfill, and each upstream group with its members."""
    total = hz.total[v]
    if total <= 0:
        return {"local": 0.0, "backfill": 0.0, "upstream": []}
    groups: dict[int, list[tuple[int, float]]] = {}
    for e in hz.incoming[v]:
        groups.setdefault(hz.group[e], []).append((e, hz.edge[e] / total))
    upstream: list[dict[str, Any]] = []
    for members in groups.values():
        members.sort(key=lambda m: -m[1])
        row = _edge_row(members[0][0], arrays, hz)
        upstream.append(
            {
                "group": f"{row['src_country'] or '??'}/{row['hs4'] or '????'}",
                "share": round(sum(s for _, s in members), 4),
                "n_members": len(members),
                "members": [
                    {"entity": arrays.node_ids[hz.src[e]], "share": round(s, 4)}
                    for e, s in members[:_MAX_MEMBERS]
                ],
            }
        )
    upstream.sort(key=lambda g: -g["share"])
    if len(upstream) > _MAX_GROUPS:
        rest = upstream[_MAX_GROUPS:]
        upstream = [
            *upstream[:_MAX_GROUPS],
            {
                "group": f"{len(rest)} other groups",
                "share": round(sum(g["share"] for g in rest), 4),
                "n_members": sum(g["n_members"] for g in rest),
                "members": [],
            },
        ]
    return {
        "local": round(hz.local[v] / total, 4),
        "backfill": round(hz.backfill[v] / total, 4),
        "upstream": upstream,
    }


def _edge_row(e: int, arrays: GraphArrays, hz: _Hazards) -> dict[str, Any]:
    del arrays
    return {f: hz.edge_columns[f][e] for f in _EDGE_FIELDS}


def _edge_payload(e: int, arrays: GraphArrays, hz: _Hazards) -> dict[str, Any]:
    row = _edge_row(e, arrays, hz)
    return {
        "from": row["src"],
        "to": row["dst"],
        "hs4": row["hs4"],
        "source": row["source"],
        "n_shipments": row["n_shipments"],
        "c": round(float(arrays.confidence[e]), 3),
        "s": round(float(arrays.share[e]), 3),
        "share_imputed": bool(row["share_imputed"]) if row["share_imputed"] is not None else None,
        "last_date": row["last_date"].isoformat() if row["last_date"] is not None else None,
    }


def _top_findings(
    ff: evidence.FindingFactors | None, *, params: Params, per_entity: int
) -> dict[str, list[dict[str, Any]]]:
    if ff is None or ff.factors.is_empty():
        return {}
    c = evidence.finding_contributions(ff.factors, params=params, variant="point").filter(pl.col("x") > 0)
    names = _indicator_names()
    c = (
        # ties broken by indicator and ids, so the order never depends on the findings' row order
        c.sort(
            "site_entity_id",
            "x",
            "indicator",
            "audit_id",
            "finding_id",
            descending=[False, True, False, False, False],
            nulls_last=True,
        )
        .with_columns(_n=pl.int_range(pl.len()).over("site_entity_id"))
        .filter(pl.col("_n") < per_entity)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in c.iter_rows(named=True):
        out.setdefault(r["site_entity_id"], []).append(
            {
                "entity": r["site_entity_id"],
                "ilo_indicator": int(r["indicator"]),
                "name": names.get(int(r["indicator"]), str(r["indicator"])),
                "finding_id": r["finding_id"],
                "audit_id": r["audit_id"],
                "grade": r["grade"],
                "age_months": round(float(r["age_months"]), 1),
                "status": r["status_key"],
                "recurred": bool(r["recurred"]),
                "contribution": round(float(r["x"]), 3),
            }
        )
    return out


_VERIFIED = ("closed_verified", "closed_verified_with_remedy")


def _what_if(
    ff: evidence.FindingFactors | None,
    scores: pl.DataFrame,
    terms: pl.DataFrame,
    *,
    params: Params,
) -> dict[str, list[dict[str, Any]]]:
    """What-if per entity: its own score change if its largest unverified finding were closed and verified.

    The finding's remediation factor becomes that of a closure audit (0.3), all other terms held fixed.
    Exact for the entity's local term; upstream terms do not change; downstream entities are not shown.
    """
    if ff is None or ff.factors.is_empty():
        return {}
    ep = params.evidence
    c = evidence.finding_contributions(ff.factors, params=params, variant="point").filter(pl.col("x") > 0)
    if c.is_empty():
        return {}
    names = _indicator_names()
    h_cap = -math.log1p(-params.inherent.cap)
    rho_new = ep.remediation["closed_verified"]
    srows = {r["entity_id"]: r for r in scores.iter_rows(named=True)}
    trows = {
        r["entity_id"]: r
        for r in terms.select("entity_id", "inherent_adj", "e_enf", "e_alleg", "local").iter_rows(named=True)
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for (entity,), grp in c.group_by("site_entity_id"):
        if entity not in srows or entity not in trows:
            continue
        rows = grp.to_dicts()
        candidates = [r for r in rows if r["status_key"] not in _VERIFIED]
        if not candidates:
            continue
        target = max(candidates, key=lambda r: r["x"])
        recurred: dict[int, bool] = {}
        for r in rows:
            recurred[r["indicator"]] = recurred.get(r["indicator"], False) or bool(r["recurred"])
        e: dict[int, float] = {}
        ew: dict[int, float] = {}
        for r in rows:
            x = r["x"] * rho_new / r["rho"] if r is target and r["rho"] > 0 else r["x"]
            bonus = 1.0 + ep.recurrence_bonus if recurred[r["indicator"]] else 1.0
            k = r["indicator"]
            e[k] = max(e.get(k, 0.0), min(1.0, x * bonus))
            if r["in_window"]:
                ew[k] = max(ew.get(k, 0.0), min(1.0, x * bonus))
        e_audit, _, _ = evidence.combine_audit(e, ew, ep)
        t, srow = trows[entity], srows[entity]
        e_new = evidence.entity_evidence(e_audit, t["e_enf"] or 0.0, t["e_alleg"] or 0.0)
        l_new = evidence.local_risk(t["inherent_adj"] or 0.0, e_new)
        h_new = _h(float(srow["score_uncapped"])) - _h(float(t["local"] or 0.0)) + _h(l_new)
        h_prior = _h(float(srow["prior_risk"]))
        capped = min(
            1.0 - math.exp(-(min(h_prior, h_cap) + max(0.0, h_new - h_prior))),
            1.0 - math.exp(-max(h_new, 0.0)),
        )
        floor = {"high": params.flags.high_floor, "medium": params.flags.medium_floor}.get(
            srow["flag_severity"], 0.0
        )
        new_score = max(capped, floor)
        out[entity] = [
            {
                "action": f"close the {names.get(target['indicator'], target['indicator'])} finding "
                f"{target['finding_id']} with a closure audit",
                "delta_score_entity": round(new_score - float(srow["score"]), 4),
            }
        ]
    return out


def _inherent_payload(t: Mapping[str, Any]) -> dict[str, Any]:
    def r4(x: Any) -> Any:
        return None if x is None else round(float(x), 4)

    ip: dict[str, Any] = {
        "country": t.get("country"),
        "C": r4(t.get("C")),
        "C_missing": t.get("C_missing"),
        "hs4": t.get("hs4"),
        "sector": t.get("sector"),
        "S": r4(t.get("S")),
        "S_missing": t.get("S_missing"),
        "listings": list(t.get("listings") or []),
        "uflpa_priority": t.get("uflpa_material") if t.get("u") else None,
        "logit": r4(t.get("logit")),
        "I": r4(t.get("inherent")),
        "clean_audit_kappa": t.get("clean_kappa"),
        "I_adjusted": r4(t.get("inherent_adj")),
        "override": t.get("override"),
        "override_evidence": t.get("override_evidence"),
        "issues": list(t.get("issues") or []),
    }
    return ip


def _logit_terms(t: Mapping[str, Any], params: Params) -> dict[str, float]:
    p = params.inherent
    c = float(t.get("C") or 0.0)
    s = float(t.get("S") or 0.0)
    listing = max(
        p.beta_tvpra_forced * bool(t.get("t_fl")),
        p.beta_tvpra_downstream * bool(t.get("t_ds")),
        p.beta_tvpra_child * bool(t.get("t_cl")),
    )
    return {
        "base": p.beta0,
        "C": round(p.beta_country * c, 4),
        "S": round(p.beta_sector * s, 4),
        "listing": round(listing, 4),
        "uflpa_priority": round(p.beta_uflpa_priority * bool(t.get("u")), 4),
    }


def explain_entity(
    v: int,
    *,
    arrays: GraphArrays,
    hz: _Hazards,
    score_row: Mapping[str, Any],
    term_row: Mapping[str, Any],
    flags: list[dict[str, Any]],
    findings: Mapping[str, list[dict[str, Any]]],
    n_flags: int | None = None,
    what_if: list[dict[str, Any]] | None = None,
    params: Params,
    versions: Mapping[str, str],
    top: int = 5,
) -> dict[str, Any]:
    """The §3.9 payload of node ``v`` (index into ``arrays.node_ids``)."""
    ids = arrays.node_ids
    parts = decompose_paths(v, hz, max_depth=params.propagation.max_depth)
    listed = sorted((p for p in parts if p["kind"] != "other_paths"), key=lambda p: -p["share"])
    top_paths = []
    for p in listed[:top]:
        entry: dict[str, Any] = {
            "path": [ids[i] for i in p["nodes"]],
            "share_of_hazard": round(p["share"], 4),
            "kind": p["kind"],
        }
        if p["edges"]:
            entry["edges"] = [_edge_payload(e, arrays, hz) for e in p["edges"]]
        top_paths.append(entry)
    # ILO indicators: the entity's own findings and those of upstream entities on its paths,
    # ranked by (share of hazard through that entity's local risk) x (finding contribution).
    local_share: dict[int, float] = {}
    for p in parts:
        if p["kind"] in ("local", "local_of_upstream"):
            node = p["nodes"][-1]
            local_share[node] = local_share.get(node, 0.0) + p["share"]
    candidates = []
    for node, share in local_share.items():
        for f in findings.get(ids[node], []):
            candidates.append((share * f["contribution"], {**f, "path_share": round(share, 4)}))
    candidates.sort(key=lambda c: -c[0])
    top_indicators = [c[1] for c in candidates[:top]]
    inherent = _inherent_payload(term_row)
    inherent["logit_terms"] = _logit_terms(term_row, params)
    ev = {
        "E": round(float(term_row.get("evidence") or 0.0), 4),
        "E_audit": round(float(term_row.get("e_audit") or 0.0), 4),
        "E_enforcement": round(float(term_row.get("e_enf") or 0.0), 4),
        "E_allegation": round(float(term_row.get("e_alleg") or 0.0), 4),
        "ilo_pattern_met": bool(term_row.get("pattern_met")),
        "grave_indicator_met": bool(term_row.get("grave_met")),
        "enforcement_items": term_row.get("items"),
    }
    if ev["ilo_pattern_met"]:
        ev["note"] = "ILO_PATTERN_MET: probable forced labour - verify, engage, remediate"
    return {
        "entity_id": ids[v],
        "score": round(float(score_row["score"]), 4),
        "score_unfloored": round(float(score_row["score_unfloored"]), 4),
        "band": score_row["band"],
        "interval": [round(float(score_row["r_low"]), 4), round(float(score_row["r_high"]), 4)],
        "dci": round(float(score_row["dci"]), 4),
        "imputed_share": round(float(score_row["imputed_share"]), 4),
        "low_coverage": bool(score_row["low_coverage"]),
        "local": round(float(term_row.get("local") or 0.0), 4),
        "prior_cap": _prior_cap(score_row),
        "hazard_split": hazard_split(v, arrays, hz),
        "flags": flags,
        "n_flags": len(flags) if n_flags is None else n_flags,
        "top_paths": top_paths,
        "top_indicators": top_indicators,
        "inherent": inherent,
        "evidence": ev,
        "what_if": what_if or [],
        "versions": dict(versions),
        "note": "A score is a prioritisation signal for due diligence, never a finding that forced labour exists.",
    }


def _prior_cap(score_row: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the country/sector-prior cap lowered the propagated score (§3.0 principle 3)."""
    uncapped = score_row.get("score_uncapped")
    prior = score_row.get("prior_risk")
    capped = float(score_row["score_unfloored"])
    return {
        "applied": uncapped is not None and capped < float(uncapped) - 1e-9,
        "score_uncapped": None if uncapped is None else round(float(uncapped), 4),
        "prior_only": None if prior is None else round(float(prior), 4),
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


def _flag_payloads(flags: pl.DataFrame) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """The most severe, then nearest, flags per entity (at most ``_MAX_FLAGS``) and each entity's flag count."""
    out: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    if flags.is_empty():
        return out, counts
    rank = pl.col("severity").replace_strict(
        {"high": 0, "medium": 1, "low": 2}, default=3, return_dtype=pl.Int64
    )
    ranked = flags.with_columns(_rank=rank).sort("entity_id", "_rank", "distance", "flag", "source_entity_id")
    counts = dict(ranked.group_by("entity_id").len().iter_rows())
    top = ranked.filter(pl.int_range(pl.len()).over("entity_id") < _MAX_FLAGS)
    for r in top.iter_rows(named=True):
        out.setdefault(r["entity_id"], []).append(
            {
                "type": r["flag"],
                "severity": r["severity"],
                "jurisdiction": r["jurisdiction"],
                "distance": r["distance"],
                "path": list(r["path"] or []),
                "material": r["material"],
                "evidence": r["evidence"],
                "list_version": r["list_version"],
                "match_probability": r["match_probability"],
            }
        )
    return out, counts


def explain_all(
    scores: pl.DataFrame,
    arrays: GraphArrays,
    terms: pl.DataFrame,
    run: PropagationResult,
    flags: pl.DataFrame,
    ff: evidence.FindingFactors | None,
    *,
    params: Params,
    as_of: date,
    versions: Mapping[str, str],
    top: int = 5,
) -> pl.DataFrame:
    """Explanation payloads for every node: ``entity_id, flags, top_paths, top_indicators, explanation`` (JSON)."""
    del as_of  # ages are computed in the finding factors already
    hz = _hazards(arrays, run)
    findings = _top_findings(ff, params=params, per_entity=top)
    flag_map, flag_counts = _flag_payloads(flags)
    what_if = _what_if(ff, scores, terms, params=params)
    score_rows = scores.to_dicts()
    term_rows = terms.to_dicts()
    out_flags, out_paths, out_ind, out_expl = [], [], [], []
    for v, (srow, trow) in enumerate(zip(score_rows, term_rows, strict=True)):
        payload = explain_entity(
            v,
            arrays=arrays,
            hz=hz,
            score_row=srow,
            term_row=trow,
            flags=flag_map.get(arrays.node_ids[v], []),
            n_flags=flag_counts.get(arrays.node_ids[v], 0),
            what_if=what_if.get(arrays.node_ids[v]),
            findings=findings,
            params=params,
            versions=versions,
            top=top,
        )
        pieces = {key: _dumps(payload.pop(key)) for key in ("flags", "top_paths", "top_indicators")}
        out_flags.append(pieces["flags"])
        out_paths.append(pieces["top_paths"])
        out_ind.append(pieces["top_indicators"])
        # the full payload reuses the three serialised pieces instead of encoding them twice
        rest = _dumps(payload)
        out_expl.append(
            rest[:-1]
            + f', "flags": {pieces["flags"]}, "top_paths": {pieces["top_paths"]},'
            + f' "top_indicators": {pieces["top_indicators"]}}}'
        )
    return pl.DataFrame(
        {
            "entity_id": arrays.node_ids,
            "flags": out_flags,
            "top_paths": out_paths,
            "top_indicators": out_ind,
            "explanation": out_expl,
        },
        schema={
            "entity_id": pl.String,
            "flags": pl.String,
            "top_paths": pl.String,
            "top_indicators": pl.String,
            "explanation": pl.String,
        },
    )
