"""Smartsoft PressWise (print MIS), SOAP 1.1 RPC/encoded at the tenant's order-inject URL
(``https://<tenant>.mypresswise.com/r/wsdl-order2.php``).

Facts: providers-part2.md §3.1 and the Pressero KB (a1162, a1029, a841). Every call's first
argument is ``auth{user, pass, code}``; answers carry ``status{code, text}`` where code 0 is
success — anything else is a failure in PressWise's words (even inside HTTP 200); words about
the login/authorization code are an authentication failure, never retried.
``add_purchase_order`` follows Aleyant's header mapping; ``initial_status`` (only "New" = ``AUTO
New``) and "send pricing in notes" are account settings. The site's **MISID** is the PressWise
customer id (digits only: checked when saved and again before every push); a user's MISID
overrides it. Multi-destination orders: see ``mapping`` (one purchase order per ship-to by
default, or one without shipTo). Re-sends: the purchase orders already created for an order
are remembered (checkpoint) and PressWise answers an existing ``sourceOrderID`` with its order.

Assumptions ([PROPOSED] in the reference — not public), each a setting:
* **The status call is proposed**: ``get_order_status(auth, request{orderID | sourceOrderID})``
  answering ``order{orderID, status, item[]{sourceJobID, status, trackingNumber, shipMethod,
  shipDate}}``. PressWise cannot notify us, so status comes back only through a manual
  "Order Status Synchronization" (and the scheduled refresh); ``status_key`` picks the id sent.
* The customer id travels as ``data/customerID`` (the KB mapping does not name the element).
* Status vocabulary: AUTO New, New, In Production, Proof, Ready to Ship, Shipped, Completed,
  Cancelled, "Exception: <reason>" (matched by prefix; unknown text = in progress).
* The RPC namespace ``urn:presswise`` (the service ignores it; RPC bodies are read by name).
"""
from __future__ import annotations

from typing import Iterator

from lxml import etree

from ..base import Capabilities, DemoAccount, Provider
from ..context import ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderAuthError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from ..ratelimit import RateLimit, SharedRateLimiter, with_margin
from ..soap import AUTH_FAULT_WORDS, check_fault, envelope, from_dict, local, post, text_of
from . import mapping

NAMESPACE = "urn:presswise"
NOT_FOUND = ("not found", "unknown order")


