"""Fixtures for the provider sandbox tests: real HTTP servers on free local ports."""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from sandbox.testing import serve_wsgi, start_world


@pytest.fixture(autouse=True)
def _clean_state():
    """Shadows the hub-wide DB/Redis cleanup: sandbox tests touch neither."""
    yield


@pytest.fixture(scope="module")
def sandbox():
    """A fresh world: the index (simulators under prefixes) and each simulator at its real paths."""
    running = start_world()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sandbox_url(sandbox):
    """The index app (``GET /`` and the prefixed mounts, kept for humans and old URLs)."""
    return sandbox.index


@pytest.fixture(scope="module")
def sims(sandbox) -> dict[str, str]:
    """{key: the simulator's own server at its provider's real path}: what clients talk to."""
    return sandbox.urls


@dataclass
class SSAccount:
    """One ShipStation key pair on the running sandbox, with an authenticated session."""

    base: str                      # http://127.0.0.1:<port>/shipstation
    key: str
    secret: str
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.auth = (self.key, self.secret)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=kw.pop("timeout", 10), **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.http.put(self.base + path, json=body, timeout=kw.pop("timeout", 10), **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.http.delete(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def sim(self, method: str, path: str, body: dict | None = None, **params: Any):
        """Call a control route (no auth) naming this account."""
        if method == "GET":
            response = requests.get(self.base + "/_sim" + path,
                                    params={"api_key": self.key, **params}, timeout=30)
        else:
            response = requests.request(method, self.base + "/_sim" + path,
                                        json={"api_key": self.key, **(body or {})}, timeout=30)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    def stats(self) -> dict:
        return self.sim("GET", "/stats")


@pytest.fixture
def make_account(sims):
    """make_account(rate_limit=..., window_seconds=...) → a fresh, empty account."""
    sessions: list[requests.Session] = []

    def _make(**settings: Any) -> SSAccount:
        key, secret = f"key-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
        response = requests.post(f"{sims['shipstation']}/_sim/accounts",
                                 json={"api_key": key, "api_secret": secret, **settings},
                                 timeout=10)
        assert response.status_code == 201, response.text
        account = SSAccount(f"{sims['shipstation']}", key, secret)
        sessions.append(account.http)
        return account

    yield _make
    for session in sessions:
        session.close()


@pytest.fixture
def ss(make_account) -> SSAccount:
    return make_account()


@dataclass
class Receiver:
    """A tiny webhook receiver: records every request it gets."""

    url: str
    calls: list[dict[str, Any]]
    arrived: threading.Event


@pytest.fixture
def receiver():
    calls: list[dict[str, Any]] = []
    arrived = threading.Event()

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        calls.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                      "headers": headers, "raw": raw,
                      "json": json.loads(raw) if raw else None})
        arrived.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    url, shutdown = serve_wsgi(app)
    yield Receiver(url, calls, arrived)
    shutdown()
