import numpy as np
import polars as pl
import pytest

from risk_engine.errors import InputSchemaError
from risk_engine.matching.compare import FEATURES
from risk_engine.matching.index import EntityIndex, pairs_schema

REF = pl.DataFrame(
    {
        "id": ["r1", "r2", "r3", "r4", "r5"],
        "name": [
            "Quanzhou Xinxing Footwear Co., Ltd.",
            "Quanzhou Xinhua Electronics Co., Ltd.",
            "Hirdaramani Garments Katunayake (Pvt) Ltd",
            "Shenzhen Bright Star Toys Factory",
            "Acme Textile Mills Inc",
        ],
        "country": ["CN", "CN", "LK", "CN", "US"],
        "address": [
            "No. 8 Wuyi Industrial Zone, Quanzhou",
            "No. 20 Jinhu Road, Quanzhou",
            "Export Processing Zone, Katunayake",
            None,
            "1546 Carter Street, Mount Airy NC",
        ],
        "lei": [None, None, None, None, "HWUPKR0MPOU8FGXBT394"],
    }
)


@pytest.fixture(scope="module")
def index() -> EntityIndex:
    return EntityIndex.build(REF)


def test_link_finds_variants_with_explanations(index: EntityIndex) -> None:
    q = pl.DataFrame(
        {
            "id": ["q1", "q2"],
            "name": [
                "QUANZHOU XINXING FOOTWEAR COMPANY LIMITED",
                "Hirdaramani Garments Katunayake Private Limited",
            ],
            "country": ["CN", "LK"],
            "address": ["No.8 Wuyi Ind. Zone Quanzhou", None],
        }
    )
    out = index.link(q)
    assert out.schema == pl.Schema(pairs_schema())
    best = out.filter(pl.col("rank") == 1).sort("left_id")
    assert best["right_id"].to_list() == ["r1", "r3"]
    assert (best["decision"] == "match").all()
    assert (
        "r2" not in out.filter(pl.col("left_id") == "q1", pl.col("decision") == "match")["right_id"].to_list()
    )
    for f in FEATURES:
        assert out[f"feat_{f}"].is_between(0, 1).all()
        assert f"contrib_{f}" in out.columns


def test_identifier_settles_a_pair(index: EntityIndex) -> None:
    q = pl.DataFrame(
        {
            "id": ["q"],
            "name": ["Completely Different Name"],
            "country": ["US"],
            "lei": ["hwupkr0mpou8fgxbt394"],
        }
    )
    out = index.link(q)
    assert out.row(0, named=True)["right_id"] == "r5"
    assert out.row(0, named=True)["probability"] == 1.0
    assert out.row(0, named=True)["source"] == "identifier"


def test_decisions_override_the_model(index: EntityIndex) -> None:
    q = pl.DataFrame({"id": ["q1"], "name": ["Quanzhou Xinxing Footwear Co Ltd"], "country": ["CN"]})
    decisions = pl.DataFrame(
        {"left_id": ["q1", "q1"], "right_id": ["r1", "r4"], "decision": ["reject", "confirm"]}
    )
    out = index.link(q, decisions=decisions)
    assert "r1" not in out["right_id"].to_list()
    row = out.filter(pl.col("right_id") == "r4").row(0, named=True)
    assert (row["probability"], row["decision"], row["source"]) == (1.0, "match", "human")


def test_lookup_single_record(index: EntityIndex) -> None:
    got = index.lookup({"name": "QUANZHOU XINXING FOOTWEAR COMPANY LIMITED", "country": "CN"})
    assert got and got[0]["id"] == "r1"
    assert set(got[0]["contributions"]) == set(FEATURES)
    assert index.lookup({"name": "", "country": "CN"}) == []


@pytest.mark.parametrize(
    "name",
    ["", "Co., Ltd.", "x" * 10_000, "广州华美服装有限公司 Guangzhou Huamei", "ООО Ромашка & Co", None],
)
def test_awkward_names_do_not_crash(index: EntityIndex, name: str | None) -> None:
    q = pl.DataFrame(
        {"id": ["q"], "name": [name], "country": [None]},
        schema={"id": pl.String, "name": pl.String, "country": pl.String},
    )
    out = index.link(q)
    assert out.schema == pl.Schema(pairs_schema())


