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

    db.init_app(app)
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
    return app


def _init_logging(app: Flask) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
