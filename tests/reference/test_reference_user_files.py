from pathlib import Path

import polars as pl
import pytest

from risk_engine.errors import InputSchemaError, UnreadableFileError
from risk_engine.reference.loaders import load_gsi, load_tvpra, load_tvpra_file, unmapped_goods

SHARED = Path("/work/shared/data")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_gsi_reads_names_formatted_numbers_and_optional_scores(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "gsi2.csv",
        'Country,Region,"Estimated prevalence of modern slavery per 1,000 population",'
        '"Total Vulnerability score (%)","Total Government Response score (%)"\n'
        '"Korea, Dem. Rep.",Asia,104.6,92%,1\n'
        "Türkiye,Europe,15.6,50,49\n"
        "Kosovo,Europe,,40,45\n",
    )
    frame = load_gsi(path)
    assert frame["iso2"].to_list() == ["KP", "TR", "XK"]
    assert frame["prevalence_per_1000"].to_list() == [104.6, 15.6, None]
    assert frame["vulnerability"].to_list() == [92.0, 50.0, 40.0]
    assert frame["government_response"].to_list() == [1.0, 49.0, 45.0]


def test_load_gsi_rejects_unknown_country_with_row_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path / "gsi.csv", "country,prevalence_per_1000\nChina,4.0\nAtlantis,3.0\n")
    with pytest.raises(InputSchemaError) as info:
        load_gsi(path)
    assert info.value.row == 3 and info.value.value == "Atlantis" and info.value.column == "country"


def test_load_gsi_rejects_non_numbers_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(InputSchemaError, match="not a number"):
        load_gsi(_write(tmp_path / "a.csv", "country,prevalence_per_1000\nChina,high\n"))
    with pytest.raises(InputSchemaError, match="missing required column"):
        load_gsi(_write(tmp_path / "b.csv", "country,population\nChina,1\n"))
    with pytest.raises(InputSchemaError, match="more than once"):
        load_gsi(_write(tmp_path / "c.csv", "country,prevalence_per_1000\nChina,1\nPRC,2\n"))
    with pytest.raises(UnreadableFileError, match="not found"):
        load_gsi(tmp_path / "absent.csv")


@pytest.mark.skipif(not (SHARED / "gsi_2023").exists(), reason="GSI 2023 (not redistributable) not present")
def test_load_gsi_reads_both_shared_shapes() -> None:
    clean = load_gsi(SHARED / "gsi_2023" / "gsi_2023_prevalence.csv")
    raw = load_gsi(SHARED / "gsi_2023" / "Global_Slavery_Index_2023_raw.csv")
    assert clean.height == raw.height == 180
    assert clean["prevalence_per_1000"].null_count() == 20
    assert clean.select("iso2", "prevalence_per_1000").equals(raw.select("iso2", "prevalence_per_1000"))


def test_load_tvpra_file_reads_a_newer_edition_with_x_marks(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tvpra_2024.csv",
        "Country/Area,Good,Child Labor,Forced Labor\n"
        "China,Polysilicon,,X\n"
        "Burma,Garments,X,\n"
        "Ivory Coast,Cocoa,X,X\n"
        "Brazil,Beef Jerky,X,\n",
    )
    frame = load_tvpra_file(path)
    assert frame.columns == load_tvpra().columns
    assert set(frame["edition"].to_list()) == {"2024"}
    rows = {(r["iso2"], r["good"]): r for r in frame.iter_rows(named=True)}
    assert rows[("CN", "Polysilicon")]["forced_labor"] and not rows[("CN", "Polysilicon")]["child_labor"]
    assert rows[("MM", "Garments")]["child_labor"]
    assert rows[("CI", "Cocoa")]["forced_labor"]
    assert unmapped_goods(frame) == ["Beef Jerky"]


def test_load_tvpra_file_errors_name_the_cell(tmp_path: Path) -> None:
    with pytest.raises(InputSchemaError, match="edition unknown"):
        load_tvpra_file(_write(tmp_path / "list.csv", "country,good,forced_labor\nChina,Cotton,Yes\n"))
    with pytest.raises(InputSchemaError) as info:
        load_tvpra_file(_write(tmp_path / "l2022.csv", "country,good,forced_labor\nChina,Cotton,maybe\n"))
    assert info.value.row == 2 and info.value.column == "forced_labor"
    with pytest.raises(InputSchemaError, match="child_labor or forced_labor"):
        load_tvpra_file(_write(tmp_path / "l2023.csv", "country,good\nChina,Cotton\n"))


@pytest.mark.skipif(not (SHARED / "tvpra_goods").exists(), reason="shared TVPRA data not present")
def test_load_tvpra_file_reproduces_the_shipped_2022_edition() -> None:
    user = load_tvpra_file(SHARED / "tvpra_goods" / "tvpra_goods_2022_edition.csv")
    shipped = load_tvpra().filter(pl.col("edition") == "2022")
    key = ["iso2", "good", "child_labor", "forced_labor", "forced_child_labor"]
    assert user.select(key).sort(key).equals(shipped.select(key).sort(key))


def test_load_tvpra_file_reads_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "goods_2024.xlsx"
    pl.DataFrame(
        {
            "Country/Area": ["Türkiye", "Congo, Democratic Republic of the"],
            "Good": ["Hazelnuts", "Cobalt ore (heterogenite)"],
            "Child Labor": ["Yes", "Yes"],
            "Forced Labor": ["No", "No"],
        }
    ).write_excel(path)
    frame = load_tvpra_file(path)
    assert frame.select("edition", "iso2", "good").rows() == [
        ("2024", "CD", "Cobalt ore (heterogenite)"),
        ("2024", "TR", "Hazelnuts"),
    ]
    assert unmapped_goods(frame) == []


def test_load_gsi_accepts_iso3_only(tmp_path: Path) -> None:
    frame = load_gsi(_write(tmp_path / "g.csv", "iso3,prevalence_per_1000\nPRK,104.6\nKSV,5.0\n"))
    assert frame.select("iso2", "prevalence_per_1000").rows() == [("KP", 104.6), ("XK", 5.0)]


def test_load_gsi_reads_windows_1252_files(tmp_path: Path) -> None:
    path = tmp_path / "gsi.csv"
    path.write_bytes("country,prevalence_per_1000\nCôte d'Ivoire,7.3\nTürkiye,15.6\n".encode("cp1252"))
    assert load_gsi(path)["iso2"].to_list() == ["CI", "TR"]
