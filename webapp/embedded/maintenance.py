"""Periodic housekeeping, run as a self-rescheduling RQ job (fork-safe, any number of
workers): recover pushes, runs and webhook events whose worker or job was lost. A Redis key
holding the live chain's token makes sure only one chain of maintenance jobs exists across
all workers and machines: a chain whose token is no longer in the key stops."""
from __future__ import annotations

import logging
import uuid

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30  # default of MAINTENANCE_INTERVAL_SECONDS
CHAIN_KEY = "embedded:maintenance:chain"


def interval_seconds() -> float:
    from flask import current_app, has_app_context

    if has_app_context():
        return float(current_app.config.get("MAINTENANCE_INTERVAL_SECONDS", INTERVAL_SECONDS))
    return float(INTERVAL_SECONDS)


def _chain_ttl() -> int:
    return max(4, int(interval_seconds() * 4))


def ensure_scheduled(redis) -> bool:
    """Start the chain unless one is alive (its key is refreshed by every run). Workers call
    this at start and on every RQ maintenance pass, so a chain lost with Redis restarts."""
    from .jobs import maintenance_job

    token = uuid.uuid4().hex
    if not redis.set(CHAIN_KEY, token, nx=True, ex=_chain_ttl()):
        return False
    maintenance_job.enqueue(token)
    return True


def run_maintenance() -> dict:
    from .push_recovery import recover_stale_pushes
    from .runs import recover_stale_runs
    from .status_polling import schedule_due_polls
    from .webhooks import recover_stale_events

    from .push_summary import reconcile_in_flight

    return {"pushes": recover_stale_pushes(), "runs": recover_stale_runs(), "webhooks": recover_stale_events(),
            "status_polls": schedule_due_polls(), "push_summaries": reconcile_in_flight()}


def maintenance_tick(token: str | None = None) -> dict:
    """One link of the chain (jobs.maintenance_job): recover, then schedule the next link."""
    from ..queue import get_redis

    try:
        result = run_maintenance()
        _remember_run(get_redis(), result)
        return result
    finally:
        _continue_chain(get_redis(), token or uuid.uuid4().hex)


LAST_RUN_KEY = "embedded:maintenance:last"


def _remember_run(redis, result: dict) -> None:
    """When maintenance last ran and what it recovered: the operations page shows it."""
    import json
    from datetime import datetime, timezone

    redis.set(LAST_RUN_KEY, json.dumps({"at": datetime.now(timezone.utc).isoformat(), "recovered": result}),
              ex=7 * 86400)


def _continue_chain(redis, token: str) -> None:
    """Reschedule this chain unless another one owns the key (e.g. a worker started a new
    chain while the scheduler was down and this one was late)."""
    current = redis.get(CHAIN_KEY)
    if current is not None and current != token.encode():
        log.info("maintenance chain %s stops: chain %s is alive", token[:8], current[:8])
        return
    from .jobs import maintenance_job

    redis.set(CHAIN_KEY, token, ex=_chain_ttl())
    maintenance_job.enqueue(token, delay=interval_seconds())
