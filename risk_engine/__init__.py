"""risk_engine: open forced-labour supply-chain risk screening.

Nothing runs at import time; import the submodule you need (``risk_engine.pipeline``,
``risk_engine.io.readers``, ``risk_engine.matching`` ...).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
