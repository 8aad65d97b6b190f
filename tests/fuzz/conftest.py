"""Hypothesis settings for the fuzz suites: modest example counts, no deadline (CI machines
are shared), no example database written into the work tree, and derandomized by default so
CI never flakes on a new random example. `HYPOTHESIS_PROFILE=explore` searches randomly and
longer (run it locally after changing a parser)."""
from __future__ import annotations

import os
import tempfile

# Hypothesis' own caches (constants, unicode tables) go to a temporary directory, not the work tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="hub-hypothesis-"))

from hypothesis import HealthCheck, settings  # noqa: E402

_common = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.filter_too_much, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=60, derandomize=True, **_common)
settings.register_profile("explore", max_examples=1000, derandomize=False, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
