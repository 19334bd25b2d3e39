"""A user-supplied GSI table passed to a screen must change the country index the scores use."""

import json
from pathlib import Path

import polars as pl

from risk_engine.io.run import run_screen

SUPPLIERS = "id,name,country,hs_code\nS1,Alpha Garments Ltd,Bangladesh,6109\nS2,Beta Knits Ltd,Germany,6109\n"
# Invented figures (not GSI data): Germany made the highest-prevalence country so the switch is visible.
GSI = (
    "country,iso3,prevalence_per_1000\nBangladesh,BGD,1.0\nGermany,DEU,90.0\nDenmark,DNK,0.5\nChile,CHL,2.0\n"
)


def _screen(tmp_path: Path, name: str, reference: Path | None) -> tuple[pl.DataFrame, set[str]]:
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text(SUPPLIERS, encoding="utf-8")
    out = tmp_path / name
    code = run_screen(
        suppliers=suppliers,
        trade=None,
        audits=None,
        enforcement=None,
        reference=reference,
        decisions=None,
        methodology="fl-v1",
        out=out,
        engine="local",
        resume=False,
    )
    assert code == 0
    scores = pl.read_parquet(out / "scores.parquet").filter(pl.col("role") == "supplier").sort("supplier_id")
    explanations = pl.read_parquet(out / "explanations.parquet")["explanation"]
    kinds = {json.loads(e)["versions"]["country_index"] for e in explanations}
    return scores, kinds


def test_gsi_file_in_reference_dir_switches_the_country_index(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "gsi_2023.csv").write_text(GSI, encoding="utf-8")

    shipped, shipped_kinds = _screen(tmp_path, "shipped", None)
    gsi, gsi_kinds = _screen(tmp_path, "gsi", ref)

    assert all(k.startswith("shipped") for k in shipped_kinds)
    assert gsi_kinds == {"gsi"}
    by_id = dict(zip(gsi["supplier_id"], gsi["inherent"], strict=True))
    before = dict(zip(shipped["supplier_id"], shipped["inherent"], strict=True))
    # With Germany ranked worst on prevalence, its inherent risk must rise and Bangladesh's must fall.
    assert by_id["S2"] > before["S2"]
    assert by_id["S1"] < before["S1"]
