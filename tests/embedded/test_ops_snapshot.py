"""What the Operations page and `flask embedded ops` say about the machinery's pieces."""
from __future__ import annotations

import os
import socket

from rq.scheduler import RQScheduler

from webapp.ops.machinery import snapshot
from webapp.queue import QUEUES, get_queue, get_redis


def test_the_scheduler_is_named_by_its_host_and_process_not_rqs_random_id(app_ctx):
    assert snapshot().scheduler_holder is None  # nobody holds the scheduling locks

    scheduler = RQScheduler([get_queue(name) for name in QUEUES], connection=get_redis())
    scheduler.acquire_locks()
    try:
        assert scheduler.acquired_locks == set(QUEUES)
        starting = snapshot().scheduler_holder
        assert starting == f"scheduler {scheduler.name[:8]} (starting)"  # locked, no process yet

        scheduler.register_birth()  # what the scheduler's own process does first
        assert snapshot().scheduler_holder == f"{socket.gethostname()}, pid {os.getpid()}"
        assert scheduler.name not in snapshot().scheduler_holder
    finally:
        scheduler.release_locks()
        scheduler.register_death()
    assert snapshot().scheduler_holder is None
