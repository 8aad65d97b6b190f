"""VeraCore simulator state: API users (each its own tenant data), offers, orders, packages."""
from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "veracore"
DEFAULT_NAMESPACE = "http://omscom/"
# Status flags of OrdHead/Status, in the order the warehouse moves an order through them.
FLAGS = ("Unapproved", "Unprocessed", "Accepted", "Hold", "DeniedCredit", "Processed", "Pending", "Picked",
         "Backordered", "Shipped", "Canceled", "Complete")


@dataclass
class Order:
    order_id: str
    seq_id: int
    reference: str              # the caller's Header/ID, or ReferenceNumber when VeraCore assigned the id
    header: dict[str, str]
    ship_tos: list[dict[str, str]]
    offers: list[dict[str, Any]]
    entered: str
    flags: set[str] = field(default_factory=lambda: {"Unprocessed"})
    packages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Account(Tenant):
    password: str = ""
    namespace: str = DEFAULT_NAMESPACE
    caller_ids: bool = True      # the tenant accepts Header/ID from the caller
    system_id: str = "VC"        # REST Public API login
    token_seconds: float = 30 * 86400.0
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)

    @property
    def username(self) -> str:
        return self.credential


class VeraCoreState:
    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.tenants: Tenants[Account] = Tenants(rt, Account, secret_credential=False)  # the user names it
        self.tokens: dict[str, tuple[str, object]] = {}   # REST bearer token -> (username, expiry)
        for username, spec in (config.get("VERACORE_ACCOUNTS") or {}).items():
            spec = {"password": spec} if isinstance(spec, str) else dict(spec)
            self.add_account(username, **spec)

    def add_account(self, username: str, password: str, **options) -> Account:
        with self.lock:
            account = self.tenants.add(username, secrets=(password,), password=password,
                                       rate_limit=options.get("rate_limit"), window_seconds=options.get("window_seconds"))
            for name in ("namespace", "caller_ids", "system_id", "token_seconds"):
                if options.get(name) is not None:
                    setattr(account, name, type(getattr(account, name))(options[name]))
            for offer in options.get("offers") or []:
                self.add_offer(account, offer)
            return account

    @staticmethod
    def add_offer(account: Account, offer: Mapping[str, Any]) -> dict:
        record = {"ID": str(offer["ID"]), "Description": str(offer.get("Description") or offer["ID"]),
                  "DefaultPrice": str(offer.get("DefaultPrice", "0.00")), "Available": int(offer.get("Available", 1000)),
                  "Inactive": bool(offer.get("Inactive", False)), "Category": offer.get("Category")}
        account.offers[record["ID"]] = record
        return record

    def authenticate(self, username: str, password: str) -> Account | None:
        account = self.tenants.get(username)
        if account is None or not hmac.compare_digest(password.encode(), account.password.encode()):
            return None
        return account


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> VeraCoreState:
    return runtime().data
