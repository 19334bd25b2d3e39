from datetime import date

import polars as pl

from risk_engine.pipeline import (
    ScreenInputs,
    audits_with_entities,
    matches_table,
    missing_notes,
    resolve_entities,
    suppliers_with_entities,
    trade_with_entities,
)


def _inputs() -> ScreenInputs:
    suppliers = pl.DataFrame(
        {
            "row": [2, 3, 4],
            "id": ["S1", "S2", "S3"],
            "name": ["Acme Textiles Pvt. Ltd.", "ACME TEXTILES PVT LTD", "Dhaka Knit Ltd"],
            "country": ["IN", "IN", "BD"],
        }
    )
    trade = pl.DataFrame(
        {
            "row": [2, 3],
            "date": [date(2025, 1, 1), date(2025, 2, 1)],
            "shipper_name": ["Xinjiang Cotton Co., Ltd.", "Acme Textiles Private Limited"],
            "shipper_country": ["CN", "IN"],
            "shipper_address": [None, "Tiruppur"],
            "consignee_name": ["Acme Textiles Pvt Ltd", "Dhaka Knit Limited"],
            "consignee_country": ["IN", "BD"],
            "hs_code": ["5205", "5208"],
        }
    )
    audits = pl.DataFrame(
        {
            "row": [2],
            "audit_id": ["A1"],
            "facility_name": ["Dhaka Knit Ltd."],
            "facility_country": ["BD"],
            "audit_date": [date(2025, 3, 1)],
            "ilo_indicators": [[7]],
        }
    )
    enforcement = pl.DataFrame(
        {
            "row": [2],
            "name": ["XINJIANG COTTON CO LTD"],
            "aliases": [["XJ Cotton"]],
            "country": ["CN"],
            "list": ["UFLPA Entity List"],
        }
    )
    return ScreenInputs(suppliers=suppliers, trade=trade, audits=audits, enforcement=enforcement)


def test_spellings_of_one_company_resolve_to_one_entity() -> None:
    inputs = _inputs()
    resolved = resolve_entities(inputs)
    sup = suppliers_with_entities(inputs.suppliers, resolved.mentions)
    ids = dict(sup.select("id", "entity_id").iter_rows())
    assert ids["S1"] == ids["S2"] != ids["S3"]
    trade = trade_with_entities(inputs.trade, resolved.mentions)
    assert trade["consignee_entity_id"].to_list() == [ids["S1"], ids["S3"]]
    assert trade["shipper_entity_id"][1] == ids["S1"]
    audits = audits_with_entities(inputs.audits, resolved.mentions)
    assert audits["entity_id"].to_list() == [ids["S3"]]
    # Acme, Dhaka Knit, Xinjiang Cotton, and the list's buyer
    assert resolved.entities.height == 4
    assert sup["buyer_entity_id"].n_unique() == 1
    assert sup["buyer_entity_id"][0] not in ids.values()


def test_named_buyer_is_the_consignee_of_the_same_name() -> None:
    inputs = _inputs()
    inputs.suppliers = inputs.suppliers.with_columns(pl.lit("Acme Retail").alias("buyer"))
    inputs.trade = pl.concat(
        [
            inputs.trade,
            inputs.trade.head(1).with_columns(
                pl.lit("Dhaka Knit Ltd").alias("shipper_name"),
                pl.lit("BD").alias("shipper_country"),
                pl.lit("ACME RETAIL INC.").alias("consignee_name"),
                pl.lit("US").alias("consignee_country"),
            ),
        ]
    )
    resolved = resolve_entities(inputs)
    sup = suppliers_with_entities(inputs.suppliers, resolved.mentions)
    trade = trade_with_entities(inputs.trade, resolved.mentions)
    assert sup["buyer_entity_id"][0] == trade["consignee_entity_id"][-1]


def test_enforcement_entry_links_to_the_trade_party_it_names() -> None:
    inputs = _inputs()
    resolved = resolve_entities(inputs)
    trade = trade_with_entities(inputs.trade, resolved.mentions)
    hits = resolved.enforcement_hits
    assert hits["entity_id"].to_list() == [trade["shipper_entity_id"][0]]
    assert hits["match_probability"].to_list() == [1.0]
    matches = matches_table(resolved)
    assert matches.filter(pl.col("source") == "enforcement").height == 1


def test_ids_are_stable_between_runs() -> None:
    a = resolve_entities(_inputs())
    b = resolve_entities(_inputs())
    assert a.mentions.equals(b.mentions)
    assert a.entities.equals(b.entities)


def test_missing_inputs_are_named() -> None:
    inputs = _inputs()
    assert missing_notes(inputs) == []
    bare = ScreenInputs(suppliers=inputs.suppliers)
    notes = " ".join(missing_notes(bare))
    assert "No trade records" in notes and "No audit findings" in notes and "No enforcement list" in notes
