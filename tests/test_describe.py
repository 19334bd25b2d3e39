import importlib

import pytest

from risk_engine import __version__
from risk_engine.describe import describe_text, reference_pack_text
from risk_engine.reference.loaders import manifest


def test_describe_prints_engine_version_and_every_table_with_sha256() -> None:
    text = describe_text(methodology="fl-v1")
    assert f"risk_engine {__version__}" in text
    for name, entry in manifest()["tables"].items():
        assert name in text
        assert entry["sha256"] in text
    assert "CC BY 4.0" in text and "World Bank" in text


def test_describe_includes_the_methodology_from_the_registry() -> None:
    registry = pytest.importorskip("risk_engine.scoring.registry")
    text = describe_text(methodology="fl-v1")
    assert registry.describe_methodology("fl-v1").splitlines()[0] in text
    assert "registry not available" not in text


def test_describe_without_a_registry_prints_the_data_part(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        if name == "risk_engine.scoring.registry":
            raise ModuleNotFoundError(name=name)
        return real_import(name, package)

    monkeypatch.setattr("risk_engine.describe.importlib.import_module", fake_import)
    text = describe_text(methodology="fl-v1")
    assert "registry not available" in text
    assert "reference data pack" in text


def test_reference_pack_text_shows_country_index_weights() -> None:
    text = reference_pack_text(manifest())
    assert "w_rule_of_law=0.25" in text
