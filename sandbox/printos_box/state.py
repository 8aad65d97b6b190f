"""PrintOS Box simulator state: key pairs, each with its own folders and files."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "printos_box"
SUBSTRATES = ["Coated Gloss 150gsm", "Uncoated 120gsm", "Silk 350gsm"]
FLOWS = [{"name": "Standard"}, {"name": "Rush"}, {"name": "Proof first"}]


def new_id() -> str:
    return uuid.uuid4().hex[:24]


@dataclass
class Account(Tenant):
    secret: str = ""
    folders: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.credential


class BoxState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        limit = config.get("BOX_RATE_LIMIT")  # (limit, window_seconds) or None: Box documents no rate limit
        self.tenants: Tenants[Account] = Tenants(rt, Account, default_limit=int(limit[0]) if limit else None,
                                                 default_window=float(limit[1]) if limit else 60.0,
                                                 secret_credential=False)
        self.require_algorithm = bool(config.get("BOX_REQUIRE_ALGORITHM", False))
        self.auth_failure_status = int(config.get("BOX_AUTH_FAILURE_STATUS", 401))
        self.uploads: dict[str, bytes] = {}
        for key, secret in (config.get("BOX_ACCOUNTS") or {}).items():
            self.add_account(key, secret)

    def add_account(self, key: str, secret: str) -> Account:
        return self.tenants.add(key, secrets=(secret,), secret=secret)


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> BoxState:
    return runtime().data
