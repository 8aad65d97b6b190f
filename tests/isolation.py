"""Per-worker isolation for `pytest -n N` (pytest-xdist): a PostgreSQL database and a Redis
database number of its own for each worker, derived from the configured ones."""
from __future__ import annotations

import os

from sqlalchemy.engine import make_url

REDIS_DB_OFFSET = 10  # gw0 → db 10, gw1 → db 11 …: clear of db 0 and of a developer's own numbers


def isolate_worker(worker: str, own=()) -> None:
    """Configured servers only: what conftest made itself (``own``) is per process already."""
    index = int(worker.removeprefix("gw") or 0)
    database_url = os.environ["TEST_DATABASE_URL"]
    if database_url.startswith("postgresql") and "TEST_DATABASE_URL" not in own:
        os.environ["TEST_DATABASE_URL"] = _postgres_database_for(database_url, worker)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url and redis_url.startswith("redis://") and "REDIS_URL" not in own:
        os.environ["REDIS_URL"] = _with_redis_db(redis_url, REDIS_DB_OFFSET + index)


def _postgres_database_for(database_url: str, worker: str) -> str:
    import psycopg

    url = make_url(database_url)
    name = f"{url.database}_{worker}"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _with_redis_db(redis_url: str, number: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))
