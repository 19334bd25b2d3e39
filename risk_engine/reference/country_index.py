"""Country index ``C_c`` in [0, 1] (METHODOLOGY §3.1 data policy, §3.2).

Two builds, both pure functions over frames:

* :func:`compute_country_index` — the shipped default, from redistributable data only: World Bank WGI 2019
  (rule of law, voice and accountability, control of corruption), DOL ILAB Findings 2022 (advancement level,
  forced-labour law meets the international standard) and the count of forced-labour listings in the TVPRA
  2022 list. Weights are reasoned priors (see ``CountryIndexParams``), not fitted to any outcome.
* :func:`country_index_from_gsi` — the METHODOLOGY §3.2 formula on a user-supplied Global Slavery Index 2023
  table: ``0.5·pct_rank(prevalence) + 0.3·vulnerability/100 + 0.2·(1 − government response/100)``.

Missing data is never low risk: a missing component takes the median of the countries that have it, and a
country with no data at all gets the median ``C_c``; ``coverage`` says which share of the weight was observed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

__all__ = [
    "ADVANCEMENT_RISK",
    "GSI_PARAMS",
    "CountryIndexParams",
    "GsiIndexParams",
    "compute_country_index",
    "country_index_from_gsi",
]

# DOL ILAB advancement levels -> risk. "Minimal ... Efforts Made but ... Delayed Advancement" is DOL's own statement
# that continued law or practice capped the rating, so it sits between Minimal and No Advancement.
ADVANCEMENT_RISK: dict[str, float] = {
    "Significant Advancement": 0.0,
    "Moderate Advancement": 1 / 3,
    "Minimal Advancement": 2 / 3,
    "Minimal Advancement – Efforts Made but": 0.75,
    "No Advancement": 1.0,
}


@dataclass(frozen=True)
class CountryIndexParams:
    """Weights of the shipped country index; they sum to 1.

    Reasons (priors, not fitted): TVPRA forced-labour listings are the only component that observes forced
    labour in production directly (0.25). Voice and accountability captures state-imposed forced labour and the
    repression of migrant and worker organisation that rule-of-law scores miss in rich autocracies (0.25).
    Rule of law is the enforcement capacity behind every prohibition (0.25). Control of corruption is largely
    collinear with rule of law and enters with a small weight (0.10). DOL ILAB findings cover only about 130
    developing economies and focus on child labour, so they get 0.15 in total.
    """

    version: str = "shipped-v1"
    w_rule_of_law: float = 0.25
    w_voice_accountability: float = 0.25
    w_control_corruption: float = 0.10
    w_dol_advancement: float = 0.10
    w_dol_fl_law: float = 0.05
    w_tvpra_fl: float = 0.25
    # log1p(n) / log1p(saturation): one listing = 0.29, three = 0.58, ten or more = 1.0
    tvpra_saturation: int = 10
    tvpra_edition: str = "2022"
    wgi_year: int = 2019
    components: tuple[str, ...] = field(
        default=(
            "wgi_rule_of_law_risk",
            "wgi_voice_accountability_risk",
            "wgi_control_corruption_risk",
            "dol_advancement_risk",
            "dol_fl_law_risk",
            "tvpra_fl_risk",
        )
    )

    def weights(self) -> dict[str, float]:
        """Component column -> weight."""
        return dict(
            zip(
                self.components,
                (
                    self.w_rule_of_law,
                    self.w_voice_accountability,
                    self.w_control_corruption,
                    self.w_dol_advancement,
                    self.w_dol_fl_law,
                    self.w_tvpra_fl,
                ),
                strict=True,
            )
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON form, stored in the pack manifest for the scoring code and the report."""
        data = asdict(self)
        data["components"] = list(self.components)
        data["formula"] = (
            "C_c = sum_k w_k * x_k over components x_k in [0,1] (risk direction); WGI x = 1 - pct_rank/100; "
            "DOL advancement via ADVANCEMENT_RISK; DOL FL law x = 1 if it does not meet the international "
            "standard else 0; TVPRA x = min(1, log1p(n_fl_goods)/log1p(saturation)); a missing x takes the "
            "median over countries that have it; no data at all => median C_c"
        )
        data["advancement_risk"] = ADVANCEMENT_RISK
        return data


@dataclass(frozen=True)
class GsiIndexParams:
    """METHODOLOGY §3.2 weights on the Global Slavery Index 2023 (user-supplied)."""

    version: str = "gsi2023-v1"
    w_prevalence: float = 0.5
    w_vulnerability: float = 0.3
    w_response: float = 0.2


GSI_PARAMS = GsiIndexParams()


