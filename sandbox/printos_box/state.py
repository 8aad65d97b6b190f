"""PrintOS Box simulator state: key pairs, each with its own folders and files."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, get_runtime

KEY = "printos_box"
SUBSTRATES = ["Coated Gloss 150gsm", "Uncoated 120gsm", "Silk 350gsm"]
FLOWS = [{"name": "Standard"}, {"name": "Rush"}, {"name": "Proof first"}]


def new_id() -> str:
    return uuid.uuid4().hex[:24]


@dataclass
class Account:
    key: str
    secret: str
    rate_limit: int | None = None      # Box documents no rate limit: none unless configured
    window_seconds: float = 60.0
    folders: dict[str, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    requests: int = 0
    rate_limited: int = 0


class BoxState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.accounts: dict[str, Account] = {}
        self.require_algorithm = bool(config.get("BOX_REQUIRE_ALGORITHM", False))
        self.auth_failure_status = int(config.get("BOX_AUTH_FAILURE_STATUS", 401))
        self.uploads: dict[str, bytes] = {}
        self.rate_limit = config.get("BOX_RATE_LIMIT")  # (limit, window_seconds) or None

        for key, secret in (config.get("BOX_ACCOUNTS") or {}).items():
            self.add_account(key, secret)

    def add_account(self, key: str, secret: str) -> Account:
        with self.lock:
            account = self.accounts.get(key)
            if account is None:
                account = self.accounts[key] = Account(key, secret)
            account.secret = secret
            if self.rate_limit:
                account.rate_limit, account.window_seconds = int(self.rate_limit[0]), float(self.rate_limit[1])
            self.rt.limiter.reset(key)
            return account


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> BoxState:
    return runtime().data
