"""Application factory: config, extensions, blueprints, CLI — one init step per subsystem."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from . import config as config_module
from .extensions import csrf, db, login_manager, migrate


def create_app(config_object=None) -> Flask:
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.config.from_object(config_module.resolve(config_object))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _init_logging(app)
    _ensure_secrets(app)

    _init_postgresql(app)
    db.init_app(app)
    _init_sqlite(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from htmx_flask import Htmx
    Htmx(app)
    from flask_bootstrap import Bootstrap5
    app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)  # never a CDN
    Bootstrap5(app)

    from . import models  # noqa: F401  (register mappers)
    from .web import init_web
    init_web(app)
    from .blueprints import register_blueprints
    register_blueprints(app)
    from .cli import register_cli
    register_cli(app)
    from .embedded import hooks
    hooks.init_app(app)
    return app


def warm_up() -> None:
    """What a process would otherwise do on its first request, done at boot (wsgi.py: a
    gunicorn worker loads the app before it accepts a connection): configure the ORM mappers
    and import the providers — ~0.7 s of CPU that stalled the first requests of every fresh
    worker (up to 1.3 s on a busy machine, every request queued behind it waited too;
    bench/webhook_probe.py)."""
    from sqlalchemy.orm import configure_mappers

    from .providers.registry import all_providers

    configure_mappers()
    all_providers()


def _init_sqlite(app: Flask) -> None:
    """A SQLite file is shared by web processes and workers: WAL lets readers and the one
    writer proceed together (in the default rollback journal every commit waits for all
    readers, and readers wait for it), and the busy timeout makes a writer wait its turn
    instead of failing with "database is locked". In-memory databases are left alone.
    PostgreSQL (production) is not concerned."""
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file::memory:"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 15000")
            cursor.execute("PRAGMA journal_mode = WAL")  # persistent in the file; a no-op once set
            # WAL's usual companion (Rails' SQLite default too): commits no longer wait for an
            # fsync; the database cannot be corrupted, a power cut may lose the last commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
        except Exception:  # another process is switching it right now: it will be WAL anyway
            logging.getLogger(__name__).warning("could not switch SQLite to WAL", exc_info=True)
        finally:
            cursor.close()


def _init_postgresql(app: Flask) -> None:
    """No server-side prepared statements (psycopg prepares a statement run five times):
    PostgreSQL then keeps a generic plan, made once for any value — a batch statement's
    ``= ANY(:ids)`` planned for a guessed array size on the table as it was then. A bulk push
    or sync grows its tables while it runs (here without autovacuum to refresh statistics):
    generic plans made early kept sequential scans (7-11 ms per lookup at 5,000 pushes, then
    190 ms per status update, bench/status_sync). Each statement is planned for its values;
    planning costs 0.1-0.5 ms."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"prepare_threshold": None, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _init_logging(app: Flask) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from . import log_filters
    log_filters.install()  # webhook tokens never reach an access log


def _ensure_secrets(app: Flask) -> None:
    """Local runs get stable random keys kept under instance/ (never in the repository);
    production must set SECRET_KEY and CREDENTIALS_KEY in the environment."""
    from cryptography.fernet import Fernet

    production = app.config.get("SESSION_COOKIE_SECURE") and not app.testing
    generators = {
        "SECRET_KEY": lambda: os.urandom(32).hex(),
        "CREDENTIALS_KEY": lambda: Fernet.generate_key().decode(),
    }
    for name, make in generators.items():
        if os.environ.get(name):
            continue
        if production:
            raise RuntimeError(f"{name} must be set in the environment in production")
        if app.testing:
            app.config[name] = app.config.get(name) or make()
            continue
        path = Path(app.instance_path) / name.lower()
        if not path.exists():
            path.write_text(make())
            path.chmod(0o600)
        app.config[name] = path.read_text().strip()
