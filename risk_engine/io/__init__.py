"""The only code that touches files: readers, writers and run artefacts.

Input readers (``risk_engine.io.readers``): ``read_table``, ``read_upload``, ``clean_table`` and
``ReadResult``; validation (``risk_engine.io.validate``): ``validate_file``. They are imported lazily
here so that importing one io module does not load the others.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ReadResult": "risk_engine.io.readers",
    "clean_table": "risk_engine.io.readers",
    "read_table": "risk_engine.io.readers",
    "read_upload": "risk_engine.io.readers",
    "validate_file": "risk_engine.io.validate",
    "ValidationReport": "risk_engine.io.validate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'risk_engine.io' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    return getattr(importlib.import_module(module), name)
