"""The committed openapi.json is the app's schema; every operation documents its problem responses."""

from __future__ import annotations

import json
from pathlib import Path

from risk_engine.api.app import openapi_document

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = '.venv/bin/python -c "from risk_engine.api.app import write_openapi; write_openapi()"'


def test_committed_openapi_matches_the_app() -> None:
    committed = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(openapi_document())), f"regenerate with: {REGENERATE}"


def test_every_protected_operation_documents_auth_and_problems() -> None:
    doc = openapi_document()
    public = {("/healthz", "get"), ("/readyz", "get"), ("/v1/methodology", "get")}
    for path, operations in doc["paths"].items():
        assert path.startswith("/v1/") or path in ("/healthz", "/readyz")
        for method, op in operations.items():
            if (path, method) in public:
                continue
            assert op.get("security"), (method, path)
            for status in ("401", "403", "429"):
                assert "application/problem+json" in op["responses"][status]["content"], (
                    method,
                    path,
                    status,
                )
            if "requestBody" in op:
                assert "413" in op["responses"] and "415" in op["responses"], (method, path)
