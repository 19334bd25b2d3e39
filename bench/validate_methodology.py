"""Real-world checks of fl-v1 (docs/VALIDATION.md): TVPRA consistency, a prospective TVPRA check, GSI 2023.

    .venv/bin/python bench/validate_methodology.py [--data /work/shared/data] [--json out.json]

1. TVPRA consistency (not circular): for each good of the 2022 TVPRA list, score every (good, country) pair
   with the fl-v1 inherent scorecard with the TVPRA listing term switched off, and with a country index
   built without its TVPRA component; report the AUC of listed vs unlisted countries of the same good.
   Baselines in the same run: WGI rule of law alone, and a random score (AUC 0.5).
2. Prospective: with 2018-edition inputs only (TVPRA 2018 listings, WGI 2017, no DOL 2022 findings), were
   the (good, country) pairs first listed in the 2020 and 2022 editions already ranked high? Reports their
   rank percentiles among all unlisted-in-2018 pairs of the same good, against WGI rule of law alone.
3. Country layer vs Global Slavery Index 2023 prevalence (Spearman): the shipped country index, the index
   without its TVPRA component, and WGI rule of law alone (the 0.53 to beat). GSI is read from the shared
   data directory at evaluation time only; it is never shipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import risk_engine.reference as ref
from risk_engine.reference.countries import iso3_to_iso2
from risk_engine.reference.country_index import CountryIndexParams, compute_country_index
from risk_engine.scoring.inherent import InherentReference, inherent_risk, load_inherent_reference
from risk_engine.scoring.registry import get_methodology

PARAMS = get_methodology("fl-v1").params


def _no_tvpra_params(base: CountryIndexParams, **kw: Any) -> CountryIndexParams:
    return dataclasses.replace(base, w_tvpra_fl=0.0, **kw)


def country_indices() -> dict[str, pl.DataFrame]:
    """Country index variants: shipped, without the TVPRA component, 2018-vintage inputs, WGI rule of law only."""
    countries, wgi, dol, tvpra = (
        ref.load_countries(),
        ref.load_wgi(),
        ref.load_dol_findings(),
        ref.load_tvpra(),
    )
    shipped = ref.load_country_index()
    no_tvpra = compute_country_index(
        countries, wgi, dol, tvpra, params=_no_tvpra_params(CountryIndexParams())
    )
    # 2018 vintage: WGI 2017 percentile ranks, TVPRA 2018 counts, no DOL (its findings are 2022)
    hist = ref.load_wgi_history().filter(pl.col("year") == 2017)
    wgi2017 = hist.pivot(on="indicator", index="iso2", values="percentile_rank").rename(
        {
            "RuleofLaw": "RuleofLaw_pctrank",
            "VoiceandAccountability": "VoiceandAccountability_pctrank",
            "ControlofCorruption": "ControlofCorruption_pctrank",
        }
    )
    empty_dol = dol  # DOL 2022 findings enter with weight 0 below (they post-date 2018)
    v2018 = compute_country_index(
        countries,
        wgi2017,
        empty_dol,
        tvpra,
        params=dataclasses.replace(
            CountryIndexParams(), tvpra_edition="2018", w_dol_advancement=0.0, w_dol_fl_law=0.0
        ),
    )
    v2018_no_tvpra = compute_country_index(
        countries,
        wgi2017,
        empty_dol,
        tvpra,
        params=_no_tvpra_params(CountryIndexParams(), w_dol_advancement=0.0, w_dol_fl_law=0.0),
    )
    rl = wgi.select("iso2", (1 - pl.col("RuleofLaw_pctrank") / 100).alias("C_c"))
    rl_est = wgi.select("iso2", (-pl.col("RuleofLaw_est")).alias("C_c"))
    rl2017 = wgi2017.select("iso2", (1 - pl.col("RuleofLaw_pctrank") / 100).alias("C_c"))
    return {
        "shipped": shipped,
        "no_tvpra": no_tvpra,
        "v2018": v2018,
        "v2018_no_tvpra": v2018_no_tvpra,
        "rule_of_law": rl,
        "rule_of_law_est": rl_est,
        "rule_of_law_2017": rl2017,
    }


def _reference(base: InherentReference, ci: pl.DataFrame, tvpra: pl.DataFrame | None) -> InherentReference:
    from risk_engine.scoring.inherent import normalise_country_index

    return dataclasses.replace(
        base,
        country_index=normalise_country_index(ci),
        tvpra=base.tvpra.clear() if tvpra is None else tvpra,
    )


def pair_scores(goods: list[str], countries: list[str], reference: InherentReference) -> pl.DataFrame:
    """Inherent risk of every (good, country) pair: the good's direct HS codes, region unknown."""
    gh = ref.load_goods_hs().filter(pl.col("link") == "direct")
    codes = gh.group_by("good").agg(pl.col("hs_code").unique().sort().alias("hs4_list"))
    grid = (
        pl.DataFrame({"good": goods})
        .join(codes, on="good", how="inner")
        .join(pl.DataFrame({"country": countries}), how="cross")
        .with_columns(entity_id=pl.concat_str([pl.col("good"), pl.lit("|"), pl.col("country")]))
    )
    scored = inherent_risk(
        grid.select("entity_id", "country", "hs4_list"), params=PARAMS, reference=reference
    )
    return grid.select("entity_id", "good", "country").join(
        scored.select("entity_id", "inherent", "logit"), on="entity_id", how="left"
    )


