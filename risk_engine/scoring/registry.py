"""The methodology registry: named, versioned, immutable parameter sets.

``get_methodology("fl-v1")`` loads ``params/fl-v1.json`` (every number of METHODOLOGY §3 with a short
reason), validates it and returns a frozen :class:`Methodology`. ``risk-engine describe`` and
``GET /v1/methodology`` print from the same object the scoring code uses, so they cannot drift.
A released parameter file is never edited in place: new weights make a new methodology name.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

from risk_engine.errors import MethodologyError

Band = Literal["low", "medium", "high", "critical"]
Aggregator = Literal["grouped_noisy_or", "max", "weighted_mean"]

# name -> parameter file inside risk_engine/scoring/params; one line per released methodology.
_REGISTERED: dict[str, str] = {"fl-v1": "fl-v1.json"}

ILO_IDS: tuple[int, ...] = tuple(range(1, 12))


@dataclass(frozen=True)
class CountryOrder:
    """A country-wide import order (WRO/Finding) covering products of one country."""

    country: str
    hs_prefixes: tuple[str, ...]
    order: str


@dataclass(frozen=True)
class InherentParams:
    """§3.2: the log-odds scorecard, its cap and the overrides."""

    beta0: float
    beta_country: float
    beta_sector: float
    beta_tvpra_forced: float
    beta_tvpra_downstream: float
    beta_tvpra_child: float
    beta_uflpa_priority: float
    cap: float
    override_xuar: float
    override_dprk: float
    override_country_order: float
    xuar_uscc_division_prefix: str
    xuar_tokens: tuple[str, ...]
    dprk_countries: tuple[str, ...]
    country_wide_orders: tuple[CountryOrder, ...]
    country_missing_quantile: float
    country_missing_quantile_high: float
    sector_missing: float
    sector_missing_high: float
    gsi_weight_prevalence_rank: float
    gsi_weight_vulnerability: float
    gsi_weight_government_response: float


@dataclass(frozen=True)
class CleanAuditParams:
    """§3.2 negative evidence: the bounded clean-audit discount κ."""

    kappa_announced: float
    kappa_unannounced: float
    kappa_floor: float
    max_age_months: float


@dataclass(frozen=True)
class EvidenceParams:
    """§3.3(a): audit findings mapped to the 11 ILO indicators."""

    indicator_weights: Mapping[int, float]
    involuntariness_indicators: frozenset[int]
    penalty_indicators: frozenset[int]
    grave_indicators: frozenset[int]
    grade: Mapping[str, float]
    grade_unknown: float
    scope: Mapping[str, float]
    half_life_months: float
    remediation: Mapping[str, float]
    remediation_unknown: float
    source_quality: Mapping[str, float]
    source_unknown: float
    recurrence_bonus: float
    pattern_threshold: float
    pattern_floor: float
    grave_threshold: float
    grave_floor: float
    recency_window_months: float
    auto_match: float
    possible_match: float


@dataclass(frozen=True)
class EnforcementParams:
    """§3.3(b): enforcement lists and allegations."""

    uflpa_entity: float
    wro_active: float
    wro_revoked: float
    wro_revoked_half_life_months: float
    eu_flr_decision: float
    ownership_nexus: float
    allegation_base: float
    allegation_corroboration_single: float
    allegation_corroboration_multi: float
    allegation_half_life_months: float
    allegation_cap: float


@dataclass(frozen=True)
class PropagationParams:
    """§3.5: propagation across tiers."""

    delta: float
    max_depth: int
    c_mrio: float
    prune: float
    aggregator: Aggregator
    edge_confidence: Mapping[str, float]


@dataclass(frozen=True)
class FlagParams:
    """§3.6: hard flags and score floors."""

    high_floor: float
    medium_floor: float
    high_max_distance: int
    medium_max_distance: int
    min_confidence: float
    recent_months: float


@dataclass(frozen=True)
class IntervalParams:
    """§3.7: the interval [R_low, R_high]."""

    low_min_confidence: float
    high_backfill_quantile: float
    high_c_mrio: float


@dataclass(frozen=True)
class CoverageParams:
    """§3.7: the data coverage index and the low-coverage rule."""

    weight_direct: float
    weight_upstream: float
    weight_audit: float
    weight_identifier: float
    weight_region: float
    audit_full_months: float
    audit_partial_months: float
    audit_partial_value: float
    identifier_strong: float
    identifier_address: float
    identifier_name_only: float
    low_dci: float
    wide_interval: float
    inferred_max_confidence: float


@dataclass(frozen=True)
class BandParams:
    """§3.8: lower bounds of the medium, high and critical bands."""

    medium: float
    high: float
    critical: float


@dataclass(frozen=True)
class Params:
    """Every parameter of one methodology version."""

    inherent: InherentParams
    clean_audit: CleanAuditParams
    evidence: EvidenceParams
    enforcement: EnforcementParams
    propagation: PropagationParams
    flags: FlagParams
    interval: IntervalParams
    coverage: CoverageParams
    bands: BandParams


@dataclass(frozen=True)
class Methodology:
    """A named, versioned methodology: its validated parameters and the file they came from."""

    name: str
    params_version: str
    released: str
    params: Params
    sha256: str
    document_json: str

    def document(self) -> dict[str, Any]:
        """The parameter file as published (values with their reasons), a fresh copy each call."""
        doc: dict[str, Any] = json.loads(self.document_json)
        return doc


def registered_methodologies() -> tuple[str, ...]:
    """Names of every registered methodology."""
    return tuple(_REGISTERED)


def get_methodology(name: str = "fl-v1") -> Methodology:
    """The registered methodology ``name``; MethodologyError when unknown or its file is invalid."""
    if name not in _REGISTERED:
        msg = f"unknown methodology {name!r}; registered: {', '.join(_REGISTERED)}"
        raise MethodologyError(msg)
    return _load(name)


@cache
def _load(name: str) -> Methodology:
    filename = _REGISTERED[name]
    try:
        raw = resources.files("risk_engine.scoring.params").joinpath(filename).read_bytes()
    except OSError as exc:
        msg = f"methodology {name!r}: parameter file {filename} cannot be read: {exc}"
        raise MethodologyError(msg) from exc
    return methodology_from_json(raw, expected_name=name)


def methodology_from_json(raw: bytes, *, expected_name: str | None = None) -> Methodology:
    """Parse and validate a parameter document (used for registered files and in tests)."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"parameter file is not valid JSON: {exc}"
        raise MethodologyError(msg) from exc
    if not isinstance(doc, dict):
        raise MethodologyError("parameter file must hold a JSON object")
    name = _require_str(doc, "methodology", "")
    if expected_name is not None and name != expected_name:
        msg = f"parameter file declares methodology {name!r}, registered as {expected_name!r}"
        raise MethodologyError(msg)
    params = _build_params(doc)
    _validate(params)
    return Methodology(
        name=name,
        params_version=_require_str(doc, "params_version", ""),
        released=_require_str(doc, "released", ""),
        params=params,
        sha256=hashlib.sha256(raw).hexdigest(),
        document_json=json.dumps(doc, ensure_ascii=False),
    )


