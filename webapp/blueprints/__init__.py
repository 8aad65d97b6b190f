"""Blueprints are thin: parse, authorize, call one use-case, render."""
from __future__ import annotations

import importlib

# module name -> attribute holding the Blueprint
BLUEPRINTS = [
    "auth",
    "dashboard",
    "sites",
    "catalog",
    "orders",
    "preferences",
    "embedded",
    "embedded_mapping",
    "order_push",
    "webhooks",
    "sync",
    "health",
    "ops",
]


def register_blueprints(app) -> None:
    for name in BLUEPRINTS:
        module = importlib.import_module(f"{__name__}.{name}")
        app.register_blueprint(module.bp)
