"""CLI commands on a database that was never migrated (or is behind) say what to do —
"run `flask db upgrade` first" — instead of printing a SQLAlchemy traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT, worker_env

COMMANDS = [
    ["embedded", "providers"],
    ["embedded", "providers", "--json"],
    ["embedded", "status", "W-1"],
    ["embedded", "run", "1", "--json"],
    ["embedded", "sync", "--all", "--items", "products"],
    ["orders", "import", "README.md"],
    ["seed-demo"],
]


def _flask(app, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**worker_env(app), "DATABASE_URL": database_url, "FLASK_APP": "wsgi.py"}
    return subprocess.run([sys.executable, "-m", "flask", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def fresh_sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_never_migrated_database_asks_for_db_upgrade(app, fresh_sqlite, command):
    result = _flask(app, fresh_sqlite, *command)
    assert result.returncode != 0
    assert "run `flask db upgrade` first" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert "sqlalchemy" not in (result.stderr + result.stdout).lower()


def test_a_database_behind_the_migrations_asks_for_db_upgrade_then_works(app, fresh_sqlite):
    assert _flask(app, fresh_sqlite, "db", "upgrade", "0001").returncode == 0
    behind = _flask(app, fresh_sqlite, "embedded", "providers")
    assert behind.returncode != 0 and "is at migration 0001" in behind.stderr
    assert "run `flask db upgrade` first" in behind.stderr and "Traceback" not in behind.stderr
    assert _flask(app, fresh_sqlite, "db", "upgrade").returncode == 0
    ready = _flask(app, fresh_sqlite, "embedded", "providers")
    assert ready.returncode == 0, ready.stderr[-2000:]
    assert "shipstation" in ready.stdout


def test_help_needs_no_database(app, fresh_sqlite):
    result = _flask(app, fresh_sqlite, "embedded", "--help")
    assert result.returncode == 0 and "providers" in result.stdout