def test_missing_country_column_and_one_row_reference() -> None:
    idx = EntityIndex.build(pl.DataFrame({"id": ["only"], "name": ["Acme Textile Mills Inc"]}))
    out = idx.link(pl.DataFrame({"id": ["q"], "name": ["ACME TEXTILE MILLS"]}))
    assert out["right_id"].to_list() == ["only"]


def test_duplicate_ids_are_a_clear_error() -> None:
    with pytest.raises(InputSchemaError, match="duplicate id 'a'"):
        EntityIndex.build(
            pl.DataFrame({"id": ["a", "a"], "name": ["X Ltd", "Y Ltd"], "country": ["CN", "CN"]})
        )
    with pytest.raises(InputSchemaError, match="required column 'name'"):
        EntityIndex.build(pl.DataFrame({"id": ["a"]}))


def test_parallel_link_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    from risk_engine.matching import index as index_module
    from risk_engine.matching.synth import generate_entities

    ref = generate_entities(400, seed=5)
    idx = EntityIndex.build(ref)
    q = ref.head(60).with_columns(pl.format("q{}", pl.col("id")).alias("id"))
    serial = idx.link(q, workers=1)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_QUERIES", 10)
    parallel = idx.link(q, workers=2)
    assert serial.height >= 55
    a, b = parallel.sort("left_id", "right_id"), serial.sort("left_id", "right_id")
    # Same pairs, decisions and features; the probability may differ in the last bit, because numpy's
    # vectorised arithmetic depends on the batch shape (the pipeline rounds to 12 decimals).
    assert a.drop("probability").equals(b.drop("probability"))
    np.testing.assert_allclose(a["probability"].to_numpy(), b["probability"].to_numpy(), rtol=0, atol=1e-12)


def test_exact_key_is_always_a_candidate() -> None:
    idx = EntityIndex.build(
        pl.DataFrame(
            {"id": ["a", "b"], "name": ["Textile Garment Co", "Zzz Other Ltd"], "country": ["CN", "VN"]}
        )
    )
    out = idx.link(
        pl.DataFrame({"id": ["q"], "name": ["GARMENT TEXTILE COMPANY LIMITED"], "country": ["BD"]}),
        min_probability=0.0,
    )
    assert "a" in out["right_id"].to_list()


def test_name_whose_letters_fell_apart_matches_its_entity(index: EntityIndex) -> None:
    # PDF extraction spaced the letters out: glued, the name is the reference name written without spaces.
    q = pl.DataFrame(
        {"id": ["q1"], "name": ["Hir dar am a ni G a r m e nts Ka tu na ya ke (Pvt) Ltd"], "country": ["LK"]}
    )
    best = index.link(q).filter(pl.col("rank") == 1)
    assert best["right_id"].to_list() == ["r3"]
    assert best["feat_name_compact_ratio"].to_list() == [1.0]
    assert best["decision"].to_list() == ["match"]


def test_namesake_in_another_country_is_not_a_match(index: EntityIndex) -> None:
    # No reference entity is in Egypt, so the query is compared with every country; the same name
    # registered in another country is another legal entity (or a wrong country field): at most review.
    q = pl.DataFrame({"id": ["q1", "q2"], "name": ["Acme Textile Mills Inc"] * 2, "country": ["EG", "US"]})
    out = index.link(q, min_probability=0.0)
    abroad = out.filter(pl.col("left_id") == "q1", pl.col("right_id") == "r5")
    home = out.filter(pl.col("left_id") == "q2", pl.col("right_id") == "r5")
    assert abroad["feat_country_conflict"].to_list() == [1.0]
    assert abroad["decision"].to_list() != ["match"]
    assert home["decision"].to_list() == ["match"]


