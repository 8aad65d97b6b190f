"""Test-side handle on a StreamLive simulator account (see sandbox/shipstation/testing.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10


@dataclass
class SimAccount:
    api_base: str
    api_key: str
    webhook_secret: str

    provider_key = "streamlive"

    @property
    def credentials(self) -> dict:
        return {"base_url": self.api_base, "api_key": self.api_key, "webhook_secret": self.webhook_secret}

    @property
    def secrets(self) -> list[str]:
        return [self.api_key, self.webhook_secret]

    def control(self, method: str, path: str, **payload):
        # The key travels in the body, never in a URL (URLs end up in logs; the key is the secret).
        response = requests.request(method, f"{self.api_base}/_sim/{path}",
                                    json={"api_key": self.api_key, **payload}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self.control("GET", "stats")
        return {"orders": raw["orders"], "duplicates": raw["duplicates"], "rate_limited": raw["rate_limited"],
                "requests": raw["requests"]}

    def orders(self) -> list[dict]:
        return self.control("GET", "orders")

    def order_numbers(self) -> list[str]:
        """The hub's order reference of each stored order: its external_id is our idempotency
        key, its items' external_item_id are "<reference>-<line>"."""
        return [o["items"][0]["external_item_id"].rsplit("-", 1)[0] for o in self.orders() if o["items"]]

    def set_webhook(self, url: str) -> None:
        self.control("POST", "account", webhook_url=url, webhook_secret=self.webhook_secret)

    def status(self, order_id: str, status: str, **payload) -> dict:
        return self.control("POST", f"orders/{order_id}/status", status=status, **payload)

    def ship(self, external_id: str) -> dict:
        order_id = str(external_id).split(",")[0]
        for status in ("queued", "ripping", "printing", "finishing"):
            self.status(order_id, status)
        return self.status(order_id, "shipped", carrier="UPS")

    def seed(self) -> None:
        self.control("POST", "catalog", categories=[{"code": "WIDE", "name": "Wide format"}],
                     products=[{"code": f"P-{n}", "name": f"Product {n}", "category": "WIDE", "active": True}
                               for n in range(1, 4)])


def create_account(api_base: str, *, rate_limit: int = 120, window_seconds: float = 60.0) -> SimAccount:
    key, secret = f"sl-{uuid.uuid4().hex}", f"slhook-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "api_key": key, "rate_limit": rate_limit, "window_seconds": window_seconds, "webhook_secret": secret},
        timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), key, secret)
