"""The worker parent's warm-up (also the benchmarks' run child) leaves the app's long-lived
objects out of the cyclic collector's reach, so a job's full collection scans only what the
job made."""
from __future__ import annotations

import gc

from webapp.embedded.warmup import warm_up


def test_warm_up_freezes_what_exists_so_a_full_collection_skips_it(app_ctx):
    gc.unfreeze()
    try:
        warm_up()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the app, its mappers and modules, compiled SQL
        assert gc.collect() >= 0 and gc.get_freeze_count() == frozen  # a collection leaves them frozen
    finally:
        gc.unfreeze()  # the test process goes on as before