def leave_one_good_out(
    scores: pl.DataFrame, listed_fl: pl.DataFrame, params: CountryIndexParams
) -> pl.DataFrame:
    """Add the country index's TVPRA component back, counting only the country's *other* FL-listed goods.

    ``scores`` were computed with a country index without its TVPRA component (weights not rescaled), so
    adding ``w_tvpra * x(n_other)`` to C gives the shipped formula minus the pair's own listing.
    """
    ip = PARAMS.inherent
    n = listed_fl.group_by("country").agg(pl.col("good").n_unique().alias("n_fl"))
    own = listed_fl.with_columns(pl.lit(1).alias("own"))
    x = (
        (pl.col("n_fl").fill_null(0) - pl.col("own").fill_null(0)).cast(pl.Float64).log1p()
        / np.log1p(params.tvpra_saturation)
    ).clip(0.0, 1.0)
    return (
        scores.join(n, on="country", how="left")
        .join(own, on=["good", "country"], how="left")
        .with_columns(logit_loo=pl.col("logit") + ip.beta_country * params.w_tvpra_fl * x)
        .with_columns(inherent_loo=pl.min_horizontal(1 / (1 + (-pl.col("logit_loo")).exp()), pl.lit(ip.cap)))
    )


def listed_pairs(edition: str) -> pl.DataFrame:
    t = ref.load_tvpra().filter(pl.col("edition") == edition)
    return t.select("good", pl.col("iso2").alias("country")).unique()


def per_good_auc(scores: pl.DataFrame, listed: pl.DataFrame, score_col: str = "inherent") -> dict[str, Any]:
    lab = scores.join(
        listed.with_columns(pl.lit(1).alias("y")), on=["good", "country"], how="left"
    ).with_columns(pl.col("y").fill_null(0))
    aucs = []
    for (_good,), grp in lab.group_by("good"):
        y = grp["y"].to_numpy()
        if 0 < y.sum() < len(y):
            aucs.append(roc_auc_score(y, grp[score_col].to_numpy()))
    pooled = roc_auc_score(lab["y"].to_numpy(), lab[score_col].to_numpy())
    return {
        "goods": len(aucs),
        "macro_auc": float(np.mean(aucs)),
        "median_auc": float(np.median(aucs)),
        "pooled_auc": float(pooled),
    }


def tvpra_consistency(indices: dict[str, pl.DataFrame], base: InherentReference) -> dict[str, Any]:
    listed = listed_pairs("2022")
    goods = sorted(set(listed["good"]))
    out: dict[str, Any] = {}
    for name in ("no_tvpra", "shipped", "rule_of_law"):
        ci = indices[name]
        countries = ci.filter(~pl.col("missing") if "missing" in ci.columns else pl.lit(True))
        countries = countries.filter(pl.col("C_c").is_not_null())["iso2"].to_list()
        scores = pair_scores(goods, countries, _reference(base, ci, None))
        out[name] = per_good_auc(scores, listed.filter(pl.col("country").is_in(countries)))
        if name == "no_tvpra":
            fl = ref.load_tvpra().filter((pl.col("edition") == "2022") & pl.col("forced_labor"))
            fl = fl.select("good", pl.col("iso2").alias("country")).unique()
            loo = leave_one_good_out(scores, fl, CountryIndexParams())
            out["leave_one_good_out"] = per_good_auc(
                loo, listed.filter(pl.col("country").is_in(countries)), "inherent_loo"
            )
    rng = np.random.default_rng(0)
    scores = scores.sort("entity_id")
    scores = scores.with_columns(pl.Series("random", rng.random(scores.height)))
    out["random"] = per_good_auc(scores, listed, "random")
    return out


