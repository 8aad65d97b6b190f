"""Provider sandbox: a separate Flask app that simulates provider APIs over real HTTP.

Every simulator from `sandbox.registry.SIMULATORS` is mounted under its own prefix
(``/shipstation`` ...). ``GET /`` lists them, ``GET /healthz`` answers 200. State lives on
the app instance, so each `create_sandbox_app()` call is an independent world.

Sandbox-wide config keys (simulators add their own, see each module):

* ``SANDBOX_EXTERNAL_BASE_URL`` - base URL to put in webhook resource URLs and in ``GET /``
  (default: the host the request came in on);
* ``SANDBOX_RECORD_LIMIT`` (1000) / ``SANDBOX_RECORD_BODY_LIMIT`` (2048 bytes) - request
  recorder size and body truncation;
* ``SANDBOX_FAULTS`` - ``{simulator_key: {fault settings}}`` applied at start.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from .common import external_base_url, init_runtime
from .registry import load_simulators

DEFAULT_CONFIG: dict[str, Any] = {
    "SANDBOX_EXTERNAL_BASE_URL": None,
    "SANDBOX_RECORD_LIMIT": 1000,
    "SANDBOX_RECORD_BODY_LIMIT": 2048,
    "SANDBOX_FAULTS": {},
}


def create_sandbox_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(DEFAULT_CONFIG)
    specs = load_simulators()
    for spec in specs:
        app.config.from_mapping(spec.default_config)
    app.config.from_mapping(config or {})
    app.json.sort_keys = False  # keep provider field order, like the real payloads

    for spec in specs:
        init_runtime(app, spec)
        app.register_blueprint(spec.create_blueprint(), url_prefix=spec.url_prefix)

    @app.get("/")
    def index():
        base = external_base_url()
        return jsonify({"simulators": [
            {"key": spec.key, "title": spec.title,
             "base_url": base + spec.url_prefix,
             "control_url": base + spec.url_prefix + "/_sim"}
            for spec in specs
        ]})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.errorhandler(404)
    def not_found(_exc):
        return jsonify({"error": "not found"}), 404

    return app
