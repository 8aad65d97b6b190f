"""Periodic housekeeping, run as a self-rescheduling RQ job (fork-safe, any number of
workers): recover pushes and runs whose worker died. A Redis key makes sure only one
chain of maintenance jobs exists across all workers and machines."""
from __future__ import annotations

import logging
from datetime import timedelta

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30
CHAIN_KEY = "embedded:maintenance:chain"


def ensure_scheduled(redis, queue) -> bool:
    """Start the chain unless one is alive (its key is refreshed by every run)."""
    if not redis.set(CHAIN_KEY, "1", nx=True, ex=INTERVAL_SECONDS * 4):
        return False
    queue.enqueue("webapp.embedded.maintenance.maintenance_job", job_timeout=120, result_ttl=60,
                  failure_ttl=3600, description="embedded services maintenance")
    return True


def run_maintenance() -> dict:
    from .push import recover_stale_pushes

    done = {"pushes": recover_stale_pushes()}
    try:
        from .runs import recover_stale_runs
    except ImportError:  # runs arrive with synchronization
        return done
    done["runs"] = recover_stale_runs()
    return done


def maintenance_job() -> dict:
    from ..queue import get_queue, get_redis

    try:
        return run_maintenance()
    finally:
        redis = get_redis()
        redis.set(CHAIN_KEY, "1", ex=INTERVAL_SECONDS * 4)
        get_queue().enqueue_in(timedelta(seconds=INTERVAL_SECONDS), "webapp.embedded.maintenance.maintenance_job",
                               job_timeout=120, result_ttl=60, failure_ttl=3600,
                               description="embedded services maintenance")
