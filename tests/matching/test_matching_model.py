import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from risk_engine.errors import ModelArtifactError
from risk_engine.matching.compare import FEATURES
from risk_engine.matching.model import default_model_path, load_model, manifest_path


def test_shipped_model_loads_and_is_additive() -> None:
    m = load_model()
    assert m.features == FEATURES
    rng = np.random.default_rng(0)
    feats = {f: rng.random(20).astype(np.float32) for f in FEATURES}
    contrib = m.contributions(feats)
    assert np.allclose(sum(contrib.values()) + m.intercept, m.log_odds(feats))
    p = m.predict_proba(feats)
    assert ((p >= 0) & (p <= 1)).all()


def test_manifest_describes_the_model() -> None:
    manifest = json.loads(manifest_path(default_model_path()).read_text())
    assert manifest["features"] == list(FEATURES)
    assert {"sha256", "libraries", "training_data", "metrics"} <= set(manifest)
    assert manifest["training_data"]["sha256"]


def _copy(tmp_path: Path) -> Path:
    src = default_model_path()
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(manifest_path(src), manifest_path(dst))
    return dst


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    doc = json.loads(path.read_text())
    doc["intercept"] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelArtifactError, match="checksum"):
        load_model(path)


def test_model_with_other_features_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    manifest = json.loads(manifest_path(path).read_text())
    manifest["features"] = manifest["features"][:-1]
    manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(ModelArtifactError, match="features"):
        load_model(path)


def test_missing_model_or_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="not found"):
        load_model(tmp_path / "nope.json")
    path = _copy(tmp_path)
    manifest_path(path).unlink()
    with pytest.raises(ModelArtifactError, match="manifest"):
        load_model(path)
