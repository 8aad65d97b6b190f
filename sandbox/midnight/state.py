"""Midnight simulator state: one tenant per DevToken, its customers and orders."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "midnight"


@dataclass
class Account(Tenant):
    customers: set[str] = field(default_factory=set)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)   # OrderId -> order
    attachments: list[dict[str, Any]] = field(default_factory=list)
    djb_updates: list[dict[str, str]] = field(default_factory=list)


class MidnightState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.auth_failure = str(config.get("MIDNIGHT_AUTH_FAILURE", "result"))
        self.tenants: Tenants[Account] = Tenants(rt, Account, default_limit=600, default_window=60.0)
        for token, spec in (config.get("MIDNIGHT_ACCOUNTS") or {}).items():
            self.add_account(token, **dict(spec or {}))

    def add_account(self, token: str, customers=(), rate_limit=None, window_seconds=None) -> Account:
        with self.lock:
            account = self.tenants.add(token, rate_limit=rate_limit, window_seconds=window_seconds)
            account.customers |= {str(c) for c in customers}
            return account


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> MidnightState:
    return runtime().data
