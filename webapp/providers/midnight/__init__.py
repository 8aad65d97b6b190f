"""Virtual Systems Midnight (PrintReach Midnight MIS), SOAP 1.1 ASMX ``Service1.asmx``.

Facts: providers-part2.md §6.1 (public .NET SDK) and the Pressero FAQ: every call carries
``ValidationSoapHeader/DevToken``; each operation takes one XML document as a string
(``sXML`` for OrderNew, ``inputXML`` for OrderList) and answers one ``Result`` document
(``ReturnCode`` 0 = success, ``ReturnErrors/Error`` = Midnight's words). Orders need the
customer's Midnight id: the user setting **External ID** is required, and a push without
it is refused before any request ("customer has no Midnight External ID (invalid customer
id)"). A re-push of a pushed order, and any attempt after one that may have sent OrderNew (a
checkpoint is committed before sending), first asks ``OrderList`` whether our reference is
already there, so nothing creates a second Midnight order. Status is polled: ``OrderList`` by modified date,
progress code/text mapped through ``status_map`` and the account's status vocabulary
(``status_map_override``: "60 Shipped = Shipped" or just "60 = Shipped").

Assumptions ([PROPOSED] in the reference — not public), each a setting:
* ``namespace`` — ``http://tempuri.org/`` (ASMX default), SOAPAction = namespace + operation.
* OrderNew document root ``<OrderNew><Order>…</Order></OrderNew>``.
* ``reference_field`` — how our reference is stored and found again: "order_no" (Midnight's
  order number = our reference: ``UseOrderNo``/``OrderNo``, found with ``OrderList/OrderNumber``)
  or "project_name" (Midnight numbers its orders; our reference in ``ProjectName``, found with
  ``OrderList`` by customer and order date).
* Status vocabulary — ``OrderStatus`` Open/Closed/Cancelled and progress "10 Order Entered" …
  "70 Invoiced"; the account's status vocabulary overrides the defaults ("code or text = status").
* Authentication failures are recognised by their words (token / auth / API access), since
  Midnight answers them in a Result (or a SOAP fault), never with HTTP 401.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

from lxml import etree

from ..base import Capabilities, DemoAccount, Provider, parse_status_lines
from ..context import ItemPushResult, OrderContext, PushResult, StatusUpdate
from ..errors import ProviderAuthError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from ..ratelimit import RateLimit, SharedRateLimiter, with_margin
from ..soap import AUTH_FAULT_WORDS, check_fault, element, envelope, local, post, text_of
from ..xml import parse_xml
from . import mapping

DEFAULT_NAMESPACE = "http://tempuri.org/"
PARAMETER = {"OrderNew": "sXML"}  # every other operation names its document "inputXML"


class Midnight(Provider):
    key = "midnight"
    name = "Virtual Systems Midnight"
    description = ("Print MIS (PrintReach Midnight) over SOAP with the DevToken header: OrderNew with our "
                   "reference (looked up in OrderList before creating), status polled from OrderList. Needs "
                   "each customer's Midnight id as the user's External ID. Assumptions (settings, not public): "
                   "namespace, OrderNew document root, where our reference is stored, status vocabulary.")
    docs_url = "https://github.com/PrintReach/Midnight.SOAP.SDK"
    default_base_url = "https://ws.vsmidnight.com/Service1.asmx"
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_polling=True, user_settings=True)
    credentials = schema(
        Field("dev_token", "Dev token", type="secret", required=True, max_length=200,
              help="Midnight → Admin Settings → Global Settings → Site Token (API access must be purchased)."),
        Field("base_url", "Service URL", type="url", default=default_base_url,
              help="The Service1.asmx address of your Midnight web service."),
    )
    account_settings = schema(
        Field("namespace", "Service namespace", default=DEFAULT_NAMESPACE, max_length=200,
              help="[proposed] ASMX default http://tempuri.org/."),
        Field("reference_field", "Our order reference", type="choice", default="order_no",
              choices=(("order_no", "Is the Midnight order number (OrderNo)"),
                       ("project_name", "Goes in the project name (Midnight numbers orders)"))),
        Field("default_service_id", "Default service ID (SvcId)", regex=r"\d+", max_length=20,
              help="Used for products without their own Midnight service or inventory item ID."),
    )
    user_settings = schema(
        Field("external_id", "External ID (Midnight customer ID)", required=True, regex=r"\d+", max_length=20,
              help="Midnight rejects orders with 'invalid customer id' without it."),
    )
    product_settings = schema(
        Field("service_id", "Midnight service ID (SvcId)", regex=r"\d+", max_length=20),
        Field("item_id", "Midnight inventory item ID", regex=r"\d+", max_length=20),
        Field("project_type_id", "Print project type ID", regex=r"(WF)?\d+", max_length=20,
              help="Wide-format types start with WF. Not together with an inventory item ID."),
    )
    status_map = {
        "10": "Order Received", "10 order entered": "Order Received", "20 artwork received": "In Production",
        "30 proof sent": "On Hold", "40 approved": "In Production", "50 in production": "In Production",
        "60 shipped": "Shipped", "70 invoiced": "Completed", "cancelled": "Cancelled", "closed": "Completed",
        "50": "In Production", "60": "Shipped", "70": "Completed",
    }
    repush = "noop"
    repush_note = "The hub finds the order in Midnight's order list by our reference and shows it pushed; nothing is sent again."
    rate_limit = RateLimit(limit=120, window_seconds=60)

    @property
    def namespace(self) -> str:
        return (self.settings.get("namespace") or DEFAULT_NAMESPACE).strip()

    def limiter(self) -> SharedRateLimiter | None:
        """No rate-limit headers to re-align on: pace over a slightly longer window."""
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", with_margin(self.rate_limit))

    def check_response(self, response) -> None:
        check_fault(response)  # a token refused as a fault is an auth error, never retried

    @classmethod
    def map_status(cls, remote_status: str | None, settings: dict | None = None) -> str | None:
        """"60 Shipped": the account's vocabulary first (the whole text, then the progress code
        alone: "60 = Shipped" lines work), then the defaults the same way."""
        text = str(remote_status or "").strip().lower()
        if not text:
            return None
        code = text.split(" ", 1)[0] if text[:1].isdigit() else text
        override = parse_status_lines((settings or {}).get("status_map_override"))
        return (override.get(text) or override.get(code) or cls.status_map.get(text)
                or cls.status_map.get(code))

    @classmethod
    def missing_settings(cls, ctx) -> list[str]:
        problems = [p for p in super().missing_settings(ctx) if not p.startswith(f"Customer {ctx.customer.email}:")]
        if not str(ctx.customer.settings.get("external_id") or "").strip():
            problems.insert(0, f"Order customer {ctx.customer.email}: {mapping.NO_CUSTOMER} — set it on the "
                               f"user's Embedded Services tab.")
        return problems

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # The simulator's built-in demo token; its demo customers are 2001…2005.
        users = ("clerk@citycouncil.test", "parks@citycouncil.test", "waste@citycouncil.test",
                 "events@citycouncil.test", "planning@citycouncil.test")
        return DemoAccount(
            name="Midnight (sandbox)", live_on=("city-council",),
            credentials={"dev_token": "demo-dev-token", "base_url": f"{simulator_url.rstrip('/')}/Service1.asmx"},
            settings={"default_service_id": "500"},
            user_settings={email: {"external_id": str(2001 + n)} for n, email in enumerate(users)},
        )

    # ---- transport ------------------------------------------------------------------
    def _operation(self, name: str, document: bytes | None = None) -> etree._Element:
        """Call an operation; the parsed Result document (a non-zero ReturnCode raises)."""
        body = element(name, self.namespace)
        if document is not None:
            body.append(element(PARAMETER.get(name, "inputXML"), self.namespace, document.decode("utf-8")))
        token = element("ValidationSoapHeader", self.namespace,
                        children=[element("DevToken", self.namespace, self.credentials_values.get("dev_token", ""))])
        answer = post(self.http, self.base_url, envelope(body, [token]), action=f"{self.namespace}{name}")
        result_text = text_of(answer, f"{name}Result")
        if not result_text:
            raise ProviderResponseError(f"Midnight {name} answered without a result document.")
        if document is None:
            return _text_result(result_text)  # a plain string answer (_GetWebServiceVersion)
        result = parse_xml(result_text.encode("utf-8"), what=f"Midnight {name}")
        code = text_of(result, "ReturnCode")
        if code != "0":
            errors = [(n.text or "").strip() for n in result.iter()
                      if isinstance(n.tag, str) and local(n) == "Error" and (n.text or "").strip()]
            message = "; ".join(errors) or f"Midnight {name} failed (ReturnCode {code or 'missing'})."
            if any(word in message.lower() for word in AUTH_FAULT_WORDS + ("api access",)):
                raise ProviderAuthError(message)
            raise ProviderRejected(message)
        return result

    # ---- connection -----------------------------------------------------------------
    def test_connection(self) -> str:
        version = self._operation("_GetWebServiceVersion").text or "?"
        self._operation("OrderList", mapping.order_list(OrderNumber="0", OpenOrdersOnly="true"))
        return f"Connected to Midnight (web service version {version})."

    # ---- push -----------------------------------------------------------------------
    def push_order(self, ctx: OrderContext) -> PushResult:
        document = mapping.order_new(ctx, self.settings)  # refuses before any request when ids are missing
        if ctx.checkpoint.get("midnight_order_new_sent") or ctx.existing_external_id:
            existing = self.find_order(ctx)  # a re-push, or an earlier attempt may have created it
            if existing is not None:
                return existing
        ctx.remember("midnight_order_new_sent", True)  # committed before the order can exist
        result = self._operation("OrderNew", document)
        order_id, number = text_of(result, "Orders", "Order", "OrderId"), text_of(result, "Orders", "Order",
                                                                                  "OrderNumber")
        if not order_id:
            raise ProviderResponseError("Midnight OrderNew answered without an OrderId.")
        ctx.remember("midnight_order_id", order_id)
        return self._result(ctx, order_id, number or order_id, "10 Order Entered")

    def find_order(self, ctx: OrderContext) -> PushResult | None:
        """Our reference in Midnight's order list (a re-push or a retry after a lost answer)."""
        if self.settings.get("reference_field", "order_no") == "order_no":
            orders = self._orders(mapping.order_list(OrderNumber=ctx.external_number))
            match = [o for o in orders if text_of(o, "OrderNumber") == ctx.external_number]
        else:
            orders = self._orders(mapping.order_list(CustomerID=mapping.customer_id(ctx),
                                                     OrderDateFrom=ctx.placed_at.strftime("%Y-%m-%d")))
            match = [o for o in orders if text_of(o, "ProjectName") == ctx.external_number]
        if not match:
            return None
        order = match[0]
        return self._result(ctx, text_of(order, "OrderID"), text_of(order, "OrderNumber"), _progress(order))

    def _orders(self, document: bytes) -> list:
        result = self._operation("OrderList", document)
        return [n for n in result.iter() if isinstance(n.tag, str) and local(n) == "Order"]

    @staticmethod
    def _result(ctx: OrderContext, order_id: str, number: str, status: str) -> PushResult:
        items = [ItemPushResult(line_number=i.line_number, external_id=f"{order_id}-{i.line_number}",
                                external_number=i.external_number, external_status=status,
                                external_order_id=order_id) for i in ctx.items]
        return PushResult(external_id=order_id, external_number=number, items=items, external_status=status)

    # ---- status ---------------------------------------------------------------------
    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        """One OrderList for every order modified since the oldest push (never one call per order)."""
        by_id = {ref.external_id: ref for ref in refs if ref.external_id}
        pushed = [ref.pushed_at for ref in refs if ref.pushed_at]
        if not by_id:
            return
        since = (min(pushed) if pushed else datetime.now(timezone.utc)) - timedelta(days=1)
        for order in self._orders(mapping.order_list(Ordermodifieddate=mapping.midnight_datetime(since))):
            ref = by_id.get(text_of(order, "OrderID"))
            if ref is None:
                continue
            yield StatusUpdate(push_key=ref.idempotency_key, external_status=_progress(order),
                               external_order_id=ref.external_id)


def _progress(order) -> str:
    """"Cancelled"/"Closed" when the order is, else "<progress code> <progress text>"."""
    state = text_of(order, "OrderStatus")
    if state.lower() in ("cancelled", "closed"):
        return state
    return " ".join(filter(None, [text_of(order, "OrderProgressCode"), text_of(order, "OrderProgressText")])) or state


def _text_result(value: str):
    node = etree.Element("Result")
    node.text = value
    return node


PROVIDER = Midnight
