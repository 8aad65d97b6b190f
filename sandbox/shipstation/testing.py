"""Test-side handle on a ShipStation simulator account, for provider-neutral suites.

The resilience and fuzz suites (tests/resilience, tests/fuzz, scripts/chaos.py) iterate the
provider registry; for each provider that pushes orders they import
``sandbox.<simulator>.testing`` and call ``create_account(api_base, rate_limit=,
window_seconds=)``. The returned object gives the credentials the hub stores for that
account and counts what the simulator saw. A new provider's simulator ships the same small
module, and the suites cover it without new test code.

Contract of the returned object:

* ``credentials`` — the hub's credential values (base URL pointing at the simulator);
* ``stats()`` — ``{"orders", "duplicates", "rate_limited", "requests"}`` for this account;
* ``order_numbers()`` — the order numbers the simulator holds for this account (one entry
  per stored order, so a duplicate shows twice);
* ``seed()`` — give the account some catalogue and history so list answers are not empty;
* ``ship(external_id)`` (optional) — make the simulator ship a pushed order and deliver its
  status webhooks to the subscribed hub URL.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10


@dataclass
class SimAccount:
    api_base: str       # e.g. http://127.0.0.1:5001/shipstation
    api_key: str
    api_secret: str

    provider_key = "shipstation"

    @property
    def credentials(self) -> dict:
        return {"api_key": self.api_key, "api_secret": self.api_secret, "base_url": self.api_base}

    @property
    def secrets(self) -> list[str]:
        return [self.api_secret]

    def _control(self, method: str, path: str, **payload) -> dict:
        response = requests.request(method, f"{self.api_base}/_sim/{path}", params={"api_key": self.api_key},
                                    json={"api_key": self.api_key, **payload}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self._control("GET", "stats")
        return {"orders": raw["orders"], "duplicates": raw["duplicate_order_numbers"],
                "rate_limited": raw["rate_limited"], "requests": raw["requests"]}

    def order_numbers(self) -> list[str]:
        numbers, page = [], 1
        while True:
            response = requests.get(f"{self.api_base}/orders", auth=(self.api_key, self.api_secret),
                                    params={"pageSize": 500, "page": page}, timeout=TIMEOUT)
            response.raise_for_status()
            body = response.json()
            numbers += [o["orderNumber"] for o in body["orders"]]
            if page >= (body.get("pages") or 1):
                return numbers
            page += 1

    def ship(self, external_id: str) -> dict:
        return self._control("POST", "ship", orderId=int(str(external_id).split(",")[0]), carrierCode="ups")

    def seed(self) -> None:
        self._control("POST", "products", generate=3, categories=2)


def create_account(api_base: str, *, rate_limit: int = 40, window_seconds: float = 60.0) -> SimAccount:
    key, secret = f"key-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "api_key": key, "api_secret": secret, "rate_limit": rate_limit, "window_seconds": window_seconds},
        timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), key, secret)


DEMO_KEY = "demo-key"  # the simulator's built-in demo key pair (see state.py)
DEMO_REMOTE_PRODUCTS = [
    ("SS-BC-STD", "Business Cards – Standard 350gsm", 24.0, "Business Stationery"),
    ("SS-BC-PREM", "Business Cards – Premium Soft-Touch", 39.0, "Business Stationery"),
    ("SS-LH-A4", "Letterhead A4 120gsm", 59.0, "Business Stationery"),
    ("SS-FLY-A5", "Flyers A5 Gloss", 45.0, "Marketing"),
    ("SS-FLY-A4", "Flyers A4 Silk", 65.0, "Marketing"),
    ("SS-BRO-TRI", "Tri-fold Brochure", 120.0, "Marketing"),
    ("SS-BAN-PVC", "PVC Banner 3x1 m", 85.0, "Large Format"),
    ("SS-POS-A2", "Poster A2 Satin", 18.0, "Large Format"),
    ("SS-RUB-85", "Roll-up Banner 85 cm", 149.0, "Large Format"),
    ("SS-MUG-WHT", "Printed Mug White", 7.5, "Promotional"),
    ("SS-PEN-BLU", "Branded Pen Blue", 1.2, "Promotional"),
    ("SS-SHIP-BOX", "Shipping Box Medium", 2.0, None),
]


def demo_seed(simulator_url: str) -> int:
    """Give the demo account a small catalogue to synchronize (once)."""
    api = f"{simulator_url.rstrip('/')}/_sim"
    stats = requests.get(f"{api}/stats", params={"api_key": DEMO_KEY}, timeout=TIMEOUT).json()
    if stats.get("products"):
        return 0
    products = [{"sku": sku, "name": name, "price": price, "active": True,
                 "productCategory": {"name": category} if category else None}
                for sku, name, price, category in DEMO_REMOTE_PRODUCTS]
    response = requests.post(f"{api}/products", json={"api_key": DEMO_KEY, "products": products}, timeout=TIMEOUT)
    response.raise_for_status()
    return len(products)