def _advancement_risk(level: str | None) -> float | None:
    if level is None:
        return None
    text = level.strip()
    if not text or text == "No Assessment":
        return None
    for prefix in sorted(ADVANCEMENT_RISK, key=len, reverse=True):
        if text.startswith(prefix):
            return ADVANCEMENT_RISK[prefix]
    msg = f"unknown DOL advancement level: {level!r}"
    raise ValueError(msg)


def compute_country_index(
    countries: pl.DataFrame,
    wgi: pl.DataFrame,
    dol: pl.DataFrame,
    tvpra: pl.DataFrame,
    *,
    params: CountryIndexParams | None = None,
) -> pl.DataFrame:
    """Shipped ``C_c`` per iso2 with its components, ``coverage`` (observed weight share) and ``missing``.

    ``missing`` is true when no component is observed (``C_c`` is then the median); ``imputed`` names the
    components that took the median. Component columns keep nulls where the source has no value.

    ``countries`` needs iso2; ``wgi`` iso2 + ``RuleofLaw_pctrank``, ``VoiceandAccountability_pctrank``,
    ``ControlofCorruption_pctrank``; ``dol`` iso2 + ``advancement_level`` + ``law_Prohibition_Forced_Labor_meets_intl``;
    ``tvpra`` iso2 + ``edition`` + ``good`` + ``forced_labor`` (bool).
    """
    p = params or CountryIndexParams()
    weights = p.weights()
    base = countries.select("iso2").unique().sort("iso2")
    wgi_part = wgi.select(
        "iso2",
        (1 - pl.col("RuleofLaw_pctrank") / 100).alias("wgi_rule_of_law_risk"),
        (1 - pl.col("VoiceandAccountability_pctrank") / 100).alias("wgi_voice_accountability_risk"),
        (1 - pl.col("ControlofCorruption_pctrank") / 100).alias("wgi_control_corruption_risk"),
    ).filter(pl.col("iso2").is_not_null())
    dol_part = dol.select(
        "iso2",
        pl.col("advancement_level")
        .map_elements(_advancement_risk, return_dtype=pl.Float64)
        .alias("dol_advancement_risk"),
        pl.col("law_Prohibition_Forced_Labor_meets_intl")
        .replace_strict({"Yes": 0.0, "No": 1.0}, default=None, return_dtype=pl.Float64)
        .alias("dol_fl_law_risk"),
    ).filter(pl.col("iso2").is_not_null())
    listed = (
        tvpra.filter((pl.col("edition") == p.tvpra_edition) & pl.col("forced_labor"))
        .group_by("iso2")
        .agg(pl.col("good").n_unique().cast(pl.Int64).alias("tvpra_fl_goods"))
    )
    frame = (
        base.join(wgi_part, on="iso2", how="left")
        .join(dol_part, on="iso2", how="left")
        .join(listed, on="iso2", how="left")
        .with_columns(pl.col("tvpra_fl_goods").fill_null(0))
        .with_columns(
            ((pl.col("tvpra_fl_goods").cast(pl.Float64) + 1).log() / math.log1p(p.tvpra_saturation))
            .clip(0.0, 1.0)
            .alias("tvpra_fl_risk")
        )
    )
    # A country with no WGI row is not in any governance source; its zero TVPRA count is not evidence either.
    frame = frame.with_columns(
        pl.when(pl.col("wgi_rule_of_law_risk").is_null() & pl.col("dol_advancement_risk").is_null())
        .then(None)
        .otherwise(pl.col("tvpra_fl_risk"))
        .alias("tvpra_fl_risk")
    )
    observed = [pl.col(c).is_not_null().cast(pl.Float64) * w for c, w in weights.items()]
    medians = {c: frame[c].median() for c in weights}
    imputed = [pl.col(c).fill_null(medians[c]) * w for c, w in weights.items()]
    frame = frame.with_columns(
        pl.sum_horizontal(observed).round(6).alias("coverage"),
        pl.sum_horizontal(imputed).alias("C_c"),
    )
    median_cc = frame.filter(pl.col("coverage") > 0)["C_c"].median()
    frame = frame.with_columns(
        pl.when(pl.col("coverage") == 0).then(pl.lit(median_cc)).otherwise(pl.col("C_c")).alias("C_c"),
        (pl.col("coverage") == 0).alias("missing"),
        pl.concat_list([pl.when(pl.col(c).is_null()).then(pl.lit(c)).otherwise(None) for c in weights])
        .list.drop_nulls()
        .alias("imputed"),
        pl.lit(p.version).alias("index_version"),
    )
    ordered = ["iso2", "C_c", *weights, "tvpra_fl_goods", "coverage", "imputed", "missing", "index_version"]
    rounded = [pl.col(c).round(6) for c in ("C_c", *weights)]
    return frame.select(ordered).with_columns(rounded).with_columns(pl.col("C_c").clip(0.0, 1.0)).sort("iso2")


