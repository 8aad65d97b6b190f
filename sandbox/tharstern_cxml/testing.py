"""Test-side handle on a Tharstern cXML simulator sender (see sandbox/shipstation/testing.py for
the contract the provider-neutral suites rely on). cXML documents no rate limit: the
``rate_limit`` / ``window_seconds`` arguments are accepted and ignored."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10
PRODUCTS = ("BC-STD-350", "LH-A4-120", "FLY-A5-150", "SKU-1", "SKU-2", "SKU-3")  # SKU-n: generic test orders
CUSTOMERS = ("C0001", "C0002")


@dataclass
class SimAccount:
    api_base: str       # e.g. http://127.0.0.1:5001/tharstern_cxml
    identity: str
    shared_secret: str

    provider_key = "tharstern_cxml"

    @property
    def endpoint(self) -> str:
        return f"{self.api_base}/TharsternAPI/cxml"

    @property
    def credentials(self) -> dict:
        return {"api_login": self.identity, "api_password": self.shared_secret, "base_url": self.endpoint}


    @property
    def secrets(self) -> list[str]:
        return [self.shared_secret]

    def _get(self, path: str) -> dict:
        response = requests.get(f"{self.api_base}/_sim/{path}", params={"identity": self.identity}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self._get("stats")
        numbers = self.order_numbers()
        return {"orders": raw["orders"], "duplicates": len(numbers) - len(set(numbers)),
                "rate_limited": 0, "requests": raw["requests"]}

    def orders(self) -> list[dict]:
        return self._get("orders")["orders"]

    def payloads(self) -> dict:
        return self._get("orders")["payloads"]

    def order_numbers(self) -> list[str]:
        return [order["order_id"] for order in self.orders()]

    def next_status(self, code: int, text: str) -> None:
        requests.post(f"{self.api_base}/_sim/next_status", json={"identity": self.identity, "code": code,
                                                                  "text": text}, timeout=TIMEOUT).raise_for_status()

    def seed(self) -> None:
        """The sender's catalogue and customers exist from creation."""


def create_account(api_base: str, *, rate_limit: int = 40, window_seconds: float = 60.0,
                   products=PRODUCTS, customers=CUSTOMERS, accept_pending: bool = False,
                   replay_mode: str | None = None) -> SimAccount:
    identity, secret = f"hub-{uuid.uuid4().hex[:10]}", f"secret-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base.rstrip('/')}/_sim/senders", json={
        "identity": identity, "shared_secret": secret, "products": list(products), "customers": list(customers),
        "accept_pending": accept_pending, "replay_mode": replay_mode}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), identity, secret)



# Entity settings every push needs (read by the provider-neutral suites): a product code the
# sender's catalogue holds, and the customer's Tharstern customer code + Active.
PUSH_SETTINGS = {"product": {"product_code": PRODUCTS[0]}, "site_user": {"external_id": CUSTOMERS[0], "active": True},
                 "account": {"default_customer_code": CUSTOMERS[0], "sku_as_product_code": True}}
