"""Entity evidence E_v (METHODOLOGY §3.3): audit findings on the 11 ILO indicators, enforcement, allegations.

Audit findings: ``x_f = w_k · g · σ · 2^(−Δt/H) · ρ · q · m``; ``e_k = min(1, max_f x_f · (1 + 0.3·recurred))``;
``E_audit = 1 − Π_k (1 − e_k)``, raised to 0.80 by the ILO pattern rule (an involuntariness indicator and a
different penalty indicator both ≥ 0.20 within the recency window) and to 0.60 by a grave single indicator
(5, 7 or 9 ≥ 0.30). Enforcement-list hits and allegations add ``E_enf`` and ``E_alleg``;
``E = 1 − (1 − E_audit)(1 − E_enf)(1 − E_alleg)``.

Three variants serve the interval of §3.7: ``point`` (accepted matches m ≥ 0.9, unknown scope 0.8),
``low`` (accepted matches, unknown scope = isolated) and ``high`` (possible matches m ≥ 0.7 count as
matches, unknown scope = systemic). Every value this module cannot read (unknown grade, status, source,
indicator, list name, a finding without a mapped indicator) is reported in an issues frame
(``REJECTS_SCHEMA``) with the conservative value it used; nothing is silently dropped or changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl

from risk_engine.schemas import REJECTS_SCHEMA
from risk_engine.scoring.registry import ILO_IDS, EnforcementParams, EvidenceParams, Params

Variant = Literal["point", "low", "high"]
VARIANTS: tuple[Variant, ...] = ("point", "low", "high")

DAYS_PER_MONTH = 365.25 / 12

_KEY = re.compile(r"[^0-9a-z]+")

# Scheme wordings -> the canonical grade names of the parameter file.
_GRADE_ALIASES: dict[str, str] = {
    "critical": "critical",
    "business_critical": "business_critical",
    "priority": "priority",
    "rba_priority": "priority",
    "zero_tolerance": "zero_tolerance",
    "zt": "zero_tolerance",
    "major": "major",
    "pa_e": "pa_e",
    "pa_e_rating": "pa_e",
    "e": "pa_e",
    "crucial_no": "crucial_no",
    "crucial_question_no": "crucial_no",
    "pa_d": "pa_d",
    "d": "pa_d",
    "minor": "minor",
    "partially": "partially",
    "pa_c": "pa_c",
    "c": "pa_c",
    "observation": "observation",
    "obs": "observation",
    "pa_b": "pa_b",
    "b": "pa_b",
    "pa_rating_e": "pa_e",
    "pa_rating_d": "pa_d",
    "pa_rating_c": "pa_c",
    "pa_rating_b": "pa_b",
    # RBA's lowest category: a risk of non-conformance, not an observed violation
    "risk_of_non_conformance": "observation",
    "risk_of_nonconformance": "observation",
}
_STATUS_ALIASES: dict[str, str] = {
    "open": "open",
    "pending": "open",
    "not_started": "open",
    "overdue": "overdue",
    "cap_agreed": "cap_agreed",
    "cap": "cap_agreed",
    "in_progress": "cap_agreed",
    "cap_in_progress": "cap_agreed",
    "closed_desktop": "closed_desktop",
    "closed_desk": "closed_desktop",
    "closed_on_desktop": "closed_desktop",
    "closed_desktop_review": "closed_desktop",
    "desktop": "closed_desktop",
    # "closed" without saying how is treated as the weakest closure (desk evidence)
    "closed": "closed_desktop",
    "closed_verified": "closed_verified",
    "verified": "closed_verified",
    "closed_follow_up": "closed_verified",
    "closed_followup": "closed_verified",
    "closed_follow_up_audit": "closed_verified",
    "closed_onsite": "closed_verified",
    "closed_verified_with_remedy": "closed_verified_with_remedy",
    "closed_with_remedy": "closed_verified_with_remedy",
    "remedied": "closed_verified_with_remedy",
    "closed_remedy": "closed_verified_with_remedy",
}
_SCOPE_ALIASES: dict[str, str] = {
    "systemic": "systemic",
    "system": "systemic",
    "widespread": "systemic",
    "yes": "systemic",
    "true": "systemic",
    "isolated": "isolated",
    "single": "isolated",
    "individual": "isolated",
    "no": "isolated",
    "false": "isolated",
    "unknown": "unknown",
}
_SOURCE_ALIASES: dict[str, str] = {
    "third_party_audit": "third_party_audit",
    "third_party": "third_party_audit",
    "3rd_party_audit": "third_party_audit",
    "audit": "third_party_audit",
    "social_audit": "third_party_audit",
    "worker_voice_substantiated": "worker_voice_substantiated",
    "worker_voice": "worker_voice_substantiated",
    "grievance": "worker_voice_substantiated",
    "verified_slcp": "verified_slcp",
    "slcp": "verified_slcp",
    "self_assessment": "self_assessment",
    "saq": "self_assessment",
    "self": "self_assessment",
    "allegation": "allegation",
}
_CLOSED = ("closed_desktop", "closed_verified", "closed_verified_with_remedy")

FINDING_COLUMNS = (
    "row",
    "site_entity_id",
    "audit_id",
    "finding_id",
    "audit_date",
    "audit_type",
    "scheme",
    "clause",
    "grade",
    "scope",
    "status",
    "status_date",
    "source",
    "match_confidence",
    "ilo_indicators",
)


def canonical_key(value: str | None) -> str:
    """Lower-case, punctuation to ``_``: the lookup key of grade, status, scope and source words."""
    if value is None:
        return ""
    return _KEY.sub("_", value.casefold()).strip("_")


def _lookup(value: str | None, aliases: dict[str, str], table: dict[str, float] | object) -> str | None:
    key = canonical_key(value)
    if not key:
        return None
    name = aliases.get(key, key)
    return name if name in table else None  # type: ignore[operator]


def _issue(row: int | None, column: str, value: object, reason: str, *, file: str) -> dict[str, object]:
    return {
        "file": file,
        "row": row,
        "column": column,
        "value": None if value is None else str(value),
        "reason": reason,
        "severity": "warning",
    }


def empty_issues() -> pl.DataFrame:
    """An empty issues frame (``REJECTS_SCHEMA``)."""
    return pl.DataFrame(schema=REJECTS_SCHEMA)


def _normalise_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """Canonical finding columns, whatever subset the caller has (missing ones null)."""
    f = findings
    if "ilo_indicators" not in f.columns and "ilo_indicator" in f.columns:
        f = f.with_columns(pl.col("ilo_indicator").alias("ilo_indicators"))
    if "site_entity_id" not in f.columns and "entity_id" in f.columns:
        f = f.with_columns(pl.col("entity_id").alias("site_entity_id"))
    if "row" not in f.columns:
        f = f.with_row_index("row", offset=2).with_columns(pl.col("row").cast(pl.Int64))
    types: dict[str, pl.DataType] = {
        "row": pl.Int64(),
        "site_entity_id": pl.String(),
        "audit_id": pl.String(),
        "finding_id": pl.String(),
        "audit_date": pl.Date(),
        "audit_type": pl.String(),
        "scheme": pl.String(),
        "clause": pl.String(),
        "grade": pl.String(),
        "scope": pl.String(),
        "status": pl.String(),
        "status_date": pl.Date(),
        "source": pl.String(),
        "match_confidence": pl.Float64(),
        "ilo_indicators": pl.List(pl.Int64()),
    }
    cols = []
    for name, dtype in types.items():
        if name in f.columns:
            cols.append(pl.col(name).cast(dtype, strict=False))
        else:
            cols.append(pl.lit(None, dtype).alias(name))
    extra = [pl.col("repeat").cast(pl.Boolean, strict=False)] if "repeat" in f.columns else []
    out = f.select(*cols, *extra)
    if "repeat" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.Boolean).alias("repeat"))
    return out


@dataclass(frozen=True)
class FindingFactors:
    """Per (finding, indicator) factors and the issues met while reading them."""

    factors: pl.DataFrame
    issues: pl.DataFrame
    unmapped: pl.DataFrame


def finding_factors(
    findings: pl.DataFrame, *, params: Params, as_of: date, file: str = "audits"
) -> FindingFactors:
    """One row per (finding, ILO indicator) with every factor of ``x_f`` except scope and match variants.

    Columns: ``row, site_entity_id, audit_id, finding_id, indicator, w, grade, g, scope_key, status_key,
    rho, source_key, q, m, audit_date, age_months, recurred``. Findings dated after ``as_of`` are
    left out (they were not known then); findings with no mapped indicator go to ``unmapped``.
    """
    ep = params.evidence
    f = _normalise_findings(findings)
    issues: list[dict[str, object]] = []
    if f.is_empty():
        return FindingFactors(_empty_factors(), empty_issues(), f.clear())
    recs = f.to_dicts()
    rows: list[dict[str, object]] = []
    unmapped_rows: list[int] = []
    for i, r in enumerate(recs):
        rownum = r["row"]
        if r["site_entity_id"] is None:
            issues.append(
                _issue(
                    rownum, "site_entity_id", None, "finding not linked to any entity: not scored", file=file
                )
            )
            continue
        if r["audit_date"] is None:
            issues.append(
                _issue(rownum, "audit_date", None, "finding without a date: treated as current", file=file)
            )
        elif r["audit_date"] > as_of:
            issues.append(
                _issue(
                    rownum,
                    "audit_date",
                    r["audit_date"],
                    f"finding dated after as-of {as_of}: not used",
                    file=file,
                )
            )
            continue
        indicators = [k for k in (r["ilo_indicators"] or []) if k is not None]
        bad = [k for k in indicators if k not in ILO_IDS]
        for k in bad:
            issues.append(
                _issue(rownum, "ilo_indicators", k, "not an ILO indicator id (1-11): ignored", file=file)
            )
        good = sorted({int(k) for k in indicators if k in ILO_IDS})
        if not good:
            if r["finding_id"] is not None or r["clause"] is not None or bad:
                unmapped_rows.append(i)
                issues.append(
                    _issue(
                        rownum,
                        "clause",
                        r["clause"],
                        "clause maps to no ILO forced-labour indicator (not FL-related, or unknown): no evidence added",
                        file=file,
                    )
                )
            continue
        grade = _lookup(r["grade"], _GRADE_ALIASES, ep.grade)
        if grade is None:
            what = "grade missing" if not canonical_key(r["grade"]) else "unknown grade"
            issues.append(
                _issue(
                    rownum, "grade", r["grade"], f"{what}: treated as {ep.grade_unknown} (major)", file=file
                )
            )
        status = _lookup(r["status"], _STATUS_ALIASES, ep.remediation)
        if status is None:
            what = (
                "remediation status missing"
                if not canonical_key(r["status"])
                else "unknown remediation status"
            )
            issues.append(_issue(rownum, "status", r["status"], f"{what}: treated as open", file=file))
        if (
            status is not None
            and status != "open"
            and r["status_date"] is not None
            and r["status_date"] > as_of
        ):
            status = "open"  # the closure was not known at as-of
        scope = _lookup(r["scope"], _SCOPE_ALIASES, ep.scope) or "unknown"
        if (
            r["scope"] is not None
            and canonical_key(r["scope"])
            and _lookup(r["scope"], _SCOPE_ALIASES, ep.scope) is None
        ):
            issues.append(_issue(rownum, "scope", r["scope"], "unknown scope: treated as unknown", file=file))
        source = _lookup(r["source"], _SOURCE_ALIASES, ep.source_quality)
        if source is None and r["source"] is not None:
            issues.append(
                _issue(
                    rownum,
                    "source",
                    r["source"],
                    f"unknown source: quality {ep.source_unknown} used",
                    file=file,
                )
            )
        m = r["match_confidence"]
        if m is None:
            m = 1.0
        elif not 0.0 <= m <= 1.0:
            issues.append(
                _issue(rownum, "match_confidence", m, "match confidence outside [0,1]: clipped", file=file)
            )
            m = min(1.0, max(0.0, m))
        age = 0.0 if r["audit_date"] is None else (as_of - r["audit_date"]).days / DAYS_PER_MONTH
        for k in good:
            rows.append(
                {
                    "row": rownum,
                    "site_entity_id": r["site_entity_id"],
                    "audit_id": r["audit_id"],
                    "finding_id": r["finding_id"] if r["finding_id"] is not None else f"row{rownum}",
                    "indicator": k,
                    "w": ep.indicator_weights[k],
                    "grade": r["grade"],
                    "g": ep.grade[grade] if grade else ep.grade_unknown,
                    "scope_key": scope,
                    "status_key": status or "open",
                    "rho": ep.remediation[status] if status else ep.remediation_unknown,
                    "source_key": source,
                    "q": ep.source_quality[source] if source else ep.source_unknown,
                    "m": float(m),
                    "audit_date": r["audit_date"],
                    "status_date": r["status_date"],
                    "age_months": age,
                    "repeat": r["repeat"],
                }
            )
    factors = pl.DataFrame(rows, schema=_FACTOR_SCHEMA) if rows else _empty_factors()
    factors = _mark_recurrence(factors)
    unmapped = f[unmapped_rows] if unmapped_rows else f.clear()
    return FindingFactors(
        factors, pl.DataFrame(issues, schema=REJECTS_SCHEMA) if issues else empty_issues(), unmapped
    )


_FACTOR_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "site_entity_id": pl.String(),
    "audit_id": pl.String(),
    "finding_id": pl.String(),
    "indicator": pl.Int64(),
    "w": pl.Float64(),
    "grade": pl.String(),
    "g": pl.Float64(),
    "scope_key": pl.String(),
    "status_key": pl.String(),
    "rho": pl.Float64(),
    "source_key": pl.String(),
    "q": pl.Float64(),
    "m": pl.Float64(),
    "audit_date": pl.Date(),
    "status_date": pl.Date(),
    "age_months": pl.Float64(),
    "repeat": pl.Boolean(),
}


def _empty_factors() -> pl.DataFrame:
    return pl.DataFrame(schema={**_FACTOR_SCHEMA, "recurred": pl.Boolean()})


def _mark_recurrence(factors: pl.DataFrame) -> pl.DataFrame:
    """``recurred``: the same indicator at the same site was found again after an earlier finding was closed."""
    if factors.is_empty():
        return factors.with_columns(pl.lit(False).alias("recurred"))
    closed = (
        factors.filter(pl.col("status_key").is_in(_CLOSED))
        .select(
            "site_entity_id",
            "indicator",
            pl.coalesce("status_date", "audit_date").alias("_closed_at"),
            pl.col("audit_date").alias("_closed_audit"),
        )
        .drop_nulls("_closed_audit")
    )
    later = (
        factors.with_row_index("_i")
        .join(closed, on=["site_entity_id", "indicator"], how="inner")
        .filter(
            (pl.col("audit_date") > pl.col("_closed_audit"))
            & (pl.col("audit_date") >= pl.col("_closed_at").fill_null(pl.col("_closed_audit")))
        )
        .select("_i")
        .unique()
    )
    idx = set(later.get_column("_i").to_list())
    flag = pl.Series("recurred", [i in idx for i in range(factors.height)], dtype=pl.Boolean)
    return factors.with_columns(flag).with_columns(
        recurred=pl.col("recurred") | pl.col("repeat").fill_null(False)
    )


def finding_contributions(
    factors: pl.DataFrame, *, params: Params, variant: Variant = "point"
) -> pl.DataFrame:
    """``x_f`` per (finding, indicator) for one variant: adds ``sigma``, ``recency``, ``m_used``, ``x``, ``in_window``."""
    ep = params.evidence
    unknown_scope = {"point": ep.scope["unknown"], "low": ep.scope["isolated"], "high": ep.scope["systemic"]}[
        variant
    ]
    threshold = ep.possible_match if variant == "high" else ep.auto_match
    scope = (
        pl.when(pl.col("scope_key") == "systemic")
        .then(ep.scope["systemic"])
        .when(pl.col("scope_key") == "isolated")
        .then(ep.scope["isolated"])
        .otherwise(unknown_scope)
    )
    below = pl.when(pl.col("m") < threshold).then(0.0)
    m_used = below.otherwise(1.0) if variant == "high" else below.otherwise(pl.col("m"))
    recency = pl.lit(2.0) ** (-pl.col("age_months").clip(lower_bound=0.0) / ep.half_life_months)
    return factors.with_columns(sigma=scope, recency=recency, m_used=m_used).with_columns(
        x=pl.col("w")
        * pl.col("g")
        * pl.col("sigma")
        * pl.col("recency")
        * pl.col("rho")
        * pl.col("q")
        * pl.col("m_used"),
        in_window=pl.col("age_months") <= ep.recency_window_months,
    )


def indicator_evidence(contrib: pl.DataFrame, *, params: Params) -> pl.DataFrame:
    """``e_k`` per (entity, indicator): max x_f, x(1 + bonus) if recurred, capped at 1; also the window-only value."""
    bonus = 1.0 + params.evidence.recurrence_bonus
    return (
        contrib.group_by("site_entity_id", "indicator")
        .agg(
            x_max=pl.col("x").max(),
            x_window=pl.col("x").filter(pl.col("in_window")).max().fill_null(0.0),
            recurred=pl.col("recurred").any(),
        )
        .with_columns(
            e=pl.min_horizontal(
                pl.col("x_max") * pl.when(pl.col("recurred")).then(bonus).otherwise(1.0), pl.lit(1.0)
            ),
            e_window=pl.min_horizontal(
                pl.col("x_window") * pl.when(pl.col("recurred")).then(bonus).otherwise(1.0), pl.lit(1.0)
            ),
        )
        .select(pl.col("site_entity_id").alias("entity_id"), "indicator", "e", "e_window", "recurred")
        .sort("entity_id", "indicator")
    )


def ilo_pattern_met(e_window: dict[int, float], params: EvidenceParams) -> bool:
    """The ILO pattern rule: an involuntariness indicator and a *different* penalty indicator both ≥ threshold."""
    strong = {k for k, v in e_window.items() if v >= params.pattern_threshold}
    inv = strong & params.involuntariness_indicators
    pen = strong & params.penalty_indicators
    return any(i != p for i in inv for p in pen)


def grave_met(e_window: dict[int, float], params: EvidenceParams) -> bool:
    """A single grave indicator (5, 7 or 9) at or above the grave threshold."""
    return any(e_window.get(k, 0.0) >= params.grave_threshold for k in params.grave_indicators)


def combine_audit(
    e: dict[int, float], e_window: dict[int, float], params: EvidenceParams
) -> tuple[float, bool, bool]:
    """``E_audit`` from per-indicator evidence: noisy-OR, then the pattern and grave floors."""
    keep = 1.0
    for v in e.values():
        keep *= 1.0 - min(1.0, max(0.0, v))
    value = 1.0 - keep
    pattern = ilo_pattern_met(e_window, params)
    grave = grave_met(e_window, params)
    if pattern:
        value = max(value, params.pattern_floor)
    if grave:
        value = max(value, params.grave_floor)
    return value, pattern, grave


AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "e_audit": pl.Float64(),
    "e_audit_noisy_or": pl.Float64(),
    "pattern_met": pl.Boolean(),
    "grave_met": pl.Boolean(),
    "n_indicators": pl.Int64(),
}


def audit_evidence(
    findings: pl.DataFrame | FindingFactors | None,
    *,
    params: Params,
    as_of: date,
    variant: Variant = "point",
) -> pl.DataFrame:
    """``E_audit`` per entity (``AUDIT_SCHEMA``) for one interval variant; entities without findings are absent."""
    if findings is None:
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    ff = (
        findings
        if isinstance(findings, FindingFactors)
        else finding_factors(findings, params=params, as_of=as_of)
    )
    if ff.factors.is_empty():
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    ek = indicator_evidence(finding_contributions(ff.factors, params=params, variant=variant), params=params)
    return combine_audit_frame(ek, params.evidence)


def combine_audit_frame(ek: pl.DataFrame, ep: EvidenceParams) -> pl.DataFrame:
    """Vectorised :func:`combine_audit` over ``entity_id, indicator, e, e_window`` (``AUDIT_SCHEMA``).

    The pattern rule holds when some strong indicator is of the involuntariness class, some strong one is
    of the penalty class, and at least two distinct strong indicators belong to either class (so the two
    can be different indicators).
    """
    strong = pl.col("e_window") >= ep.pattern_threshold
    inv = pl.col("indicator").is_in(sorted(ep.involuntariness_indicators))
    pen = pl.col("indicator").is_in(sorted(ep.penalty_indicators))
    grave = pl.col("indicator").is_in(sorted(ep.grave_indicators)) & (
        pl.col("e_window") >= ep.grave_threshold
    )
    agg = ek.group_by("entity_id").agg(
        noisy_or=1.0 - (1.0 - pl.col("e").clip(0.0, 1.0)).product(),
        n_inv=(strong & inv).sum(),
        n_pen=(strong & pen).sum(),
        n_union=(strong & (inv | pen)).sum(),
        grave_met=grave.any(),
        n_indicators=(pl.col("e") > 0).sum().cast(pl.Int64),
    )
    pattern = (pl.col("n_inv") >= 1) & (pl.col("n_pen") >= 1) & (pl.col("n_union") >= 2)
    value = pl.col("noisy_or")
    value = pl.when(pattern).then(pl.max_horizontal(value, pl.lit(ep.pattern_floor))).otherwise(value)
    value = (
        pl.when(pl.col("grave_met")).then(pl.max_horizontal(value, pl.lit(ep.grave_floor))).otherwise(value)
    )
    return (
        agg.with_columns(pattern_met=pattern)
        .select(
            "entity_id",
            value.alias("e_audit"),
            pl.col("noisy_or").alias("e_audit_noisy_or"),
            "pattern_met",
            "grave_met",
            "n_indicators",
        )
        .cast(AUDIT_SCHEMA)  # type: ignore[arg-type]
        .sort("entity_id")
    )


# ---------------------------------------------------------------------------------------------------
# Clean audits (negative evidence for the inherent term).

CLEAN_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "clean_kappa": pl.Float64(),
    "clean_audit_id": pl.String(),
    "clean_audit_date": pl.Date(),
}


def clean_audits(findings: pl.DataFrame | None, *, params: Params, as_of: date) -> pl.DataFrame:
    """κ per entity from its best qualifying clean audit (``CLEAN_SCHEMA``).

    A clean audit: dated within 12 months before as-of, not a self-assessment, not a desktop or follow-up
    review, its site matched with confidence >= 0.9, and no FL-mapped finding (a finding on a clause
    outside the clause table, such as freedom of association, does not stop the discount; it is reported
    by :func:`finding_factors`).
    """
    if findings is None or findings.is_empty():
        return pl.DataFrame(schema=CLEAN_SCHEMA)
    ca = params.clean_audit
    f = _normalise_findings(findings).filter(
        pl.col("site_entity_id").is_not_null() & pl.col("audit_date").is_not_null()
    )
    valid = pl.col("ilo_indicators").list.eval(pl.element().is_between(1, 11)).list.any().fill_null(False)
    has_finding = valid
    audits = f.group_by("site_entity_id", "audit_id").agg(
        audit_date=pl.col("audit_date").max(),
        audit_type=pl.col("audit_type").drop_nulls().first(),
        source=pl.col("source").drop_nulls().first(),
        any_finding=has_finding.any(),
        min_m=pl.col("match_confidence").fill_null(1.0).min(),
    )
    age = (pl.lit(as_of) - pl.col("audit_date")).dt.total_days() / DAYS_PER_MONTH
    audits = audits.with_columns(age=age).filter(
        ~pl.col("any_finding")
        & (pl.col("age") >= 0)
        & (pl.col("age") <= ca.max_age_months)
        & (pl.col("min_m") >= params.evidence.auto_match)
    )
    rows = []
    for r in audits.iter_rows(named=True):
        atype = canonical_key(r["audit_type"])
        src = canonical_key(r["source"])
        if "self" in src or "saq" in src or "desktop" in atype or "follow" in atype:
            continue
        worker_voice = "worker" in atype or "worker_voice" in src
        unannounced = "unannounced" in atype or "semi" in atype
        kappa = ca.kappa_unannounced if (unannounced or worker_voice) else ca.kappa_announced
        rows.append((r["site_entity_id"], max(kappa, ca.kappa_floor), r["audit_id"], r["audit_date"]))
    if not rows:
        return pl.DataFrame(schema=CLEAN_SCHEMA)
    return (
        pl.DataFrame(rows, schema=CLEAN_SCHEMA, orient="row")
        .sort("entity_id", "clean_kappa", "clean_audit_date", descending=[False, False, True])
        .unique("entity_id", keep="first")
        .sort("entity_id")
    )


def latest_audit_dates(findings: pl.DataFrame | None) -> pl.DataFrame:
    """The most recent audit date per entity (for the coverage index)."""
    if findings is None or findings.is_empty():
        return pl.DataFrame(schema={"entity_id": pl.String, "last_audit_date": pl.Date})
    f = _normalise_findings(findings)
    return (
        f.filter(pl.col("site_entity_id").is_not_null())
        .group_by("site_entity_id")
        .agg(last_audit_date=pl.col("audit_date").max())
        .rename({"site_entity_id": "entity_id"})
    )


# ---------------------------------------------------------------------------------------------------
# Enforcement lists and allegations (§3.3 b).

ListName = Literal["UFLPA", "WRO", "EU_FLR", "OWNERSHIP", "ALLEGATION"]
_LIST_ALIASES: dict[str, ListName] = {
    "uflpa": "UFLPA",
    "uflpa_entity": "UFLPA",
    "uflpa_entity_list": "UFLPA",
    "wro": "WRO",
    "cbp_wro": "WRO",
    "finding": "WRO",
    "wro_finding": "WRO",
    "wro_entity": "WRO",
    "eu_flr": "EU_FLR",
    "eu_flr_decision": "EU_FLR",
    "eu_forced_labour_regulation": "EU_FLR",
    "ownership": "OWNERSHIP",
    "ownership_nexus": "OWNERSHIP",
    "allegation": "ALLEGATION",
    "allegations": "ALLEGATION",
}
FLAG_OF_LIST: dict[str, str] = {
    "UFLPA": "UFLPA_ENTITY",
    "WRO": "WRO_ENTITY",
    "EU_FLR": "EU_FLR_DECISION",
    "OWNERSHIP": "OWNERSHIP_NEXUS",
}
JURISDICTION_OF_FLAG: dict[str, str] = {
    "UFLPA_ENTITY": "US-UFLPA",
    "WRO_ENTITY": "US-CBP",
    "EU_FLR_DECISION": "EU-FLR",
    "OWNERSHIP_NEXUS": "US-UFLPA",
    "XUAR_LOCATED": "US-UFLPA",
}

ENFORCEMENT_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "e_enf": pl.Float64(),
    "e_alleg": pl.Float64(),
    "items": pl.String(),
}
HIT_FLAG_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "flag": pl.String(),
    "possible_match": pl.Boolean(),
    "match_probability": pl.Float64(),
    "list_version": pl.String(),
    "evidence": pl.String(),
}


def normalise_list_name(value: str | None) -> ListName | None:
    """The canonical list name of a hit, or None when unknown."""
    return _LIST_ALIASES.get(canonical_key(value))


@dataclass(frozen=True)
class EnforcementEvidence:
    """Per-entity enforcement and allegation evidence, the distance-0 flags, and the issues met."""

    evidence: pl.DataFrame
    flags: pl.DataFrame
    issues: pl.DataFrame


def _months(later: date, earlier: date) -> float:
    return max(0.0, (later - earlier).days / DAYS_PER_MONTH)


def _hit_value(
    name: ListName, listed: date | None, revoked: date | None, as_of: date, p: EnforcementParams
) -> float:
    active = revoked is None or revoked > as_of
    if name == "UFLPA":
        return p.uflpa_entity if active else 0.0
    if name == "EU_FLR":
        return p.eu_flr_decision if active else 0.0
    if name == "OWNERSHIP":
        return p.ownership_nexus if active else 0.0
    if name == "WRO":
        if active:
            return p.wro_active
        assert revoked is not None
        return p.wro_revoked * 2.0 ** (-_months(as_of, revoked) / p.wro_revoked_half_life_months)
    raise AssertionError(name)  # pragma: no cover


def enforcement_evidence(
    hits: pl.DataFrame | None,
    *,
    params: Params,
    as_of: date,
    variant: Variant = "point",
    file: str = "enforcement",
) -> EnforcementEvidence:
    """``E_enf`` and ``E_alleg`` per entity, and flags carried by the entity itself (distance 0).

    ``hits``: ``entity_id, list, match_probability, listed_date, revoked_date, list_version``. Hits
    below the possible-match threshold (0.7) are ignored; possible matches (0.7-0.9) count only in the
    ``high`` variant and raise flags marked ``possible_match`` (Low severity). Lists not yet in force at
    as-of are left out; unknown list names are reported and ignored.
    """
    ep, en = params.evidence, params.enforcement
    empty = EnforcementEvidence(
        pl.DataFrame(schema=ENFORCEMENT_SCHEMA), pl.DataFrame(schema=HIT_FLAG_SCHEMA), empty_issues()
    )
    if hits is None or hits.is_empty():
        return empty
    h = hits
    for name, dtype in (
        ("match_probability", pl.Float64()),
        ("listed_date", pl.Date()),
        ("revoked_date", pl.Date()),
        ("list_version", pl.String()),
        ("row", pl.Int64()),
    ):
        if name not in h.columns:
            h = h.with_columns(pl.lit(None, dtype).alias(name))
    issues: list[dict[str, object]] = []
    per_entity: dict[str, dict[str, list[tuple[float, str]]]] = {}
    alleg: dict[str, list[tuple[date | None, float]]] = {}
    flags: list[tuple[str, str, bool, float, str | None, str]] = []
    for r in h.iter_rows(named=True):
        rownum = r["row"]
        entity = r["entity_id"]
        if entity is None:
            issues.append(
                _issue(rownum, "entity_id", None, "enforcement hit without entity: ignored", file=file)
            )
            continue
        list_name = normalise_list_name(r["list"])
        if list_name is None:
            issues.append(_issue(rownum, "list", r["list"], "unknown list name: hit ignored", file=file))
            continue
        m = r["match_probability"]
        m = 1.0 if m is None else float(m)
        if m < ep.possible_match:
            continue
        possible = m < ep.auto_match
        listed, revoked = r["listed_date"], r["revoked_date"]
        if listed is not None and listed > as_of:
            continue  # not listed yet at as-of (point-in-time scoring)
        if list_name == "ALLEGATION":
            if possible and variant != "high":
                continue
            if revoked is not None and revoked <= as_of:
                continue  # retracted
            alleg.setdefault(entity, []).append((listed, m))
            if listed is None:
                issues.append(
                    _issue(rownum, "listed_date", None, "undated allegation: treated as current", file=file)
                )
            continue
        value = _hit_value(list_name, listed, revoked, as_of, en)
        active = revoked is None or revoked > as_of
        flag = FLAG_OF_LIST[list_name]
        if active:
            flags.append((entity, flag, possible, m, r["list_version"], f"{list_name} match p={m:.2f}"))
        if possible and variant != "high":
            continue
        label = f"{list_name}{'' if active else ' (revoked)'} p={m:.2f} list {r['list_version'] or 'n/a'}"
        per_entity.setdefault(entity, {}).setdefault(list_name, []).append((value, label))
    rows = []
    for entity in sorted(set(per_entity) | set(alleg)):
        keep = 1.0
        items: list[str] = []
        for _name, vals in sorted(per_entity.get(entity, {}).items()):
            best = max(vals)
            keep *= 1.0 - best[0]
            items.append(f"{best[1]} -> {best[0]:.3f}")
        e_alleg = 0.0
        if entity in alleg:
            entries = alleg[entity]
            n = len(entries)
            corroboration = (
                en.allegation_corroboration_multi if n >= 2 else en.allegation_corroboration_single
            )
            dates = [d for d, _ in entries if d is not None]
            age = 0.0 if len(dates) < n else _months(as_of, max(dates))
            e_alleg = min(
                en.allegation_cap,
                en.allegation_base * corroboration * 2.0 ** (-age / en.allegation_half_life_months),
            )
            items.append(f"ALLEGATION x{n} ({age:.0f} months) -> {e_alleg:.3f}")
        rows.append((entity, 1.0 - keep, e_alleg, "; ".join(items)))
    evidence = pl.DataFrame(rows, schema=ENFORCEMENT_SCHEMA, orient="row")
    flag_frame = pl.DataFrame(flags, schema=HIT_FLAG_SCHEMA, orient="row").unique(
        ["entity_id", "flag", "possible_match"], keep="first", maintain_order=True
    )
    return EnforcementEvidence(
        evidence, flag_frame, pl.DataFrame(issues, schema=REJECTS_SCHEMA) if issues else empty_issues()
    )


def entity_evidence(e_audit: float, e_enf: float, e_alleg: float) -> float:
    """``E_v = 1 − (1 − E_audit)(1 − E_enf)(1 − E_alleg)``."""
    return 1.0 - (1.0 - e_audit) * (1.0 - e_enf) * (1.0 - e_alleg)


def local_risk(inherent: float, evidence: float) -> float:
    """``L_v = 1 − (1 − I')(1 − E_v)``."""
    return 1.0 - (1.0 - inherent) * (1.0 - evidence)
