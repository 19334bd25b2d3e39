"""The report's content as small tables: counts, the riskiest suppliers and why, exposure, paths.

Pure functions over a ``ScreenResult``; ``risk_engine.report.html`` turns them into charts and HTML.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from risk_engine.pipeline import BANDS, ScreenResult

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
ILO_NAMES = {
    1: "Abuse of vulnerability",
    2: "Deception",
    3: "Restriction of movement",
    4: "Isolation",
    5: "Physical and sexual violence",
    6: "Intimidation and threats",
    7: "Retention of identity documents",
    8: "Withholding of wages",
    9: "Debt bondage",
    10: "Abusive working and living conditions",
    11: "Excessive overtime",
}
_INVOLUNTARINESS = {2, 3, 4, 9, 10, 11}
_PENALTY = {1, 3, 5, 6, 7, 8, 9}


def ilo_class(indicator: int) -> str:
    """ILO survey class of an indicator: involuntariness, penalty, or both."""
    inv, pen = indicator in _INVOLUNTARINESS, indicator in _PENALTY
    return "both" if inv and pen else ("involuntariness" if inv else "penalty")


def parse_json(value: str | None, default: Any) -> Any:
    """A JSON cell, or ``default`` when empty or malformed."""
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default


def flag_counts(scores: pl.DataFrame) -> pl.DataFrame:
    """Flags per type and severity over the scores table (type, severity, entities)."""
    rows: list[dict[str, Any]] = []
    flagged = (
        scores.filter(pl.col("flag_severity").is_not_null()) if "flag_severity" in scores.columns else scores
    )
    for entity_id, flags in flagged.select("entity_id", "flags").unique(subset="entity_id").iter_rows():
        for flag in parse_json(flags, []):
            rows.append({"entity_id": entity_id, "type": flag.get("type"), "severity": flag.get("severity")})
    if not rows:
        return pl.DataFrame(schema={"type": pl.String, "severity": pl.String, "entities": pl.UInt32})
    return (
        pl.DataFrame(rows)
        .unique()
        .group_by("type", "severity")
        .agg(pl.len().alias("entities"))
        .with_columns(pl.col("severity").replace_strict(SEVERITY_RANK, default=0).alias("_r"))
        .sort(["_r", "entities", "type"], descending=[True, True, False])
        .drop("_r")
    )


def _name_of(result: ScreenResult) -> dict[str, str]:
    if result.entities.height == 0:
        return {}
    return dict(result.entities.select("entity_id", "name").iter_rows())


def why(row: dict[str, Any], explanation: dict[str, Any], names: dict[str, str]) -> str:
    """One or two plain sentences saying why a row scored as it did."""
    parts: list[str] = []
    flags = sorted(
        parse_json(row.get("flags"), []),
        key=lambda f: -SEVERITY_RANK.get(str(f.get("severity")), 0),
    )
    if flags:
        f = flags[0]
        path = [names.get(p, p) for p in f.get("path", [])]
        distance = f.get("distance")
        where = "itself" if not distance else f"{distance} hop{'s' if distance != 1 else ''} upstream"
        target = path[-1] if path else "an upstream entity"
        material = f" ({f['material']})" if f.get("material") else ""
        parts.append(
            f"{str(f.get('severity', '')).capitalize()} {f.get('type')} flag{material}: "
            f"{target}, {where}" + (f" via {' ← '.join(path[1:-1])}" if len(path) > 2 else "") + "."
        )
    indicators = parse_json(row.get("top_indicators"), []) or explanation.get("top_indicators", [])
    if indicators:
        ind = indicators[0]
        k = ind.get("ilo_indicator")
        site = names.get(str(ind.get("entity")), ind.get("entity"))
        where = "" if ind.get("entity") in (None, row.get("entity_id")) else f" at {site}"
        parts.append(
            f"ILO {k} ({ind.get('name') or ILO_NAMES.get(int(k or 0), '?')}) finding{where}"
            + (f", {ind['grade']}" if ind.get("grade") else "")
            + (f", {ind['status']}" if ind.get("status") else "")
            + "."
        )
    paths = list(parse_json(row.get("top_paths"), []) or explanation.get("top_paths", []))
    upstream = [p for p in paths if len(p.get("path", [])) > 1]
    if upstream and not flags:
        p = upstream[0]
        chain = " ← ".join(names.get(x, x) for x in p["path"][1:])
        share = p.get("share_of_hazard")
        parts.append(
            f"Upstream: {chain}" + (f" ({share:.0%} of the risk)" if isinstance(share, float) else "") + "."
        )
    inherent = explanation.get("inherent") or {}
    if isinstance(inherent, dict) and (inherent.get("country") or inherent.get("sector")):
        listings = inherent.get("listings") or []
        parts.append(
            f"Inherent {row.get('inherent') or 0:.2f} from {inherent.get('country', '?')}"
            f" × {inherent.get('sector', 'unknown sector')}"
            + (f" ({', '.join(map(str, listings[:2]))})" if listings else "")
            + "."
        )
    elif not parts:
        parts.append(f"Inherent country/sector risk {row.get('inherent') or 0:.2f}.")
    return " ".join(parts)


def riskiest(result: ScreenResult, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` highest-scoring supplier rows, each with its explanation and a 'why' sentence."""
    names = _name_of(result)
    rows = (
        result.scores.filter(pl.col("role") == "supplier")
        .sort(["score", "score_high", "supplier_id"], descending=[True, True, False], nulls_last=True)
        .head(n)
        .to_dicts()
    )
    explanations = explanations_for(result, [r["entity_id"] for r in rows])
    for row in rows:
        expl = explanations.get(row["entity_id"], {})
        row["why"] = why(row, expl, names)
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for flag in parse_json(row.get("flags"), []):
            seen.setdefault((str(flag.get("type")), str(flag.get("severity"))), flag)
        row["flag_list"] = sorted(seen.values(), key=lambda f: -SEVERITY_RANK.get(str(f.get("severity")), 0))
    return rows