def prospective(indices: dict[str, pl.DataFrame], base: InherentReference) -> dict[str, Any]:
    from risk_engine.scoring.inherent import tvpra_hs_table

    l2018 = listed_pairs("2018")
    tv = ref.load_tvpra()
    # first listed in 2020 (absent from 2018), and first listed in 2022 (absent from 2018 and 2020)
    new = {
        "2020": listed_pairs("2020").join(l2018, on=["good", "country"], how="anti"),
        "2022": listed_pairs("2022")
        .join(l2018, on=["good", "country"], how="anti")
        .join(listed_pairs("2020"), on=["good", "country"], how="anti"),
    }
    goods = sorted(set(pl.concat(list(new.values()))["good"]))
    out: dict[str, Any] = {"goods": len(goods)}
    tv2018 = tvpra_hs_table(tv, ref.load_goods_hs(), edition="2018")
    for name, ci, tvpra in (
        ("fl-v1 with 2018 inputs", indices["v2018"], tv2018),
        ("fl-v1 with 2018 inputs, no TVPRA term or component", indices["v2018_no_tvpra"], None),
        ("WGI rule of law 2017 alone", indices["rule_of_law_2017"], None),
    ):
        countries = ci.filter(pl.col("C_c").is_not_null())
        if "missing" in countries.columns:
            countries = countries.filter(~pl.col("missing"))
        clist = countries["iso2"].to_list()
        s = pair_scores(goods, clist, _reference(base, ci, tvpra))
        # universe: pairs not listed in 2018 (the candidates a 2018 screen had to rank)
        s = s.join(l2018, on=["good", "country"], how="anti")
        s = s.with_columns(
            within=(pl.col("inherent").rank("average").over("good") - 0.5) / pl.len().over("good"),
            overall=(pl.col("inherent").rank("average") - 0.5) / pl.len(),
        )
        res = {}
        for ed, pairs in new.items():
            hit = s.join(pairs, on=["good", "country"], how="inner")
            res[ed] = {
                "pairs": hit.height,
                "median_pct_within_good": float(hit["within"].median()),
                "share_top_quartile_within_good": float((hit["within"] >= 0.75).mean()),
                "median_pct_overall": float(hit["overall"].median()),
            }
        out[name] = res
    return out


def gsi_check(indices: dict[str, pl.DataFrame], data: Path) -> dict[str, Any]:
    gsi = pl.read_csv(data / "gsi_2023" / "gsi_2023_prevalence.csv")
    gsi = gsi.with_columns(
        pl.col("iso3").map_elements(iso3_to_iso2, return_dtype=pl.String).alias("iso2")
    ).filter(pl.col("prevalence_per_1000").is_not_null() & pl.col("iso2").is_not_null())
    out: dict[str, Any] = {}
    for name in ("rule_of_law_est", "rule_of_law", "shipped", "no_tvpra"):
        ci = indices[name]
        j = gsi.join(ci.select("iso2", "C_c"), on="iso2", how="inner").drop_nulls("C_c")
        if "missing" in ci.columns:
            j = j.join(ci.select("iso2", "missing"), on="iso2").filter(~pl.col("missing"))
        rho = spearmanr(j["C_c"].to_numpy(), j["prevalence_per_1000"].to_numpy()).statistic
        out[name] = {"countries": j.height, "spearman": float(rho)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/work/shared/data")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    base = load_inherent_reference()
    indices = country_indices()
    results = {
        "tvpra_consistency": tvpra_consistency(indices, base),
        "prospective": prospective(indices, base),
        "gsi_2023": gsi_check(indices, Path(args.data)),
        "seconds": 0.0,
    }
    results["seconds"] = round(time.perf_counter() - t0, 1)
    tc = results["tvpra_consistency"]
    print("1. TVPRA consistency (2022 list; listing term off): macro AUC over goods")
    for name, r in tc.items():
        print(
            f"   {name:18s} goods={r['goods']:4d} macro={r['macro_auc']:.3f} median={r['median_auc']:.3f} pooled={r['pooled_auc']:.3f}"
        )
    for name in ("no_tvpra", "leave_one_good_out"):
        print(
            f"   ratio {name} / rule_of_law (macro AUC) = {tc[name]['macro_auc'] / tc['rule_of_law']['macro_auc']:.3f}"
        )
    print("2. Prospective (2018 inputs): pairs first listed in 2020 / 2022")
    for name, r in results["prospective"].items():
        if isinstance(r, dict):
            for ed, v in r.items():
                print(
                    f"   {name:52s} {ed}: n={v['pairs']:3d} median pct within good={v['median_pct_within_good']:.3f} "
                    f"top quartile={v['share_top_quartile_within_good']:.2f} median pct overall={v['median_pct_overall']:.3f}"
                )
    print("3. Country layer vs GSI 2023 prevalence (Spearman)")
    for name, r in results["gsi_2023"].items():
        print(f"   {name:16s} n={r['countries']:3d} rho={r['spearman']:.3f}")
    g = results["gsi_2023"]
    print(
        f"   ratio shipped / rule_of_law_est = {g['shipped']['spearman'] / g['rule_of_law_est']['spearman']:.3f}"
    )
    print(f"   ({results['seconds']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
