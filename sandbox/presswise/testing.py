"""Test-side handle on a PressWise simulator login (contract: sandbox/shipstation/testing.py).
``PUSH_SETTINGS``: the site MISID every generic order needs at the hub."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import requests

from ..base.handle import ControlHandle

TIMEOUT = 10

PUSH_SETTINGS = {"site": {"mis_id": "1001"}}  # a customer the simulator knows


@dataclass
class SimAccount(ControlHandle):
    api_base: str
    user: str
    password: str
    code: str

    provider_key = "presswise"
    credential_field = "user"

    @property
    def credentials(self) -> dict:
        return {"username": self.user, "password": self.password, "auth_code": self.code,
                "base_url": f"{self.api_base}/r/wsdl-order2.php"}

    @property
    def secrets(self) -> list[str]:
        return [self.password, self.code]

    def orders(self) -> list[dict]:
        return self._control("GET", "orders")["orders"]

    def order_numbers(self) -> list[str]:
        """Our references (a split order's parts carry -S2, -S3… on the same reference)."""
        return [re.sub(r"-S\d+$", "", o["sourceOrderID"]) for o in self.orders()]

    def set_status(self, order_id: str, **changes) -> dict:
        return self._control("POST", "status", order_id=str(order_id), **changes)

    def seed(self) -> None:
        """PressWise has no catalogue the hub reads."""


def create_account(api_base: str, *, rate_limit: int = 600, window_seconds: float = 60.0) -> SimAccount:
    user, password, code = f"api-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}", uuid.uuid4().hex
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "user": user, "password": password, "code": code, "customers": [1001, 1002], "rate_limit": rate_limit,
        "window_seconds": window_seconds}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), user, password, code)
