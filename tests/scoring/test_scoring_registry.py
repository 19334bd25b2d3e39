from __future__ import annotations

import json
from importlib import resources

import pytest

from risk_engine.errors import MethodologyError
from risk_engine.scoring.registry import (
    describe_methodology,
    get_methodology,
    methodology_document,
    methodology_from_json,
    registered_methodologies,
)


def _raw() -> dict:
    return json.loads(resources.files("risk_engine.scoring.params").joinpath("fl-v1.json").read_bytes())


def test_fl_v1_is_registered_and_loads_the_design_values():
    m = get_methodology("fl-v1")
    assert "fl-v1" in registered_methodologies()
    p = m.params
    assert (p.inherent.beta0, p.inherent.beta_country, p.inherent.beta_sector) == (-4.0, 1.2, 1.0)
    assert p.inherent.cap == 0.45
    assert p.evidence.indicator_weights[5] == 0.60
    assert p.evidence.indicator_weights[10] == 0.20
    assert p.evidence.half_life_months == 18
    assert p.propagation.delta == 0.85 and p.propagation.max_depth == 5
    assert (p.bands.medium, p.bands.high, p.bands.critical) == (0.10, 0.25, 0.50)
    assert (p.flags.high_floor, p.flags.medium_floor) == (0.60, 0.35)


def test_unknown_methodology_is_a_methodology_error():
    with pytest.raises(MethodologyError, match="unknown methodology 'fl-v9'"):
        get_methodology("fl-v9")


def test_methodology_is_immutable():
    m = get_methodology()
    with pytest.raises(AttributeError):
        m.params.inherent.beta0 = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.params.evidence.indicator_weights[5] = 1.0  # type: ignore[index]


def test_every_parameter_has_a_reason():
    for section, entries in _raw().items():
        if isinstance(entries, dict):
            for key, entry in entries.items():
                assert entry["why"].strip(), f"{section}.{key}"


def test_a_missing_reason_is_rejected():
    doc = _raw()
    doc["inherent"]["beta0"]["why"] = ""
    with pytest.raises(MethodologyError, match="beta0 has no 'why'"):
        methodology_from_json(json.dumps(doc).encode())


def test_betas_above_the_cap_are_rejected():
    doc = _raw()
    doc["inherent"]["beta0"]["value"] = -2.0
    with pytest.raises(MethodologyError, match="above the cap"):
        methodology_from_json(json.dumps(doc).encode())


def test_unknown_or_missing_keys_are_rejected():
    doc = _raw()
    doc["bands"]["extreme"] = {"value": 0.9, "why": "typo"}
    with pytest.raises(MethodologyError, match="unknown \\['extreme'\\]"):
        methodology_from_json(json.dumps(doc).encode())
    doc = _raw()
    del doc["evidence"]["indicator_weights"]["value"]["11"]
    with pytest.raises(MethodologyError, match="11 ILO indicators"):
        methodology_from_json(json.dumps(doc).encode())


def test_invalid_json_is_a_methodology_error():
    with pytest.raises(MethodologyError, match="not valid JSON"):
        methodology_from_json(b"{not json")


def test_declared_name_must_match_registration():
    with pytest.raises(MethodologyError, match="registered as 'fl-v2'"):
        methodology_from_json(json.dumps(_raw()).encode(), expected_name="fl-v2")


def test_describe_prints_parameters_from_the_registry():
    text = describe_methodology("fl-v1")
    m = get_methodology("fl-v1")
    assert m.params_version in text
    assert "beta0 = -4" in text
    assert "pattern_floor = 0.8" in text
    assert "reference data:" in text


def test_methodology_document_matches_loaded_parameters():
    doc = methodology_document("fl-v1")
    assert doc["name"] == "fl-v1"
    assert doc["params_sha256"] == get_methodology().sha256
    assert doc["parameters"]["propagation"]["delta"]["value"] == get_methodology().params.propagation.delta
    json.dumps(doc)  # serialisable for the API


def test_edge_confidence_table_matches_the_graph_builder():
    from risk_engine.graph import build

    conf = get_methodology().params.propagation.edge_confidence
    assert build.SOURCE_CONFIDENCE["buyer_declared"] == conf["buyer_declared"]
    assert build.SOURCE_CONFIDENCE["supplier_declared"] == conf["supplier_declared"]
    assert build.SOURCE_CONFIDENCE["ownership"] == conf["ownership"]
    assert build.SOURCE_CONFIDENCE["inferred_hs_io"] == conf["inferred_hs_io"]
    assert build.SOURCE_CONFIDENCE["bol"] == conf["bol_1_2"]
    assert conf["bol_3plus"] == build.BOL_STRONG_CONFIDENCE
