"""Caldera StreamLive — ASSUMED contract.

StreamLive has no public API (providers-part2.md §2.1); this client implements the proposed
minimal contract of §2.2 exactly. Proposed contract — confirm with the vendor; every point
below is an assumption, kept behind the ``dialect`` setting (only ``proposed-v1`` exists):

* JSON over HTTPS, header ``X-Api-Key`` (+ optional ``X-Account-Id``).
* ``POST /api/v1/orders`` {external_id, customer{code,name,email}, ship_to{…}, due_date,
  items[{external_item_id, product_code, quantity, width_mm?, height_mm?, files[{url,name}],
  preset?}]} → 201 {id, status}; a second POST with the same ``external_id`` → 409 with the
  existing id — our stable idempotency key is the external_id, so a re-push never creates a
  second order. An order has one ship_to: items shipping elsewhere go as further orders with
  external_id ``<key>|s2``, ``<key>|s3``… (our choice, not part of the proposal).
* ``GET /api/v1/orders/{id}`` → {id, external_id, status, items[{external_item_id, status,
  tracking{tracking_number, carrier}}]}; statuses received → queued → ripping → printing →
  finishing → shipped → completed, side states on_hold, error, cancelled.
* ``GET /api/v1/products`` / ``/categories`` paged with ``?page=&limit=`` and a
  ``caldera-total-results`` header.
* Webhook ``{"event": "order.status_changed", order_id, external_id, status, at}`` signed
  ``X-Signature: hex(hmac_sha256(secret, raw body))``; the order is read back on delivery.
* No rate limit is documented; we pace ourselves at 120 requests a minute.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Iterator

import requests

from ..auth import HeaderKey
from ..base import Capabilities, DemoAccount, Provider, RemoteCategory, RemoteProduct, WebhookAuthError, WebhookEnvelope
from ..context import ItemContext, ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderConfigError, ProviderResponseError
from ..fields import Field, schema
from ..http import ProviderHTTP, json_error_body
from ..ratelimit import RateLimit, SharedRateLimiter, with_margin

PAGE_SIZE = 100
MAX_PAGES = 1000


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """Proposed error body: {"error": "...", "fields": {name: [..]}}."""
    body, fallback = json_error_body(response)
    if body is None:
        return fallback, {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    return str(body.get("error") or body.get("message") or ""), {str(k): v for k, v in fields.items()}


def _text(value) -> str:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


class StreamLive(Provider):
    key = "streamlive"
    name = "Caldera StreamLive"
    description = ("Wide-format print jobs (Caldera RIP): each item goes as a print job with its file URL and "
                   "quantity; status comes back by polling and webhook. Proposed contract — confirm with the "
                   "vendor: StreamLive has no public API, so the X-Api-Key header, the /api/v1/orders, products "
                   "and categories endpoints and fields, the external_id idempotency (409), the status names and "
                   "the X-Signature HMAC-SHA256 webhook are all assumed (setting: Contract).")
    docs_url = "https://www.caldera.com/"
    default_base_url = "https://streamlive.example.com"
    capabilities = Capabilities(push_orders=True, idempotent_push=True, status_polling=True, status_webhook=True,
                                product_sync=True, category_sync=True, user_settings=True)
    credentials = schema(
        Field("base_url", "StreamLive URL", type="url", required=True,
              help="Assumed: the StreamLive API address given by Caldera."),
        Field("api_key", "API key", type="secret", required=True, max_length=200),
        Field("account_id", "Account id", max_length=100, help="Sent as X-Account-Id when set (assumed)."),
        Field("webhook_secret", "Webhook secret", type="secret", max_length=200,
              help="Shared with StreamLive; deliveries carry X-Signature = HMAC-SHA256 of the body."),
    )
    account_settings = schema(
        Field("dialect", "Contract", type="choice", default="proposed-v1",
              choices=(("proposed-v1", "Proposed minimal contract v1 (assumed)"),),
              help="Replace once Caldera hands over the real StreamLive specification."),
        Field("default_customer_code", "Default customer code", max_length=50,
              help="Used when the ordering user has no StreamLive customer code."),
        Field("lead_days", "Lead days without a requested date", type="int", min=0, max=365, default=5),
    )
    product_settings = schema(
        Field("product_code", "StreamLive product code", max_length=100,
              help="Empty: the product's Integration ID, else its SKU."),
        Field("preset", "Caldera preset", max_length=200),
        Field("width_mm", "Width (mm)", type="int", min=1, max=100000),
        Field("height_mm", "Height (mm)", type="int", min=1, max=100000),
    )
    user_settings = schema(
        Field("customer_code", "StreamLive customer code", max_length=50),
    )
    status_map = {
        "received": "Order Received", "queued": "Order Received",
        "ripping": "In Production", "printing": "In Production", "finishing": "In Production",
        "shipped": "Shipped", "completed": "Completed",
        "on_hold": "On Hold", "error": "On Hold", "cancelled": "Cancelled",
    }
    webhook_auth = "hmac"
    rate_limit = RateLimit(limit=120, window_seconds=60)

    def build_http(self) -> ProviderHTTP:
        creds = self.credentials_values
        extra = {"X-Account-Id": str(creds["account_id"])} if creds.get("account_id") else {}
        return ProviderHTTP(self.base_url, auth=HeaderKey("X-Api-Key", str(creds.get("api_key") or ""), extra),
                            secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
                            error_parser=parse_error)

    def limiter(self) -> SharedRateLimiter | None:
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", with_margin(self.rate_limit))

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # The simulator's built-in demo key (sandbox/streamlive/state.py).
        return DemoAccount(
            name="Caldera StreamLive (sandbox)", live_on=("promo-shop",),
            credentials={"base_url": simulator_url.rstrip("/"), "api_key": "demo-streamlive-key",
                         "webhook_secret": "demo-streamlive-hook"},
            settings={"dialect": "proposed-v1", "default_customer_code": "PROMO"})

    def test_connection(self) -> str:
        response = self.http.request("GET", "/api/v1/products", params={"page": 1, "limit": 1}, expect="raw")
        total = response.headers.get("caldera-total-results", "?")
        return f"Connected to StreamLive (assumed contract; {total} products)."

    # ---- push ---------------------------------------------------------------------
    def item_body(self, item: ItemContext) -> dict:
        settings = item.product_settings
        code = (settings.get("product_code") or item.product_integration_id or item.sku or "").strip()
        if not code:
            raise ProviderConfigError(f"Item {item.number}: no StreamLive product code (product setting, "
                                      f"Integration ID or SKU).")
        if not item.file_urls:
            raise ProviderConfigError(f"Item {item.number}: StreamLive needs a print file URL.")
        body = {"external_item_id": item.external_number, "product_code": code, "quantity": item.quantity,
                "files": [{"url": url, "name": url.rsplit("/", 1)[-1] or "file.pdf"} for url in item.file_urls]}
        for key in ("width_mm", "height_mm"):
            if settings.get(key):
                body[key] = int(settings[key])
        if settings.get("preset"):
            body["preset"] = settings["preset"]
        return body

    @staticmethod
    def shipments(ctx: OrderContext) -> list[tuple[str, list[ItemContext]]]:
        """An order has one ship_to: items going elsewhere become further orders, each with its
        own stable external_id (``<key>|s2``…), so a re-push still finds every one of them."""
        groups: dict[tuple, list[ItemContext]] = {}
        for item in ctx.items:
            groups.setdefault(item.ship_to.key(), []).append(item)
        return [(ctx.idempotency_key if n == 0 else f"{ctx.idempotency_key}|s{n + 1}", items)
                for n, items in enumerate(groups.values())]

    @staticmethod
    def push_key(external_id: str) -> str:
        return external_id.split("|s", 1)[0]

    def order_body(self, ctx: OrderContext, external_id: str, items: list[ItemContext]) -> dict:
        dates = [i.requested_ship_date for i in items if i.requested_ship_date]
        if dates:
            due = min(dates)
        else:
            try:
                tz = ZoneInfo(ctx.site_time_zone or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                tz = ZoneInfo("UTC")
            start = ctx.paid_at or ctx.placed_at or datetime.now(timezone.utc)
            start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
            due = start.astimezone(tz).date() + timedelta(days=int(self.settings.get("lead_days") or 5))
        customer = ctx.customer
        code = customer.settings.get("customer_code") or self.settings.get("default_customer_code") or customer.email
        to = items[0].ship_to
        return {
            "external_id": external_id,
            "customer": {"code": code, "name": " ".join(filter(None, [customer.first_name, customer.last_name]))
                         or customer.company or customer.email, "email": customer.email},
            "ship_to": {"name": to.name or to.company, "street1": to.street1, "street2": to.street2, "city": to.city,
                        "state": to.state, "postal_code": to.postal_code, "country": (to.country or "").upper()},
            "due_date": due.isoformat(),
            "items": [self.item_body(item) for item in items],
        }

    def push_order(self, ctx: OrderContext) -> PushResult:
        if not ctx.items:
            raise ProviderConfigError("The order has no item to send.")
        bodies = [(items, self.order_body(ctx, key, items)) for key, items in self.shipments(ctx)]  # refuse first
        order_ids, results, status = [], [], ""
        for items, body in bodies:
            # A 409 is the idempotent answer: the order with our external_id exists, its id is in the body.
            response = self.http.request("POST", "/api/v1/orders", json=body, expect="raw", ok_statuses=(409,))
            try:
                answer = response.json()
            except ValueError:
                answer = None
            order_id = _text(answer.get("id")) if isinstance(answer, dict) else ""
            if not order_id:
                raise ProviderResponseError(f"StreamLive answered HTTP {response.status_code} without the order id.")
            order = self.get_order(order_id)
            by_item = {_text(i.get("external_item_id")): i for i in order.get("items") or [] if isinstance(i, dict)}
            status = status or _text(order.get("status"))
            order_ids.append(order_id)
            results += [ItemPushResult(line_number=i.line_number, external_id=f"{order_id}:{i.external_number}",
                                       external_number=i.external_number, external_order_id=order_id,
                                       external_status=_text(by_item.get(i.external_number, {}).get("status"))
                                       or _text(order.get("status")))
                        for i in items]
        return PushResult(external_id=",".join(order_ids), external_number=ctx.external_number, items=results,
                          external_status=status)

    def get_order(self, order_id: str) -> dict:
        order = self.http.request("GET", f"/api/v1/orders/{order_id}")
        if not isinstance(order, dict) or not _text(order.get("id")):
            raise ProviderResponseError("StreamLive answered an order read without an id.")
        return order

    # ---- status -------------------------------------------------------------------
    def order_updates(self, order: dict, push_key: str) -> Iterator[StatusUpdate]:
        order_id = _text(order.get("id"))
        for item in order.get("items") or []:
            if not isinstance(item, dict) or not _text(item.get("external_item_id")):
                continue
            tracking = item.get("tracking") if isinstance(item.get("tracking"), dict) else {}
            shipment = None
            if _text(tracking.get("tracking_number")):
                shipment = Shipment(carrier=_text(tracking.get("carrier")),
                                    tracking_number=_text(tracking["tracking_number"]))
            yield StatusUpdate(push_key=push_key, external_status=_text(item.get("status")) or _text(order.get("status")),
                               external_order_id=order_id, item_numbers=[_text(item["external_item_id"])],
                               shipment=shipment)

    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        for ref in refs:
            for order_id in filter(None, (ref.external_id or "").split(",")):
                yield from self.order_updates(self.get_order(order_id), ref.idempotency_key)

    def verify_webhook(self, headers: dict, body: bytes, secret: str) -> None:
        key = str(self.credentials_values.get("webhook_secret") or "")
        if not key:
            raise WebhookAuthError("no webhook secret is configured for this account")
        given = next((str(v) for k, v in headers.items() if str(k).lower() == "x-signature"), "").strip().lower()
        wanted = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        if not given or not hmac.compare_digest(given.encode(), wanted.encode()):
            raise WebhookAuthError("signature missing or wrong")

    def parse_webhook(self, headers: dict, body: bytes) -> WebhookEnvelope:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("body is not a JSON object")
        if data.get("event") != "order.status_changed":
            raise ValueError(f"unknown event {str(data.get('event'))[:50]!r}")
        order_id, external_id = _text(data.get("order_id")), _text(data.get("external_id"))
        if not order_id or not external_id or len(order_id) > 100 or len(external_id) > 200:
            raise ValueError("order_id / external_id missing")
        key = "|".join([order_id, _text(data.get("status")), _text(data.get("at"))])
        return WebhookEnvelope(dedupe_key=hashlib.sha256(key.encode()).hexdigest(), event_type="order.status_changed")

    def process_webhook(self, payload: bytes) -> Iterator[StatusUpdate]:
        data = json.loads(payload)
        order = self.get_order(_text(data.get("order_id")))
        yield from self.order_updates(order, self.push_key(_text(data.get("external_id"))))

    # ---- catalogue ----------------------------------------------------------------
    def _pages(self, path: str) -> Iterator[dict]:
        page = 1
        while True:
            response = self.http.request("GET", path, params={"page": page, "limit": PAGE_SIZE}, expect="raw")
            try:
                rows = response.json()
            except ValueError:
                raise ProviderResponseError(f"StreamLive {path} did not answer JSON.") from None
            if not isinstance(rows, list):
                raise ProviderResponseError(f"StreamLive {path} did not answer a list.")
            yield from (r for r in rows if isinstance(r, dict))
            try:
                total = int(response.headers.get("caldera-total-results", "0"))
            except ValueError:
                total = 0
            if not rows or page * PAGE_SIZE >= total:
                return
            if page >= MAX_PAGES:
                raise ProviderResponseError(f"StreamLive {path} announced {total} results; stopped after {page} pages.")
            page += 1

    def iter_categories(self) -> Iterator[RemoteCategory]:
        for row in self._pages("/api/v1/categories"):
            if _text(row.get("code")):
                yield RemoteCategory(external_id=_text(row["code"]), name=_text(row.get("name")) or _text(row["code"]),
                                     data={"code": row["code"]})

    def iter_products(self) -> Iterator[RemoteProduct]:
        names = {c.external_id: c.name for c in self.iter_categories()}
        for row in self._pages("/api/v1/products"):
            code = _text(row.get("code"))
            if not code:
                continue
            category = _text(row.get("category"))
            yield RemoteProduct(external_id=code, sku=code[:100], name=(_text(row.get("name")) or code)[:300],
                                active=row.get("active") is not False,
                                category=RemoteCategory(category, names.get(category, category)) if category else None,
                                data={k: row.get(k) for k in ("code", "name", "category", "active")})


PROVIDER = StreamLive
