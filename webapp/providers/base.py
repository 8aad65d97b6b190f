"""The Provider contract. A provider module declares, once, what it supports and the
settings it needs; everything else (forms, validation, masking, catalogue, contract tests)
is generated from that declaration. Providers never touch Flask, the session or another
provider: use-cases in ``webapp.embedded`` give them plain data and store what they return.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable, Iterator

from .errors import ProviderError, ProviderNotSupported
from .fields import Field, Schema, schema
from .http import ProviderHTTP
from .ratelimit import RateLimit, SharedRateLimiter
from .requirements import CoreRequirement, core_problems

if TYPE_CHECKING:
    from .context import OrderContext, PushRef, PushResult, StatusUpdate

# How a provider's webhooks can be trusted (declared per provider).
# "key_hash": a plain digest of a shared key joined to the body (tFLOW's proposed sha1(key + body)).
WEBHOOK_AUTH = ("none", "resource_url", "static_token", "hmac", "key_hash")
ENTITY_SCHEMAS = {
    "site": "site_settings",
    "product": "product_settings",
    "category": "category_settings",
    "site_user": "user_settings",
    "shipping_method": "shipping_method_settings",
}
# What pushing an order a second time does at the provider (declared per provider, shown in
# the catalogue so an admin knows what the Push Order button will do to a pushed order).
REPUSH_POLICIES = {
    "update": "A re-push updates the order already at the provider (no duplicate).",
    "noop": "A re-push is answered \"already received\"; nothing changes at the provider.",
    "refuse": "The provider refuses a re-push; its reason is shown on the order.",
}

# Account settings the framework adds to every provider that needs them (declared once here,
# so the form, the CLI and the catalogue show them like the provider's own).
_OUR_STATUSES = "Order Received|In Production|Ready to Ship|Shipped|Completed|On Hold|Cancelled"
STATUS_POLL_FIELDS = (
    Field("status_poll_minutes", "Refresh order status every (minutes)", type="int", default=15, min=0, max=1440,
          help="Automatic status refresh of this account's pushed orders; 0 turns it off."),
    Field("status_poll_max_age_days", "Refresh orders pushed in the last (days)", type="int", default=30,
          min=1, max=365, help="Older orders (and completed or cancelled ones) are left alone."),
)
STATUS_MAP_FIELD = Field(
    "status_map_override", "Status vocabulary for this account", type="text", max_length=4000,
    # one line at a time, never ambiguous across lines (no catastrophic backtracking on 4000 chars)
    regex=rf"(?i)(?:[ \t]*(?:[^=\r\n]+=[ \t]*(?:{_OUR_STATUSES})[ \t]*)?(?:\r?\n|$))*",
    help="One per line, \"provider status = our status\" (e.g. \"Proofing = On Hold\"); our statuses: "
         + _OUR_STATUSES.replace("|", ", ") + ". Added to, and overriding, the provider's usual meanings.")


def parse_status_lines(text: str | None) -> dict[str, str]:
    """The status_map_override setting as {provider status (lower-cased): our status}."""
    canonical = {name.lower(): name for name in _OUR_STATUSES.split("|")}
    mapping = {}
    for line in (text or "").splitlines():
        remote, sep, ours = line.partition("=")
        if sep and remote.strip() and ours.strip().lower() in canonical:
            mapping[remote.strip().lower()] = canonical[ours.strip().lower()]
    return mapping


@dataclass(frozen=True)
class Capabilities:
    push_orders: bool = False
    bulk_push: bool = False
    # How a re-sent push avoids a second external order (a push_orders provider declares one):
    # the provider upserts on our idempotency key, or we can look the order up (find_order).
    idempotent_push: bool = False
    order_lookup: bool = False
    status_webhook: bool = False
    status_polling: bool = False
    product_sync: bool = False
    category_sync: bool = False
    user_settings: bool = False
    shipping_method_mapping: bool = False
    webhook_subscribe: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def promised_operations(self) -> set[str]:
        """The Provider methods these capabilities promise (see CAPABILITY_OPERATIONS)."""
        return {op for cap, ops in CAPABILITY_OPERATIONS.items() if getattr(self, cap) for op in ops}

    @property
    def sync_items(self) -> list[str]:
        """What a Synchronize run can do with this provider."""
        items = []
        if self.push_orders:
            items.append("orders")
        if self.status_polling:
            items.append("status")
        if self.product_sync:
            items.append("products")
        if self.category_sync:
            items.append("categories")
        return items


# Capability -> the Provider methods a use-case calls when it is declared. The contract tests
# check both ways: a declared capability has its methods, an implemented method its capability.
CAPABILITY_OPERATIONS: dict[str, tuple[str, ...]] = {
    "push_orders": ("push_order",),
    "bulk_push": ("push_orders_bulk",),
    "order_lookup": ("find_order",),
    "status_polling": ("fetch_status_updates",),
    "status_webhook": ("parse_webhook", "process_webhook"),
    "webhook_subscribe": ("subscribe_webhook",),
    "product_sync": ("iter_products",),
    "category_sync": ("iter_categories",),
}


@dataclass
class RemoteProduct:
    external_id: str
    sku: str
    name: str
    price: str | None = None
    active: bool = True
    description: str = ""
    category: "RemoteCategory | None" = None
    data: dict = field(default_factory=dict)
    # The provider's change stamp (a modify date or version) when it has one: an unchanged
    # stamp means an unchanged record, so a re-sync skips it without hashing. None: the
    # sync compares a hash of the record instead.
    stamp: str | None = None


@dataclass
class RemoteCategory:
    external_id: str
    name: str
    parent_external_id: str | None = None
    data: dict = field(default_factory=dict)


@dataclass
class CatalogPage:
    """One page of a remote list, and where reading resumes after it (None: it was the last).
    A cursor is plain JSON: a sync stores it in its run and resumes there after a pause."""

    records: list
    next_cursor: dict | None
    total: int | None = None  # records in the whole list, when the provider says

    # What a re-sync compares before building anything: (external id, change stamp) of each
    # record, in order; ``build`` returns the records at the given positions. A page built
    # eagerly answers from its records; ``LazyCatalogPage`` builds only what is asked for.
    def keys(self) -> list[tuple[str, str | None]]:
        return [(r.external_id, getattr(r, "stamp", None)) for r in self.records]

    def build(self, positions: Iterable[int]) -> list:
        return [self.records[n] for n in positions]

    @property
    def size(self) -> int:
        return len(self.records)


class LazyCatalogPage(CatalogPage):
    """A page kept as the provider's raw records: ``key(raw)`` gives (external id, stamp), or
    None for a record the provider would skip; ``make(raw)`` builds the record. An unchanged
    record of a re-sync is never built (no record, data dict or category object)."""

    def __init__(self, raw: list, key, make, next_cursor: dict | None, total: int | None = None):
        self.next_cursor, self.total, self._make, self._built = next_cursor, total, make, None
        pairs = [(k, r) for r in raw if (k := key(r)) is not None]
        self._keys, self._raw = [k for k, _ in pairs], [r for _, r in pairs]

    @property
    def records(self) -> list:
        if self._built is None:
            self._built = [self._make(r) for r in self._raw]
        return self._built

    def keys(self) -> list[tuple[str, str | None]]:
        return self._keys

    def build(self, positions: Iterable[int]) -> list:
        if self._built is not None:
            return [self._built[n] for n in positions]
        return [self._make(self._raw[n]) for n in positions]

    @property
    def size(self) -> int:
        return len(self._keys)


@dataclass
class DemoAccount:
    """What `make run` wires for a provider against its sandbox simulator (demo only).
    Entity settings are keyed by natural keys of the demo seed: site slug, product SKU (on
    every demo site that has it), user e-mail, shipping-method name."""

    name: str
    credentials: dict
    settings: dict = field(default_factory=dict)
    live_on: tuple[str, ...] = ()                     # site slugs: enabled + live
    enabled_on: tuple[str, ...] = ()                  # site slugs: enabled, not live
    site_settings: dict[str, dict] = field(default_factory=dict)
    product_settings: dict[str, dict] = field(default_factory=dict)
    user_settings: dict[str, dict] = field(default_factory=dict)
    shipping_method_settings: dict[str, dict] = field(default_factory=dict)
    subscribe_webhook: bool = False


class WebhookAuthError(Exception):
    pass


WEBHOOK_SCHEMES = {
    "none": "No verification: keep the address private.",
    "resource_url": "The secret token in the address identifies this account; the notification is fetched back "
                    "from the provider.",
    "static_token": "The provider sends a fixed token in a request header; paste the header below.",
    "hmac": "The provider signs each notification with a shared secret.",
    "key_hash": "The provider sends a digest of a shared key joined to the body; the hub recomputes it.",
}


@dataclass
class WebhookSetup:
    """What an admin pastes into the provider's dashboard, shown on the account page."""

    scheme: str                                   # a key of WEBHOOK_SCHEMES (the provider's webhook_auth)
    url: str
    header_name: str = ""                         # static_token: the header and its value
    header_value: str = ""
    template: str = ""                            # a body template the provider fills in (Site Flow triggers)
    steps: str = ""                               # where to paste it, in the provider's words

    @property
    def explanation(self) -> str:
        return WEBHOOK_SCHEMES.get(self.scheme, "")


