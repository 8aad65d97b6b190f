"""A job for worker tests, importable by real worker processes (PYTHONPATH is the repo): it
records, in Redis, that it ran, on which queue and in which worker (WORKER_LABEL env)."""
from __future__ import annotations

import os

from rq import get_current_job

RUNS = "test:probe:runs"        # hash: job name -> times run
LOG = "test:probe:log"          # list: "<name>|<queue>|<worker label>", in execution order


def probe(name: str) -> str:
    job = get_current_job()
    redis = job.connection
    redis.hincrby(RUNS, name, 1)
    redis.rpush(LOG, f"{name}|{job.origin}|{os.environ.get('WORKER_LABEL', '')}")
    return name
