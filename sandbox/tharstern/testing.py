"""Test-side handle on a Tharstern REST simulator tenant (contract: sandbox/shipstation/testing.py).
Tharstern documents no rate limit: ``rate_limit`` / ``window_seconds`` are accepted and ignored."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

from ..base.handle import ControlHandle

TIMEOUT = 10
PRODUCTS = ({"Code": "BC-STD-350", "Name": "Business Cards 350gsm", "Price": 0.085, "StockLevel": 12000},
            {"Code": "FLY-A5-150", "Name": "Flyers A5 150gsm", "Price": 0.042, "StockLevel": 50000},
            {"Code": "POS-A2", "Name": "Poster A2", "Price": 4.25, "StockLevel": 300},
            *({"Code": f"SKU-{n}", "Name": f"Generic item {n}", "Price": 1, "StockLevel": 10} for n in (1, 2, 3)))
CUSTOMERS = ("WEBSTORE", "C0001", "C0002")


@dataclass
class SimAccount(ControlHandle):
    api_base: str       # e.g. http://127.0.0.1:5001/tharstern
    login: str
    password: str

    provider_key = "tharstern"
    credential_field = "login"

    @property
    def credentials(self) -> dict:
        return {"login": self.login, "password": self.password, "application_id": "hub-tests",
                "base_url": self.api_base}

    @property
    def secrets(self) -> list[str]:
        return [self.password]

    def stats(self) -> dict:
        """No rate limit here; duplicates are counted from the stored order references."""
        raw = self._control("GET", "stats")
        numbers = self.order_numbers()
        return {"orders": raw["orders"], "duplicates": len(numbers) - len(set(numbers)),
                "rate_limited": 0, "requests": raw["requests"]}

    def orders(self) -> list[dict]:
        return self._control("GET", "orders")["orders"]

    def order_numbers(self) -> list[str]:
        return [str(o["Ref1"]) for o in self.orders()]

    def set_status(self, order_id, **payload) -> dict:
        return self._control("POST", "order_status", order_id=int(order_id), **payload)

    def set_product(self, code: str, **fields) -> dict:
        return self._control("POST", "products", code=code, **fields)

    def seed(self) -> None:
        """The tenant's products and customers exist from creation."""


def create_account(api_base: str, *, rate_limit: int = 40, window_seconds: float = 60.0, products=PRODUCTS,
                   customers=CUSTOMERS, zero_guid_on_failure: bool = True) -> SimAccount:
    login, password = f"api-{uuid.uuid4().hex[:10]}@tharstern.test", f"pw-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base.rstrip('/')}/_sim/accounts", json={
        "login": login, "password": password, "products": list(products), "customers": list(customers),
        "zero_guid_on_failure": zero_guid_on_failure}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), login, password)



# Entity settings every push needs (read by the provider-neutral suites): a stock item's code.
PUSH_SETTINGS = {"product": {"product_code": PRODUCTS[0]["Code"]},
                 "account": {"customer_code": "WEBSTORE", "product_codes": "BC-STD-350, POS-A2"}}
