"""VeraCore (Order Management / WMS), classic SOAP OMS web service ``/pmomsws/oms.asmx``.

Facts: providers-part1.md §4.1. Every call carries the ``AuthenticationHeader``
(Username, Password) in the service namespace. ``AddOrder`` sends our stable order
reference as ``Header/ID``: VeraCore rejects a duplicate id and cannot update an order,
so "already exists" means an earlier attempt got through — the order is looked up with
``GetOrderInfo`` and reported pushed. Status is polled (no webhooks): ``GetShippingActivity``
over a window and ``GetOrderInfo`` per order, tracking ids of non-voided packages onto the
items. Offers → products and offer categories → categories through the catalogue sync.

Assumptions ([UNCERTAIN] in the reference), each a setting:
* ``namespace`` — ``http://omscom/`` for oms.asmx; older tenants' order.asmx uses
  ``http://sma-promail/``.
* ``order_id_source`` — whether the caller may supply ``Header/ID`` ("ours", default) or
  VeraCore assigns it ("veracore": our reference travels in ``ReferenceNumber``; a re-push
  is recognised by the id remembered from the first push, an answer lost in a timeout
  cannot be matched).
* ``server_faults`` — faults are ASP.NET SoapExceptions whose faultcode is usually
  soap:Server even for validation errors; by default every fault is a final rejection in
  VeraCore's words ("rejected"); "transient" retries soap:Server faults. A fault naming the
  credentials is never retried either way.
* ``status_scope`` — "all": GetOrderInfo for every pushed order (catches Hold/Canceled);
  "shipped": only for orders in the shipping activity window (fewer calls).
* Offer categories: read from each offer's ``Categories/Category/{ID, Description}`` (the
  category listing method is not public).
* Rate limit: not documented; we stay polite (2 requests/second).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from ..base import Capabilities, DemoAccount, Provider, RemoteCategory, RemoteProduct
from ..context import ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderError, ProviderRejected, ProviderResponseError, ProviderTransientError, in_body
from ..fields import Field, schema
from ..ratelimit import RateLimit, SharedRateLimiter, with_margin
from ..soap import check_fault, element, envelope, from_dict, local, post, text_of
from . import mapping

DEFAULT_NAMESPACE = "http://omscom/"
ALREADY_EXISTS = ("already exists", "duplicate")
NOT_FOUND = ("not found", "does not exist")
STATUS_WINDOW_DAYS = 1


class VeraCore(Provider):
    key = "veracore"
    name = "VeraCore"
    description = ("Fulfilment / WMS over VeraCore's SOAP OMS service: AddOrder with our order id, polled "
                   "status and tracking, offers and offer categories synchronized. Assumptions (settings): "
                   "service namespace, who assigns the order id, how faults are retried, offer categories "
                   "read from each offer.")
    docs_url = "https://www.veracore.com/"
    default_base_url = "https://tenant.veracore.com/pmomsws/oms.asmx"
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_polling=True, product_sync=True,
                                category_sync=True, shipping_method_mapping=True)
    credentials = schema(
        Field("username", "API username", required=True, max_length=100),
        Field("password", "API password", type="secret", required=True, max_length=200),
        Field("base_url", "Service URL", type="url", required=True,
              help="Your tenant's OMS service, e.g. https://yourcompany.veracore.com/pmomsws/oms.asmx"),
    )
    account_settings = schema(
        Field("namespace", "Service namespace", default=DEFAULT_NAMESPACE, max_length=200,
              help="http://omscom/ for oms.asmx; older order.asmx services use http://sma-promail/ [uncertain]."),
        Field("order_id_source", "Order ID", type="choice", default="ours",
              choices=(("ours", "Our order number is the VeraCore order ID"),
                       ("veracore", "VeraCore assigns the order ID (ours as reference number)")),
              help="[uncertain] whether every tenant accepts a caller-supplied order ID."),
        Field("server_faults", "soap:Server faults", type="choice", default="rejected",
              choices=(("rejected", "Final: show VeraCore's message"), ("transient", "Retry later"))),
        Field("status_scope", "Status check", type="choice", default="all",
              choices=(("all", "Every pushed order (GetOrderInfo each)"),
                       ("shipped", "Only orders in the shipping activity window"))),
    )
    product_settings = schema(
        Field("offer_id", "VeraCore offer ID", required=True, max_length=100,
              help="The VeraCore offer (sellable item) this product is ordered as."),
    )
    shipping_method_settings = schema(
        Field("freight_code", "VeraCore FreightCode", max_length=50,
              help="Empty uses the shipping method's Integration ID (e.g. P01)."),
    )
    status_map = {
        "shipped": "Shipped", "complete": "Completed", "canceled": "Cancelled", "hold": "On Hold",
        "deniedcredit": "On Hold", "backordered": "On Hold", "processed": "In Production",
        "picked": "In Production",
    }
    repush = "noop"
    repush_note = 'VeraCore refuses a second order with the same ID ("already exists"); the hub then looks it up and shows it pushed (orders cannot be updated through the service).'
    rate_limit = RateLimit(limit=120, window_seconds=60)

    def limiter(self) -> SharedRateLimiter | None:
        """No rate-limit headers to re-align on: pace over a slightly longer window."""
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", with_margin(self.rate_limit))

    def check_response(self, response) -> None:
        """A fault (in a 200 or a 500) in VeraCore's words; soap:Server faults are final
        unless the account says to retry them (credentials are never retried)."""
        try:
            check_fault(response)
        except ProviderTransientError as exc:
            if self.settings.get("server_faults") == "transient":
                raise
            raise in_body("rejected", exc.message) from None

    @property
    def namespace(self) -> str:
        return (self.settings.get("namespace") or DEFAULT_NAMESPACE).strip()

    def _call(self, method: str, body) -> object:
        creds = self.credentials_values
        auth = element("AuthenticationHeader", self.namespace, children=[
            element("Username", self.namespace, creds.get("username", "")),
            element("Password", self.namespace, creds.get("password", ""))])
        return post(self.http, self.base_url, envelope(body, [auth]), action=f"{self.namespace}{method}")

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        from ...storefront.demo import CATALOG

        # The simulator's built-in demo user; its demo offers carry the storefront's SKUs as ids.
        skus = [sku for groups in CATALOG["northwind-b2b"].values() for products in groups.values()
                for sku, *_ in products]
        return DemoAccount(
            name="VeraCore (sandbox)", live_on=("northwind-b2b",),
            credentials={"username": "demo-user", "password": "demo-pass",
                         "base_url": f"{simulator_url.rstrip('/')}/pmomsws/oms.asmx"},
            product_settings={sku: {"offer_id": sku} for sku in skus},
            shipping_method_settings={"UPS Ground": {"freight_code": "UPSG"}, "FedEx 2Day": {"freight_code": "FX2D"},
                                      "Local Pickup": {"freight_code": "PICKUP"}, "Courier": {"freight_code": "CUR"}},
        )

    # ---- connection -----------------------------------------------------------------
    def test_connection(self) -> str:
        offers = self._offers("zz-embedded-services-connection-check")
        return f"Connected to VeraCore (offer search answered, {len(offers)} match)."

    # ---- push -----------------------------------------------------------------------
    def push_order(self, ctx: OrderContext) -> PushResult:
        ours = self.settings.get("order_id_source", "ours") != "veracore"
        known = ctx.checkpoint.get("veracore_order_id") or (None if ours else ctx.existing_external_id)
        if known:  # VeraCore assigned the id on an earlier push: never create a second order
            return self._pushed(ctx, self.order_info(known))
        body = mapping.add_order_body(ctx, self.namespace, send_order_id=ours)
        try:
            answer = self._call("AddOrder", body)
        except (ProviderRejected, ProviderTransientError) as exc:  # a fault, whatever its faultcode
            if ours and _says(exc, ALREADY_EXISTS):
                return self._pushed(ctx, self.order_info(ctx.external_number))  # sent before: report it
            raise
        order_id = text_of(answer, "OrderID")
        if not order_id:
            raise ProviderResponseError("VeraCore AddOrder answered without an OrderID.")
        ctx.remember("veracore_order_id", order_id)
        return self._result(ctx, order_id, "Unprocessed")

    def find_order(self, ctx: OrderContext) -> PushResult | None:
        """After an ambiguous failure: the order, when the last attempt created it."""
        if self.settings.get("order_id_source", "ours") == "veracore":
            known = ctx.checkpoint.get("veracore_order_id") or ctx.existing_external_id
            return self._pushed(ctx, self.order_info(known)) if known else None
        try:
            return self._pushed(ctx, self.order_info(ctx.external_number))
        except (ProviderRejected, ProviderTransientError) as exc:
            if _says(exc, NOT_FOUND):
                return None  # not there: push it
            raise

    def _pushed(self, ctx: OrderContext, info) -> PushResult:
        order_id = text_of(info, "OrdHead", "OrderId") or ctx.external_number
        return self._result(ctx, order_id, mapping.order_state(info))

    @staticmethod
    def _result(ctx: OrderContext, order_id: str, state: str) -> PushResult:
        items = [ItemPushResult(line_number=i.line_number, external_id=f"{order_id}-{i.line_number}",
                                external_number=i.external_number, external_status=state,
                                external_order_id=order_id) for i in ctx.items]
        return PushResult(external_id=order_id, external_number=order_id, items=items, external_status=state)

    def order_info(self, order_id: str):
        body = from_dict("GetOrderInfo", {"orderId": order_id}, self.namespace)
        return self._call("GetOrderInfo", body)

    # ---- status ---------------------------------------------------------------------
    def shipped_order_ids(self, since: datetime, until: datetime) -> set[str]:
        body = from_dict("GetShippingActivity", {"StartDate": mapping.vc_datetime(since),
                                                 "EndDate": mapping.vc_datetime(until)}, self.namespace)
        answer = self._call("GetShippingActivity", body)
        return {(node.text or "").strip() for node in answer.iter()
                if isinstance(node.tag, str) and local(node) == "OrderId" and node.text}

    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        refs = [ref for ref in refs if ref.external_id]
        pushed = [ref.pushed_at for ref in refs if ref.pushed_at]
        if not refs:
            return
        since = (min(pushed) if pushed else datetime.now(timezone.utc)) - timedelta(days=STATUS_WINDOW_DAYS)
        shipped = self.shipped_order_ids(since, datetime.now(timezone.utc) + timedelta(days=1))
        for ref in refs:
            if self.settings.get("status_scope") == "shipped" and ref.external_id not in shipped:
                continue
            try:
                info = self.order_info(ref.external_id)
            except (ProviderRejected, ProviderTransientError) as exc:
                if _says(exc, NOT_FOUND):
                    continue  # unknown at VeraCore (deleted, another tenant): nothing to report
                raise
            state = mapping.order_state(info)
            packages = mapping.packages(info)
            yield StatusUpdate(push_key=ref.idempotency_key, external_status=state, external_order_id=ref.external_id)
            for package in packages:
                yield StatusUpdate(push_key=ref.idempotency_key, external_status=state or "Shipped",
                                   external_order_id=ref.external_id,
                                   shipment=Shipment(carrier=package["carrier"], service=package["service"],
                                                     tracking_number=package["tracking"],
                                                     ship_date=_date(package["shipped"])))

    # ---- catalogue ------------------------------------------------------------------
    def _offers(self, search: str = "%") -> list:
        body = from_dict("GetOffers", {"sortGroups": "false", "categoryGroupDescription": "",
                                       "customCategories": "false", "mailerUID": "", "searchString": search,
                                       "searchID": "true", "searchDescription": "false",
                                       "priceClassDescription": ""}, self.namespace)
        answer = self._call("GetOffers", body)
        return [node for node in answer.iter() if isinstance(node.tag, str) and local(node) == "GetOfferResult"]

    @staticmethod
    def _category(offer) -> RemoteCategory | None:
        category = next((c for c in offer.iter() if isinstance(c.tag, str) and local(c) == "Category"), None)
        if category is None or not text_of(category, "ID"):
            return None
        return RemoteCategory(external_id=text_of(category, "ID"),
                              name=text_of(category, "Description") or text_of(category, "ID"),
                              parent_external_id=text_of(category, "ParentID") or None,
                              data={"ID": text_of(category, "ID"), "Description": text_of(category, "Description")})

    def iter_products(self) -> Iterator[RemoteProduct]:
        for offer in self._offers():
            offer_id = _direct(offer, "ID")
            if not offer_id:
                continue
            price = _direct(offer, "DefaultPrice")
            yield RemoteProduct(
                external_id=offer_id[:100], sku=offer_id[:100], name=(_direct(offer, "Description") or offer_id)[:300],
                price=price or None, active=_direct(offer, "Inactive").lower() != "true",
                category=self._category(offer),
                data={name: _direct(offer, name) for name in ("ID", "Description", "DefaultPrice", "Available",
                                                              "Inactive")})

    def iter_categories(self) -> Iterator[RemoteCategory]:
        seen = set()
        for offer in self._offers():
            category = self._category(offer)
            if category and category.external_id not in seen:
                seen.add(category.external_id)
                yield category


def _says(exc: ProviderError, words) -> bool:
    return any(word in exc.message.lower() for word in words)


def _direct(node, name: str) -> str:
    """Text of a direct child (offers nest other IDs inside their categories)."""
    child = next((c for c in node if isinstance(c.tag, str) and local(c) == name), None)
    return (child.text or "").strip() if child is not None and child.text else ""


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


PROVIDER = VeraCore