def explanations_for(result: ScreenResult, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Parsed explanation payloads of the given entities only (a large screen has 100,000s of them)."""
    if result.explanations.height == 0 or not entity_ids:
        return {}
    wanted = result.explanations.filter(pl.col("entity_id").is_in(entity_ids))
    return {entity_id: parse_json(text, {}) for entity_id, text in wanted.iter_rows()}


def _hazard(p: float | None) -> float:
    if p is None or p <= 0:
        return 0.0
    return -math.log(max(1e-12, 1.0 - min(p, 0.999999)))


def waterfall_steps(
    row: dict[str, Any], explanation: dict[str, Any], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Steps from 0 to the score: inherent, evidence, upstream groups, backfill, floors, total.

    Exact in hazard space (h = -ln(1-R) is additive over the noisy-OR terms); each term's share of the
    unfloored score is its share of the hazard. Upstream is split by first-hop supplier using the
    explanation's path attributions when present.
    """
    unfloored = row.get("score_unfloored")
    if unfloored is None:
        unfloored = row.get("propagated") or row.get("score") or 0.0
    score = row.get("score") or 0.0
    h_total = _hazard(unfloored)
    h_i, h_e = _hazard(row.get("inherent")), _hazard(row.get("evidence"))
    components = explanation.get("hazard") if isinstance(explanation.get("hazard"), dict) else None
    h_backfill = float(components.get("unmapped", 0.0)) if components else 0.0
    h_up = max(0.0, h_total - h_i - h_e - h_backfill)
    scale = unfloored / h_total if h_total > 0 else 0.0
    steps: list[dict[str, Any]] = []
    if h_i:
        steps.append({"label": "inherent", "kind": "inherent", "value": h_i * scale})
    if h_e:
        steps.append({"label": "entity evidence", "kind": "evidence", "value": h_e * scale})
    if h_up > 1e-9:
        groups: dict[str, float] = {}
        paths = explanation.get("top_paths") or parse_json(row.get("top_paths"), [])
        for p in paths:
            path = p.get("path", [])
            if len(path) > 1 and isinstance(p.get("share_of_hazard"), int | float):
                groups[path[1]] = groups.get(path[1], 0.0) + float(p["share_of_hazard"])
        attributed = sum(groups.values()) * h_total
        if groups and attributed > 0:
            # Path shares are of the total hazard; scale them to the upstream hazard actually present.
            factor = min(1.0, h_up / attributed)
            top = sorted(groups.items(), key=lambda kv: -kv[1])[:4]
            used = 0.0
            for first_hop, share in top:
                h = share * h_total * factor
                used += h
                steps.append(
                    {
                        "label": f"via {names.get(first_hop, first_hop)}"[:40],
                        "kind": "upstream",
                        "value": h * scale,
                    }
                )
            if h_up - used > 1e-9:
                steps.append({"label": "other upstream", "kind": "upstream", "value": (h_up - used) * scale})
        else:
            steps.append({"label": "upstream", "kind": "upstream", "value": h_up * scale})
    if h_backfill:
        steps.append({"label": "unmapped inputs", "kind": "backfill", "value": h_backfill * scale})
    if score - unfloored > 1e-9:
        steps.append({"label": "flag floor", "kind": "floor", "value": score - unfloored})
    steps.append({"label": "score", "kind": "total", "value": score})
    return steps


def buyer_exposure(result: ScreenResult, tiers: pl.DataFrame | None) -> pl.DataFrame:
    """Per buyer and band: how many entities of its supply chain (all tiers) fall in the band."""
    suppliers = result.scores.filter(pl.col("role") == "supplier").with_columns(
        pl.col("buyer").fill_null("(your list)")
    )
    if tiers is not None and tiers.height:
        bands = result.scores.unique(subset="entity_id").select("entity_id", "band")
        reach = tiers.join(bands, on="entity_id", how="inner").select("buyer", "entity_id", "band")
    else:
        reach = suppliers.select("buyer", "entity_id", "band")
    return (
        reach.unique(subset=["buyer", "entity_id"])
        .group_by("buyer", "band")
        .agg(pl.len().alias("n"))
        .sort("buyer", "band")
    )


def buyer_table(result: ScreenResult, exposure: pl.DataFrame) -> list[dict[str, Any]]:
    """Per buyer: suppliers on its list, entities reached, per band, flagged suppliers, highest score."""
    suppliers = result.scores.filter(pl.col("role") == "supplier").with_columns(
        pl.col("buyer").fill_null("(your list)")
    )
    per = suppliers.group_by("buyer").agg(
        pl.len().alias("suppliers"),
        pl.col("flag_severity").is_not_null().sum().alias("flagged"),
        pl.col("score").max().alias("max_score"),
    )
    wide = exposure.pivot(on="band", index="buyer", values="n") if exposure.height else None
    rows = per.sort("buyer").to_dicts()
    by_buyer = {r["buyer"]: r for r in wide.to_dicts()} if wide is not None else {}
    for r in rows:
        reach = by_buyer.get(r["buyer"], {})
        for band in BANDS:
            r[band] = int(reach.get(band) or 0)
        r["reached"] = sum(r[b] for b in BANDS)
    return rows


@dataclass(frozen=True)
class TierPaths:
    """Paths to flagged entities laid out by tier, and the same as text rows."""

    points: pl.DataFrame
    rows: list[dict[str, Any]]


def tier_paths(result: ScreenResult, limit: int = 12) -> TierPaths:
    """The flagged paths of supplier rows: from the direct supplier (tier 1) up to the flagged entity."""
    names = _name_of(result)
    bands = dict(result.scores.unique(subset="entity_id").select("entity_id", "band").iter_rows())
    countries: dict[str, str] = (
        dict(result.entities.select("entity_id", "country").iter_rows()) if result.entities.height else {}
    )
    seen: set[tuple[str, ...]] = set()
    candidates: list[tuple[int, float, tuple[str, ...], dict[str, Any], int]] = []
    supplier_rows = result.scores.filter(
        (pl.col("role") == "supplier") & pl.col("flag_severity").is_not_null()
    )
    for row in supplier_rows.iter_rows(named=True):
        base_tier = int(row.get("tier") or 1)
        for flag in parse_json(row.get("flags"), []):
            path = tuple(str(p) for p in flag.get("path", []) or [row["entity_id"]])
            if path in seen:
                continue
            seen.add(path)
            candidates.append(
                (SEVERITY_RANK.get(str(flag.get("severity")), 0), row["score"] or 0.0, path, flag, base_tier)
            )
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
    points: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i, (_, _, path, flag, base_tier) in enumerate(candidates[:limit]):
        for j, entity in enumerate(path):
            points.append(
                {
                    "path": i,
                    "tier": base_tier + j,
                    "name": names.get(entity, entity),
                    "country": countries.get(entity),
                    "band": bands.get(entity, "low"),
                    "flagged": j == len(path) - 1,
                    "label": f"{flag.get('type')} ({flag.get('severity')})" if j == len(path) - 1 else "",
                }
            )
        rows.append(
            {
                "path": [names.get(e, e) for e in path],
                "type": flag.get("type"),
                "severity": flag.get("severity"),
                "distance": flag.get("distance", len(path) - 1),
                "material": flag.get("material"),
            }
        )
    schema = {
        "path": pl.Int64,
        "tier": pl.Int64,
        "name": pl.String,
        "country": pl.String,
        "band": pl.String,
        "flagged": pl.Boolean,
        "label": pl.String,
    }
    return TierPaths(pl.DataFrame(points, schema=schema), rows)


def ilo_breakdown(result: ScreenResult) -> pl.DataFrame:
    """Findings and sites per ILO indicator (indicator, name, class, findings, entities)."""
    schema = {
        "indicator": pl.Int64,
        "name": pl.String,
        "class": pl.String,
        "findings": pl.UInt32,
        "entities": pl.UInt32,
    }
    audits = result.audits
    if audits is None or audits.height == 0 or "ilo_indicators" not in audits.columns:
        return pl.DataFrame(schema=schema)
    site = "entity_id" if "entity_id" in audits.columns else "facility_name"
    exploded = (
        audits.select(pl.col(site).alias("site"), pl.col("ilo_indicators"))
        .with_row_index("finding")
        .explode("ilo_indicators")
        .drop_nulls("ilo_indicators")
        .with_columns(pl.col("ilo_indicators").cast(pl.Int64).alias("indicator"))
    )
    if exploded.height == 0:
        return pl.DataFrame(schema=schema)
    agg = exploded.group_by("indicator").agg(
        pl.col("finding").n_unique().cast(pl.UInt32).alias("findings"),
        pl.col("site").n_unique().cast(pl.UInt32).alias("entities"),
    )
    return (
        agg.with_columns(
            pl.col("indicator")
            .map_elements(lambda k: ILO_NAMES.get(int(k), str(k)), return_dtype=pl.String)
            .alias("name"),
            pl.col("indicator")
            .map_elements(lambda k: ilo_class(int(k)), return_dtype=pl.String)
            .alias("class"),
        )
        .select(list(schema))
        .sort("indicator")
    )


def heatmap_frame(result: ScreenResult, *, max_countries: int = 20, max_sectors: int = 14) -> pl.DataFrame:
    """Country x sector: entities, mean and max score (the busiest countries and sectors)."""
    scores = result.scores.unique(subset="entity_id").with_columns(
        pl.col("sector").fill_null("unknown"), pl.col("country").fill_null("??")
    )
    top_c = (
        scores.group_by("country")
        .len()
        .sort(["len", "country"], descending=[True, False])
        .head(max_countries)["country"]
    )
    top_s = (
        scores.group_by("sector")
        .len()
        .sort(["len", "sector"], descending=[True, False])
        .head(max_sectors)["sector"]
    )
    return (
        scores.filter(pl.col("country").is_in(top_c.implode()) & pl.col("sector").is_in(top_s.implode()))
        .group_by("country", "sector")
        .agg(
            pl.len().alias("n"),
            pl.col("score").mean().round(4).alias("mean_score"),
            pl.col("score").max().round(4).alias("max_score"),
        )
        .sort("country", "sector")
    )


def coverage_summary(result: ScreenResult, *, low_threshold: float = 0.4) -> dict[str, Any]:
    """How much of the result is unknown rather than low."""
    s = result.scores.unique(subset="entity_id")
    n = s.height
    low_cov = s.filter(pl.col("low_coverage").fill_null(True))
    unknown_not_low = low_cov.filter(pl.col("band") == "low").height
    return {
        "entities": n,
        "low_coverage": low_cov.height,
        "low_band_low_coverage": unknown_not_low,
        "median_coverage": float(s["coverage"].cast(pl.Float64).median() or 0.0) if n else 0.0,  # type: ignore[arg-type]
        "wide_interval": s.filter((pl.col("score_high") - pl.col("score_low")) > 0.3).height if n else 0,
        "threshold": low_threshold,
    }
