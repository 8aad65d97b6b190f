"""Midnight simulator state: one record per DevToken (a tenant), its customers and orders."""
from __future__ import annotations

import hmac
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, get_runtime

KEY = "midnight"
_labels = itertools.count(1)


@dataclass
class Account:
    token: str
    label: str
    customers: set[str] = field(default_factory=set)
    rate_limit: int = 600
    window_seconds: float = 60.0
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)   # OrderId -> order
    attachments: list[dict[str, Any]] = field(default_factory=list)
    djb_updates: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0


class MidnightState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.auth_failure = str(config.get("MIDNIGHT_AUTH_FAILURE", "result"))
        self.accounts: dict[str, Account] = {}
        for token, spec in (config.get("MIDNIGHT_ACCOUNTS") or {}).items():
            self.add_account(token, **dict(spec or {}))

    def add_account(self, token: str, customers=(), rate_limit=None, window_seconds=None) -> Account:
        with self.lock:
            account = self.accounts.get(token) or Account(token, f"tenant-{next(_labels)}")
            self.accounts[token] = account
            account.customers |= {str(c) for c in customers}
            if rate_limit is not None:
                account.rate_limit = int(rate_limit)
            if window_seconds is not None:
                account.window_seconds = float(window_seconds)
            return account

    def authenticate(self, token: str) -> Account | None:
        for known, account in list(self.accounts.items()):
            if token and hmac.compare_digest(token.encode(), known.encode()):
                return account
        return None


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> MidnightState:
    return runtime().data
