"""ShipStation (API V1, https://ssapi.shipstation.com).

HTTP Basic with API Key / API Secret; 40 requests per minute per key pair, announced in
X-Rate-Limit-* headers; `POST /orders/createorder` upserts on `orderKey`, which makes a
push idempotent; SHIP_NOTIFY webhooks are unsigned and thin (only a `resource_url`, which
is fetched with the account's own credentials, only from the configured API host or, while
that is ShipStation's, another https *.shipstation.com host: the reference's allow-list).
"""
from __future__ import annotations

import hashlib
import math
import re
from datetime import date, timedelta
from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import HTTPBasicAuth

from ..base import (CatalogPage, Capabilities, DemoAccount, LazyCatalogPage, Provider, RemoteCategory, RemoteProduct,
                    WebhookEnvelope)
from ..context import ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from ..http import ProviderHTTP
from ... import jsonsafe
from ..ratelimit import RateLimit
from .. import urlguard
from . import mapping

TIME_ZONES = (
    ("America/Los_Angeles", "US Pacific (ShipStation default)"), ("America/Denver", "US Mountain"),
    ("America/Chicago", "US Central"), ("America/New_York", "US Eastern"), ("UTC", "UTC"),
    ("Europe/London", "UK"), ("Europe/Berlin", "Central Europe"), ("Australia/Sydney", "Australia East"),
)
ORDER_STATUSES = ("awaiting_payment", "awaiting_shipment", "pending_fulfillment", "shipped", "on_hold",
                  "cancelled", "rejected_fulfillment")
PAGE_SIZE = 500
BULK_SIZE = 100  # createorders accepts at most 100 orders
MAX_PAGES = 2000  # 1M records: a "pages" count beyond this is a broken answer, not a big account


def _count(value, default: int = 1) -> int:
    """A page number/count from an answer, whatever its JSON type (never raises)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return int(number) if math.isfinite(number) else default


def _key(value) -> str | None:
    """A lookup key (orderKey, lineItemKey) from an answer: text or nothing."""
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """V1 errors: ASP.NET {"Message", "ModelState"} or the newer {"message"}; maybe no JSON at all."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return (text[:300] if text and not text.lstrip().startswith("<") else f"HTTP {response.status_code}"), {}
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}", {}
    message = body.get("Message") or body.get("message") or body.get("ExceptionMessage") or ""
    model_state = body.get("ModelState") or {}
    if not isinstance(model_state, dict):
        model_state = {}
    return str(message), {str(k): v for k, v in model_state.items()}


def rate_limit_pause(response: requests.Response) -> float | None:
    """Seconds every worker should wait: the window is spent (Remaining 0) or we got a 429."""
    remaining = response.headers.get("X-Rate-Limit-Remaining")
    reset = response.headers.get("X-Rate-Limit-Reset")
    try:
        if response.status_code == 429 or (remaining is not None and int(remaining) <= 0):
            seconds = float(reset) if reset is not None else 60.0
            return min(3600.0, max(1.0, seconds)) if math.isfinite(seconds) else 60.0
    except (ValueError, OverflowError):
        return None
    return None


def window_reset(response: requests.Response) -> float | None:
    """``X-Rate-Limit-Reset`` of any answer: whole seconds until the current window resets."""
    try:
        seconds = float(response.headers.get("X-Rate-Limit-Reset", "nan"))
    except (TypeError, ValueError):
        return None
    return min(3600.0, max(0.0, seconds)) if math.isfinite(seconds) else None