def methodology_document(name: str = "fl-v1") -> dict[str, Any]:
    """The methodology as published by ``GET /v1/methodology``: parameters with reasons and versions."""
    m = get_methodology(name)
    doc = m.document()
    reference: dict[str, Any]
    try:
        import importlib

        reference = dict(importlib.import_module("risk_engine.reference").manifest())
    except Exception as exc:  # the reference pack is another module; describe must still answer
        reference = {"error": f"reference manifest unavailable: {exc}"}
    return {
        "name": m.name,
        "params_version": m.params_version,
        "released": m.released,
        "params_sha256": m.sha256,
        "registered": list(registered_methodologies()),
        "components": _component_docs(),
        "parameters": {k: v for k, v in doc.items() if isinstance(v, dict)},
        "reference_data": reference,
        "note": "A score is a prioritisation signal for due diligence, never a finding that forced labour exists.",
    }


def describe_methodology(name: str = "fl-v1") -> str:
    """Plain-text description for ``risk-engine describe``: components, every parameter, data versions."""
    doc = methodology_document(name)
    lines = [
        f"methodology {doc['name']}  (parameters {doc['params_version']}, released {doc['released']})",
        f"parameter file sha256 {doc['params_sha256']}",
        doc["note"],
        "",
        "components:",
    ]
    for comp, text in doc["components"].items():
        lines.append(f"  {comp}: {text}")
    for section, entries in doc["parameters"].items():
        lines.append("")
        lines.append(f"[{section}]")
        for key, entry in entries.items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            why = entry.get("why", "") if isinstance(entry, dict) else ""
            lines.append(f"  {key} = {_format_value(value)}")
            if why:
                lines.append(f"      {why}")
    lines.append("")
    lines.append("reference data:")
    ref = doc["reference_data"]
    if "error" in ref:
        lines.append(f"  {ref['error']}")
    else:
        lines.extend(_format_manifest(ref))
    return "\n".join(lines) + "\n"


