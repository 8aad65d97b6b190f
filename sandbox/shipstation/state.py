"""ShipStation simulator state: accounts (key pairs), their separate data, time formats."""
from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import request

from ..base import SimRuntime, Tenant, Tenants, get_runtime, parse_iso_datetime

KEY = "shipstation"

DEFAULT_RATE_LIMIT = 40
DEFAULT_WINDOW_SECONDS = 60.0

# Distinct id ranges per kind, so an orderId passed where a shipmentId is expected fails.
ID_START = {
    "seller": 101, "store": 7_001, "tag": 11, "webhook": 8_001, "category": 6_001,
    "order": 1_000_001, "orderItem": 2_000_001, "shipment": 3_000_001, "batch": 4_000_001,
    "product": 5_000_001, "fulfillment": 9_000_001, "customer": 10_000_001,
}

_LOOKS_LIKE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]|$)")


# --------------------------------------------------------------------------- time formats

def format_ts(moment: datetime) -> str:
    """ShipStation V1 style: naive, 7 fractional digits (``2026-11-27T10:00:00.0000000``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0"


def parse_datetime(value: Any) -> datetime:
    """Accept ``yyyy-mm-dd hh:mm:ss``, ``yyyy-mm-dd`` and ISO-8601 (zones → naive UTC).

    Raises ValueError for anything else, including non-strings.
    """
    if not isinstance(value, str) or not _LOOKS_LIKE_DATE.match(value.strip()):
        raise ValueError("not a date-time string")
    return parse_iso_datetime(value)


def format_date(moment: date | datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def parse_date(value: Any) -> str:
    """A date-only value (``yyyy-mm-dd``); date-times are cut to their day."""
    return format_date(parse_datetime(value))


def now_ts() -> str:
    return format_ts(runtime().clock.now())


# --------------------------------------------------------------------------- accounts

@dataclass
class ShipmentRecord:
    data: dict[str, Any]          # API shape including shipmentItems
    batch_id: int
    store_id: int


@dataclass
class AccountData:
    """Everything one ShipStation account holds; key pairs never see each other's data."""

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    order_keys: dict[str, int] = field(default_factory=dict)
    shipments: dict[int, ShipmentRecord] = field(default_factory=dict)
    fulfillments: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    stores: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # webhook POST results


@dataclass
class Account(Tenant):
    api_secret: str = ""
    seller_id: int = 0
    data: AccountData = field(default_factory=AccountData)

    @property
    def api_key(self) -> str:
        return self.credential

    def public(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "rate_limit": self.rate_limit,
                "window_seconds": self.window_seconds, "seller_id": self.seller_id,
                "stores": [s["storeId"] for s in self.data.stores]}

    def default_store_id(self) -> int:
        return self.data.stores[0]["storeId"]

    def store(self, store_id: int) -> dict[str, Any] | None:
        return next((s for s in self.data.stores if s["storeId"] == store_id), None)


class ShipStationState:
    """All accounts of one simulator instance; guarded by the runtime's lock."""

    def __init__(self, rt: SimRuntime, config: Mapping[str, Any]):
        self.rt = rt
        self.lock = rt.lock
        self.default_limit = int(config.get("SHIPSTATION_RATE_LIMIT", DEFAULT_RATE_LIMIT))
        self.default_window = float(config.get("SHIPSTATION_RATE_WINDOW_SECONDS",
                                               DEFAULT_WINDOW_SECONDS))
        # Key pairs: the API key names the account in the recorder (as the bench filters by it).
        self.tenants: Tenants[Account] = Tenants(rt, Account, default_limit=self.default_limit,
                                                 default_window=self.default_window, secret_credential=False)
        self.empty_401_body = bool(config.get("SHIPSTATION_EMPTY_401_BODY", False))
        self.page_size_overflow = str(config.get("SHIPSTATION_PAGE_SIZE_OVERFLOW", "reject"))
        self.webhook_timeout = float(config.get("SHIPSTATION_WEBHOOK_TIMEOUT", 5.0))
        for api_key, value in (config.get("SHIPSTATION_ACCOUNTS") or {}).items():
            spec = {"api_secret": value} if isinstance(value, str) else dict(value)
            self.add_account(api_key, spec.get("api_secret") or spec.get("secret") or "",
                             rate_limit=spec.get("rate_limit"),
                             window_seconds=spec.get("window_seconds"),
                             stores=spec.get("stores"), tags=spec.get("tags"))

    def next_id(self, kind: str) -> int:
        return self.rt.ids.next(kind, ID_START[kind])

    def add_account(self, api_key: str, api_secret: str, *, rate_limit: int | None = None,
                    window_seconds: float | None = None, stores: list[str] | None = None,
                    tags: list[str] | None = None) -> tuple[Account, bool]:
        """Create or update a key pair; an existing account keeps its data."""
        with self.lock:
            created = self.tenants.get(api_key) is None
            extra = {"seller_id": self.next_id("seller")} if created else {}
            account = self.tenants.add(api_key, secrets=(api_secret,), rate_limit=rate_limit,
                                       window_seconds=window_seconds, api_secret=api_secret, **extra)
            if created:
                self.seed_account(account, stores, tags)
            return account, created

    def seed_account(self, account: Account, stores: list[str] | None = None,
                     tags: list[str] | None = None) -> None:
        """Give a fresh (or reset) account its stores and tags."""
        stamp = self.now()
        account.data = AccountData()
        for name in stores or ["Manual Orders"]:
            self.add_store(account, name, stamp)
        tag_specs = [(t, "#4A90D9") for t in tags] if tags else [
            ("Rush", "#FF0000"), ("Gift", "#00AA00")]
        for name, color in tag_specs:
            account.data.tags.append({"tagId": self.next_id("tag"), "name": name,
                                      "color": color})

    def now(self) -> str:
        """Current simulator time as a V1 timestamp (works without an app context)."""
        return format_ts(self.rt.clock.now())

    def add_store(self, account: Account, name: str, stamp: str | None = None) -> dict:
        stamp = stamp or self.now()
        manual = not account.data.stores
        store = {
            "storeId": self.next_id("store"), "storeName": name,
            "marketplaceId": 0 if manual else 10, "marketplaceName": (
                "ShipStation" if manual else "Custom Store"),
            "accountName": None, "email": None, "integrationUrl": None, "active": True,
            "companyName": "", "phone": "", "publicEmail": "", "website": "",
            "refreshDate": None, "lastRefreshAttempt": None, "createDate": stamp,
            "modifyDate": stamp, "autoRefresh": False,
        }
        account.data.stores.append(store)
        return store

    def authenticate(self) -> Account | None:
        """HTTP Basic: username = API key, password = API secret."""
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return None
        account = self.tenants.get(auth.username)
        if account is None:
            return None
        if not hmac.compare_digest((auth.password or "").encode(), account.api_secret.encode()):
            return None
        return account


def runtime() -> SimRuntime:
    return get_runtime(KEY)


def state() -> ShipStationState:
    return runtime().data