class ShipStation(Provider):
    key = "shipstation"
    name = "ShipStation"
    description = "Shipping: orders go to ShipStation for labels; shipments and tracking come back."
    docs_url = "https://docs.shipstation.com/apis/shipstation-v1"
    default_base_url = "https://ssapi.shipstation.com"
    capabilities = Capabilities(
        push_orders=True, bulk_push=True, idempotent_push=True, status_webhook=True, status_polling=True, product_sync=True,
        category_sync=True, shipping_method_mapping=True, webhook_subscribe=True,
    )
    credentials = schema(
        Field("api_key", "API Key", required=True, max_length=100, regex=r"[A-Za-z0-9_\-]+",
              help="ShipStation → Settings → Account → API Settings."),
        Field("api_secret", "API Secret", type="secret", required=True, max_length=100),
        Field("base_url", "API URL", type="url", default=default_base_url,
              help="Leave as is unless ShipStation support gives you another address."),
    )
    account_settings = schema(
        Field("store_id", "Store ID", type="int", min=1, picker="store_choices",
              help="ShipStation store new orders go to; empty uses the account's first manual store."),
        Field("default_product_sku", "Default Product (SKU)", max_length=100,
              help="Used for items whose product is not linked to a ShipStation product."),
        Field("product_name_source", "Product name", type="choice", default="product_name",
              choices=(("product_name", "Product Name"), ("item_name", "Item Name"))),
        Field("time_zone", "Default time zone", type="choice", default="America/Los_Angeles", choices=TIME_ZONES,
              help="How dates sent to and returned by ShipStation are interpreted."),
        Field("order_status", "Status of new orders", type="choice", default="awaiting_shipment",
              choices=(("awaiting_shipment", "Awaiting Shipment"), ("on_hold", "On Hold"))),
    )
    site_settings = schema(
        Field("store_id", "Store ID for this site", type="int", min=1, picker="store_choices",
              help="Overrides the account's store for this site's orders."),
    )
    product_settings = schema(
        Field("shipstation_sku", "Linked ShipStation product (SKU)", max_length=100,
              help="Items of this product are sent with this ShipStation SKU."),
        Field("shipstation_product_id", "ShipStation product ID", type="int", min=1),
    )
    shipping_method_settings = schema(
        Field("service", "ShipStation service", max_length=100, regex=r"[a-z0-9_]+(:[a-z0-9_]+)?",
              help="carrier_code:service_code, e.g. ups:ups_ground. Empty uses the method's Integration ID."),
    )
    status_map = {
        "shipped": "Shipped",
        "cancelled": "Cancelled",
        "on_hold": "On Hold",
        "rejected_fulfillment": "On Hold",
    }
    webhook_auth = "resource_url"
    rate_limit = RateLimit(limit=40, window_seconds=60)
    bulk_push_size = BULK_SIZE

    def build_http(self) -> ProviderHTTP:
        creds = self.credentials_values
        http = ProviderHTTP(
            self.base_url, auth=HTTPBasicAuth(creds.get("api_key", ""), creds.get("api_secret", "")),
            secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
            error_parser=parse_error, rate_limit_observer=rate_limit_pause, window_reset=window_reset,
        )
        # resource_urls name numbered hosts (ssapi11.shipstation.com): followed only over https
        # while the account itself talks to ShipStation, never for a custom API URL.
        http.sent_url_family = ("shipstation.com",)
        return http

    # ---- connection ---------------------------------------------------------------
    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # "demo-key"/"demo-secret" is the simulator's built-in demo key pair.
        return DemoAccount(name="ShipStation (sandbox)", live_on=("northwind-b2b", "city-council"),
                           credentials={"api_key": "demo-key", "api_secret": "demo-secret",
                                        "base_url": simulator_url.rstrip("/")},
                           settings={"product_name_source": "product_name"}, subscribe_webhook=True)

    def test_connection(self) -> str:
        stores = self.http.request("GET", "/stores")
        if not isinstance(stores, list):
            raise ProviderResponseError("ShipStation answered /stores with something that is not a list.")
        return f"Connected to ShipStation ({len(stores)} store{'s' if len(stores) != 1 else ''})."

    def store_choices(self) -> list[tuple[str, str]]:
        """The account's active stores (the Store ID pickers; going live checks the id is one)."""
        stores = self.http.request("GET", "/stores")
        return [(str(s["storeId"]), str(s.get("storeName") or s["storeId"])) for s in stores or []
                if isinstance(s, dict) and s.get("storeId") is not None]

    # ---- push ---------------------------------------------------------------------
    def build_payloads(self, ctx: OrderContext):
        return mapping.build_orders(ctx, self.settings, ctx.site_settings)

    def push_order(self, ctx: OrderContext) -> PushResult:
        """createorder per shipment group; orderKey makes every retry an update, never a duplicate."""
        ids, numbers, items = [], [], []
        for group_items, payload in self.build_payloads(ctx):
            stored = self.http.request("POST", "/orders/createorder", json=payload)
            if not isinstance(stored, dict) or "orderId" not in stored:
                raise ProviderResponseError("ShipStation did not return the stored order.")
            ids.append(str(stored["orderId"]))
            numbers.append(str(stored.get("orderNumber") or payload["orderNumber"]))
            remote_items = stored.get("items") if isinstance(stored.get("items"), list) else []
            by_key = {_key(i.get("lineItemKey")): i for i in remote_items if isinstance(i, dict)}
            for item in group_items:
                remote = by_key.get(item.external_number, {})
                items.append(ItemPushResult(
                    line_number=item.line_number,
                    external_id=str(remote.get("orderItemId") or stored["orderId"]),
                    external_number=item.external_number,
                    external_status=str(stored.get("orderStatus") or ""),
                    external_order_id=str(stored["orderId"]),
                ))
        return PushResult(external_id=",".join(ids), external_number=",".join(numbers), items=items,
                          external_status=items[0].external_status if items else "")

    def push_orders_bulk(self, contexts: list[OrderContext]) -> list:
        """createorders, ≤100 orders per request; one PushResult or ProviderError per context."""
        outcomes: list = [None] * len(contexts)
        payloads: list[tuple[int, list, dict]] = []  # (context index, group items, payload)
        for index, ctx in enumerate(contexts):
            try:
                payloads.extend((index, items, payload) for items, payload in self.build_payloads(ctx))
            except ProviderError as exc:
                outcomes[index] = exc
        partial: dict[int, PushResult] = {}
        for start in range(0, len(payloads), BULK_SIZE):
            chunk = payloads[start:start + BULK_SIZE]
            body = self.http.request("POST", "/orders/createorders", json=[p for _, _, p in chunk])
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise ProviderResponseError("ShipStation createorders answered without a results list.")
            by_key = {_key(r.get("orderKey")): r for r in results if isinstance(r, dict)}
            for index, items, payload in chunk:
                result = by_key.get(payload["orderKey"])
                if outcomes[index] is not None:
                    continue
                if not result or not result.get("success"):
                    message = (result or {}).get("errorMessage") or "ShipStation did not report this order."
                    outcomes[index] = ProviderRejected(str(message))
                    continue
                order_id = str(result.get("orderId"))
                merged = partial.setdefault(index, PushResult(external_id="", external_number=""))
                merged.external_id = ",".join(filter(None, [merged.external_id, order_id]))
                merged.external_number = ",".join(filter(None, [merged.external_number,
                                                                str(result.get("orderNumber") or payload["orderNumber"])]))
                merged.external_status = payload["orderStatus"]
                merged.items.extend(ItemPushResult(line_number=i.line_number, external_id=order_id,
                                                   external_number=i.external_number,
                                                   external_status=payload["orderStatus"], external_order_id=order_id)
                                    for i in items)
        for index, merged in partial.items():
            if outcomes[index] is None:
                outcomes[index] = merged
        return outcomes

    # ---- status -------------------------------------------------------------------
    @staticmethod
    def push_key(order_key: str | None) -> str:
        """Our idempotency key from an orderKey (split shipments carry a |sN suffix)."""
        return re.sub(r"\|s\d+$", "", _key(order_key) or "")

    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        """Two paged list queries for all orders at once — never one call per order: orders
        modified since the oldest push, then their (non-voided) shipments with tracking."""
        keys = {ref.idempotency_key for ref in refs}
        pushed = [ref.pushed_at for ref in refs if ref.pushed_at]
        if not keys or not pushed:
            return
        since = min(pushed) - timedelta(days=1)
        tz_name = self.settings.get("time_zone") or "America/Los_Angeles"
        for order in self._pages("/orders", "orders", {"modifyDateStart": mapping.ss_datetime(since, tz_name),
                                                      "sortBy": "ModifyDate", "sortDir": "ASC"}):
            key = self.push_key(order.get("orderKey"))
            if key in keys:
                yield StatusUpdate(push_key=key, external_status=str(order.get("orderStatus") or ""),
                                   external_order_id=str(order.get("orderId") or ""))
        yield from self.shipment_updates(self._pages("/shipments", "shipments", {
            "shipDateStart": mapping.ss_datetime(since, tz_name)[:10], "includeShipmentItems": "true"}), keys)

    def shipment_updates(self, shipments, keys: set[str] | None = None) -> Iterator[StatusUpdate]:
        for shipment in shipments:
            if not isinstance(shipment, dict) or shipment.get("voided"):
                continue  # a voided label is not a valid tracking number
            key = self.push_key(shipment.get("orderKey"))
            if keys is not None and key not in keys:
                continue
            items = shipment.get("shipmentItems") if isinstance(shipment.get("shipmentItems"), list) else []
            ship_date = None
            try:
                ship_date = date.fromisoformat(str(shipment.get("shipDate") or "")[:10])
            except ValueError:
                pass
            yield StatusUpdate(
                push_key=key, external_status="shipped", external_order_id=str(shipment.get("orderId") or ""),
                item_numbers=[str(i.get("lineItemKey")) for i in items if isinstance(i, dict) and i.get("lineItemKey")],
                shipment=Shipment(carrier=str(shipment.get("carrierCode") or ""),
                                  service=str(shipment.get("serviceCode") or ""),
                                  tracking_number=str(shipment.get("trackingNumber") or ""), ship_date=ship_date),
            )

    # ---- catalogue ----------------------------------------------------------------
    def _page(self, path: str, collection: str, params: dict | None, page: int) -> tuple[list[dict], int, int | None]:
        """One page: its records, the page count announced and the total (when given)."""
        body = self.http.request("GET", path, params={**(params or {}), "page": page, "pageSize": PAGE_SIZE})
        if not isinstance(body, dict) or not isinstance(body.get(collection), list):
            raise ProviderResponseError(f"ShipStation {path} answered without a {collection!r} list.")
        total = body.get("total")
        self.last_total = total
        records = [record for record in body[collection] if isinstance(record, dict)]
        pages = _count(body.get("pages"))
        if page < pages and page >= MAX_PAGES:
            raise ProviderResponseError(f"ShipStation {path} announced {pages} pages; stopped after {page}.")
        return records, (pages if body[collection] else page), _count(total, 0) if total is not None else None

    def _pages(self, path: str, collection: str, params: dict | None = None) -> Iterator[dict]:
        page = 1
        while True:
            records, pages, _ = self._page(path, collection, params, page)
            yield from records
            if page >= pages:
                return
            page += 1

    def list_products(self, limit: int = 200) -> list[dict]:
        """A short list for mapping screens (SKU + name)."""
        out = []
        for product in self._pages("/products", "products"):
            out.append({"productId": product.get("productId"), "sku": product.get("sku"), "name": product.get("name")})
            if len(out) >= limit:
                break
        return out

    @staticmethod
    def _category(product: dict) -> RemoteCategory | None:
        category = product.get("productCategory")
        if isinstance(category, list):  # one typed client declares an array; tolerate it
            category = category[0] if category else None
        if not isinstance(category, dict) or category.get("categoryId") in (None, ""):
            return None
        return RemoteCategory(external_id=str(category["categoryId"]), name=str(category.get("name") or "Unnamed"),
                              data={"categoryId": category["categoryId"]})

    @staticmethod
    def _product_key(p: dict) -> tuple[str, str | None] | None:
        """(external id, change stamp) without building the record; None: not a product."""
        if p.get("productId") is None or not p.get("sku"):
            return None
        return str(p["productId"]), str(p["modifyDate"])[:100] if p.get("modifyDate") else None

    def _remote_product(self, p: dict) -> RemoteProduct | None:
        if p.get("productId") is None or not p.get("sku"):
            return None
        return RemoteProduct(
            external_id=str(p["productId"]), sku=str(p["sku"])[:100], name=str(p.get("name") or p["sku"])[:300],
            price=None if p.get("price") is None else str(p["price"]), active=bool(p.get("active", True)),
            description=str(p.get("internalNotes") or ""), category=self._category(p),
            data={k: p.get(k) for k in ("productId", "sku", "name", "price", "active", "modifyDate",
                                        "fulfillmentSku", "warehouseLocation")},
            stamp=str(p["modifyDate"])[:100] if p.get("modifyDate") else None,
        )

    PRODUCT_QUERY = {"showInactive": "true", "sortBy": "CreateDate"}  # a stable order across pages

    def iter_products(self) -> Iterator[RemoteProduct]:
        for page in self.product_pages():
            yield from page.records

    def product_pages(self, cursor: dict | None = None) -> Iterator[CatalogPage]:
        """The real pages; the cursor is the next page number."""
        page = int((cursor or {}).get("page", 1))
        while True:
            records, pages, total = self._page("/products", "products", self.PRODUCT_QUERY, page)
            # Records are built on demand: a re-sync builds only those whose stamp moved.
            yield LazyCatalogPage(records, self._product_key, self._remote_product,
                                  {"page": page + 1} if page < pages else None, total)
            if page >= pages:
                return
            page += 1

    # V1 has no category list: categories are de-duplicated from products' productCategory.
    categories_from_products = True

    def iter_categories(self) -> Iterator[RemoteCategory]:
        seen = set()
        for product in self.iter_products():
            if product.category and product.category.external_id not in seen:
                seen.add(product.category.external_id)
                yield product.category

    # ---- webhooks -----------------------------------------------------------------
    WEBHOOK_EVENTS = ("SHIP_NOTIFY", "ITEM_SHIP_NOTIFY")

    def parse_webhook(self, headers: dict, body: bytes) -> WebhookEnvelope:
        """V1 notifications are thin and unsigned: {resource_url, resource_type}. Authenticity
        comes from the secret URL token and from fetching resource_url with our credentials."""
        try:
            data = jsonsafe.loads(body)
        except ValueError as exc:
            raise ValueError(f"body is not JSON ({str(exc)[:80]})") from None
        if not isinstance(data, dict):
            raise ValueError("body is not a JSON object")
        url, kind = data.get("resource_url"), data.get("resource_type")
        if not isinstance(url, str) or not url or len(url) > 2000:
            raise ValueError("resource_url is missing or not a string")
        if kind not in self.WEBHOOK_EVENTS + ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY", "FULFILLMENT_SHIPPED",
                                             "FULFILLMENT_REJECTED"):
            raise ValueError(f"unknown resource_type {kind!r}")
        if not self.allowed_resource_host(url):
            raise ValueError("resource_url does not point at ShipStation")
        return WebhookEnvelope(dedupe_key=hashlib.sha256(f"{kind}|{url}".encode()).hexdigest(), event_type=kind)

    def process_webhook(self, payload: bytes) -> Iterator[StatusUpdate]:
        data = jsonsafe.loads(payload)
        if data.get("resource_type") not in self.WEBHOOK_EVENTS:
            return  # order imports and fulfilment notices carry no shipment of ours
        url = data["resource_url"]
        fetched = 0
        while url:
            body = self.fetch_resource(url)
            shipments = body.get("shipments") if isinstance(body.get("shipments"), list) else []
            yield from self.shipment_updates(shipments)
            page, pages = _count(body.get("page")), _count(body.get("pages"))
            fetched += 1
            if fetched >= MAX_PAGES and page < pages:
                raise ProviderResponseError(f"ShipStation resource_url announced {pages} pages; stopped after {fetched}.")
            url = _with_page(url, page + 1) if page < pages and shipments else None

    def subscribe_webhook(self, target_url: str) -> dict:
        created = []
        for event in self.WEBHOOK_EVENTS[:1]:  # SHIP_NOTIFY: shipment lists carry item keys when asked
            body = self.http.request("POST", "/webhooks/subscribe", json={
                "target_url": target_url, "event": event, "friendly_name": "Embedded Services status"})
            answer = body if isinstance(body, dict) else {}
            hook_id = answer.get("id") or answer.get("WebHookID")
            created.append({"event": event, "id": hook_id})
        return {"hooks": created, "target_url": target_url}

    def allowed_resource_host(self, url: str) -> bool:
        """Follow a webhook's resource_url only to the configured API host (the shared HTTP
        layer applies the same rule again when the request is sent)."""
        try:
            urlguard.own_url(self.base_url, url, self.http.sent_url_family)
            return True
        except ProviderRejected:
            return False

    def fetch_resource(self, url: str) -> dict:
        if not self.allowed_resource_host(url):  # parsed by urllib3, as it will be sent
            raise ProviderRejected("Refusing to fetch a resource_url outside the account's ShipStation API host.")
        body = self.http.request("GET", url)
        if not isinstance(body, dict):
            raise ProviderResponseError("ShipStation resource_url did not return an object.")
        return body


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "page"] + [("page", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))


PROVIDER = ShipStation