def test_native_name_and_identifiers_weigh_in() -> None:
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "name": ["Foshan Jiaming Garment Co., Ltd.", "Foshan Jiaming Garment Co., Ltd."],
            "country": ["CN", "CN"],
            "native_name": ["佛山佳明服装有限公司", None],
            "lei": [None, "HWUPKR0MPOU8FGXBT394"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["same_native", "other_native", "other_lei"],
            "name": ["Foshan Jiaming Garments Company Limited"] * 3,
            "country": ["CN"] * 3,
            "native_name": ["佛山佳明服装有限公司", "佛山嘉铭服装有限公司", None],
            "lei": [None, None, "5493001KJTIIGC8Y1R12"],
        }
    )
    out = index.link(q, min_probability=0.0)

    def prob(left: str, right: str) -> float:
        return out.filter(pl.col("left_id") == left, pl.col("right_id") == right)["probability"].item()

    # The same native-script name is evidence for; another one (other homophones) against.
    assert prob("same_native", "r1") > prob("same_native", "r2") > prob("other_native", "r1")
    assert (
        out.filter(pl.col("left_id") == "other_native", pl.col("right_id") == "r1")["decision"].item()
        != "match"
    )
    # Two valid LEIs that differ: two legal entities, whatever the names say.
    assert prob("other_lei", "r2") < prob("other_lei", "r1")
    assert (
        out.filter(pl.col("left_id") == "other_lei", pl.col("right_id") == "r2")["decision"].item() != "match"
    )


def test_same_name_at_an_unrelated_address_needs_review() -> None:
    # Another site of a company is its own node in the graph (its location drives its risk): the same
    # name at an unrelated address in the same country is a review, not an automatic merge. The
    # address agreeing or missing, or an identifier in common, still makes a match. A wrong country
    # field with the address agreeing, plot number and all, is a slip in the country field: a match, far
    # above a namesake abroad at an address of its own.
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "name": ["Sunrise Knitwear Co., Ltd.", "Nova Threads Ltd"],
            "country": ["BD", "BD"],
            "address": ["Plot 12, Dhaka EPZ, Savar, Dhaka", "House 4, Road 7, Chittagong"],
            "lei": ["HWUPKR0MPOU8FGXBT394", None],
        }
    )
    index = EntityIndex.build(ref)
    far = "Holding 88, Kaliakair Road, Gazipur"
    q = pl.DataFrame(
        {
            "id": ["other_site", "same_site", "no_address", "other_site_lei", "wrong_country", "abroad"],
            "name": ["Sunrise Knitwear Company Limited"] * 6,
            "country": ["BD", "BD", "BD", "BD", "IN", "IN"],
            "address": [
                far,
                "Plot No. 12, Dhaka Export Processing Zone, Savar",
                None,
                far,
                "Plot 12 Dhaka EPZ Savar",
                "Unit 5, Tiruppur Knitwear Park, Tamil Nadu",
            ],
            "lei": [None, None, None, "HWUPKR0MPOU8FGXBT394", None, None],
        }
    )
    out = index.link(q, min_probability=0.0).filter(pl.col("right_id") == "r1")
    decision = dict(zip(out["left_id"], out["decision"], strict=True))
    prob = dict(zip(out["left_id"], out["probability"], strict=True))
    assert decision["other_site"] == "review"
    assert decision["same_site"] == decision["no_address"] == decision["other_site_lei"] == "match"
    assert prob["same_site"] > prob["no_address"] > prob["other_site"]
    assert prob["wrong_country"] > prob["abroad"] + 0.2
    assert decision["wrong_country"] == "match" and decision["abroad"] == ""


def test_contractions_match_and_letter_spaced_names_still_meet_them() -> None:
    # "Mfg" and "Intl" are written out, so the short and long forms are one name; a list whose
    # letters fell apart ("i ntl m anu fac tu r i ng") is glued as written and compared as written.
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "name": ["Barnhardt Manufacturing Company", "M&V Intl Manufacturing Ltd (M&V3)"],
            "country": ["US", "KH"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["short", "spaced"],
            "name": ["Barnhardt Mfg. Co.", "m &v i ntl m anu fac tu r i ng ltd ( m &v 3)"],
            "country": ["US", "KH"],
        }
    )
    out = index.link(q, min_probability=0.0)
    row = {r["left_id"]: r for r in out.filter(pl.col("rank") == 1).iter_rows(named=True)}
    assert row["short"]["right_id"] == "r1" and row["short"]["decision"] == "match"
    assert row["spaced"]["right_id"] == "r2" and row["spaced"]["feat_name_compact_ratio"] > 0.9


