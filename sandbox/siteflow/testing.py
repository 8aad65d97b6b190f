"""Test-side handle on a Site Flow simulator account (contract: sandbox/shipstation/testing.py).

Note for provider-neutral suites: the hub refuses a Site Flow push of an item without a
"Site Flow SKU" product setting, so suites that push generic orders need that setting."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10
# Entity settings a hub push needs for this simulator (a SKU of its built-in table).
PUSH_SETTINGS = {"product": {"siteflow_sku": "BC-100"}}


@dataclass
class SimAccount:
    api_base: str       # e.g. http://127.0.0.1:5001/siteflow
    token: str
    secret: str
    destination: str

    provider_key = "siteflow"

    @property
    def credentials(self) -> dict:
        return {"access_key": self.token, "secret": self.secret, "server": "custom", "base_url": self.api_base,
                "destination": self.destination,
                "non_integrated_shipping_name": "courier"}

    @property
    def secrets(self) -> list[str]:
        return [self.secret]

    def control(self, method: str, path: str, **payload) -> dict:
        response = requests.request(method, f"{self.api_base}/_sim/{path}", params={"token": self.token},
                                    json={"token": self.token, **payload}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self.control("GET", "stats")
        return {"orders": raw["orders"], "duplicates": raw["duplicates"], "rate_limited": raw["rate_limited"],
                "requests": raw["requests"]}

    def order_numbers(self) -> list[str]:
        return self.control("GET", "stats")["source_order_ids"]

    def seed(self) -> None:
        """SKUs exist from the start (the built-in table); nothing else to seed."""

    def add_trigger(self, url: str, headers: dict, template: str, events=()) -> dict:
        return self.control("POST", "triggers", url=url, headers=headers, template=template, events=list(events))

    def add_webhook(self, setup) -> dict:
        """Configure a trigger from the hub's ``webhook_setup`` (what the account page shows)."""
        return self.add_trigger(setup.url, {setup.header_name: setup.header_value}, setup.template)

    def advance(self, order_id: str, status: str, **shipment) -> dict:
        return self.control("POST", f"orders/{order_id}/advance", status=status, shipment=shipment or None)

    def ship(self, external_id: str) -> dict:
        return self.advance(str(external_id), "shipped")


def create_account(api_base: str, *, rate_limit: int = 3000, window_seconds: float = 60.0) -> SimAccount:
    token, secret = f"tok-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
    destination = f"psp-{uuid.uuid4().hex[:6]}"
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "token": token, "secret": secret, "destinations": [destination], "rate_limit": rate_limit,
        "window_seconds": window_seconds}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), token, secret, destination)


DEMO_TOKEN = "demo-token"  # the simulator's built-in demo account (see sandbox/siteflow/__init__.py)


def demo_webhook(simulator_url: str, setup) -> None:
    """Demo: add the hub's trigger to the demo account, as an admin would paste it in Site Flow (once)."""
    api = f"{simulator_url.rstrip('/')}/_sim"
    account = SimAccount(simulator_url.rstrip("/"), DEMO_TOKEN, "", "demo-psp")
    requests.delete(f"{api}/triggers", params={"token": DEMO_TOKEN}, timeout=TIMEOUT).raise_for_status()
    account.add_webhook(setup)
