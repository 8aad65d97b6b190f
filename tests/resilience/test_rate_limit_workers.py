"""Four real workers share one provider account's rate limit, for every push provider.

The simulator account and the hub's limiter get the same compressed limit (8 requests per 4 s,
PROVIDER_RATE_LIMITS): 24 orders need several windows, yet the simulator answers no 429,
and no worker sleeps through a window — a push that would wait longer than a small fraction
of the window is rescheduled through RQ's scheduled-job registry instead.
"""
from __future__ import annotations

import random
import time

import pytest
from rq.job import Job
from rq.registry import FinishedJobRegistry

from sandbox.testing import run_sandbox
from webapp.extensions import db
from webapp.models import OrderPush
from webapp.queue import PUSH, get_queue, get_redis

from . import harness

LIMIT, WINDOW = 8, 4.0
ORDERS = 24


@pytest.mark.parametrize("provider", harness.push_providers(), ids=lambda p: p.key)
def test_four_workers_never_exceed_the_shared_limit(provider, app, app_ctx, tmp_path, monkeypatch):
    # One request per order, for every provider: a bulk provider's pushes would otherwise go
    # along together (PUSH_COALESCE) and never need several windows; that path has its own test below.
    knobs = harness.fast_knobs(rate_limit=(LIMIT, WINDOW), lease=30, stale_queued=60, PUSH_COALESCE=False)
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    base, stop = run_sandbox()
    pool = None
    try:
        world = harness.build_world([base], sites=1, orders=ORDERS, ineligible_every=0, rng=random.Random(7),
                                    sim_rate_limit=LIMIT, sim_window=WINDOW, providers=[provider])
        [sim] = world.accounts.values()
        redis = get_redis()
        env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                              **harness.knobs_env(knobs))
        pool = harness.WorkerPool(env, tmp_path / "workers", count=4)
        pool.start(redis)
        started = time.monotonic()
        harness.pay(world.eligible)
        world.paid.extend(world.eligible)
        deadline = started + 90
        while harness.active_counts()[0] and time.monotonic() < deadline:
            time.sleep(0.25)
        wall = time.monotonic() - started
        stats = sim.stats()
    finally:
        if pool is not None:
            pool.stop()
        stop()
    logs = pool.logs()[-4000:] if pool else ""
    db.session.expire_all()
    states = [p.state for p in OrderPush.query.all()]
    assert states == ["pushed"] * ORDERS, (states, logs)
    assert stats["orders"] == ORDERS and stats["duplicates"] == 0
    assert stats["requests"] >= 2 * LIMIT, stats           # the run needed several windows …
    assert stats["rate_limited"] == 0, (stats, logs)       # … and never got a 429
    assert wall >= (ORDERS / LIMIT - 1) * WINDOW * 0.9     # the limit really paced it

    # Waiting happened in Redis, not in workers: pushes were rescheduled (their job returned
    # "retrying" and sat in the scheduled-job registry), and no job ran for a whole window.
    queue = get_queue(PUSH)
    jobs = [j for j in Job.fetch_many(FinishedJobRegistry(queue=queue).get_job_ids(), connection=get_redis())
            if j is not None and j.func_name == "webapp.embedded.jobs.push_order_job"]
    outcomes = [j.return_value() for j in jobs]
    assert outcomes.count("pushed") == ORDERS, outcomes
    assert outcomes.count("retrying") >= 1, outcomes
    longest = max((j.ended_at - j.started_at).total_seconds() for j in jobs)
    assert longest < WINDOW, f"a push job ran {longest:.1f}s: a worker slept through a rate-limit window"
    busy = sum((j.ended_at - j.started_at).total_seconds() for j in jobs)
    assert busy < 4 * wall * 0.5, (busy, wall)


def test_four_workers_sending_coalesced_pushes_stay_under_the_shared_limit(app, app_ctx, tmp_path, monkeypatch):
    """Pushes of a bulk provider go along together: a few createorders requests for 24 orders,
    every one counted by the same limiter, no 429, every order once."""
    provider = next(p for p in harness.push_providers() if p.capabilities.bulk_push)
    knobs = harness.fast_knobs(rate_limit=(2, WINDOW), lease=30, stale_queued=60)
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    base, stop = run_sandbox()
    pool = None
    try:
        world = harness.build_world([base], sites=1, orders=ORDERS, ineligible_every=0, rng=random.Random(7),
                                    sim_rate_limit=2, sim_window=WINDOW, providers=[provider])
        [sim] = world.accounts.values()
        env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                              **harness.knobs_env(knobs))
        pool = harness.WorkerPool(env, tmp_path / "workers", count=4)
        pool.start(get_redis())
        harness.pay(world.eligible)
        world.paid.extend(world.eligible)
        deadline = time.monotonic() + 90
        while harness.active_counts()[0] and time.monotonic() < deadline:
            time.sleep(0.25)
        stats = sim.stats()
    finally:
        if pool is not None:
            pool.stop()
        stop()
    logs = pool.logs()[-4000:] if pool else ""
    db.session.expire_all()
    assert [p.state for p in OrderPush.query.all()] == ["pushed"] * ORDERS, logs
    assert stats["orders"] == ORDERS and stats["duplicates"] == 0, stats
    assert stats["rate_limited"] == 0, (stats, logs)     # 2 requests per 4 s, shared by 4 workers
    assert stats["requests"] < ORDERS / 2, stats         # together, not one request per order
