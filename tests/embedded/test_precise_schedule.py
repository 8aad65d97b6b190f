"""Delayed jobs keep their exact due time and the workers' scheduler releases them to the tenth
of a second (webapp/precise_schedule.py): RQ alone scores them in whole seconds (truncated), so
a push rescheduled for its rate-limit turn came back up to a second early — turned away and
given a later turn — or late, leaving the slot idle (bench/push_rate)."""
from __future__ import annotations

import time

from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from webapp.embedded.jobs import push_order_job
from webapp.precise_schedule import PreciseScheduler
from webapp.queue import PUSH, get_queue, get_redis


def _release(scheduler) -> list[str]:
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()
    return get_queue(PUSH).job_ids


def _whole_second_ahead(margin: float) -> None:
    """Wait until the clock is `margin` s past a whole second, so a job due within the second
    has a truncated score in the past."""
    time.sleep((margin - time.time() % 1.0) % 1.0)


def test_a_delayed_job_keeps_its_exact_due_time(app_ctx):
    before = time.time()
    job = push_order_job.enqueue(123, delay=2.75)
    score = get_redis().zscore(ScheduledJobRegistry(queue=get_queue(PUSH)).key, job.id)
    assert before + 2.75 <= score <= time.time() + 2.75  # milliseconds kept, not truncated to the second
    assert score != int(score)


def test_the_precise_scheduler_releases_a_job_at_its_time_not_at_a_whole_second(app_ctx):
    queue = get_queue(PUSH)
    queue.empty()
    _whole_second_ahead(0.05)
    job = push_order_job.enqueue(7, delay=0.6)  # due at .65 of this second
    due = get_redis().zscore(ScheduledJobRegistry(queue=queue).key, job.id)
    precise = PreciseScheduler([queue], connection=get_redis(), poll_interval=0.1)
    rq_own = RQScheduler([queue], connection=get_redis())
    if time.time() < due:  # (on a very slow machine the moment may have passed)
        assert job.id not in _release(precise)  # RQ's truncated score (.00) has passed, not the time
    time.sleep(max(0.0, due - time.time()) + 0.01)
    if time.time() < int(due) + 1:
        assert job.id not in _release(rq_own)  # RQ's own scheduler: not before the next whole second
    assert job.id in _release(precise)  # due: released now
    queue.empty()


def test_a_job_back_for_its_turn_is_released_ahead_of_the_waiting_jobs(app_ctx):
    queue = get_queue(PUSH)
    queue.empty()
    waiting = push_order_job.enqueue(1)
    back = push_order_job.enqueue(2, delay=0.05, at_front=True)
    time.sleep(0.1)
    assert _release(PreciseScheduler([queue], connection=get_redis()))[:2] == [back.id, waiting.id]
    queue.empty()
