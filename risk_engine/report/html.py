"""The self-contained HTML report of a screen: one file, charts inline, works offline.

Charts are Vega-Lite specs rendered in the browser by the vega-embed bundle that ``vl-convert-python``
ships; the bundle is inlined once, so the file loads nothing from the network.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from risk_engine.pipeline import BANDS, ScreenResult
from risk_engine.report import charts, sections

BAND_THRESHOLDS = {"medium": 0.10, "high": 0.25, "critical": 0.50}
BAND_ACTIONS = {
    "low": "abstract risk only; routine monitoring",
    "medium": "self-assessment questionnaire or desk review",
    "high": "in-depth assessment (worker voice, unannounced audit); map tier 2",
    "critical": "escalate: remediation plan, import-compliance review (UFLPA / EU FLR)",
}


@functools.cache
def vega_bundle() -> str:
    """The vega + vega-lite + vega-embed JavaScript bundle, for inlining.

    Building it takes vl-convert a few seconds, and it depends only on the library versions, so it is
    cached in the user's cache directory (``$XDG_CACHE_HOME/risk-engine``); no cache, no harm.
    """
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    vl_version = vl_version_for_vl_convert()
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "risk-engine"
    cache = cache_root / f"vega-embed-{getattr(vl_convert, '__version__', 'x')}-{vl_version}.js"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = str(vl_convert.javascript_bundle(vl_version=vl_version))  # type: ignore[call-arg]
    with contextlib.suppress(OSError):
        cache_root.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(bundle, encoding="utf-8")
        os.replace(tmp, cache)
    return bundle


def _script_safe(text: str) -> str:
    # Inside <script>, "</" could close the element early; JSON stays valid with "<\/".
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _bundle_safe(js: str) -> str:
    # The bundle's regular expressions contain "</", so only a literal closing tag is neutralised.
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: resources.files("risk_engine.report").joinpath("templates", name).read_text("utf-8")
    )
    env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    env.filters["thousands"] = lambda v: "–" if v is None else f"{int(v):,}"
    return env


def render_report(
    result: ScreenResult,
    *,
    tiers: pl.DataFrame | None = None,
    top_n: int = 20,
    waterfalls: int = 6,
    title: str = "Forced-labour risk screen",
) -> str:
    """The report as one HTML document."""
    names = dict(result.entities.select("entity_id", "name").iter_rows()) if result.entities.height else {}
    counts = result.band_counts()
    suppliers = result.scores.filter(pl.col("role") == "supplier")
    supplier_counts: dict[str, int] = dict.fromkeys(BANDS, 0)
    for band, n in suppliers.group_by("band").len().iter_rows():
        supplier_counts[str(band)] = int(n)
    top = sections.riskiest(result, n=top_n)
    exposure = sections.buyer_exposure(result, tiers)
    paths = sections.tier_paths(result)
    ilo = sections.ilo_breakdown(result)
    heat = sections.heatmap_frame(result)
    cover = sections.coverage_summary(result)

    specs: dict[str, dict[str, Any]] = {"bands": charts.band_bar(counts)}
    if exposure.height:
        specs["exposure"] = charts.buyer_exposure(exposure)
    if paths.points.height:
        specs["paths"] = charts.tier_paths(paths.points)
    if ilo.height:
        specs["ilo"] = charts.ilo_breakdown(ilo)
    if heat.height:
        specs["heatmap"] = charts.heatmap(heat)
    if result.scores.height:
        specs["coverage"] = charts.coverage_histogram(
            result.scores.unique(subset="entity_id").select(pl.col("coverage").fill_null(0.0), "band"),
            threshold=cover["threshold"],
        )
    falls = []
    explanations = sections.explanations_for(result, [r["entity_id"] for r in top[:waterfalls]])
    for i, row in enumerate(top[:waterfalls]):
        steps = sections.waterfall_steps(row, explanations.get(row["entity_id"], {}), names)
        key = f"waterfall{i}"
        specs[key] = charts.waterfall(steps, title=f"{row['name']} ({row.get('country') or '?'})"[:60])
        falls.append({"key": key, "row": row, "steps": steps})

    manifest = result.manifest
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title,
        manifest=manifest,
        counts=counts,
        supplier_counts=supplier_counts,
        bands=BANDS,
        thresholds=BAND_THRESHOLDS,
        actions=BAND_ACTIONS,
        n_suppliers=suppliers.height,
        n_upstream=result.scores.filter(pl.col("role") == "upstream").height,
        flags=sections.flag_counts(result.scores).to_dicts(),
        review_matches=result.matches.filter(pl.col("decision") == "review").height
        if result.matches.height
        else 0,
        top=top,
        buyers=sections.buyer_table(result, exposure),
        paths=paths.rows,
        ilo=ilo.to_dicts(),
        falls=falls,
        cover=cover,
        missing=result.missing,
        versions=manifest.get("versions", {}),
        inputs=manifest.get("inputs", {}),
        rejected=result.rejects.filter(pl.col("severity") == "error").select("file", "row").unique().height
        if result.rejects.height
        else 0,
        warnings=result.rejects.filter(pl.col("severity") == "warning").height
        if result.rejects.height
        else 0,
        specs_json=_script_safe(json.dumps(specs, separators=(",", ":"), default=str)),
        vega_js=_bundle_safe(vega_bundle()),
    )