def test_group_name_before_the_site_name_at_the_site_address() -> None:
    # Lists write a facility under its group's or operator's name ("Hirdaramani Mercury", "Chicago
    # Commons Association - Paulo Freire"). At the site's own address the longer name is the same
    # site; at another address it is another site of the group.
    ref = pl.DataFrame(
        {
            "id": ["r1"],
            "name": ["Mercury Apparel Seethawaka"],
            "country": ["LK"],
            "address": ["Lot F2, Seethawaka Industrial Park, Avissawella"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["same_site", "other_site", "no_address"],
            "name": ["Hirdaramani Group - Mercury Apparel Seethawaka"] * 3,
            "country": ["LK"] * 3,
            "address": [
                "Lot # F2 Seethawaka Industrial Park Avissawella",
                "No. 45 Galle Road, Colombo 3",
                None,
            ],
        }
    )
    out = index.link(q, min_probability=0.0)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["same_site"]["feat_name_within_at_address"] > 0.8
    assert (
        row["other_site"]["feat_name_within_at_address"]
        == row["no_address"]["feat_name_within_at_address"]
        == 0
    )
    # Two words more than the site's own name: a match at its address, nothing elsewhere.
    assert row["same_site"]["decision"] == "match"
    assert row["other_site"]["decision"] == row["no_address"]["decision"] == ""
    assert (
        row["same_site"]["probability"] > row["no_address"]["probability"] > row["other_site"]["probability"]
    )


def test_identical_names_match_unless_a_branch_tells_them_apart() -> None:
    # The same name with nothing else known is a match; a branch or plant marker on one side only
    # ("... Dongguan Branch" against the company) is another node, as is a second branch.
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "name": ["Verizon Communications Inc.", "Huamei Garment Co., Ltd."],
            "country": ["US", "CN"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["same", "no_country", "branch"],
            "name": [
                "VERIZON COMMUNICATIONS",
                "Verizon Communications",
                "Huamei Garment Co., Ltd. Dongguan Branch",
            ],
            "country": ["US", None, "CN"],
        }
    )
    out = index.link(q, min_probability=0.0).filter(pl.col("rank") == 1)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["same"]["feat_same_name_no_conflict"] == row["no_country"]["feat_same_name_no_conflict"] == 1
    assert row["same"]["decision"] == row["no_country"]["decision"] == "match"
    assert row["branch"]["right_id"] == "r2" and row["branch"]["feat_same_name_key"] == 1
    assert row["branch"]["feat_same_name_no_conflict"] == 0
    assert row["branch"]["decision"] != "match"


def test_addresses_with_different_numbers_conflict() -> None:
    # Two addresses on the same kind of street share most words ("219 S Dearborn Street" / "610 S Canal
    # Street": token-set ratio 0.72); their numbers tell them apart. Shared numbers, or none on one
    # side, are no conflict.
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2", "r3"],
            "name": ["Erie Neighborhood House", "Silueta (Pvt) Ltd", "Orkum Tekstil San. Tic. A.S."],
            "country": ["US", "LK", "TR"],
            "address": [
                "2510 W Cortez Street",
                "Lot 14 Biyagama Export Processing Zone Malwana 11672",
                "Vakiflar Koyu Bademlik Mevkii Ulas Corlu Tekirdag",
            ],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["other_number", "same_number", "no_number", "same_place"],
            "name": [
                "Erie Neighborhood House",
                "Silueta (Pvt) Ltd",
                "Orkum Tekstil",
                "Erie Neighborhood House",
            ],
            "country": ["US", "LK", "TR", "US"],
            "address": [
                "1347 W Erie Street",
                "Lot # 14 BEPZ Walgama Malwana Biyagama",
                "Ulas Mah Asfalt Boyu No 14 Ergene Tekirdag 59870",
                "2510 West Cortez St.",
            ],
        }
    )
    out = index.link(q, min_probability=0.0).filter(pl.col("rank") == 1)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["other_number"]["feat_address_number_conflict"] == 1
    assert row["same_number"]["feat_address_number_conflict"] == 0
    assert row["no_number"]["feat_address_number_conflict"] == 0
    assert row["same_place"]["feat_address_number_conflict"] == 0
    # The conflict counts through two terms: the flag and how alike the rest of the two addresses is.
    conflict = row["other_number"]
    assert conflict["contrib_address_number_conflict"] + conflict["contrib_address_other_number"] < 0
    assert row["other_number"]["probability"] < row["same_place"]["probability"]
    assert row["other_number"]["decision"] != "match" and row["same_place"]["decision"] == "match"


