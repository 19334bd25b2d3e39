"""Vega-Lite chart specs for the report, built with altair from the result tables.

Every function takes small, already-aggregated frames and returns a Vega-Lite spec (a dict) with the
data inlined, so the report needs no network and no data server.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

BAND_ORDER = ["low", "medium", "high", "critical"]
BAND_COLOURS = ["#7fbf7b", "#f2d45c", "#f29b4b", "#d7301f"]
_BAND_SCALE = alt.Scale(domain=BAND_ORDER, range=BAND_COLOURS)
_FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    configured = chart.configure(font=_FONT).configure_view(stroke=None)
    # Validation against the full Vega-Lite JSON schema costs seconds per chart; the specs are fixed
    # shapes covered by the report tests, which render them.
    return dict(configured.to_dict(validate=False))


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def band_bar(counts: dict[str, int]) -> dict[str, Any]:
    """Horizontal bars: rows per band."""
    data = [{"band": b, "n": counts.get(b, 0)} for b in BAND_ORDER]
    base = alt.Chart(alt.Data(values=data)).encode(
        y=alt.Y("band:N", sort=BAND_ORDER[::-1], title=None),
        x=alt.X("n:Q", title="suppliers and upstream entities", axis=alt.Axis(tickMinStep=1, format="d")),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("band:N", scale=_BAND_SCALE, legend=None), tooltip=["band:N", "n:Q"]
    )
    text = base.mark_text(align="left", dx=4).encode(text="n:Q")
    return _spec((bars + text).properties(width=420, height=120))


def buyer_exposure(frame: pl.DataFrame) -> dict[str, Any]:
    """Stacked bars per buyer: its suppliers and upstream entities reached, per band.

    ``frame``: buyer, band, n.
    """
    chart = (
        alt.Chart(alt.Data(values=_records(frame)))
        .mark_bar()
        .encode(
            y=alt.Y("buyer:N", title=None, sort="-x"),
            x=alt.X(
                "n:Q",
                title="entities in the buyer's supply chain",
                stack="zero",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            color=alt.Color("band:N", scale=_BAND_SCALE, title="band", sort=BAND_ORDER),
            order=alt.Order("band_rank:Q"),
            tooltip=["buyer:N", "band:N", "n:Q"],
        )
        .transform_calculate(
            band_rank="indexof(['low','medium','high','critical'], datum.band)",
        )
        .properties(width=520, height=alt.Step(26))
    )
    return _spec(chart)


def ilo_breakdown(frame: pl.DataFrame) -> dict[str, Any]:
    """Bars per ILO indicator: findings and sites, coloured by indicator class.

    ``frame``: indicator (int), name, class, findings, entities.
    """
    base = alt.Chart(alt.Data(values=_records(frame))).encode(
        y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("indicator", op="min")),
    )
    bars = base.mark_bar().encode(
        x=alt.X(
            "findings:Q", title="findings mapped to the indicator", axis=alt.Axis(tickMinStep=1, format="d")
        ),
        color=alt.Color(
            "class:N",
            title="ILO class",
            scale=alt.Scale(
                domain=["involuntariness", "penalty", "both"], range=["#6a51a3", "#cb181d", "#8c2d04"]
            ),
        ),
        tooltip=["label:N", "class:N", "findings:Q", "entities:Q"],
    )
    text = base.mark_text(align="left", dx=4).encode(x="findings:Q", text=alt.Text("sites_label:N"))
    return _spec(
        (bars + text)
        .transform_calculate(label="datum.indicator + '. ' + datum.name")
        .transform_calculate(sites_label="datum.entities + (datum.entities == 1 ? ' site' : ' sites')")
        .properties(width=440, height=alt.Step(22))
    )


def heatmap(frame: pl.DataFrame) -> dict[str, Any]:
    """Country x sector: mean score (colour) and number of entities (text).

    ``frame``: country, sector, mean_score, max_score, n.
    """
    base = alt.Chart(alt.Data(values=_records(frame))).encode(
        x=alt.X("sector:N", title="sector", axis=alt.Axis(labelAngle=-35, labelLimit=160)),
        y=alt.Y("country:N", title="country"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "mean_score:Q", title="mean score", scale=alt.Scale(scheme="orangered", domain=[0, 1])
        ),
        tooltip=[
            "country:N",
            "sector:N",
            "n:Q",
            alt.Tooltip("mean_score:Q", format=".2f"),
            alt.Tooltip("max_score:Q", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text="n:Q",
        color=alt.condition("datum.mean_score > 0.45", alt.value("white"), alt.value("#222")),
    )
    return _spec((rect + text).properties(width=alt.Step(56), height=alt.Step(22)))


def waterfall(steps: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """A waterfall of one score: each step adds ``value`` on top of the previous total.

    ``steps``: label, kind (inherent/evidence/upstream/backfill/floor/total), value.
    """
    rows: list[dict[str, Any]] = []
    total = 0.0
    for i, step in enumerate(steps):
        if step["kind"] == "total":
            rows.append({**step, "order": i, "start": 0.0, "end": step["value"]})
            continue
        start, total = total, total + step["value"]
        rows.append({**step, "order": i, "start": start, "end": total})
    kinds = ["inherent", "evidence", "upstream", "backfill", "floor", "total"]
    colours = ["#9ecae1", "#de2d26", "#fd8d3c", "#bdbdbd", "#756bb1", "#252525"]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(
            "label:N",
            sort=alt.SortField("order"),
            title=None,
            axis=alt.Axis(labelAngle=-30, labelLimit=150),
        ),
    )
    bars = base.mark_bar(size=26).encode(
        y=alt.Y("start:Q", title="score", scale=alt.Scale(domain=[0, 1])),
        y2="end:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=colours), title=None),
        tooltip=["label:N", "kind:N", alt.Tooltip("value:Q", format=".3f")],
    )
    text = base.mark_text(dy=-6, fontSize=10).encode(y="end:Q", text=alt.Text("value:Q", format=".2f"))
    return _spec((bars + text).properties(width=alt.Step(54), height=190, title=title))


def coverage_histogram(frame: pl.DataFrame, *, threshold: float) -> dict[str, Any]:
    """Histogram of the data-coverage index, stacked by band, with the low-coverage threshold.

    ``frame``: coverage, band (binned here, so the report carries counts, not one value per entity).
    """
    step = 0.05
    binned = (
        frame.with_columns((pl.col("coverage").clip(0, 0.9999) / step).floor().cast(pl.Int64).alias("_bin"))
        .group_by("_bin", "band")
        .agg(pl.len().alias("n"))
        .with_columns(
            (pl.col("_bin") * step).round(2).alias("start"),
            ((pl.col("_bin") + 1) * step).round(2).alias("end"),
        )
        .drop("_bin")
        .sort("start", "band")
    )
    bars = (
        alt.Chart(alt.Data(values=_records(binned)))
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title="data coverage index", scale=alt.Scale(domain=[0, 1])),
            x2="end:Q",
            y=alt.Y("sum(n):Q", title="entities", stack="zero", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("band:N", scale=_BAND_SCALE, sort=BAND_ORDER),
            tooltip=["start:Q", "end:Q", "band:N", "n:Q"],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=[{"t": threshold}]))
        .mark_rule(strokeDash=[4, 3], color="#333")
        .encode(x="t:Q")
    )
    return _spec((bars + rule).properties(width=440, height=160))


def tier_paths(frame: pl.DataFrame) -> dict[str, Any]:
    """Paths from screened suppliers up to flagged entities, laid out by tier.

    ``frame``: path (int, one per path), tier (int), name, band, flagged (bool), label.
    """
    base = alt.Chart(alt.Data(values=_records(frame))).encode(
        x=alt.X("tier:O", title="tier (1 = your direct supplier)", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("path:O", title=None, axis=None),
    )
    line = base.mark_line(color="#999").encode(detail="path:N")
    points = base.mark_point(filled=True, size=160, opacity=1).encode(
        color=alt.Color("band:N", scale=_BAND_SCALE, sort=BAND_ORDER),
        shape=alt.condition("datum.flagged", alt.value("diamond"), alt.value("circle")),
        tooltip=["name:N", "country:N", "tier:O", "band:N", "label:N"],
    )
    text = base.mark_text(dy=-12, fontSize=10, limit=170).encode(text="name:N")
    return _spec(
        (line + points + text).properties(width=alt.Step(190), height=alt.Step(44)),
    )
