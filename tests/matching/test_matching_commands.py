from pathlib import Path

import polars as pl
import pytest

from risk_engine.cli import main


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    left = _write(
        tmp_path / "left.csv",
        [
            {
                "id": "L1",
                "name": "QUANZHOU XINXING FOOTWEAR CO., LTD",
                "country": "China",
                "address": "Wuyi Ind. Zone",
            },
            {"id": "L2", "name": "Acme Textile Mills", "country": "US", "address": ""},
            {"id": "L3", "name": "Acme Textile Mills Inc.", "country": "", "address": ""},
        ],
    )
    right = _write(
        tmp_path / "right.csv",
        [
            {
                "id": "R1",
                "name": "Quanzhou Xinxing Footwear Company Limited",
                "country": "CN",
                "address": "Wuyi Industrial Zone",
            },
            {"id": "R2", "name": "Acme Textile Mills Inc", "country": "United States", "address": ""},
            {"id": "R3", "name": "Bright Star Toys Factory", "country": "CN", "address": ""},
        ],
    )
    return left, right


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_match_command_writes_pairs(files: tuple[Path, Path], tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"pairs{ext}"
    assert main(["match", str(files[0]), str(files[1]), "--out", str(out)]) == 0
    pairs = pl.read_csv(out) if ext == ".csv" else pl.read_parquet(out)
    assert {"left_id", "right_id", "probability", "decision", "feat_name_ratio", "contrib_name_ratio"} <= set(
        pairs.columns
    )
    best = pairs.filter(pl.col("rank") == 1).sort("left_id")
    assert best.select("left_id", "right_id").rows()[:2] == [("L1", "R1"), ("L2", "R2")]
    # L3 has no country: the reader rejects it and says so instead of dropping it silently.
    rejects = out.with_name(out.name + ".rejects.csv")
    assert rejects.exists()


def test_dedupe_command_and_decisions(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "list.csv",
        [
            {"id": "1", "name": "Acme Textile Mills Inc", "country": "US"},
            {"id": "2", "name": "ACME TEXTILE MILLS", "country": "US"},
            {"id": "3", "name": "Bright Star Toys Factory", "country": "CN"},
        ],
    )
    out = tmp_path / "clusters.csv"
    assert main(["dedupe", str(src), "--out", str(out)]) == 0
    clusters = pl.read_csv(out, schema_overrides={"id": pl.String, "cluster_id": pl.String})
    by_id = dict(clusters.select("id", "cluster_id").iter_rows())
    assert by_id["1"] == by_id["2"] != by_id["3"]
    pairs = pl.read_csv(
        tmp_path / "clusters.pairs.csv", schema_overrides={"left_id": pl.String, "right_id": pl.String}
    )
    # Each pair says whether its records ended in one cluster: the review queue is the rest.
    same = {(a, b): s for a, b, s in pairs.select("left_id", "right_id", "same_cluster").iter_rows()}
    assert same[("1", "2")] is True
    decisions = _write(tmp_path / "dec.csv", [{"left_id": "1", "right_id": "2", "decision": "reject"}])
    assert main(["dedupe", str(src), "--out", str(out), "--decisions", str(decisions)]) == 0
    clusters = pl.read_csv(out, schema_overrides={"id": pl.String, "cluster_id": pl.String})
    by_id = dict(clusters.select("id", "cluster_id").iter_rows())
    assert by_id["1"] != by_id["2"]


def test_bad_output_extension_and_bad_decisions(files: tuple[Path, Path], tmp_path: Path) -> None:
    assert main(["match", str(files[0]), str(files[1]), "--out", str(tmp_path / "x.xlsx")]) == 2
    bad = _write(tmp_path / "dec.csv", [{"left_id": "L1", "right_id": "R1", "decision": "maybe"}])
    assert (
        main(
            ["match", str(files[0]), str(files[1]), "--out", str(tmp_path / "x.csv"), "--decisions", str(bad)]
        )
        == 2
    )
