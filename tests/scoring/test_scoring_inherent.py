from __future__ import annotations

import math

import polars as pl
import pytest

from risk_engine.scoring.inherent import (
    OVERRIDE_XUAR,
    InherentReference,
    inherent_from_terms,
    inherent_risk,
    inherent_terms,
    load_inherent_reference,
    tvpra_hs_table,
    uscc_is_xuar,
    xuar_evidence,
)
from risk_engine.scoring.registry import get_methodology

P = get_methodology("fl-v1").params
IP = P.inherent


@pytest.mark.parametrize(
    ("kwargs", "logit", "value"),
    [
        ({"C": 0.6, "S": 0.8, "tvpra_forced": True}, -1.48, 0.185),  # Bangladesh garments
        ({"C": 0.5, "S": 0.8, "tvpra_forced": True, "uflpa_priority": True}, -1.0, 0.27),  # China cotton yarn
        ({"C": 0.55, "S": 0.8}, -2.54, 0.073),  # India cotton fabric
    ],
)
def test_methodology_worked_values(kwargs, logit, value):
    t = inherent_terms(params=IP, **kwargs)
    assert t.logit == pytest.approx(logit, abs=1e-9)
    assert pytest.approx(value, abs=5e-3) == t.I


def test_listing_term_takes_the_strongest_listing_only():
    both = inherent_terms(C=0.5, S=0.5, params=IP, tvpra_forced=True, tvpra_child=True, tvpra_downstream=True)
    assert both.listing == IP.beta_tvpra_forced


def test_country_and_sector_alone_never_exceed_the_cap():
    worst = inherent_terms(
        C=1.0,
        S=1.0,
        params=IP,
        tvpra_forced=True,
        tvpra_downstream=True,
        tvpra_child=True,
        uflpa_priority=True,
    )
    assert IP.cap >= worst.I
    assert worst.logit == pytest.approx(-0.2)
    assert pytest.approx(IP.cap) == worst.I
    assert 1 / (1 + math.exp(0.2)) == pytest.approx(IP.cap, abs=5e-4)


def test_overrides_set_inherent_risk():
    assert pytest.approx(0.95) == inherent_terms(C=0.0, S=0.0, params=IP, override=OVERRIDE_XUAR).I
    assert pytest.approx(0.95) == inherent_terms(C=0.0, S=0.0, params=IP, override="DPRK").I
    assert pytest.approx(0.90) == inherent_terms(C=0.0, S=0.0, params=IP, override="COUNTRY_WIDE_ORDER").I


def test_vectorised_equals_scalar():
    cases = [
        (0.1, 0.3, False, False, True, False),
        (0.9, 1.0, True, False, False, True),
        (0.5, 0.6, False, True, False, False),
    ]
    frame = pl.DataFrame(cases, schema=["C", "S", "t_fl", "t_ds", "t_cl", "u"], orient="row").with_columns(
        override=pl.lit(None, pl.String)
    )
    got = inherent_from_terms(frame, params=IP).get_column("inherent").to_list()
    want = [
        inherent_terms(
            C=c, S=s, params=IP, tvpra_forced=a, tvpra_downstream=b, tvpra_child=d, uflpa_priority=u
        ).I
        for c, s, a, b, d, u in cases
    ]
    assert got == pytest.approx(want)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("91650100MA775XYZ1A", True),
        ("91AB0100MA775XYZ1A", False),  # characters 3-8 must be digits
        ("916501007109563712", True),
        ("91 6501 0071 0956 3712", True),
        ("91320500MA1MXXXX1A", False),
        ("913205007109563712", False),  # Jiangsu 32
        ("65", False),
        (None, False),
    ],
)
def test_uscc_prefix(code, expected):
    assert uscc_is_xuar(code, IP) is expected


def test_xuar_evidence_from_region_address_and_uscc():
    assert "region=Xinjiang" in xuar_evidence(
        country="CN", region="Xinjiang", address=None, tax_id=None, params=IP
    )
    assert "address token 'aksu'" in xuar_evidence(
        country="CN", region=None, address="No. 8 Industrial Park, Aksu City", tax_id=None, params=IP
    )
    assert "新疆" in xuar_evidence(
        country="CN", region=None, address="新疆乌鲁木齐市", tax_id=None, params=IP
    )
    assert "USCC" in xuar_evidence(
        country="CN", region=None, address=None, tax_id="916501007109563712", params=IP
    )
    # place names outside China do not count, and "Aksu" alone does not without a country
    assert xuar_evidence(country="KZ", region=None, address="Aksu, Pavlodar", tax_id=None, params=IP) is None
    assert xuar_evidence(country=None, region=None, address="Aksu", tax_id=None, params=IP) is None
    assert xuar_evidence(country="CN", region="Jiangsu", address="Suzhou", tax_id=None, params=IP) is None


