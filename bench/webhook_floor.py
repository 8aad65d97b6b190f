"""The floor of bench/webhook_intake.py: the least a webhook endpoint can do, served the same way.

``gunicorn --workers 2 --threads 4 bench.webhook_floor:app`` (webhook_intake.SERVER) — a bare Flask view that reads the body, does one
INSERT (committed) into a table of its own in the benchmark's database and one RQ enqueue into
the benchmark's Redis, and answers 202. No account lookup, no verification, no dedupe, no
app-level hooks: what the hub's intake is compared with, in the same run, under the same
offered load (a busy machine slows both).
"""
from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, create_engine, event, func, insert

metadata = MetaData()
floor_events = Table("bench_floor_events", metadata,
                     Column("id", Integer, primary_key=True),
                     Column("payload", Text, nullable=False),
                     Column("received_at", DateTime, nullable=False, server_default=func.now()))


def floor_job(event_id: int) -> int:  # never run: the floor measures intake only
    return event_id


def make_engine(url: str):
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":  # the hub's own SQLite settings (webapp._init_sqlite)
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout = 15000")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()
    return engine


def create_app() -> Flask:
    import redis
    from rq import Queue

    app = Flask(__name__)
    engine = make_engine(os.environ["DATABASE_URL"])
    queue = Queue("bench-floor", connection=redis.Redis.from_url(os.environ["REDIS_URL"]))
    statement = insert(floor_events).returning(floor_events.c.id)

    @app.post("/webhooks/<provider_key>/<token>")
    def receive(provider_key: str, token: str):
        body = request.get_data()
        with engine.begin() as conn:
            event_id = conn.execute(statement, {"payload": body.decode("utf-8", "replace")}).scalar()
        queue.enqueue(floor_job, event_id)
        return {"status": "accepted"}, 202

    @app.get("/login")
    def ready():
        return "ok"

    return app


app = create_app() if os.environ.get("BENCH_FLOOR_APP") else None
