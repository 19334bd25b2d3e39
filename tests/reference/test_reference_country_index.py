from pathlib import Path

import polars as pl
import pytest
from scipy.stats import spearmanr

from risk_engine.reference.country_index import (
    CountryIndexParams,
    compute_country_index,
    country_index_from_gsi,
)
from risk_engine.reference.loaders import (
    country_index_parameters,
    load_countries,
    load_country_index,
    load_gsi,
)

GSI_FILE = Path("/work/shared/data/gsi_2023/gsi_2023_prevalence.csv")


def test_shipped_index_covers_every_country_in_unit_range() -> None:
    index = load_country_index()
    assert index["iso2"].to_list() == sorted(load_countries()["iso2"].to_list())
    assert index["C_c"].null_count() == 0
    assert index["C_c"].min() >= 0.0 and index["C_c"].max() <= 1.0  # type: ignore[operator]


def test_weights_sum_to_one_and_are_recorded_in_the_manifest() -> None:
    params = CountryIndexParams()
    assert sum(params.weights().values()) == pytest.approx(1.0)
    recorded = country_index_parameters()
    assert recorded["version"] == params.version
    assert recorded["w_tvpra_fl"] == params.w_tvpra_fl
    assert "median" in recorded["formula"]


def test_missing_data_is_never_low_risk() -> None:
    index = load_country_index()
    median = index.filter(pl.col("coverage") > 0)["C_c"].median()
    no_data = index.filter(pl.col("missing"))
    assert no_data.height > 0
    assert (no_data["coverage"] == 0).all()
    assert (no_data["C_c"] == median).all()
    partial = index.filter(pl.col("imputed").list.len() > 0, ~pl.col("missing"))
    assert partial.height > 0 and (partial["coverage"] < 1).all()


def test_known_orderings_hold() -> None:
    c = dict(load_country_index().select("iso2", "C_c").iter_rows())
    assert c["KP"] > c["CN"] > c["US"] > c["DK"]
    assert c["ER"] > c["FR"]
    assert c["BD"] > c["DE"]


def _toy(**wgi: float) -> pl.DataFrame:
    countries = pl.DataFrame({"iso2": ["AA", "BB", "CC"]})
    wgi_frame = pl.DataFrame(
        {
            "iso2": ["AA", "BB"],
            "RuleofLaw_pctrank": [90.0, 10.0],
            "VoiceandAccountability_pctrank": [80.0, 20.0],
            "ControlofCorruption_pctrank": [70.0, 30.0],
        }
    )
    dol = pl.DataFrame(
        {
            "iso2": ["BB"],
            "advancement_level": [
                "Minimal Advancement – Efforts Made but Continued Practice that Delayed Advancement"
            ],
            "law_Prohibition_Forced_Labor_meets_intl": ["No"],
        }
    )
    tvpra = pl.DataFrame(
        {
            "iso2": ["BB", "BB"],
            "edition": ["2022", "2022"],
            "good": ["Cotton", "Bricks"],
            "forced_labor": [True, True],
        }
    )
    return compute_country_index(countries, wgi_frame, dol, tvpra)


def test_compute_country_index_formula_by_hand() -> None:
    out = _toy()
    rows = {r["iso2"]: r for r in out.iter_rows(named=True)}
    bb = rows["BB"]
    expected = (
        0.25 * 0.9
        + 0.25 * 0.8
        + 0.10 * 0.7
        + 0.10 * 0.75
        + 0.05 * 1.0
        + 0.25 * (__import__("math").log(3) / __import__("math").log(11))
    )
    assert bb["C_c"] == pytest.approx(expected, abs=1e-6)
    assert bb["coverage"] == pytest.approx(1.0)
    # AA lacks DOL: those components take the median of the countries that have them (here BB's values)
    aa = rows["AA"]
    assert aa["imputed"] == ["dol_advancement_risk", "dol_fl_law_risk"]
    assert aa["coverage"] == pytest.approx(0.85)
    assert aa["C_c"] == pytest.approx(
        0.25 * 0.1 + 0.25 * 0.2 + 0.10 * 0.3 + 0.10 * 0.75 + 0.05 * 1.0, abs=1e-6
    )
    # CC has no data at all: the median C_c, flagged
    cc = rows["CC"]
    assert cc["missing"] and cc["coverage"] == 0
    assert cc["C_c"] == pytest.approx((aa["C_c"] + bb["C_c"]) / 2, abs=1e-6)


def _gsi(**extra: list[float | None]) -> pl.DataFrame:
    data: dict[str, list] = {
        "iso2": ["AA", "BB", "CC", "DD"],
        "region": ["r1", "r1", "r2", "r1"],
        "prevalence_per_1000": [1.0, 5.0, 10.0, None],
    }
    data.update(extra)
    return pl.DataFrame(data)


def test_gsi_index_prevalence_only_uses_the_rank() -> None:
    out = country_index_from_gsi(_gsi())
    c = dict(out.select("iso2", "C_c").iter_rows())
    assert c["AA"] == 0.0 and c["BB"] == 0.5 and c["CC"] == 1.0
    # DD has no estimate: median rank of its region r1 (AA 0.0, BB 0.5)
    assert c["DD"] == pytest.approx(0.25)
    dd = out.filter(pl.col("iso2") == "DD").row(0, named=True)
    assert dd["missing"] and dd["coverage"] == 0
    assert out["gsi_components"][0] == "prevalence_pct_rank"


def test_gsi_index_full_formula() -> None:
    out = country_index_from_gsi(
        _gsi(vulnerability=[20.0, 50.0, 80.0, 60.0], government_response=[70.0, 50.0, None, 40.0])
    )
    row = {r["iso2"]: r for r in out.iter_rows(named=True)}
    assert row["BB"]["C_c"] == pytest.approx(0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5)
    # CC lacks response: weights 0.5/0.3 rescaled
    assert row["CC"]["C_c"] == pytest.approx((0.5 * 1.0 + 0.3 * 0.8) / 0.8)
    assert row["CC"]["coverage"] == pytest.approx(0.8)


def test_gsi_index_fills_countries_absent_from_the_file_with_the_median() -> None:
    countries = pl.DataFrame({"iso2": ["AA", "BB", "CC", "DD", "EE"]})
    out = country_index_from_gsi(_gsi(), countries=countries)
    ee = out.filter(pl.col("iso2") == "EE").row(0, named=True)
    assert ee["missing"]
    assert ee["C_c"] == pytest.approx(out.filter(pl.col("iso2") != "EE")["C_c"].median())


@pytest.mark.skipif(not GSI_FILE.exists(), reason="GSI 2023 file (not redistributable) not present")
def test_shipped_index_rank_correlation_with_gsi_prevalence() -> None:
    """Evaluation only: the shipped C_c was not fitted on GSI. Baseline: WGI rule of law alone."""
    gsi = load_gsi(GSI_FILE).filter(pl.col("prevalence_per_1000").is_not_null())
    joined = gsi.join(load_country_index(), on="iso2", how="inner")
    assert joined.height == 160
    rho_index = spearmanr(joined["prevalence_per_1000"], joined["C_c"]).statistic
    rho_rule_of_law = spearmanr(joined["prevalence_per_1000"], joined["wgi_rule_of_law_risk"]).statistic
    print(f"Spearman(C_c, GSI prevalence) = {rho_index:.3f}; rule of law alone = {rho_rule_of_law:.3f}")
    assert rho_index > rho_rule_of_law
    assert rho_index > 0.53
