"""Test-side handle on a PrintOS Box simulator account (contract: sandbox/shipstation/testing.py).
Box has no orders: ``order_numbers()`` lists folder names (our order references)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10


@dataclass
class SimAccount:
    api_base: str       # e.g. http://127.0.0.1:5001/box
    key: str
    secret: str

    provider_key = "printos_box"

    @property
    def credentials(self) -> dict:
        return {"key": self.key, "secret": self.secret, "server": "custom", "base_url": self.api_base}

    @property
    def secrets(self) -> list[str]:
        return [self.secret]

    def raw_stats(self) -> dict:
        response = requests.get(f"{self.api_base}/_sim/stats", params={"key": self.key}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self.raw_stats()
        return {"orders": raw["folders"], "duplicates": raw["duplicates"], "rate_limited": raw["rate_limited"],
                "requests": raw["requests"]}

    def order_numbers(self) -> list[str]:
        return self.raw_stats()["folder_names"]

    def seed(self) -> None:
        """Substrates and flows are built in."""

    def advance_folder(self, folder_id: str, **fields) -> dict:
        response = requests.post(f"{self.api_base}/_sim/folders/{folder_id}/advance", json=fields, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()


def create_account(api_base: str, *, rate_limit: int = 100_000, window_seconds: float = 60.0) -> SimAccount:
    """``rate_limit`` is accepted for the shared contract but Box documents none: the simulator
    enforces one only with ``BOX_RATE_LIMIT`` (the hub still paces itself by its own limiter)."""
    key, secret = f"key-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
    response = requests.post(f"{api_base}/_sim/accounts", json={"key": key, "secret": secret}, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), key, secret)
