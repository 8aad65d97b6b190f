"""Plain data handed to providers for a push. Built by ``webapp.embedded`` from the models,
so provider code never sees the ORM, the session or Flask."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from datetime import date, datetime
from decimal import Decimal


@dataclass
class Address:
    name: str = ""
    company: str = ""
    street1: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def from_dict(cls, data: dict | None) -> "Address":
        data = data or {}
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})

    def key(self) -> tuple:
        return tuple(getattr(self, k).strip().lower() for k in self.__dataclass_fields__)


@dataclass
class ShippingMethodContext:
    name: str
    carrier: str = ""
    is_integrated: bool = False
    integration_id: str = ""
    settings: dict = field(default_factory=dict)  # this account's per-method settings


@dataclass
class ItemContext:
    line_number: int
    number: str                 # storefront item number, e.g. W-1001-2
    external_number: str        # item number unique in the external system
    sku: str
    name: str                   # the item name on the order
    product_name: str | None    # the catalogue product's name, when the SKU matched one
    product_integration_id: str
    quantity: int
    unit_price: Decimal
    ship_to: Address
    shipping_method: ShippingMethodContext | None
    requested_ship_date: date | None
    file_urls: list[str] = field(default_factory=list)
    product_settings: dict = field(default_factory=dict)  # this account's per-product settings
    status: str = ""
    files: list = field(default_factory=list)   # files.FileRef: url, name, content_type, role (front/back…)


@dataclass
class CustomerContext:
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    phone: str = ""
    settings: dict = field(default_factory=dict)  # this account's per-user settings (External ID…)
    known: bool = False                            # a site user record exists


@dataclass
class OrderContext:
    order_id: int
    number: str                 # storefront order number
    external_number: str        # order number unique in the external system
    idempotency_key: str        # stable across retries of this push
    site_slug: str
    site_name: str
    site_integration_id: str
    site_mis_id: str
    site_settings: dict         # this account's site-level settings
    placed_at: datetime
    paid_at: datetime | None
    currency: str
    po_number: str
    notes: str
    billing: Address
    customer: CustomerContext
    items: list[ItemContext]    # only the items that are pushed (no denied / cancelled)
    subtotal: Decimal | None = None
    shipping_total: Decimal | None = None
    tax_total: Decimal | None = None
    total: Decimal | None = None
    existing_external_id: str | None = None   # known from an earlier push of this order
    site_time_zone: str = "UTC"               # IANA name of the site's zone (due dates)
    # Multi-call pushes: what earlier attempts already created (read it first) and how to
    # record a new remote id the moment it exists (committed at once, survives a crash).
    checkpoint: dict = field(default_factory=dict)
    save_checkpoint: Callable[[str, Any], None] | None = field(default=None, repr=False, compare=False)

    def remember(self, key: str, value: Any) -> None:
        """Record a remote id (e.g. ``"folder_id"``, ``"job:3"``) before making the next call."""
        self.checkpoint[key] = value
        if self.save_checkpoint is not None:
            self.save_checkpoint(key, value)


@dataclass
class ItemPushResult:
    line_number: int
    external_id: str
    external_number: str
    external_status: str = ""
    external_order_id: str = ""


@dataclass
class PushRef:
    """What the hub knows of a pushed order, for status look-ups."""

    push_id: int
    idempotency_key: str
    reference: str
    external_id: str | None
    pushed_at: "datetime | None"
    item_numbers: list[str] = field(default_factory=list)


@dataclass
class Shipment:
    carrier: str = ""
    service: str = ""
    tracking_number: str = ""
    ship_date: "date | None" = None


@dataclass
class StatusUpdate:
    """The provider's view of (part of) a pushed order. ``item_numbers`` / ``item_external_ids``
    empty = every item of ``external_order_id`` (or of the whole push when that is empty too)."""

    push_key: str                      # the idempotency key of our push ("" when the provider only knows its ids)
    external_status: str
    external_order_id: str = ""
    item_numbers: list[str] = field(default_factory=list)
    shipment: Shipment | None = None
    # Matching by the provider's own ids (a callback that carries no key of ours): the id
    # stored on the push (PushResult.external_id) and those stored on item pushes
    # (ItemPushResult.external_id: a job, a line).
    external_id: str = ""
    item_external_ids: list[str] = field(default_factory=list)


@dataclass
class PushResult:
    external_id: str
    external_number: str
    items: list[ItemPushResult] = field(default_factory=list)
    external_status: str = ""
    data: dict = field(default_factory=dict)
