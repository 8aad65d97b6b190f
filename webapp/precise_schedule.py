"""Delayed jobs released on time, to a tenth of a second instead of RQ's second.

RQ scores a scheduled job in whole seconds (truncated) and its scheduler looks every second:
a job asked for 12.7 s was released anywhere between 12.0 and 13.x s. A push rescheduled for
its rate-limit turn then came back up to a second early — turned away again and given a later
turn — or late, leaving its slot idle (bench/push_rate: 94.5 % of the allowed rate on
PostgreSQL). Here a delayed job keeps its exact time (milliseconds in its score) and the
workers' scheduler (worker.py) looks every RQ_SCHEDULER_INTERVAL seconds and compares with
the exact clock.

A scheduler that does not know about this (RQ's own, e.g. an older worker still running)
reads the exact score as "not before the next whole second": late by under a second, never
early.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler


def enqueue_in(queue: Queue, delay: float, func_path: str, *args, **options):
    """queue.enqueue_in, scored with the exact due time (one MULTI: the scheduler never sees
    the truncated score RQ writes first)."""
    at = datetime.now(timezone.utc) + timedelta(seconds=delay)
    with queue.connection.pipeline() as pipe:
        job = queue.enqueue_at(at, func_path, *args, pipeline=pipe, **options)
        pipe.zadd(ScheduledJobRegistry(queue=queue).key, {job.id: at.timestamp()})
        pipe.execute()
    return job


class _ExactRegistry(ScheduledJobRegistry):
    def get_jobs_to_schedule(self, timestamp=None, chunk_size: int = 1000) -> list[str]:
        # RQ's scheduler passes the current time in whole seconds; scores carry milliseconds.
        return super().get_jobs_to_schedule(time.time(), chunk_size)


class PreciseScheduler(RQScheduler):
    """RQ's scheduler, looking every ``interval`` seconds (a fraction of one) and releasing a
    job once the exact clock reaches its exact score."""

    def __init__(self, *args, poll_interval: float = 0.2, **kwargs):
        super().__init__(*args, **kwargs)  # self.interval (1 s) stays: RQ derives its lock TTLs from it
        self.poll_interval = poll_interval

    def work(self):
        """RQ's loop (rq.scheduler.RQScheduler.work), sleeping poll_interval instead of interval."""
        self._install_signal_handlers()
        self.register_birth()
        while True:
            if self._stop_requested:
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            time.sleep(self.poll_interval)

    def prepare_registries(self, queue_names=None):
        super().prepare_registries(queue_names)
        self._scheduled_job_registries = [
            _ExactRegistry(r.name, connection=self.connection, serializer=self.serializer)
            for r in self._scheduled_job_registries]