def test_singular_and_plural_of_a_descriptive_word_are_one_name() -> None:
    # "Technology" / "Technologies" is the same name (same key once folded, a match); the key itself
    # keeps the words as written, so a misspelt plural is not pushed further from the correct one; a
    # trade name ending in "s" is not a plural ("Philips" is not "Philip").
    ref = pl.DataFrame(
        {
            "id": ["r1", "r2", "r3"],
            "name": [
                "Hitachi Global Storage Technologies Netherlands B.V.",
                "Dongguan Luyang Shoes Co., Ltd.",
                "Philips Lighting",
            ],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["plural", "typo", "trade"],
            "name": [
                "HITACHI GLOBAL STORAGE TECHNOLOGY NETHERLANDS BV",
                "Dongguan Luyang Sohes",
                "Philip Lighting",
            ],
        }
    )
    out = index.link(q, min_probability=0.0).filter(pl.col("rank") == 1)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["plural"]["right_id"] == "r1"
    assert row["plural"]["feat_same_name_key"] == row["plural"]["feat_same_name_no_conflict"] == 1
    assert row["plural"]["feat_name_token_sort"] < 1  # the words as written still differ
    assert row["plural"]["decision"] == "match"
    assert index.ref.key[1] == "dongguan luyang shoes"
    assert row["typo"]["feat_same_name_key"] == 0
    assert row["trade"]["feat_same_name_key"] == 0


def test_a_plant_at_its_company_address_and_another_plot_of_the_zone() -> None:
    # A company's own numbered plant at the company's address is that site (the node is the site);
    # the same plant name at an unrelated address is not proposed. Another plot number in the same
    # zone (the postcode shared) is a number conflict, and so is less likely than the same plot.
    ref = pl.DataFrame(
        {
            "id": ["r1"],
            "name": ["Sunrise Knitwear Co., Ltd."],
            "country": ["BD"],
            "address": ["Plot 12, Dhaka EPZ, Savar, Dhaka 1349"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["plant_here", "plant_elsewhere", "other_plot", "same_plot"],
            "name": ["Sunrise Knitwear Co., Ltd. No. 2 Factory"] * 2 + ["Sunrise Knitwear Co., Ltd."] * 2,
            "country": ["BD"] * 4,
            "address": [
                "Plot 12, Dhaka EPZ, Savar, Dhaka 1349",
                "Holding 88, Kaliakair Road, Gazipur",
                "Plot 31, Dhaka EPZ, Savar, Dhaka 1349",
                "Plot No. 12, Dhaka Export Processing Zone, Savar",
            ],
        }
    )
    out = index.link(q, min_probability=0.0)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["plant_here"]["decision"] == "match"
    assert row["plant_elsewhere"]["decision"] == ""
    assert row["other_plot"]["feat_address_number_conflict"] == 1  # 31 vs 12, although 1349 is shared
    assert row["same_plot"]["feat_address_number_conflict"] == 0  # one side has no postcode
    assert row["other_plot"]["feat_address_other_number"] > 0.9
    assert row["other_plot"]["probability"] < row["same_plot"]["probability"]


def test_a_name_without_an_address_carries_its_own_term() -> None:
    # Where either side has no address the name's similarity also enters as ``name_without_address``;
    # with both addresses present that term is 0.
    ref = pl.DataFrame(
        {"id": ["r1"], "name": ["AKH Apparels Ltd"], "country": ["BD"], "address": ["Hemayetpur, Savar"]}
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["bare", "addressed"],
            "name": ["AKH APPARLES LTD"] * 2,
            "country": ["BD"] * 2,
            "address": [None, "Hemayetpur Savar"],
        }
    )
    row = {r["left_id"]: r for r in index.link(q, min_probability=0.0).iter_rows(named=True)}
    assert row["bare"]["feat_name_without_address"] == row["bare"]["feat_name_compact_ratio"] > 0.85
    assert row["addressed"]["feat_name_without_address"] == 0
    assert row["bare"]["contrib_name_without_address"] > 0


