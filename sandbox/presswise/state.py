"""PressWise simulator state: API logins (each its own shop, a tenant), customers, purchase orders."""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "presswise"


@dataclass
class Account(Tenant):
    password: str = ""
    code: str = ""
    customers: set[str] = field(default_factory=set)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)       # orderID -> purchase order
    users: list[dict[str, str]] = field(default_factory=list)

    @property
    def user(self) -> str:
        return self.credential


class PresswiseState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.auth_failure = str(config.get("PRESSWISE_AUTH_FAILURE", "status"))
        # The login name is not a secret (the recorder shows it); password and code are.
        self.tenants: Tenants[Account] = Tenants(rt, Account, default_limit=600, default_window=60.0,
                                                 secret_credential=False)
        for user, spec in (config.get("PRESSWISE_ACCOUNTS") or {}).items():
            self.add_account(user, **dict(spec))

    def add_account(self, user: str, password: str, code: str, customers=(), rate_limit=None,
                    window_seconds=None) -> Account:
        with self.lock:
            account = self.tenants.add(user, secrets=(password, code), rate_limit=rate_limit,
                                       window_seconds=window_seconds, password=password, code=code)
            account.customers |= {str(c) for c in customers}
            return account

    def authenticate(self, user: str, password: str, code: str) -> Account | None:
        account = self.tenants.get(user)
        if account is None:
            return None
        ok = hmac.compare_digest(password.encode(), account.password.encode())
        ok &= hmac.compare_digest(code.encode(), account.code.encode())
        return account if ok else None


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> PresswiseState:
    return runtime().data