def small_reference(**kw) -> InherentReference:
    base = {
        "country_index": pl.DataFrame(
            {"iso2": ["BD", "CN", "IN", "DE", "KP"], "C": [0.6, 0.5, 0.55, 0.1, None]}
        ),
        "sector_index": pl.DataFrame(
            {
                "hs_prefix": ["52", "5201", "61", "62", "85"],
                "sector": ["textiles", "cotton", "garments", "garments", "electronics"],
                "S": [0.8, 1.0, 0.8, 0.8, 0.6],
            }
        ),
        "tvpra": pl.DataFrame(
            {
                "iso2": ["CN", "IN", "BD"],
                "hs_prefix": ["5201", "5201", "62"],
                "good": ["Cotton", "Cotton", "Garments"],
                "forced": [True, True, True],
                "child": [True, True, False],
                "downstream": [False, False, False],
                "edition": ["2022"] * 3,
            }
        ),
        "uflpa_priority": pl.DataFrame({"hs_prefix": ["52"], "material": ["cotton"]}),
    }
    base.update(kw)
    return InherentReference(**base)


def entities(rows):
    return pl.DataFrame(
        rows,
        schema={
            "entity_id": pl.String,
            "country": pl.String,
            "region": pl.String,
            "address": pl.String,
            "tax_id": pl.String,
            "hs4_list": pl.List(pl.String),
        },
        orient="row",
    )


def test_frame_level_inherent_risk_with_terms_and_issues():
    ents = entities(
        [
            ("bd", "BD", None, None, None, ["6204"]),
            ("cn-unknown-region", "CN", None, None, None, ["5205"]),
            ("cn-jiangsu", "CN", "Jiangsu", None, None, ["5205"]),
            ("xj", "CN", None, "Korla, Bayingolin", None, ["5201"]),
            ("kp", "KP", None, None, None, ["6204"]),
            ("nowhere", None, None, None, None, ["9999"]),
            ("no-product", "DE", None, None, None, []),
        ]
    )
    out = inherent_risk(ents, params=P, reference=small_reference())
    assert out.get_column("entity_id").to_list() == ents.get_column("entity_id").to_list()
    r = {row["entity_id"]: row for row in out.iter_rows(named=True)}
    assert r["bd"]["inherent"] == pytest.approx(0.185, abs=5e-4)
    assert r["bd"]["listings"] == ["TVPRA-2022:Garments:FL"]
    # UFLPA priority applies only when the Chinese region is unknown
    assert r["cn-unknown-region"]["u"] and not r["cn-jiangsu"]["u"]
    assert r["cn-unknown-region"]["inherent"] > r["cn-jiangsu"]["inherent"]
    assert r["xj"]["override"] == OVERRIDE_XUAR and r["xj"]["inherent"] == pytest.approx(0.95)
    assert r["kp"]["override"] == "DPRK" and r["kp"]["inherent"] == pytest.approx(0.95)
    # missing data is not low risk: median country index, middle sector tier, and both reported
    assert r["nowhere"]["C_missing"] and r["nowhere"]["C"] == pytest.approx(
        0.525
    )  # median of the known values
    assert r["nowhere"]["S_missing"] and r["nowhere"]["S"] == pytest.approx(IP.sector_missing)
    assert any("country unknown" in i for i in r["nowhere"]["issues"])
    assert any("9999" in i for i in r["nowhere"]["issues"])
    assert any("no product" in i for i in r["no-product"]["issues"])
    assert r["no-product"]["inherent_high"] >= r["no-product"]["inherent"]
    # the R_high variant uses the 90th percentile for missing countries
    assert r["nowhere"]["inherent_high"] > r["nowhere"]["inherent"]


def test_entity_takes_its_riskiest_product():
    ents = entities([("multi", "IN", None, None, None, ["8517", "5201"])])
    out = inherent_risk(ents, params=P, reference=small_reference()).row(0, named=True)
    assert out["hs4"] == "5201"
    assert out["t_fl"]
    assert out["n_products"] == 2


def test_country_wide_order_override():
    ref = small_reference(country_index=pl.DataFrame({"iso2": ["TM"], "C": [0.7]}))
    out = inherent_risk(entities([("tm", "TM", None, None, None, ["5205"])]), params=P, reference=ref).row(
        0, named=True
    )
    assert out["override"] == "COUNTRY_WIDE_ORDER"
    assert out["inherent"] == pytest.approx(0.90)
    assert "Turkmenistan" in out["override_evidence"]


