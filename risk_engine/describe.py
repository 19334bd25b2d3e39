"""Text for ``risk-engine describe``: engine version, methodology, and the reference data pack versions."""

from __future__ import annotations

import importlib
from typing import Any

from risk_engine import __version__

__all__ = ["describe_text", "reference_pack_text"]


def reference_pack_text(manifest: dict[str, Any]) -> str:
    """One block per shipped table: edition, source, licence, attribution, rows and sha256."""
    lines = [f"reference data pack {manifest.get('pack_version', 'unknown')}"]
    tables: dict[str, dict[str, Any]] = manifest.get("tables", {})
    for name in sorted(tables):
        entry = tables[name]
        lines.append(f"  {name} ({entry['file']}): {entry['rows']} rows, edition {entry['edition']}")
        lines.append(f"      source: {entry['source']}")
        lines.append(f"      licence: {entry['licence']}")
        if entry.get("attribution"):
            lines.append(f"      attribution: {entry['attribution']}")
        lines.append(f"      sha256: {entry['sha256']}")
        if "parameters" in entry:
            params = entry["parameters"]
            weights = ", ".join(f"{k}={v}" for k, v in params.items() if k.startswith("w_"))
            lines.append(f"      parameters ({params.get('version', '')}): {weights}")
    return "\n".join(lines) + "\n"


def _methodology_text(name: str) -> str | None:
    """The scoring registry's description, or None while that module does not exist."""
    try:
        registry = importlib.import_module("risk_engine.scoring.registry")
    except ModuleNotFoundError as exc:
        if exc.name not in {"risk_engine.scoring.registry", "risk_engine.scoring"}:
            raise
        return None
    text: str = registry.describe_methodology(name)
    return text


def describe_text(*, methodology: str) -> str:
    """Engine version, the methodology ``methodology`` (from the scoring registry) and the data pack."""
    from risk_engine.reference.loaders import manifest

    parts = [f"risk_engine {__version__}\n"]
    method = _methodology_text(methodology)
    if method is None:
        parts.append(f"methodology {methodology}: scoring registry not available in this build\n")
    else:
        parts.append(method if method.endswith("\n") else method + "\n")
    parts.append(reference_pack_text(manifest()))
    return "\n".join(parts)
