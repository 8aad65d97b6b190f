"""StreamLive simulator state: one isolated account per API key."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from ..base import SimRuntime, Tenant, Tenants, dispatch, get_runtime

KEY = "streamlive"
DEMO_KEY = "demo-streamlive-key"
FLOW = ("received", "queued", "ripping", "printing", "finishing", "shipped", "completed")
SIDE = ("on_hold", "error", "cancelled")
DEMO_CATEGORIES = [("WIDE", "Wide format"), ("RIGID", "Rigid boards"), ("TEXTILE", "Textiles")]
DEMO_PRODUCTS = [("BANNER-13OZ", "PVC banner 13 oz", "WIDE"), ("MESH-BANNER", "Mesh banner", "WIDE"),
                 ("FOAMEX-5", "Foamex 5 mm", "RIGID"), ("ACM-3", "Aluminium composite 3 mm", "RIGID"),
                 ("FLAG-110", "Flag fabric 110 g", "TEXTILE"), ("TSHIRT-DTF", "T-shirt DTF transfer", "TEXTILE")]


@dataclass
class Account(Tenant):
    account_id: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    orders: dict[str, dict] = field(default_factory=dict)
    products: list[dict] = field(default_factory=list)
    categories: list[dict] = field(default_factory=list)

    @property
    def api_key(self) -> str:
        return self.credential


class StreamLiveState:
    def __init__(self, rt: SimRuntime, config: dict):
        if config.get("STREAMLIVE_DIALECT", "proposed-v1") != "proposed-v1":
            raise RuntimeError("STREAMLIVE_DIALECT: only the proposed-v1 contract is simulated")
        self.rt, self.lock = rt, rt.lock
        self.hook_timeout = float(config.get("STREAMLIVE_WEBHOOK_TIMEOUT", 5.0))
        # The recorder has always shown the API key as the tenant (it is redacted from headers and bodies).
        self.tenants: Tenants[Account] = Tenants(
            rt, Account, default_limit=int(config.get("STREAMLIVE_RATE_LIMIT", 120)),
            default_window=float(config.get("STREAMLIVE_RATE_WINDOW_SECONDS", 60)), secret_credential=False)
        for key, options in (config.get("STREAMLIVE_KEYS") or {}).items():
            account = self.add(key, **(options or {}))
            account.categories = [{"code": c, "name": n} for c, n in DEMO_CATEGORIES]
            account.products = [{"code": c, "name": n, "category": cat, "active": True} for c, n, cat in DEMO_PRODUCTS]

    def add(self, api_key: str, rate_limit=None, window_seconds=None, **options) -> Account:
        return self.tenants.add(api_key, secrets=(api_key, options.get("webhook_secret", "")), rate_limit=rate_limit,
                                window_seconds=window_seconds, **options)

    def deliver(self, account: Account, order: dict) -> None:
        """Signed webhook (proposed): called outside the lock."""
        if not account.webhook_url:
            return
        body = json.dumps({"event": "order.status_changed", "order_id": order["id"],
                           "external_id": order["external_id"], "status": order["status"],
                           "at": self.rt.clock.now().isoformat() + "Z"}).encode()
        secret = account.webhook_secret.encode()
        dispatch(account.webhook_url, body, timeout=self.hook_timeout, log=account.deliveries, keep_body=True,
                 sign=lambda data: {"X-Signature": hmac.new(secret, data, hashlib.sha256).hexdigest()},
                 info={"order_id": order["id"]})


def state() -> StreamLiveState:
    return get_runtime(KEY).data