def country_index_from_gsi(
    gsi: pl.DataFrame,
    *,
    countries: pl.DataFrame | None = None,
    params: GsiIndexParams = GSI_PARAMS,
) -> pl.DataFrame:
    """``C_c`` per iso2 from a GSI 2023 table (see ``loaders.load_gsi``), METHODOLOGY §3.2 formula.

    ``prevalence_pct_rank`` is the percentile rank (0-1, average ties) of prevalence per 1,000 among countries
    with an estimate. Vulnerability (0-100) and government response (0-100) are used when the table has them.
    When a column is absent the formula runs on the components present (weights rescaled to sum to 1, named
    in ``gsi_components``); an empty cell in a present column is rescaled the same way and lowers ``coverage``.
    A country without a prevalence estimate takes the median prevalence rank of its GSI region (the
    file's own regional figures stand in for the Global Estimates 2022 regional prevalence). Countries listed in
    ``countries`` but absent from the GSI table get the median ``C_c`` with ``missing`` true.
    """
    frame = gsi.filter(pl.col("iso2").is_not_null())
    has_prev = frame["prevalence_per_1000"].is_not_null()
    ranked = frame.filter(has_prev).with_columns(
        ((pl.col("prevalence_per_1000").rank("average") - 1) / (pl.len() - 1)).alias("prevalence_pct_rank")
    )
    frame = frame.join(ranked.select("iso2", "prevalence_pct_rank"), on="iso2", how="left")
    if "region" in frame.columns:
        frame = frame.with_columns(
            pl.col("prevalence_pct_rank").is_null().alias("prevalence_imputed"),
            pl.col("prevalence_pct_rank")
            .fill_null(pl.col("prevalence_pct_rank").median().over("region"))
            .fill_null(pl.col("prevalence_pct_rank").median()),
        )
    else:
        frame = frame.with_columns(
            pl.col("prevalence_pct_rank").is_null().alias("prevalence_imputed"),
            pl.col("prevalence_pct_rank").fill_null(pl.col("prevalence_pct_rank").median()),
        )
    frame = frame.with_columns(
        (
            (pl.col("vulnerability") / 100) if "vulnerability" in frame.columns else pl.lit(None, pl.Float64)
        ).alias("gsi_vulnerability_risk"),
        (
            (1 - pl.col("government_response") / 100)
            if "government_response" in frame.columns
            else pl.lit(None, pl.Float64)
        ).alias("gsi_response_risk"),
    )
    # Only the components the file offers take part; their weights are rescaled to sum to 1.
    parts = {"prevalence_pct_rank": params.w_prevalence}
    if "vulnerability" in frame.columns:
        parts["gsi_vulnerability_risk"] = params.w_vulnerability
    if "government_response" in frame.columns:
        parts["gsi_response_risk"] = params.w_response
    total = sum(parts.values())
    weight_seen = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) * w for c, w in parts.items()])
    weighted = pl.sum_horizontal([pl.col(c).fill_null(0.0) * w for c, w in parts.items()])
    observed = weight_seen - pl.col("prevalence_imputed").cast(pl.Float64) * params.w_prevalence
    frame = frame.with_columns(
        (weighted / weight_seen).clip(0.0, 1.0).alias("C_c"),
        (observed / total).round(6).alias("coverage"),
        pl.lit("+".join(parts)).alias("gsi_components"),
    )
    out = frame.select(
        "iso2",
        "C_c",
        "prevalence_per_1000",
        "prevalence_pct_rank",
        "gsi_vulnerability_risk",
        "gsi_response_risk",
        "gsi_components",
        "coverage",
        (pl.col("coverage") == 0).alias("missing"),
    )
    if countries is not None:
        median_cc = out["C_c"].median()
        extra = (
            countries.select("iso2")
            .join(out.select("iso2"), on="iso2", how="anti")
            .with_columns(
                pl.lit(median_cc).alias("C_c"),
                pl.lit(None, pl.Float64).alias("prevalence_per_1000"),
                pl.lit(None, pl.Float64).alias("prevalence_pct_rank"),
                pl.lit(None, pl.Float64).alias("gsi_vulnerability_risk"),
                pl.lit(None, pl.Float64).alias("gsi_response_risk"),
                pl.lit("none").alias("gsi_components"),
                pl.lit(0.0).alias("coverage"),
                pl.lit(True).alias("missing"),
            )
        )
        out = pl.concat([out, extra])
    return out.with_columns(pl.lit(params.version).alias("index_version")).sort("iso2")