def _format_manifest(ref: Mapping[str, Any]) -> list[str]:
    """One line per reference table the methodology reads: edition and rows (details: the pack's own text)."""
    out = [f"  pack {ref.get('pack_version', 'unknown')}"]
    tables = ref.get("tables")
    if isinstance(tables, Mapping):
        for name, entry in sorted(tables.items()):
            if isinstance(entry, Mapping):
                out.append(f"  {name}: edition {entry.get('edition', '?')}, {entry.get('rows', '?')} rows")
    return out


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 160 else text[:157] + "..."
    return str(value)


def _component_docs() -> dict[str, str]:
    return {
        "inherent": "logit(I) = b0 + bC*C + bS*S + max(bFL*T_fl, bDS*T_ds, bCL*T_cl) + bU*U; capped at 0.45 "
        "without overrides (XUAR, DPRK, country-wide orders); clean audit I' = kappa*I, kappa >= 0.7",
        "evidence": "x_f = w_k*grade*scope*2^(-age/H)*remediation*source*match; e_k = max x_f (x1.3 if recurred); "
        "E_audit = noisy-OR over indicators; ILO pattern rule -> 0.80; grave single indicator -> 0.60; "
        "E = 1-(1-E_audit)(1-E_enf)(1-E_alleg)",
        "local": "L = 1-(1-I')(1-E)",
        "propagation": "R_v = 1-(1-L_v)(1-x_unmapped)prod_k(1-x_k), x_k = min(1, sum s*c*delta*R_u->v) over "
        "(country, hs4) clusters, cavity messages, K rounds",
        "flags": "UFLPA_ENTITY, WRO_ENTITY, EU_FLR_DECISION, XUAR_LOCATED, OWNERSHIP_NEXUS within K hops; "
        "High -> R >= 0.60, Medium -> R >= 0.35, Low annotates",
        "interval": "R_low: c >= 0.8 edges, no backfill, accepted matches, unknown scope isolated; R_high: c = 1, "
        "p90 backfill with c_mrio = 1, possible matches, unknown scope systemic",
        "coverage": "DCI = 0.35 s1 + 0.25 s2+ + 0.15 A + 0.15 ID + 0.10 G; low coverage if DCI < 0.4 or "
        "R_high - R_low > 0.3",
        "bands": "low < 0.10 <= medium < 0.25 <= high < 0.50 <= critical (or a High flag)",
    }


# ---------------------------------------------------------------------------------------------------
# Building and validating the typed parameters.