def static_header_token(secret: str) -> str:
    """The header token of a static_token webhook, derived from the account's webhook secret
    (so the URL alone does not reveal it); verify_webhook recomputes it the same way."""
    return hmac.new(secret.encode(), b"static-header-token", hashlib.sha256).hexdigest()[:40]


@dataclass
class WebhookEnvelope:
    dedupe_key: str      # the same notification delivered twice has the same key
    event_type: str


class Provider:
    key: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    docs_url: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    credentials: ClassVar[Schema] = schema()
    account_settings: ClassVar[Schema] = schema()
    site_settings: ClassVar[Schema] = schema()
    product_settings: ClassVar[Schema] = schema()
    category_settings: ClassVar[Schema] = schema()
    user_settings: ClassVar[Schema] = schema()
    shipping_method_settings: ClassVar[Schema] = schema()
    # Provider status (lower-cased) -> our item status name (webapp.models.orders.ITEM_STATUSES).
    status_map: ClassVar[dict[str, str]] = {}
    webhook_auth: ClassVar[str] = "none"
    core_requirements: ClassVar[tuple[CoreRequirement, ...]] = ()   # storefront values the provider needs
    repush: ClassVar[str] = "update"       # a key of REPUSH_POLICIES
    repush_note: ClassVar[str] = ""        # the provider's specifics, e.g. the duplicate-order message
    rate_limit: ClassVar[RateLimit | None] = None
    # bulk_push: the most pushes one push_orders_bulk call is handed when queued pushes are
    # sent together (push.py coalescing); the provider's own request size.
    bulk_push_size: ClassVar[int] = 100
    # Shown on the order tab next to the external status (e.g. a provider that reports none).
    status_note: ClassVar[str] = ""
    timeout: ClassVar[tuple[float, float]] = (5.0, 30.0)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Framework settings every provider of a kind gets: automatic status polling, and
        # a per-account status vocabulary where statuses come back at all.
        caps, extra = cls.capabilities, []
        if caps.status_polling:
            extra += STATUS_POLL_FIELDS
        if caps.status_polling or caps.status_webhook:
            extra.append(STATUS_MAP_FIELD)
        own = set(cls.account_settings.names())
        if any(f.name not in own for f in extra):
            cls.account_settings = schema(*cls.account_settings, *(f for f in extra if f.name not in own))

    def __init__(self, credentials: dict, settings: dict | None = None, *, redis=None, account_id=None,
                 timeout: tuple[float, float] | None = None):
        self.credentials_values = dict(credentials or {})
        self.settings = dict(settings or {})
        self.redis = redis
        self.account_id = account_id
        if timeout is not None:
            self.timeout = timeout
        self._http: ProviderHTTP | None = None

    # ---- construction -------------------------------------------------------------
    @classmethod
    def for_account(cls, account, redis=None) -> "Provider":
        from flask import current_app

        if redis is None:
            from ..queue import get_redis
            redis = get_redis()
        config = current_app.config
        timeout = (min(cls.timeout[0], config["PROVIDER_CONNECT_TIMEOUT"]),
                   min(cls.timeout[1], config["PROVIDER_READ_TIMEOUT"]))
        client = cls(account.credentials, account.settings, redis=redis, account_id=account.id, timeout=timeout)
        override = (config.get("PROVIDER_RATE_LIMITS") or {}).get(cls.key)
        if override:  # install-level PROVIDER_RATE_LIMITS='{"<key>": [limit, window_seconds]}'
            client.rate_limit = RateLimit(limit=int(override[0]), window_seconds=float(override[1]))
        return client

    @classmethod
    def schema_for(cls, entity: str) -> Schema:
        return getattr(cls, ENTITY_SCHEMAS[entity])

    @classmethod
    def describe(cls) -> dict:
        return {
            "key": cls.key, "name": cls.name, "description": cls.description, "docs_url": cls.docs_url,
            "default_base_url": cls.default_base_url, "capabilities": cls.capabilities.as_dict(),
            "webhook_auth": cls.webhook_auth,
            "repush": cls.repush, "repush_text": " ".join(filter(None, [REPUSH_POLICIES.get(cls.repush, ""),
                                                                       cls.repush_note])),
            "rate_limit": asdict(cls.rate_limit) if cls.rate_limit else None,
            "credentials": cls.credentials.describe(), "account_settings": cls.account_settings.describe(),
            **{entity: cls.schema_for(entity).describe() for entity in ENTITY_SCHEMAS},
            "status_map": cls.status_map, "status_note": cls.status_note,
            "core_requirements": [r.describe() for r in cls.core_requirements],
        }

    @property
    def base_url(self) -> str:
        return self.credentials_values.get("base_url") or self.default_base_url

    def secrets(self) -> list[str]:
        return [str(self.credentials_values[name]) for name in self.credentials.secret_names
                if self.credentials_values.get(name)]

    def credential_fingerprint(self) -> str:
        """Identifies the credential set (not the account): two accounts sharing a key share a limit."""
        identity = "|".join(f"{k}={self.credentials_values.get(k)}" for k in sorted(self.credentials.names()))
        return hashlib.sha256(f"{self.key}|{identity}".encode()).hexdigest()[:24]

    @property
    def http(self) -> ProviderHTTP:
        if self._http is None:
            self._http = self.build_http()
            if self.redis is not None:  # a client built for the hub (not a bare one in a script)
                from ..ops.counters import record_provider_http

                self._http.observer = lambda status, ms: record_provider_http(self.key, status, ms)
        return self._http

    def limiter(self) -> SharedRateLimiter | None:
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", self.rate_limit)

    def build_http(self, **options) -> ProviderHTTP:
        """Subclasses call ``super().build_http(auth=..., error_parser=..., rate_limit_observer=...)``:
        secrets, the shared limiter, timeouts and the ``check_response`` hook come from here."""
        options.setdefault("response_check", self.check_response)
        return ProviderHTTP(self.base_url, secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
                            **options)

    def check_response(self, response) -> None:
        """Failures inside a successful HTTP answer (SOAP fault, cXML Status, an error code or
        result flag in the body): raise ``errors.in_body("auth" | "rejected" | "transient",
        the provider's own words)``. Runs on every answer before its status code is read, so
        a SOAP fault in a 500 is classified by its content (``soap.check_fault``)."""

    @property
    def exchanges(self):
        return self._http.exchanges if self._http else []

    @classmethod
    def missing_settings(cls, ctx) -> list[str]:
        """Required per-entity settings this push lacks (e.g. a user's External ID), in words
        an admin can act on. A required yes/no setting must be ticked."""
        def missing(field, values) -> bool:
            value = (values or {}).get(field.name)
            return value is not True if field.type == "bool" else value in (None, "")

        problems = [f"Site {ctx.site_name}: {f.label} is required by {cls.name} (site Embedded Services tab)."
                    for f in cls.site_settings if f.required and missing(f, ctx.site_settings)]
        for f in cls.user_settings:
            if f.required and missing(f, ctx.customer.settings):
                need = "must be ticked" if f.type == "bool" else "is required"
                problems.append(f"Customer {ctx.customer.email}: {f.label} {need} on the user's Embedded Services tab.")
        for item in ctx.items:
            problems += [f"Item {item.number}: {f.label} is required on the product's Embedded Services tab."
                         for f in cls.product_settings if f.required and missing(f, item.product_settings)]
            if item.shipping_method is not None:
                problems += [f"Item {item.number}: shipping method {item.shipping_method.name!r} needs {f.label}."
                             for f in cls.shipping_method_settings
                             if f.required and missing(f, item.shipping_method.settings)]
        return problems + core_problems(cls, ctx)

    @classmethod
    def demo_account(cls, simulator_url: str) -> "DemoAccount | None":
        """The demo account against this provider's simulator, served at ``simulator_url`` with the
        provider's real paths (``http://127.0.0.1:5002``; Box's ends in ``/box`` like its gateway URL)."""
        return None

    # ---- operations ---------------------------------------------------------------------
    # Every method a use-case calls, declared here. A provider overrides what its capabilities
    # promise (CAPABILITY_OPERATIONS); the rest answer ProviderNotSupported, never AttributeError.
    def _unsupported(self, operation: str):
        raise ProviderNotSupported(self.name, operation)

    @classmethod
    def implemented_operations(cls) -> set[str]:
        """Operation methods this provider overrides (the contract tests compare them with the
        capabilities)."""
        operations = {op for ops in CAPABILITY_OPERATIONS.values() for op in ops}
        return {op for op in operations if getattr(cls, op) is not getattr(Provider, op)}

    def test_connection(self) -> str:
        """Make the cheapest authenticated call; return a short success message or raise a
        ProviderError. Every provider implements it."""
        self._unsupported("test_connection")

    # push_orders
    def push_order(self, ctx: "OrderContext") -> "PushResult":
        """Create (or, with the same ``ctx.idempotency_key``, update) the order at the provider."""
        self._unsupported("push_order")

    # bulk_push
    def push_orders_bulk(self, contexts: list["OrderContext"]) -> list["PushResult | ProviderError"]:
        """Push several orders in as few requests as the provider allows: one PushResult or
        ProviderError per context, in order. Raise a ProviderError when the whole request failed."""
        self._unsupported("push_orders_bulk")

    # order_lookup
    def find_order(self, ctx: "OrderContext") -> "PushResult | None":
        """The order an earlier, ambiguous attempt may have created (by our reference), or None.
        Called before re-sending a push whose last attempt timed out (providers without an
        idempotency key)."""
        self._unsupported("find_order")

    @classmethod
    def map_status(cls, remote_status: str | None, settings: dict | None = None) -> str | None:
        """Our item status for the provider's; an account's status_map_override wins."""
        if not remote_status:
            return None
        key = str(remote_status).strip().lower()
        override = parse_status_lines((settings or {}).get("status_map_override"))
        return override.get(key) or cls.status_map.get(key)

    # status_polling
    def fetch_status_updates(self, refs: Iterable["PushRef"]) -> Iterator["StatusUpdate"]:
        """StatusUpdate objects for the given pushed orders."""
        self._unsupported("fetch_status_updates")

    # ---- webhooks (status_webhook providers) -------------------------------------------
    def verify_webhook(self, headers: dict, body: bytes, secret: str) -> None:
        """Raise WebhookAuthError unless the request is authentic. ``secret`` is the account's
        unguessable webhook token (already matched by the URL). The default accepts: enough for
        webhook_auth "resource_url" (authenticity comes from fetching the resource with our
        credentials); "static_token" and "hmac" providers override it."""

    @classmethod
    def webhook_setup(cls, url: str, secret: str) -> "WebhookSetup | None":
        """The setup to show for this account's webhook address (``url`` holds ``secret``).
        Providers with a header token or a body template override it."""
        if not (cls.capabilities.status_webhook or cls.webhook_auth != "none"):
            return None
        return WebhookSetup(scheme=cls.webhook_auth, url=url)

    @classmethod
    def webhook_reply(cls, status: int, message: str) -> tuple[str, str]:
        """Body and content type of our answer to a webhook, in the format the provider
        expects (JSON unless it says otherwise)."""
        import json
        return json.dumps({"status": message}), "application/json"

    def parse_webhook(self, headers: dict, body: bytes) -> "WebhookEnvelope":
        """Validate the body; raise ValueError with the reason when it is malformed."""
        self._unsupported("parse_webhook")

    def process_webhook(self, payload: bytes) -> Iterator["StatusUpdate"]:
        """StatusUpdate objects for a stored webhook event (may call the provider)."""
        self._unsupported("process_webhook")

    # webhook_subscribe
    def subscribe_webhook(self, target_url: str) -> dict:
        """Register ``target_url`` at the provider; return what to show (hook ids)."""
        self._unsupported("subscribe_webhook")

    # product_sync / category_sync
    def iter_products(self) -> Iterator[RemoteProduct]:
        self._unsupported("iter_products")

    def iter_categories(self) -> Iterator[RemoteCategory]:
        self._unsupported("iter_categories")

    # A provider without a category list (its categories are read off its products) says so:
    # a products + categories run then reads the product list once.
    categories_from_products: ClassVar[bool] = False
    PAGE_RECORDS: ClassVar[int] = 500

    def product_pages(self, cursor: dict | None = None) -> Iterator[CatalogPage]:
        """Products page by page from ``cursor``. This default counts records already read
        (they are read again and skipped on resume); a provider with real paging overrides it."""
        skip = int((cursor or {}).get("offset", 0))
        page, read = [], 0
        for product in self.iter_products():
            read += 1
            if read <= skip:
                continue
            page.append(product)
            if len(page) >= self.PAGE_RECORDS:
                yield CatalogPage(page, {"offset": read})
                page = []
        yield CatalogPage(page, None)

    def category_pages(self, cursor: dict | None = None) -> Iterator[CatalogPage]:
        """Category lists are small: one page (so parents can be handled before children)."""
        yield CatalogPage(list(self.iter_categories()), None)
