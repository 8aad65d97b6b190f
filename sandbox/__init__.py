"""Provider sandbox: Flask apps that simulate provider APIs over real HTTP.

One *world* (`SandboxWorld`) holds one runtime per simulator of `sandbox.registry.SIMULATORS`
and serves it twice over, sharing its accounts, orders, faults and recorder:

* the **index app** mounts every simulator under its own prefix (``/shipstation`` ...) for
  humans and old URLs; ``GET /`` lists the simulators with both addresses, ``GET /healthz``
  answers 200;
* each simulator's **own app** serves it at its provider's real paths (``/api/order``, not
  ``/siteflow/api/order``), on a port of its own, so the path a client signs and sends is the
  one the real provider sees. Clients and the demo use these (`simulator_urls`).

Sandbox-wide config keys (simulators add their own, see each module):

* ``SANDBOX_EXTERNAL_BASE_URL`` - base URL of the index app in webhook resource URLs and in
  ``GET /`` (default: the host the request came in on);
* ``SANDBOX_RECORD_LIMIT`` (1000) / ``SANDBOX_RECORD_BODY_LIMIT`` (2048 bytes) - request
  recorder size and body truncation;
* ``SANDBOX_FAULTS`` - ``{simulator_key: {fault settings}}`` applied at start.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, jsonify, request

from .base import SimRuntime, SimulatorSpec, attach, external_base_url, mount
from .registry import load_simulators

DEFAULT_CONFIG: dict[str, Any] = {
    "SANDBOX_EXTERNAL_BASE_URL": None,
    "SANDBOX_RECORD_LIMIT": 1000,
    "SANDBOX_RECORD_BODY_LIMIT": 2048,
    "SANDBOX_FAULTS": {},
}
PORTS_KEY = "sandbox_ports"


def _new_app(config: Mapping[str, Any]) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(config)
    app.json.sort_keys = False  # keep provider field order, like the real payloads

    @app.errorhandler(404)
    def not_found(_exc):
        return jsonify({"error": "not found"}), 404

    return app


class SandboxWorld:
    """Every simulator once (`runtimes`), the index app and one real-path app per simulator."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.specs: list[SimulatorSpec] = load_simulators()
        merged: dict[str, Any] = dict(DEFAULT_CONFIG)
        for spec in self.specs:
            merged.update(spec.default_config)
        merged.update(config or {})
        self.config = merged
        self.runtimes = {spec.key: SimRuntime(spec, merged) for spec in self.specs}
        self.index_app = self._index_app()
        self.apps = {spec.key: self._simulator_app(spec) for spec in self.specs}

    def set_port(self, key: str, port: int) -> None:
        """Tell the index where a simulator's own app listens (``GET /`` shows it)."""
        self.index_app.extensions[PORTS_KEY][key] = port

    def _simulator_app(self, spec: SimulatorSpec) -> Flask:
        app = _new_app({**self.config, "SANDBOX_EXTERNAL_BASE_URL": None})
        runtime = self.runtimes[spec.key]
        attach(app, runtime)
        for n, prefix in enumerate(spec.real_mounts):
            mount(app, runtime, prefix, name=spec.key if n == 0 else f"{spec.key}_{n}")
        return app

    def _index_app(self) -> Flask:
        app = _new_app(self.config)
        app.extensions[PORTS_KEY] = {}
        for spec in self.specs:
            mount(app, self.runtimes[spec.key], spec.url_prefix)

        @app.get("/")
        def index():
            base = external_base_url()
            host = urlsplit(base).hostname or request.host.split(":")[0]
            ports = app.extensions[PORTS_KEY]
            return jsonify({"simulators": [
                {"key": spec.key, "title": spec.title,
                 "url": (f"{urlsplit(base).scheme}://{host}:{ports[spec.key]}{spec.real_mounts[0]}"
                         if spec.key in ports else None),
                 "base_url": base + spec.url_prefix,
                 "control_url": base + spec.url_prefix + "/_sim"}
                for spec in self.specs
            ]})

        @app.get("/healthz")
        def healthz():
            return jsonify({"status": "ok"})

        return app


def create_sandbox_app(config: dict | None = None) -> Flask:
    """The index app alone (every simulator under its prefix); no real-path servers."""
    return SandboxWorld(config).index_app


def simulator_urls(sandbox_url: str, timeout: float = 10) -> dict[str, str]:
    """{simulator key: URL of its own server at the provider's real path}, read from the index."""
    import requests

    response = requests.get(sandbox_url.rstrip("/") + "/", timeout=timeout)
    response.raise_for_status()
    return {s["key"]: s["url"] for s in response.json()["simulators"] if s.get("url")}
