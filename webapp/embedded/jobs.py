"""Every background job, declared once: the function (ids in, one use-case call), its queue,
timeout, result/failure TTLs, retry policy and description. Use-cases enqueue through the
declaration, in the style of RQ's ``@job``::

    push_order_job.enqueue(push_id)              # now
    push_order_job.enqueue(push_id, delay=30)    # through RQ's scheduler, no worker sleeps

Queues (webapp.queue.QUEUES) are listened to by urgency: push, webhooks, sync, maintenance.
Only ids travel through Redis — never credentials, URLs with tokens or payloads.

Retry policy: the state machines own their retries (a push or a webhook event goes back to
``queued``/``received`` and re-enqueues itself with backoff; lease recovery finds lost jobs),
so RQ's own ``Retry`` is left off unless a job says otherwise: a blind RQ retry would bypass
the attempt counters.
"""
from __future__ import annotations

import functools
import uuid
from typing import Callable

from rq import Retry

from .. import precise_schedule
from ..queue import MAINTENANCE, PUSH, SYNC, WEBHOOKS, get_queue

DAY = 86400


class JobDeclaration:
    """A job function plus how it is queued. Calling it runs the function (what the worker
    does); ``enqueue`` queues it. Job ids are ``<prefix>-<first arg>-<random>`` so what
    inspects a queue (push recovery) can tell which row a waiting job serves."""

    def __init__(self, func: Callable, *, queue: str, timeout: int | Callable[[], int], result_ttl: int,
                 failure_ttl: int, description: str, id_prefix: str | None = None, retry: Retry | None = None):
        functools.update_wrapper(self, func)  # RQ stores "<module>.<name>": the worker finds this object
        self.func, self.queue, self.timeout = func, queue, timeout
        self.result_ttl, self.failure_ttl, self.retry = result_ttl, failure_ttl, retry
        self.description, self.id_prefix = description, id_prefix

    def __call__(self, *args):
        return self.func(*args)

    def job_timeout(self) -> int:
        return int(self.timeout() if callable(self.timeout) else self.timeout)

    def enqueue(self, *args, delay: float = 0, job_id: str | None = None, at_front: bool = False):
        """Queue the job (callers commit their transaction first: the job reads the rows).
        ``job_id`` overrides the generated id (a run slice's id is deterministic); ``at_front``:
        taken before the jobs already waiting (when a delayed job is released, ahead of them)."""
        options = dict(job_timeout=self.job_timeout(), result_ttl=self.result_ttl, failure_ttl=self.failure_ttl,
                       description=self.description.format(*args), retry=self.retry, at_front=at_front)
        if job_id or self.id_prefix:
            options["job_id"] = job_id or f"{self.id_prefix}-{args[0]}-{uuid.uuid4().hex[:10]}"
        queue = get_queue(self.queue)
        if delay > 0:  # released to the tenth of a second (a push coming back for its rate-limit turn)
            return precise_schedule.enqueue_in(queue, delay, self.func_path, *args, **options)
        return queue.enqueue(self.func_path, *args, **options)

    @property
    def func_path(self) -> str:
        return f"{self.__module__}.{self.__name__}"


def job(**declaration) -> Callable[[Callable], JobDeclaration]:
    def declare(func: Callable) -> JobDeclaration:
        return JobDeclaration(func, **declaration)
    return declare


def _push_timeout() -> int:
    """Shorter than the push lease (PUSH_LEASE_SECONDS), so a job is killed before another
    worker may take its row over."""
    from flask import current_app

    return max(1, min(240, int(current_app.config["PUSH_LEASE_SECONDS"]) - 1))


# ---- push: an order is waiting, or an admin is watching a panel ---------------------------

@job(queue=PUSH, timeout=_push_timeout, result_ttl=600, failure_ttl=7 * DAY, id_prefix="push",
     description="push order (push #{0})")
def push_order_job(push_id: int) -> str:
    from .push import run_push

    return run_push(push_id)


@job(queue=PUSH, timeout=120, result_ttl=300, failure_ttl=DAY, description="connection test (account #{0})")
def test_connection_job(account_id: int) -> None:
    from .accounts import run_connection_test

    run_connection_test(account_id)


@job(queue=PUSH, timeout=120, result_ttl=300, failure_ttl=DAY, description="webhook subscription (account #{0})")
def subscribe_webhook_job(account_id: int) -> None:
    from .accounts import run_webhook_subscription

    run_webhook_subscription(account_id)


# ---- webhooks -----------------------------------------------------------------------------

# Timeouts stay below webhook_processing.LEASE_SECONDS: a job is killed before its claim expires.

@job(queue=WEBHOOKS, timeout=120, result_ttl=600, failure_ttl=7 * DAY, id_prefix="webhook",
     description="process webhook (event #{0})")
def process_webhook_job(event_id: int) -> str:
    from .webhooks import process

    return process(event_id)


@job(queue=WEBHOOKS, timeout=120, result_ttl=300, failure_ttl=7 * DAY, description="process stored webhook events")
def drain_webhooks_job() -> dict:
    """Claims and processes due events in batches (webhook_processing.drain); intake queues one
    at a time through the drain signal (webhooks.signal_drain), never one job per event."""
    from .webhook_processing import drain

    return drain()


# ---- sync ---------------------------------------------------------------------------------

@job(queue=SYNC, timeout=6 * 3600, result_ttl=3600, failure_ttl=7 * DAY, id_prefix="run",
     description="sync run #{0} slice {1}")
def sync_run_job(run_id: int, slice_no: int = 0) -> str:
    from .run_slices import execute_run

    return execute_run(run_id, slice_no)


# ---- maintenance --------------------------------------------------------------------------

@job(queue=MAINTENANCE, timeout=120, result_ttl=60, failure_ttl=3600, description="embedded services maintenance")
def maintenance_job(token: str | None = None) -> dict:
    from .maintenance import maintenance_tick

    return maintenance_tick(token)
