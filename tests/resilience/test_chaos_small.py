"""A small chaos run in the normal suite (the full one is `make chaos`, scripts/chaos.py).

40 orders over 3 sites, 3 accounts per push provider on 3 separate sandbox instances (each
account live on two sites), 3 real worker processes, seeded faults on every simulator
(10% timeouts after the order was created, 10% 503, 10% slow answers), 429 bursts while
orders are paid, two SIGKILLs of a busy worker and a status synchronization per account.
The assertions are invariants, not timings: every eligible order ends pushed exactly once at
every live account (0 duplicates at the simulators), never-eligible orders are never sent,
every failure has a reason, and nothing is left queued, pushing or running.
"""
from __future__ import annotations

import random

from sandbox.testing import run_sandbox
from webapp.queue import get_redis

from . import harness

SEED = 20261127


def test_small_chaos_run_loses_nothing_and_duplicates_nothing(app, app_ctx, tmp_path, monkeypatch):
    rng = random.Random(SEED)
    knobs = harness.fast_knobs()
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    sandboxes = [run_sandbox() for _ in range(3)]
    pool = None
    try:
        world = harness.build_world([base for base, _ in sandboxes], sites=3, orders=40, ineligible_every=10,
                                    rng=rng, sim_rate_limit=1000, sim_window=2.0)
        redis = get_redis()
        env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                              **harness.knobs_env(knobs))
        pool = harness.WorkerPool(env, tmp_path / "workers", count=3)
        pool.start(redis)
        # The work grows with the providers (3 accounts each): so does the patience.
        deadline = max(100, 40 * len(harness.push_providers()))
        report = harness.run_chaos(world, pool, redis, harness.ChaosPlan(workers=3, kills=2, deadline=deadline), rng)
    finally:
        if pool is not None:
            pool.stop()
        for _, stop in sandboxes:
            stop()
    print(report.format())
    details = report.format() + "\n--- worker logs (tail) ---\n" + pool.logs()[-6000:]
    assert report.ok, details
    # every site has two live accounts per provider
    assert report.pushes_expected == 2 * report.eligible * len(harness.push_providers()) > 0
    assert report.pushed + report.failed == report.pushes_expected, details
    assert report.duplicates == 0 and report.stuck == 0 and report.stuck_runs == 0, details
    assert report.kills == 2, details
    assert sum(report.injected.values()) > 0, "the faults must actually have been injected"
    assert report.runs and set(report.runs) <= {"finished", "partial", "failed"}, details
