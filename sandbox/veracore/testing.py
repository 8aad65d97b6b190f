"""Test-side handle on a VeraCore simulator user (see sandbox/shipstation/testing.py for the
contract the provider-neutral suites rely on). ``PUSH_SETTINGS``: the per-entity settings
the hub needs so a generic order pushes (the offer every test product is ordered as)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

from ..base.handle import ControlHandle

TIMEOUT = 10
FIXTURE_OFFERS = [{"ID": "OFFER-1", "Description": "Business cards", "DefaultPrice": "19.50",
                   "Category": {"ID": "CAT-1", "Description": "Stationery"}},
                  {"ID": "OFFER-2", "Description": "Flyers", "DefaultPrice": "45.00"}]

PUSH_SETTINGS = {"product": {"offer_id": "OFFER-1"}}  # the offer every test product is ordered as


@dataclass
class SimAccount(ControlHandle):
    api_base: str           # e.g. http://127.0.0.1:5001/veracore
    username: str
    password: str

    provider_key = "veracore"
    credential_field = "username"
    duplicates_stat = "duplicate_references"

    @property
    def credentials(self) -> dict:
        return {"username": self.username, "password": self.password,
                "base_url": f"{self.api_base}/pmomsws/oms.asmx"}

    @property
    def secrets(self) -> list[str]:
        return [self.password]

    def orders(self) -> list[dict]:
        return self._control("GET", "orders")["orders"]

    def order_numbers(self) -> list[str]:
        return [order["reference"] for order in self.orders()]

    def seed(self) -> None:
        self._control("POST", "offers", offers=FIXTURE_OFFERS)

    def ship(self, external_id: str, **package) -> dict:
        return self._control("POST", "ship", order_id=str(external_id), **package)

    def advance(self, external_id: str, status: str) -> dict:
        return self._control("POST", "advance", order_id=str(external_id), status=status)


def create_account(api_base: str, *, rate_limit: int = 600, window_seconds: float = 60.0, **options) -> SimAccount:
    username, password = f"user-{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "username": username, "password": password, "rate_limit": rate_limit, "window_seconds": window_seconds,
        "offers": FIXTURE_OFFERS, **options}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), username, password)


DEMO_USERNAME = "demo-user"
# The northwind-b2b storefront SKUs are the demo tenant's offer ids (webapp.storefront.demo).
DEMO_OFFERS = {
    "Business Stationery": ["NW-BC-STD", "NW-BC-PREM", "NW-BC-FOIL", "NW-LH-A4", "NW-LH-LTR", "NW-ENV-DL",
                            "NW-ENV-C4"],
    "Marketing": ["NW-FLY-A5", "NW-FLY-A4", "NW-FLY-DL", "NW-BRO-TRI", "NW-BRO-8PP", "NW-BRO-16PP", "NW-PC-A6"],
    "Large Format": ["NW-BAN-PVC", "NW-BAN-MESH", "NW-BAN-RU", "NW-POS-A2", "NW-POS-A1", "NW-POS-A0",
                     "NW-SGN-FOAM", "NW-SGN-ACM"],
    "Warehouse Extras": ["VC-KIT-WELCOME", "VC-BOX-MED"],
}


def demo_seed(simulator_url: str) -> int:
    """Give the demo tenant its offers and offer categories (once)."""
    api = f"{simulator_url.rstrip('/')}/_sim"
    stats = requests.get(f"{api}/stats", params={"username": DEMO_USERNAME}, timeout=TIMEOUT).json()
    if stats.get("offers"):
        return 0
    offers = [{"ID": offer, "Description": offer.replace("-", " ").title(), "DefaultPrice": "1.00",
               "Category": {"ID": f"CAT-{index}", "Description": category}}
              for index, (category, ids) in enumerate(DEMO_OFFERS.items(), 1) for offer in ids]
    response = requests.post(f"{api}/offers", json={"username": DEMO_USERNAME, "offers": offers}, timeout=TIMEOUT)
    response.raise_for_status()
    return len(offers)