def test_backfill_inherent_uses_chapter_level_listings():
    # India cotton fabric is not listed itself, but its HS chapter's raw input (cotton) is
    out = inherent_risk(
        entities([("in", "IN", None, None, None, ["5208"])]), params=P, reference=small_reference()
    ).row(0, named=True)
    assert out["inherent"] == pytest.approx(0.073, abs=5e-4)
    assert out["backfill_inherent"] == pytest.approx(0.177, abs=5e-4)
    assert out["backfill_inherent_high"] >= out["backfill_inherent"]


def test_tvpra_hs_table_picks_an_edition_and_maps_goods():
    tvpra = pl.DataFrame(
        {
            "iso2": ["CN", "CN", "IN"],
            "good": ["Cotton", "Cotton", "Bricks"],
            "edition": ["2018", "2022", "2022"],
            "forced_labor": ["Yes", "Yes", "No"],
            "child_labor": ["Yes", "Yes", "Yes"],
            "forced_child_labor": ["No", "No", "Yes"],
            "produced_with_inputs": [None, "No", "No"],
        }
    )
    goods = pl.DataFrame({"good": ["cotton", "Bricks"], "hs_code": ["5201", "6901"]})
    t = tvpra_hs_table(tvpra, goods)
    assert t.height == 2 and set(t["edition"]) == {"2022"}
    bricks = t.filter(pl.col("good") == "Bricks").row(0, named=True)
    assert bricks["forced"]  # forced child labour counts as forced labour
    assert tvpra_hs_table(tvpra, goods, edition="2018").height == 1


def test_derived_crosswalk_codes_are_downstream_listings():
    tvpra = pl.DataFrame(
        {
            "iso2": ["CN", "UZ"],
            "good": ["Cotton", "Cotton"],
            "edition": ["2022", "2022"],
            "forced_labor": [True, False],
            "child_labor": [True, True],
        }
    )
    goods = pl.DataFrame(
        {"good": ["Cotton", "Cotton"], "hs_code": ["5201", "5205"], "link": ["direct", "derived"]}
    )
    t = {(r["iso2"], r["hs_prefix"]): r for r in tvpra_hs_table(tvpra, goods).iter_rows(named=True)}
    assert t[("CN", "5201")]["forced"] and not t[("CN", "5201")]["downstream"]
    assert t[("CN", "5205")]["downstream"] and not t[("CN", "5205")]["forced"]
    # a child-labour-only listing stays a child-labour listing downstream
    assert not t[("UZ", "5205")]["downstream"] and t[("UZ", "5205")]["child"]


def test_shipped_reference_loads_and_scores():
    ref = load_inherent_reference()
    assert ref.country_index_kind == "shipped"
    assert ref.country_index.height > 190
    assert ref.tvpra.height > 0 and ref.versions["tvpra"] == "2022"
    out = inherent_risk(
        entities(
            [("cn-yarn", "CN", None, None, None, ["5205"]), ("de-machines", "DE", None, None, None, ["8479"])]
        ),
        params=P,
        reference=ref,
    )
    r = {row["entity_id"]: row for row in out.iter_rows(named=True)}
    assert r["cn-yarn"]["t_ds"] and r["cn-yarn"]["u"]
    assert r["cn-yarn"]["inherent"] > r["de-machines"]["inherent"]
    assert all(0 < v <= IP.cap for v in out["inherent"])


def test_user_supplied_gsi_switches_the_country_index(tmp_path):
    path = tmp_path / "gsi.csv"
    path.write_text("country,prevalence_per_1000\nNorth Korea,104.6\nGermany,0.6\nIndia,8.0\nBrazil,5.0\n")
    ref = load_inherent_reference(gsi_path=path)
    assert ref.country_index_kind == "gsi"
    assert ref.versions["country_index"] == "gsi:gsi.csv"
    c = dict(ref.country_index.drop_nulls().iter_rows())
    assert c["KP"] > c["IN"] > c["BR"] > c["DE"]


def test_a_leading_xuar_place_in_a_chinese_name_is_a_registration_cue():
    def ev(name, country="CN"):
        return xuar_evidence(country=country, region=None, address=None, tax_id=None, params=IP, name=name)

    assert "name begins with 'kashgar'" in ev("Kashgar Yinhe Cotton Ginning Co., Ltd.")
    assert "xinjiang" in ev("Xinjiang Kashi Xinghua Cotton Yarn Co., Ltd.")
    assert "新疆" in ev("新疆天业股份有限公司")
    assert ev("Shanghai Hami Melon Trading Co., Ltd.") is None  # a place name later in the name is a product
    assert ev("Hamilton Textiles Co., Ltd.") is None  # whole words only
    assert ev("Aksu Textiles Ltd.", country="KZ") is None