def test_a_name_with_its_street_address_run_on_lends_it_to_a_record_without_one() -> None:
    # A shipper field holding name and street: the street is not name words, and a record without an
    # address column uses it as its address; a record with an address keeps its own.
    ref = pl.DataFrame(
        {
            "id": ["r1"],
            "name": ["Huali Garments Co., Ltd."],
            "country": ["CN"],
            "address": ["No. 5 Xinhe Road, Humen Town, Dongguan"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["run_on", "own_address", "plain"],
            "name": [
                "Huali Garments Co., Ltd. No. 5 Xinhe Road, Dongguan",
                "Huali Garments Co., Ltd. No. 5 Xinhe Road, Dongguan",
                "Huali Garments Co., Ltd.",
            ],
            "country": ["CN"] * 3,
            "address": [None, "Room 2101, Tower B, Shenzhen", None],
        }
    )
    row = {r["left_id"]: r for r in index.link(q, min_probability=0.0).iter_rows(named=True)}
    assert row["run_on"]["feat_same_name_key"] == 1  # the street left the name
    assert row["run_on"]["feat_address_missing"] == 0 and row["run_on"]["feat_address_similarity"] > 0.9
    assert row["own_address"]["feat_address_similarity"] < 0.6  # its own address column wins
    assert row["plain"]["feat_address_missing"] == 1
    assert row["run_on"]["probability"] > row["plain"]["probability"]


def test_a_mistyped_postcode_alone_is_no_number_conflict() -> None:
    # The same house numbers with different postcodes (5+ digits) are one site with a mistyped
    # postcode; another house number, or a differing postcode with no house number to agree on, stays
    # a conflict.
    ref = pl.DataFrame(
        {
            "id": ["r1"],
            "name": ["Golden Thread Garment Co., Ltd."],
            "country": ["MM"],
            "address": ["No. 7&8 Innwa Street, Shwe Pauk Kan Industrial Zone, Yangon 11037"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["postcode_typo", "other_house", "postcode_only"],
            "name": ["Golden Thread Garment Co., Ltd."] * 3,
            "country": ["MM"] * 3,
            "address": [
                "No 7 8 Innwa St, Shwe Pauk Kan Industrial Zone, Yangon 11073",
                "No 9 Innwa St, Shwe Pauk Kan Industrial Zone, Yangon 11037",
                "Innwa St, Shwe Pauk Kan Industrial Zone, Yangon 11073",
            ],
        }
    )
    out = index.link(q, min_probability=0.0)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["postcode_typo"]["feat_address_number_conflict"] == 0
    assert row["other_house"]["feat_address_number_conflict"] == 1
    assert row["postcode_only"]["feat_address_number_conflict"] == 1
    assert row["postcode_typo"]["probability"] > row["other_house"]["probability"]


@pytest.mark.parametrize(
    ("a", "b", "conflict"),
    [
        (
            "Via Venezia 99 101, 59013 Oste",
            "Via Venezia 99101, 59103 Montemurlo",
            False,
        ),  # one number, two ways
        ("Plot 1, Block 2, Zone A", "Plot 12, Zone A", True),  # too short to be one number split
        ("No 12 3 Main Road", "No 123 Main Road", True),
        ("No 7 8 Innwa St 11037", "No 9 Innwa St 11037", True),
    ],
)
def test_a_number_written_as_two_is_that_number(a: str, b: str, conflict: bool) -> None:
    from risk_engine.matching.compare import _numbers_conflict
    from risk_engine.matching.records import prepare_records

    rec = prepare_records(
        pl.DataFrame({"id": ["a", "b"], "name": ["X", "X"], "address": [a, b]}), side="query"
    )
    assert _numbers_conflict(rec.address_numbers[0], rec.address_numbers[1]) is conflict


def test_one_address_under_two_country_codes_is_a_country_slip_not_a_namesake() -> None:
    # The same plot of the same park under JO and IL is a slip in the country field; the same name in
    # another country at an address of its own is a namesake abroad, another legal entity.
    ref = pl.DataFrame(
        {
            "id": ["r1"],
            "name": ["Desert Rose Apparel LLC"],
            "country": ["IL"],
            "address": ["Plot 675, Wadi Ad Dulayl Industrial Park"],
        }
    )
    index = EntityIndex.build(ref)
    q = pl.DataFrame(
        {
            "id": ["slip", "namesake", "other_plot"],
            "name": ["Desert Rose Apparel LLC"] * 3,
            "country": ["JO"] * 3,
            "address": [
                "Plot # 675 Wadi Ad Dulayl Industrial Park, Jordan",
                "22 King Abdullah II Street, Amman",
                "Plot # 512 Wadi Ad Dulayl Industrial Park, Jordan",
            ],
        }
    )
    out = index.link(q, min_probability=0.0)
    row = {r["left_id"]: r for r in out.iter_rows(named=True)}
    assert row["slip"]["feat_country_conflict"] == 1
    assert row["slip"]["feat_country_conflict_at_address"] > 0.9
    assert row["namesake"]["feat_country_conflict_at_address"] == 0
    assert row["other_plot"]["feat_country_conflict_at_address"] == 0  # another plot number
    assert row["slip"]["contrib_country_conflict_at_address"] > 0
    assert row["slip"]["probability"] > 0.7 > row["namesake"]["probability"]
    assert row["other_plot"]["probability"] < row["slip"]["probability"]


def test_exact_copies_in_the_reference_are_all_linked() -> None:
    # The candidate search reaches rows that repeat a name, country and profile through the first of
    # them; link reports every copy, so a listed entity filed twice is not hidden behind the first.
    ref = pl.DataFrame(
        {
            "id": ["R1", "R2", "R3", "R4", "R5", "R6"],
            "name": [
                "Sangwoo Cambodia Co Ltd",
                "Sangwoo Cambodia Co Ltd",
                "Dewhirst (Cambodia) Co. Ltd",
                "SANGWOO CAMBODIA CO., LTD",
                "Sangwoo Cambodia Co Ltd",  # another address: not a copy (its own profile)
                "Sangwoo Cambodia Co Ltd",  # another country: not a copy
            ],
            "country": ["KH", "KH", "KH", "KH", "KH", "VN"],
            "address": ["Trapangkong Commune"] * 2 + [None, "Trapangkong Commune", "Phnom Penh", None],
        }
    )
    index = EntityIndex.build(ref)
    assert index.copy_groups() == {0: (0, 1, 3), 1: (0, 1, 3), 3: (0, 1, 3)}
    q = pl.DataFrame({"id": ["q"], "name": ["Sang Woo (Cambodia) Co Ltd"], "country": ["KH"]})
    pairs = index.link(q)
    got = dict(zip(pairs["right_id"], pairs["probability"], strict=True))
    assert {"R1", "R2", "R4"} <= set(got) and "R3" not in got and "R6" not in got
    assert got["R1"] == pytest.approx(got["R2"]) == pytest.approx(got["R4"])
    assert pairs["rank"].to_list() == list(range(1, pairs.height + 1))
    decisions = pl.DataFrame({"left_id": ["q"], "right_id": ["R2"], "decision": ["reject"]})
    kept = set(index.link(q, decisions=decisions)["right_id"])
    assert "R2" not in kept and {"R1", "R4"} <= kept  # a remembered rejection removes that copy only
