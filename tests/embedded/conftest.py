"""Embedded Services fixtures: a real sandbox over HTTP and a live ShipStation account."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests

from sandbox.testing import run_sandbox
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import set_activation


@pytest.fixture
def sandbox():
    base, stop = run_sandbox()
    yield base
    stop()


@dataclass
class ShipStationSim:
    """Test-side handle on one ShipStation account inside the sandbox."""

    base: str
    api_key: str
    api_secret: str

    @property
    def api(self) -> str:
        return f"{self.base}/shipstation"

    def control(self, method: str, path: str, **payload):
        response = requests.request(method, f"{self.api}/_sim/{path}", json={"api_key": self.api_key, **payload},
                                    params={"api_key": self.api_key}, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def orders(self) -> list[dict]:
        response = requests.get(f"{self.api}/orders", auth=(self.api_key, self.api_secret),
                                params={"pageSize": 500}, timeout=10)
        response.raise_for_status()
        return response.json()["orders"]

    def faults(self, **config):
        response = requests.post(f"{self.api}/_sim/faults", json=config, timeout=10)
        assert response.status_code < 300, response.text


def new_shipstation_sim(base: str, rate_limit: int = 40, window_seconds: float = 60) -> ShipStationSim:
    key, secret = f"key-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
    response = requests.post(f"{base}/shipstation/_sim/accounts", json={
        "api_key": key, "api_secret": secret, "rate_limit": rate_limit, "window_seconds": window_seconds},
        timeout=10)
    assert response.status_code < 300, response.text
    return ShipStationSim(base, key, secret)


@pytest.fixture
def make_shipstation_account(app_ctx, sandbox, factory):
    """make_shipstation_account(site, live=True, **settings) -> (account, sim)."""
    install.enable_provider("shipstation")
    admin = factory.admin(email=f"integration-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, live: bool = True, name: str | None = None, sim: ShipStationSim | None = None, **settings):
        sim = sim or new_shipstation_sim(sandbox)
        result = save_account(None, company_id=admin.company_id, name=name or f"ShipStation {uuid.uuid4().hex[:5]}",
                              provider_key="shipstation", admin_id=admin.id,
                              credentials={"api_key": sim.api_key, "api_secret": sim.api_secret,
                                           "base_url": sim.api},
                              settings=settings)
        assert result.ok, result.errors
        activation = set_activation(result.account, site, enabled=True, is_live=live)
        assert activation.ok, activation.errors
        return result.account, sim

    return _make

# The tests-only fake provider (framework part two): its remote and a live account.
from tests.providers.fake_setup import fake_account, fake_registered, fake_remote  # noqa: E402,F401
