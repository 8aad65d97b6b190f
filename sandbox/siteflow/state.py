"""Site Flow simulator state: accounts (access key + secret), their orders, SKUs and triggers."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "siteflow"
DEFAULT_RATE_LIMIT = 3000
DEFAULT_WINDOW_SECONDS = 60.0
DEMO_SKUS = ("LH-A4", "COMP-DL", "BC-STD", "ENV-DL", "NCR-2P", "NCR-3P", "PERMIT", "LEAFLET-A5", "LEAFLET-DL",
             "POSTER-A3", "POSTER-A1", "SIGN-CORREX", "BANNER-3X1", "FLAG-28", "BC-100", "FLY-A5")
STATUSES = ("pending", "dataready", "printready", "complete", "shipped", "cancelled", "error")


def new_id() -> str:
    return uuid.uuid4().hex[:24]  # Mongo-style 24-hex ids, as Site Flow's _id


@dataclass
class Trigger:
    url: str
    headers: dict[str, str]
    template: str
    events: list[str]
    method: str = "POST"


@dataclass
class Account(Tenant):
    secret: str = ""
    destinations: list[str] = field(default_factory=list)
    skus: dict[str, dict] = field(default_factory=dict)
    name: str = ""
    orders: dict[str, dict] = field(default_factory=dict)
    by_source: dict[str, str] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    submission_errors: list[dict] = field(default_factory=list)

    @property
    def token(self) -> str:
        return self.credential


class SiteFlowState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        # The access token names the account in the recorder; the secret never appears.
        self.tenants: Tenants[Account] = Tenants(
            rt, Account, default_limit=int(config.get("SITEFLOW_RATE_LIMIT", DEFAULT_RATE_LIMIT)),
            default_window=float(config.get("SITEFLOW_RATE_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS)),
            secret_credential=False)
        self.files: dict[str, bytes] = {}  # pre-signed upload targets (getpreupload)
        self.sha256_only = bool(config.get("SITEFLOW_SHA256_ONLY", False))
        self.max_skew = config.get("SITEFLOW_MAX_CLOCK_SKEW_SECONDS")  # None: no freshness check (undocumented)
        self.webhook_timeout = float(config.get("SITEFLOW_TRIGGER_TIMEOUT", 5.0))
        for token, spec in (config.get("SITEFLOW_ACCOUNTS") or {}).items():
            self.add_account(token, **spec)

    def add_account(self, token: str, secret: str, destinations=None, skus=None, rate_limit=None,
                    window_seconds=None, name: str = "") -> Account:
        with self.lock:
            fields: dict[str, Any] = {"secret": secret}
            if destinations or self.tenants.get(token) is None:
                fields["destinations"] = list(destinations or ["demo-psp"])
            if self.tenants.get(token) is None:
                fields["name"] = name or token
            account = self.tenants.add(token, secrets=(secret,), rate_limit=rate_limit or None,
                                       window_seconds=window_seconds or None, **fields)
            for sku in skus if skus is not None else DEMO_SKUS:
                code = sku if isinstance(sku, str) else sku["code"]
                account.skus[code] = {"_id": new_id(), "code": code, "productCode": f"P-{code}",
                                      "description": f"{code} (simulated)", "components": ["Content", "Cover", "Text"]}
            return account


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> SiteFlowState:
    return runtime().data
