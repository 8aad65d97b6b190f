"""Test-side handle on a Midnight simulator tenant (contract: sandbox/shipstation/testing.py).
``PUSH_SETTINGS``: the settings a generic order needs at the hub (a known customer id on the
user, a default service on the account)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

from ..base.handle import ControlHandle

TIMEOUT = 10

PUSH_SETTINGS = {"account": {"default_service_id": "500"}, "site_user": {"external_id": "1001"}}


@dataclass
class SimAccount(ControlHandle):
    api_base: str
    token: str

    provider_key = "midnight"
    credential_field = "token"

    @property
    def credentials(self) -> dict:
        return {"dev_token": self.token, "base_url": f"{self.api_base}/Service1.asmx"}

    @property
    def secrets(self) -> list[str]:
        return [self.token]

    def orders(self) -> list[dict]:
        return self._control("GET", "orders")["orders"]

    def order_numbers(self) -> list[str]:
        return [o["OrderNumber"] if o["OrderNumber"] and not o["OrderNumber"].isdigit() else o["ProjectName"]
                for o in self.orders()]

    def progress(self, order_id: str, **changes) -> dict:
        return self._control("POST", "progress", order_id=str(order_id), **changes)

    def seed(self) -> None:
        """Midnight has no catalogue the hub reads; customers exist from the start."""


def create_account(api_base: str, *, rate_limit: int = 600, window_seconds: float = 60.0) -> SimAccount:
    token = f"tok-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base}/_sim/accounts", json={
        "token": token, "customers": [1001, 1002], "rate_limit": rate_limit, "window_seconds": window_seconds},
        timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), token)