class Presswise(Provider):
    key = "presswise"
    name = "Smartsoft Presswise"
    description = ("Print MIS: orders go to PressWise as purchase orders (add_purchase_order); the site's MISID is "
                   "the PressWise customer. Status comes back only when you run Order Status Synchronization — "
                   "the status call is PROPOSED (not public). Multi-destination orders: one purchase order per "
                   "ship-to (setting).")
    docs_url = "https://support.aleyant.com/kb/a1162/integration-presswise-via-embedded-services.aspx"
    default_base_url = "https://tenant.mypresswise.com/r/wsdl-order2.php"
    capabilities = Capabilities(push_orders=True, idempotent_push=True, status_polling=True, user_settings=True)
    credentials = schema(
        Field("username", "Username", required=True, max_length=100, help="The PressWise API user (not a hub user)."),
        Field("password", "Password", type="secret", required=True, max_length=200),
        Field("auth_code", "Authorization code", type="secret", required=True, max_length=200,
              help="Generated in PressWise; usually hexadecimal."),
        Field("base_url", "URL", type="url", required=True,
              help="The order-inject URL PressWise gave you, e.g. https://yourshop.mypresswise.com/r/wsdl-order2.php"),
    )
    account_settings = schema(
        Field("initial_status", "Initial status", type="choice", default="AUTO New", choices=(("AUTO New", "New"),)),
        Field("send_pricing_in_notes", "Send pricing in notes", type="bool", default=False),
        Field("multi_destination", "Items shipping to several addresses", type="choice", default="po_per_ship_to",
              choices=(("po_per_ship_to", "One purchase order per ship-to address"),
                       ("single", "One purchase order without ship-to (addresses in the comments)"))),
        Field("status_key", "Status look-up by [proposed]", type="choice", default="orderID",
              choices=(("orderID", "PressWise order ID"), ("sourceOrderID", "Our order reference"))),
    )
    site_settings = schema(
        Field("mis_id", "MISID (PressWise customer ID)", required=True, regex=r"\d+", max_length=20,
              help="Digits only."),
    )
    user_settings = schema(
        Field("mis_id", "MISID", regex=r"\d+", max_length=20,
              help="Digits only; overrides the site's MISID for this user's orders. Preferably blank."),
    )
    product_settings = schema(
        Field("product_id", "PressWise product ID", max_length=100,
              help="Empty uses the product's Integration ID, then its SKU."),
    )
    status_map = {
        "auto new": "Order Received", "new": "Order Received", "in production": "In Production",
        "proof": "On Hold", "ready to ship": "Ready to Ship", "shipped": "Shipped", "completed": "Completed",
        "cancelled": "Cancelled",
    }
    repush = "noop"
    repush_note = 'Purchase orders already created are remembered; PressWise answers a known sourceOrderID with its existing order.'
    rate_limit = RateLimit(limit=60, window_seconds=60)

    @classmethod
    def map_status(cls, remote_status: str | None, settings: dict | None = None) -> str | None:
        found = super().map_status(remote_status, settings)
        if found is None and str(remote_status or "").strip().lower().startswith("exception"):
            return "On Hold"  # "Exception: <reason>"
        return found

    def limiter(self) -> SharedRateLimiter | None:
        """No rate-limit headers to re-align on: pace over a slightly longer window."""
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", with_margin(self.rate_limit))

    def check_response(self, response) -> None:
        check_fault(response)  # the fault variant of a refused login is an auth error too

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # The simulator's built-in demo login; customer 4711 exists there.
        return DemoAccount(
            name="Presswise (sandbox)", live_on=("promo-shop",),
            credentials={"username": "demo", "password": "demo-pass", "auth_code": "a1b2c3d4",
                         "base_url": f"{simulator_url.rstrip('/')}/r/wsdl-order2.php"},
            settings={"send_pricing_in_notes": True}, site_settings={"promo-shop": {"mis_id": "4711"}},
        )

    def _call(self, method: str, argument: str | None = None, data: dict | None = None):
        creds = self.credentials_values
        # RPC style: a prefixed operation element, unqualified parts (auth, data/request).
        body = etree.Element(f"{{{NAMESPACE}}}{method}", nsmap={"ns1": NAMESPACE})
        body.append(from_dict("auth", {"user": creds.get("username", ""), "pass": creds.get("password", ""),
                                       "code": creds.get("auth_code", "")}))
        if argument:
            body.append(from_dict(argument, data or {}))
        answer = post(self.http, self.base_url, envelope(body), action="#POST")
        code, message = text_of(answer, "status", "code"), text_of(answer, "status", "text")
        if code == "":
            raise ProviderResponseError(f"PressWise {method} answered without a status code.")
        if code != "0":
            message = message or f"PressWise {method} failed (status {code})."
            if any(word in message.lower() for word in AUTH_FAULT_WORDS):
                raise ProviderAuthError(message)
            raise ProviderRejected(message)
        return answer

    # ---- connection -----------------------------------------------------------------
    def test_connection(self) -> str:
        """No read call is public: the proposed status call for order 0 (unknown order = credentials accepted)."""
        try:
            self._call("get_order_status", "request", {"orderID": "0"})
        except ProviderRejected as exc:
            if not any(word in exc.message.lower() for word in NOT_FOUND):
                raise
        return "Connected to PressWise (credentials accepted)."

    # ---- push -----------------------------------------------------------------------
    def push_order(self, ctx: OrderContext) -> PushResult:
        orders = mapping.purchase_orders(ctx, self.settings)  # refuses before any request (MISID…)
        ids, items = [], []
        for group, data in orders:
            key = f"po:{data['sourceOrderID']}"
            order_id = ctx.checkpoint.get(key)
            if not order_id:
                answer = self._call("add_purchase_order", "data", data)
                order_id = text_of(answer, "orderID")
                if not order_id:
                    raise ProviderResponseError("PressWise add_purchase_order answered without an orderID.")
                ctx.remember(key, order_id)
            ids.append(order_id)
            items += [ItemPushResult(line_number=i.line_number, external_id=f"{order_id}-{i.line_number}",
                                     external_number=i.external_number, external_status=data["initial_status"],
                                     external_order_id=order_id) for i in group]
        return PushResult(external_id=",".join(ids), external_number=",".join(ids), items=items,
                          external_status=self.settings.get("initial_status") or "AUTO New")

    # ---- status (proposed call) ------------------------------------------------------
    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        by_reference = self.settings.get("status_key") == "sourceOrderID"
        for ref in refs:
            ids = [i for i in (ref.external_id or "").split(",") if i]
            keys = [mapping.source_order_id_of(ref.reference, n) for n in range(len(ids))] if by_reference else ids
            for order_id, key in zip(ids, keys):
                try:
                    answer = self._call("get_order_status", "request",
                                        {"sourceOrderID": key} if by_reference else {"orderID": key})
                except ProviderRejected as exc:
                    if any(word in exc.message.lower() for word in NOT_FOUND):
                        continue
                    raise
                yield from self._updates(ref.idempotency_key, order_id, answer)

    @staticmethod
    def _updates(push_key: str, order_id: str, answer) -> Iterator[StatusUpdate]:
        order_status = text_of(answer, "order", "status")
        yield StatusUpdate(push_key=push_key, external_status=order_status, external_order_id=order_id)
        for item in (n for n in answer.iter() if isinstance(n.tag, str) and local(n) == "item"):
            job = text_of(item, "sourceJobID")
            if not job:
                continue
            tracking = text_of(item, "trackingNumber")
            shipment = Shipment(carrier=text_of(item, "shipMethod"), tracking_number=tracking,
                                ship_date=_date(text_of(item, "shipDate"))) if tracking else None
            yield StatusUpdate(push_key=push_key, external_status=text_of(item, "status") or order_status,
                               external_order_id=order_id, item_numbers=[job], shipment=shipment)


def _date(value: str):
    from datetime import date

    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


PROVIDER = Presswise
