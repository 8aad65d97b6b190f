"""PressWise simulator state: API logins (each its own shop), customers, purchase orders."""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, get_runtime

KEY = "presswise"


@dataclass
class Account:
    user: str
    password: str
    code: str
    customers: set[str] = field(default_factory=set)
    rate_limit: int = 600
    window_seconds: float = 60.0
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)       # orderID -> purchase order
    users: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    deduplicated: int = 0


class PresswiseState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.auth_failure = str(config.get("PRESSWISE_AUTH_FAILURE", "status"))
        self.accounts: dict[str, Account] = {}
        for user, spec in (config.get("PRESSWISE_ACCOUNTS") or {}).items():
            self.add_account(user, **dict(spec))

    def add_account(self, user: str, password: str, code: str, customers=(), rate_limit=None,
                    window_seconds=None) -> Account:
        with self.lock:
            account = self.accounts.get(user) or Account(user, password, code)
            self.accounts[user] = account
            account.password, account.code = password, code
            account.customers |= {str(c) for c in customers}
            if rate_limit is not None:
                account.rate_limit = int(rate_limit)
            if window_seconds is not None:
                account.window_seconds = float(window_seconds)
            return account

    def authenticate(self, user: str, password: str, code: str) -> Account | None:
        account = self.accounts.get(user)
        if account is None:
            return None
        ok = hmac.compare_digest(password.encode(), account.password.encode())
        ok &= hmac.compare_digest(code.encode(), account.code.encode())
        return account if ok else None


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> PresswiseState:
    return runtime().data
