"""Suite-wide settings.

Hypothesis runs derandomized by default, so `make test` and CI draw the same examples on every run and a
red build is reproducible. Set ``RISK_ENGINE_HYPOTHESIS=explore`` to draw new random examples instead
(use it to fuzz locally; a failure prints the seed to reproduce it with ``--hypothesis-seed``).
"""

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("explore" if os.environ.get("RISK_ENGINE_HYPOTHESIS") == "explore" else "repeatable")
