"""The scores' ``versions`` column and the manifest name the country index that ran (shipped, gsi, user)."""

import json
from pathlib import Path

import polars as pl

from risk_engine.io.run import run_screen
from risk_engine.pipeline import collect_versions

SUPPLIERS = "id,name,country,hs_code\nS1,Alpha Garments Ltd,Bangladesh,6109\nS2,Beta Knits Ltd,Germany,6109\n"
# Invented figures (not GSI data).
GSI = "country,iso3,prevalence_per_1000\nBangladesh,BGD,1.0\nGermany,DEU,90.0\nDenmark,DNK,0.5\n"


def _run(tmp_path: Path, name: str, reference: Path | None) -> tuple[set[str], set[str], dict[str, str]]:
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
    rows = {json.loads(v)["country_index"] for v in pl.read_parquet(out / "scores.parquet")["versions"]}
    explained = {
        json.loads(e)["versions"]["country_index"]
        for e in pl.read_parquet(out / "explanations.parquet")["explanation"]
    }
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return rows, explained, manifest["versions"]


def test_scores_and_manifest_name_the_shipped_country_index(tmp_path: Path) -> None:
    rows, explained, manifest = _run(tmp_path, "shipped", None)
    assert rows == explained  # the same version the scoring stamped on every explanation
    (kind,) = rows
    assert kind.startswith("shipped")
    assert manifest["country_index"] == kind


def test_scores_and_manifest_name_a_user_supplied_gsi_index(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "gsi_2023.csv").write_text(GSI, encoding="utf-8")
    rows, explained, manifest = _run(tmp_path, "gsi", ref)
    assert rows == explained == {"gsi"}
    assert manifest["country_index"] == "gsi"


def test_a_prepared_country_index_frame_is_recorded_as_user() -> None:
    frame = pl.DataFrame({"iso2": ["BD", "DE"], "C_c": [0.6, 0.1]})
    assert collect_versions("fl-v1", reference={"country_index": frame})["country_index"] == "user"
    with_gsi = frame.with_columns(pl.lit("prevalence").alias("gsi_components"))
    assert collect_versions("fl-v1", reference={"country_index": with_gsi})["country_index"] == "gsi"