def _require_str(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        msg = f"parameter file: {where}{key} must be a non-empty string"
        raise MethodologyError(msg)
    return value


def _section_values(doc: Mapping[str, Any], section: str) -> dict[str, Any]:
    raw = doc.get(section)
    if not isinstance(raw, dict):
        msg = f"parameter file: section {section!r} missing"
        raise MethodologyError(msg)
    values: dict[str, Any] = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or "value" not in entry:
            msg = f"parameter file: {section}.{key} must be an object with 'value' and 'why'"
            raise MethodologyError(msg)
        if not isinstance(entry.get("why"), str) or not entry["why"].strip():
            msg = f"parameter file: {section}.{key} has no 'why'"
            raise MethodologyError(msg)
        values[key] = entry["value"]
    return values


def _number(section: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = f"parameter file: {section}.{key} must be a finite number, got {value!r}"
        raise MethodologyError(msg)
    return float(value)


def _number_map(section: str, key: str, value: object) -> Mapping[str, float]:
    if not isinstance(value, dict) or not value:
        msg = f"parameter file: {section}.{key} must be a non-empty object"
        raise MethodologyError(msg)
    return MappingProxyType({str(k): _number(section, f"{key}.{k}", v) for k, v in value.items()})


def _int_set(section: str, key: str, value: object) -> frozenset[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and v in ILO_IDS for v in value):
        msg = f"parameter file: {section}.{key} must list ILO indicator ids 1-11"
        raise MethodologyError(msg)
    return frozenset(value)


def _str_tuple(section: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        msg = f"parameter file: {section}.{key} must be a list of strings"
        raise MethodologyError(msg)
    return tuple(value)


_SPECIAL: dict[tuple[str, str], str] = {
    ("inherent", "xuar_uscc_division_prefix"): "str",
    ("inherent", "xuar_tokens"): "str_tuple",
    ("inherent", "dprk_countries"): "str_tuple",
    ("inherent", "country_wide_orders"): "orders",
    ("evidence", "indicator_weights"): "indicator_map",
    ("evidence", "involuntariness_indicators"): "int_set",
    ("evidence", "penalty_indicators"): "int_set",
    ("evidence", "grave_indicators"): "int_set",
    ("evidence", "grade"): "map",
    ("evidence", "scope"): "map",
    ("evidence", "remediation"): "map",
    ("evidence", "source_quality"): "map",
    ("propagation", "aggregator"): "str",
    ("propagation", "edge_confidence"): "map",
    ("propagation", "max_depth"): "int",
    ("flags", "high_max_distance"): "int",
    ("flags", "medium_max_distance"): "int",
}

_SECTIONS: dict[str, type] = {
    "inherent": InherentParams,
    "clean_audit": CleanAuditParams,
    "evidence": EvidenceParams,
    "enforcement": EnforcementParams,
    "propagation": PropagationParams,
    "flags": FlagParams,
    "interval": IntervalParams,
    "coverage": CoverageParams,
    "bands": BandParams,
}


def _convert(section: str, key: str, value: object) -> object:
    kind = _SPECIAL.get((section, key), "number")
    if kind == "number":
        return _number(section, key, value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = f"parameter file: {section}.{key} must be a non-negative integer"
            raise MethodologyError(msg)
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            msg = f"parameter file: {section}.{key} must be a non-empty string"
            raise MethodologyError(msg)
        return value
    if kind == "str_tuple":
        return _str_tuple(section, key, value)
    if kind == "int_set":
        return _int_set(section, key, value)
    if kind == "map":
        return _number_map(section, key, value)
    if kind == "indicator_map":
        weights = _number_map(section, key, value)
        try:
            by_id = {int(k): v for k, v in weights.items()}
        except ValueError as exc:
            msg = f"parameter file: {section}.{key} keys must be ILO indicator ids"
            raise MethodologyError(msg) from exc
        if set(by_id) != set(ILO_IDS):
            msg = f"parameter file: {section}.{key} must give a weight for each of the 11 ILO indicators"
            raise MethodologyError(msg)
        return MappingProxyType(by_id)
    if kind == "orders":
        if not isinstance(value, list):
            msg = f"parameter file: {section}.{key} must be a list"
            raise MethodologyError(msg)
        orders = []
        for item in value:
            if not isinstance(item, dict):
                msg = f"parameter file: {section}.{key} entries must be objects"
                raise MethodologyError(msg)
            orders.append(
                CountryOrder(
                    country=str(item.get("country", "")),
                    hs_prefixes=_str_tuple(section, f"{key}.hs_prefixes", item.get("hs_prefixes")),
                    order=str(item.get("order", "")),
                )
            )
        return tuple(orders)
    raise AssertionError(kind)  # pragma: no cover


def _build_params(doc: Mapping[str, Any]) -> Params:
    built: dict[str, object] = {}
    for section, cls in _SECTIONS.items():
        values = _section_values(doc, section)
        expected = {f.name for f in fields(cls)}
        missing = sorted(expected - set(values))
        extra = sorted(set(values) - expected)
        if missing or extra:
            msg = f"parameter file: section {section!r}: missing {missing}, unknown {extra}"
            raise MethodologyError(msg)
        built[section] = cls(**{k: _convert(section, k, v) for k, v in values.items()})
    return Params(**built)  # type: ignore[arg-type]


def _validate(p: Params) -> None:
    problems: list[str] = []

    def unit(where: str, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            problems.append(f"{where} = {value} must lie in [0, 1]")

    inh = p.inherent
    for name in ("cap", "override_xuar", "override_dprk", "override_country_order", "sector_missing"):
        unit(f"inherent.{name}", getattr(inh, name))
    unit("inherent.sector_missing_high", inh.sector_missing_high)
    unit("inherent.country_missing_quantile", inh.country_missing_quantile)
    unit("inherent.country_missing_quantile_high", inh.country_missing_quantile_high)
    for name in ("beta_country", "beta_sector", "beta_tvpra_forced", "beta_tvpra_downstream"):
        if getattr(inh, name) < 0:
            problems.append(f"inherent.{name} must be >= 0 (monotone in risk)")
    if min(inh.beta_tvpra_child, inh.beta_uflpa_priority) < 0:
        problems.append("inherent listing betas must be >= 0 (monotone in risk)")
    max_logit = (
        inh.beta0
        + inh.beta_country
        + inh.beta_sector
        + max(inh.beta_tvpra_forced, inh.beta_tvpra_downstream, inh.beta_tvpra_child)
        + inh.beta_uflpa_priority
    )
    if 1.0 / (1.0 + math.exp(-max_logit)) > inh.cap + 5e-4:
        problems.append(f"inherent betas reach {max_logit:.3f} in logit, above the cap {inh.cap}")
    gsi = inh.gsi_weight_prevalence_rank + inh.gsi_weight_vulnerability + inh.gsi_weight_government_response
    if abs(gsi - 1.0) > 1e-9:
        problems.append(f"GSI weights sum to {gsi}, not 1")
    ca = p.clean_audit
    if not ca.kappa_floor <= ca.kappa_unannounced <= ca.kappa_announced <= 1.0:
        problems.append("clean_audit: need kappa_floor <= kappa_unannounced <= kappa_announced <= 1")
    ev = p.evidence
    for k, w in ev.indicator_weights.items():
        unit(f"evidence.indicator_weights.{k}", w)
    for section_name in ("grade", "scope", "remediation", "source_quality"):
        for k, v in getattr(ev, section_name).items():
            unit(f"evidence.{section_name}.{k}", v)
    for name in (
        "grade_unknown",
        "remediation_unknown",
        "source_unknown",
        "pattern_threshold",
        "pattern_floor",
        "grave_threshold",
        "grave_floor",
        "auto_match",
        "possible_match",
    ):
        unit(f"evidence.{name}", getattr(ev, name))
    if not {"systemic", "unknown", "isolated"} <= set(ev.scope):
        problems.append("evidence.scope needs systemic, unknown and isolated")
    if not ev.grave_indicators <= ev.penalty_indicators | ev.involuntariness_indicators:
        problems.append("grave indicators must be involuntariness or penalty indicators")
    if ev.half_life_months <= 0 or ev.recency_window_months <= 0:
        problems.append("evidence half-life and recency window must be positive")
    if ev.possible_match > ev.auto_match:
        problems.append("evidence.possible_match must not exceed auto_match")
    en = p.enforcement
    for f in fields(en):
        if not f.name.endswith("half_life_months") and not f.name.startswith("allegation_corroboration"):
            unit(f"enforcement.{f.name}", getattr(en, f.name))
    if en.allegation_corroboration_multi < en.allegation_corroboration_single:
        problems.append("enforcement: corroboration by more sources must not lower the value")
    pr = p.propagation
    unit("propagation.delta", pr.delta)
    unit("propagation.c_mrio", pr.c_mrio)
    if pr.aggregator not in ("grouped_noisy_or", "max", "weighted_mean"):
        problems.append(f"propagation.aggregator {pr.aggregator!r} unknown")
    if not 1 <= pr.max_depth <= 10:
        problems.append("propagation.max_depth must be in 1..10")
    fl = p.flags
    if not 0.0 <= fl.medium_floor <= fl.high_floor <= 1.0:
        problems.append("flags: need 0 <= medium_floor <= high_floor <= 1")
    if not fl.high_max_distance <= fl.medium_max_distance:
        problems.append("flags: high_max_distance must not exceed medium_max_distance")
    unit("interval.low_min_confidence", p.interval.low_min_confidence)
    unit("interval.high_backfill_quantile", p.interval.high_backfill_quantile)
    unit("interval.high_c_mrio", p.interval.high_c_mrio)
    cov = p.coverage
    total = (
        cov.weight_direct + cov.weight_upstream + cov.weight_audit + cov.weight_identifier + cov.weight_region
    )
    if abs(total - 1.0) > 1e-9:
        problems.append(f"coverage weights sum to {total}, not 1")
    b = p.bands
    if not 0.0 < b.medium < b.high < b.critical <= 1.0:
        problems.append("bands: need 0 < medium < high < critical <= 1")
    if problems:
        raise MethodologyError("invalid parameters: " + "; ".join(problems))
