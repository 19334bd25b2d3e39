"""Convert OpenSanctions rigour's org_types.yml (MIT) into the matcher's legal-form vocabulary.

Usage: .venv/bin/python scripts/convert_org_types.py [/work/shared/data/reference/org_types/org_types.yml]
Writes risk_engine/matching/data/org_types.json (the upstream entries, unchanged apart from the format).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/reference/org_types/org_types.yml")
TARGET = Path(__file__).resolve().parents[1] / "risk_engine" / "matching" / "data" / "org_types.json"


def main() -> None:
    types = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))["types"]
    entries = []
    for t in types:
        aliases = sorted({str(a) for a in t.get("aliases") or () if str(a).strip()})
        if not aliases:
            continue
        entries.append(
            {
                "display": t.get("display"),
                "compare": t.get("compare"),
                "generic": t.get("generic"),
                "aliases": aliases,
            }
        )
    doc = {
        "source": "https://github.com/opensanctions/rigour resources/names/org_types.yml "
        "commit 8f4044dd6719d71e8ba59b5033818ff407e0efab",
        "licence": "MIT, Copyright (c) OpenSanctions Datenbanken GmbH",
        "types": entries,
    }
    TARGET.write_text(json.dumps(doc, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({len(entries)} types)")


if __name__ == "__main__":
    main()
