"""The match model: logistic regression over the comparison features, stored as readable JSON.

Similarity features enter as piecewise-linear splines (the value and hinges at fixed knots), so the
model can say "0.97 is far better than 0.90" while staying additive: each feature's contribution to
the log-odds is the sum of its terms, which is what the explanations report. The artefact is a JSON
file with a manifest (features, library versions, training-data hash, metrics, checksum); loading
refuses an artefact whose feature list differs from the code's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from risk_engine.errors import ModelArtifactError
from risk_engine.matching.compare import FEATURES

MODEL_NAME = "matcher-v1"
KNOTS: tuple[float, ...] = (0.6, 0.8, 0.9, 0.95)
BINARY_FEATURES = frozenset(
    {
        "single_token_name",
        "number_conflict",
        "branch_conflict",
        "same_name_key",
        "same_name_no_conflict",
        "address_number_conflict",
        "token_substitution",
        "legal_form_conflict",
        "country_match",
        "country_conflict",
        "address_missing",
        "identifier_agree",
        "identifier_conflict",
        "native_name_conflict",
        "words_all_aligned",
    }
)
MATCH_THRESHOLD = 0.90  # METHODOLOGY §3.1: m >= 0.90 auto-merge
REVIEW_THRESHOLD = 0.70  # 0.70 <= m < 0.90: possible match, queued for review


def default_model_path() -> Path:
    """``$RISK_ENGINE_MATCHER_MODEL``, else ``models/matcher-v1.json`` next to the package."""
    env = os.environ.get("RISK_ENGINE_MATCHER_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models" / f"{MODEL_NAME}.json"


def design_terms(features: tuple[str, ...] = FEATURES) -> list[tuple[str, float | None]]:
    """The model's terms: (feature, knot) with ``None`` for the linear term."""
    terms: list[tuple[str, float | None]] = []
    for f in features:
        terms.append((f, None))
        if f not in BINARY_FEATURES:
            terms.extend((f, k) for k in KNOTS)
    return terms


def design_matrix(feats: dict[str, np.ndarray], terms: list[tuple[str, float | None]]) -> np.ndarray:
    """Expand feature arrays into the term matrix (pairs x terms), float64."""
    cols = []
    for f, knot in terms:
        x = np.asarray(feats[f], dtype=np.float64)
        cols.append(x if knot is None else np.maximum(0.0, x - knot))
    n = len(next(iter(feats.values()))) if feats else 0
    return np.column_stack(cols) if cols else np.zeros((n, 0))


