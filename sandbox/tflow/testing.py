"""Test-side handle on a tFLOW simulator API user (see sandbox/shipstation/testing.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests

TIMEOUT = 10


@dataclass
class SimAccount:
    api_base: str       # e.g. http://127.0.0.1:5001/tflow
    client_id: str
    client_secret: str
    webhook_key: str

    provider_key = "tflow"

    @property
    def credentials(self) -> dict:
        return {"base_url": self.api_base, "client_id": self.client_id, "client_secret": self.client_secret,
                "webhook_key": self.webhook_key}

    @property
    def secrets(self) -> list[str]:
        return [self.client_secret, self.webhook_key]

    def control(self, method: str, path: str, **payload):
        response = requests.request(method, f"{self.api_base}/_sim/{path}", params={"client_id": self.client_id},
                                    json={"client_id": self.client_id, **payload}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self.control("GET", "stats")
        return {"orders": raw["orders"], "duplicates": raw["duplicate_orders"] + raw["duplicate_jobs"],
                "rate_limited": raw["rate_limited"], "requests": raw["requests"]}

    def orders(self) -> list[dict]:
        return self.control("GET", "orders")

    def order_numbers(self) -> list[str]:
        return [o["name"] for o in self.orders()]

    def advance(self, job_id, **payload) -> dict:
        return self.control("POST", f"jobs/{job_id}/advance", **payload)

    def ship(self, external_id: str) -> dict:
        """Every job of the order through proof, approval, release, printing to shipped."""
        [order] = [o for o in self.orders() if str(o["id"]) == str(external_id).split(",")[0]]
        for job in order["jobs"]:
            for transition in ("checks_ok", "approve", "release"):
                self.advance(job["id"], transition=transition)
            self.advance(job["id"], state="printing")
            self.advance(job["id"], state="shipped", tracking_number=f"1Z{job['id']:08d}", carrier="UPS")
        return {"jobs": len(order["jobs"])}

    def seed(self) -> None:
        self.control("POST", "products", names=["Seeded product A", "Seeded product B"])


def create_account(api_base: str, *, rate_limit: int = 60, window_seconds: float = 60.0,
                   token_ttl: float | None = None) -> SimAccount:
    client_id, secret = f"tf-{uuid.uuid4().hex[:12]}", f"tfsecret-{uuid.uuid4().hex}"
    payload = {"client_id": client_id, "client_secret": secret, "rate_limit": rate_limit,
               "window_seconds": window_seconds}
    if token_ttl is not None:
        payload["token_ttl"] = token_ttl
    response = requests.post(f"{api_base}/_sim/clients", json=payload, timeout=TIMEOUT)
    response.raise_for_status()
    return SimAccount(api_base.rstrip("/"), client_id, secret, f"hook-{uuid.uuid4().hex}")


# What every push needs besides credentials (provider-neutral suites apply it to their items):
# a tFLOW product known to every simulator instance and a workflow.
PUSH_SETTINGS = {"product": {"tflow_product": "Print-ready PDF", "tflow_workflow": "2"}}