@dataclass
class MatchModel:
    """Additive logistic model over the comparison features."""

    features: tuple[str, ...]
    terms: list[tuple[str, float | None]]
    coef: np.ndarray
    intercept: float
    match_threshold: float = MATCH_THRESHOLD
    review_threshold: float = REVIEW_THRESHOLD
    name: str = MODEL_NAME
    extra: dict[str, Any] = field(default_factory=dict)
    _by_feature: dict[str, list[tuple[float | None, float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def log_odds(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Log-odds of a match per pair."""
        return design_matrix(feats, self.terms) @ self.coef + self.intercept

    def predict_proba(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Match probability per pair."""
        z = np.clip(self.log_odds(feats), -50, 50)
        return 1.0 / (1.0 + np.exp(-z))

    def feature_contribution(self, feature: str, x: np.ndarray) -> np.ndarray:
        """One feature's contribution to the log-odds at values ``x`` (its linear term and hinges)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros(x.shape)
        for knot, c in self._feature_terms()[feature]:
            out += c * (x if knot is None else np.maximum(0.0, x - knot))
        return out

    def _feature_terms(self) -> dict[str, list[tuple[float | None, float]]]:
        """(knot, coefficient) of each feature's terms."""
        if not self._by_feature:
            for f in self.features:
                self._by_feature[f] = []
            for (f, knot), c in zip(self.terms, self.coef, strict=True):
                self._by_feature[f].append((knot, float(c)))
        return self._by_feature

    def upper_log_odds(
        self, exact: Mapping[str, np.ndarray], ranges: Mapping[str, tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """The highest log-odds per pair when each feature in ``ranges`` may lie anywhere in its interval.

        Features in ``exact`` count at their values, and every model feature must be in one of the two.
        A contribution is piecewise linear in its feature, so its maximum over [low, high] is at an end
        or a knot inside; each is maximised on its own, so the bound holds whatever ties the features.
        The log-odds with the ranged features at 0 come from the model's own product; each ranged
        feature then adds how far its best value raises its contribution above its value at 0.
        """
        first = next(iter(exact.values()))
        zero = np.zeros(len(first), dtype=np.float32)
        total = self.log_odds({f: (zero if f in ranges else exact[f]) for f in self.features})
        for f, (lo, hi) in ranges.items():
            lo64, hi64 = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
            knots = [k for k, _ in self._feature_terms()[f] if k is not None]
            points = [lo64, hi64, *(np.clip(k, lo64, hi64) for k in knots)]
            best = np.max([self.feature_contribution(f, x) for x in points], axis=0)
            total += best - self.feature_contribution(f, np.zeros(1))
        return total

    def contributions(self, feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each feature's additive contribution to the log-odds (intercept excluded)."""
        x = design_matrix(feats, self.terms) * self.coef
        out = {f: np.zeros(x.shape[0]) for f in self.features}
        for j, (f, _) in enumerate(self.terms):
            out[f] += x[:, j]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": "logistic_regression_splines",
            "features": list(self.features),
            "terms": [{"feature": f, "knot": k} for f, k in self.terms],
            "coef": [round(float(c), 10) for c in self.coef],
            "intercept": round(float(self.intercept), 10),
            "thresholds": {"match": self.match_threshold, "review": self.review_threshold},
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MatchModel:
        """Rebuild from :meth:`to_dict` output, checking the features against the code."""
        features = tuple(doc["features"])
        if features != FEATURES:
            missing = sorted(set(FEATURES) - set(features))
            unknown = sorted(set(features) - set(FEATURES))
            msg = (
                f"model {doc.get('name')!r} was trained on other features than this code computes "
                f"(missing {missing}, unknown {unknown}, or a different order); retrain with "
                "scripts/train_matcher.py"
            )
            raise ModelArtifactError(msg)
        terms = [(t["feature"], t["knot"]) for t in doc["terms"]]
        if terms != design_terms(features):
            msg = f"model {doc.get('name')!r}: its terms differ from the code's spline design; retrain"
            raise ModelArtifactError(msg)
        return cls(
            features=features,
            terms=terms,
            coef=np.asarray(doc["coef"], dtype=np.float64),
            intercept=float(doc["intercept"]),
            match_threshold=float(doc["thresholds"]["match"]),
            review_threshold=float(doc["thresholds"]["review"]),
            name=str(doc["name"]),
            extra=dict(doc.get("extra", {})),
        )


def manifest_path(model_path: Path) -> Path:
    """``models/matcher-v1.json`` -> ``models/matcher-v1.manifest.json``."""
    return model_path.with_name(model_path.stem + ".manifest.json")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def save_model(model: MatchModel, path: Path, manifest: dict[str, Any]) -> None:
    """Write the model JSON and its manifest (adds checksum and features to the manifest)."""
    data = (json.dumps(model.to_dict(), indent=1, sort_keys=True) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    full = {
        **manifest,
        "model_file": path.name,
        "sha256": sha256_bytes(data),
        "features": list(model.features),
    }
    manifest_path(path).write_text(json.dumps(full, indent=1, sort_keys=True) + "\n")


_CACHE: dict[Path, MatchModel] = {}


def load_model(path: Path | None = None) -> MatchModel:
    """Load and verify a model (checksum and features against its manifest and the code)."""
    p = (path or default_model_path()).resolve()
    if p in _CACHE:
        return _CACHE[p]
    if not p.exists():
        msg = f"match model {p} not found; train it with scripts/train_matcher.py"
        raise ModelArtifactError(msg)
    data = p.read_bytes()
    mp = manifest_path(p)
    if not mp.exists():
        msg = f"match model {p} has no manifest {mp.name}; refusing an artefact of unknown origin"
        raise ModelArtifactError(msg)
    try:
        manifest = json.loads(mp.read_text())
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        msg = f"match model {p} or its manifest is not valid JSON: {exc}"
        raise ModelArtifactError(msg) from exc
    if manifest.get("sha256") != sha256_bytes(data):
        msg = f"match model {p}: checksum does not match its manifest (file changed after training)"
        raise ModelArtifactError(msg)
    if tuple(manifest.get("features", ())) != FEATURES:
        msg = f"match model {p}: manifest features differ from the code's features; retrain"
        raise ModelArtifactError(msg)
    model = MatchModel.from_dict(doc)
    _CACHE[p] = model
    return model
