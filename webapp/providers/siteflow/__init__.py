"""HP Site Flow (formerly OneFlow): orders to a PSP's Site Flow, status back by triggers.

Facts: providers-part1.md §2. Native hosts sign ``x-oneflow-*`` (HMAC over "METHOD path
timestamp", path incl. ``/api``); the PrintOS gateway (production / staging) signs
``x-hp-hmac-*`` over the path after ``/siteflow``. One Site Flow order per order,
``sourceOrderId`` = our stable reference; a duplicate answer means it is already there, so
the order is looked up and reported pushed. Status comes back by Site Flow triggers (no
signature: a static token in a request header) and by ``GET /api/order/{_id}``.

Assumptions (configurable where it matters):
- [UNCERTAIN] duplicate ``sourceOrderId`` on the synchronous endpoint is answered 400/409 with a
  message containing "duplicate" / "already exists"; we then look the order up.
- [UNCERTAIN] ``GET /api/order`` filtering by ``sourceOrderId``: we pass it and also filter the
  ``data`` array ourselves, over at most ``LOOKUP_PAGES`` pages.
- [UNCERTAIN] rate-limit headers ``x-ratelimit-limit`` / ``x-ratelimit-remaining``.
- [UNCERTAIN] Handlebars variable paths in the trigger template (field names are ours).
- [PROPOSED] asynchronous submission (``orders.oneflow.io``) reports validation errors only by the
  "Order Submission Error" trigger; the push shows "submitted" until a trigger or a read says more.
- Site Flow SKU is a picker fed from ``GET /api/sku`` (``list_skus``), a typed-in SKU still accepted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from typing import Iterator
from urllib.parse import urlsplit

import requests

from ..auth import PrintOSHMAC, SiteFlowHMAC
from ..base import (Capabilities, DemoAccount, Provider, WebhookAuthError, WebhookEnvelope, WebhookSetup,
                    static_header_token)
from ..context import ItemPushResult, OrderContext, PushResult, StatusUpdate
from ..errors import ProviderConfigError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from ..http import ProviderHTTP, json_error_body
from ..ratelimit import RateLimit
from . import mapping

SERVERS = {
    "production": "https://pro-api.oneflowcloud.com",
    "printos": "https://printos.api.hp.com/siteflow",
    "printos_staging": "https://stage.printos.api.hp.com/siteflow",
}
ASYNC_HOST = "https://orders.oneflow.io"
TRIGGER_HEADER = "x-hub-trigger-token"
LOOKUP_PAGES = 20
LOOKUP_PAGE_SIZE = 100
DUPLICATE = re.compile(r"duplicate|already exists|already been submitted", re.I)


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """``{"success": false, "error": {"message", "name", "code", validations?}}`` or a bare message."""
    body, fallback = json_error_body(response)
    if body is None:
        return fallback, {}
    message, fields = parse_error_body(body)
    return message or f"HTTP {response.status_code}", fields


def parse_error_body(body: dict) -> tuple[str, dict]:
    error = body.get("error")
    if isinstance(error, dict):
        fields = {}
        for key in ("validations", "errors", "details"):
            detail = error.get(key)
            if isinstance(detail, dict):
                fields.update({str(k): v for k, v in detail.items()})
            elif isinstance(detail, list):
                fields[""] = [str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in detail]
        return str(error.get("message") or error.get("name") or ""), fields
    for key in ("message", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return body[key], {}
    return "Site Flow refused the request.", {}


def rate_limit_pause(response: requests.Response) -> float | None:
    """3000 requests per minute per user; a spent window (or a 429) pauses until the next minute."""
    remaining = response.headers.get("x-ratelimit-remaining")
    try:
        if response.status_code == 429 or (remaining is not None and int(remaining) <= 0):
            reset = response.headers.get("x-ratelimit-reset")
            seconds = float(reset) if reset is not None else 60.0
            return min(3600.0, max(1.0, seconds)) if math.isfinite(seconds) else 60.0
    except (ValueError, OverflowError):
        return None
    return None


class SiteFlow(Provider):
    key = "siteflow"
    name = "HP Site Flow"
    description = ("Production: orders go to a PSP's HP Site Flow (one order per order, files fetched by URL); "
                   "status and tracking come back by Site Flow triggers and Synchronize. Assumptions: the trigger "
                   "template's variable paths and the sourceOrderId list filter are unconfirmed; asynchronous "
                   "submission reports errors only by trigger.")
    docs_url = "https://hpsiteflow.com/docs/siteflow/order-endpoints.html"
    default_base_url = SERVERS["production"]
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_webhook=True, status_polling=True,
                                shipping_method_mapping=True)
    credentials = schema(
        Field("access_key", "Access Key", required=True, max_length=200, regex=r"[A-Za-z0-9_\-.]+",
              help="PrintOS → Partner Keys: the key with the CreateAndQuery permission."),
        Field("secret", "Secret", type="secret", required=True, max_length=300),
        Field("server", "Server", type="choice", default="production", choices=(
            ("production", "Production (pro-api.oneflowcloud.com)"),
            ("printos", "PrintOS gateway – production"),
            ("printos_staging", "PrintOS gateway – staging"),
            ("custom", "Custom URL (native signing)"))),
        Field("base_url", "Custom server URL", type="url",
              help="The address in front of /api. Required with Server = Custom URL (native signing); when set "
                   "with a PrintOS server it replaces that host and keeps PrintOS signing."),
        Field("destination", "Destination", required=True, max_length=200,
              help="The PSP account (customer) name that produces the orders, as shown in Site Flow."),
        Field("non_integrated_shipping_name", "Non-Integrated Shipping Name", max_length=100,
              help="Carrier alias sent for shipping methods without an Integration ID."),
    )
    account_settings = schema(
        Field("submission_mode", "Submission mode", type="choice", default="sync", choices=(
            ("sync", "Synchronous (validation errors shown at once)"),
            ("async", "Asynchronous (orders.oneflow.io; errors arrive by trigger)"))),
        Field("orders_url", "Asynchronous orders host", type="url", default=ASYNC_HOST,
              help="Used in asynchronous mode only (native servers)."),
    )
    product_settings = schema(
        Field("siteflow_sku", "Site Flow SKU", required=True, max_length=200, picker="list_skus",
              help="The Site Flow product code (SKU) this product is produced as (Site Flow → Products → SKUs)."),
        Field("component_codes", "Component codes", max_length=200, default="Content",
              help="Comma list, one per production file in order (e.g. Cover, Text). Default: Content."),
    )
    shipping_method_settings = schema(
        Field("carrier", "Site Flow carrier", max_length=100, regex=r"[A-Za-z0-9_\-. ]+(:[A-Za-z0-9_\-. ]+)?",
              help="Carrier alias, or code:service. Empty uses the method's Integration ID."),
    )
    status_map = {
        "pending": "Order Received", "dataready": "Order Received", "printready": "In Production",
        "complete": "Ready to Ship", "shipped": "Shipped", "cancelled": "Cancelled", "error": "On Hold",
        "submission error": "On Hold",
    }
    webhook_auth = "static_token"
    repush = "noop"
    repush_note = ("Site Flow refuses a second order with the same sourceOrderId; the hub then looks the order "
                   "up and shows it pushed.")
    rate_limit = RateLimit(limit=3000, window_seconds=60)

    # ---- construction -------------------------------------------------------------
    @property
    def server(self) -> str:
        return self.credentials_values.get("server") or "production"

    @property
    def base_url(self) -> str:
        url = self.credentials_values.get("base_url")
        if self.server == "custom" and not url:
            raise ProviderConfigError("Server is Custom URL but no Custom server URL is set.")
        return url or SERVERS.get(self.server, SERVERS["production"])

    @property
    def gateway(self) -> bool:
        """The signer follows the Server setting: PrintOS gateway servers sign x-hp-hmac-*."""
        return self.server in ("printos", "printos_staging")

    def build_http(self) -> ProviderHTTP:
        creds = self.credentials_values
        key, secret = creds.get("access_key", ""), creds.get("secret", "")
        if self.gateway:
            auth = PrintOSHMAC(key, secret, service_prefix=urlsplit(self.base_url).path)
        else:
            auth = SiteFlowHMAC(key, secret, "SHA256")
        return super().build_http(auth=auth, error_parser=parse_error, rate_limit_observer=rate_limit_pause)

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # "demo-token"/"demo-secret" are the simulator's built-in demo credentials, "demo-psp" its destination.
        skus = {"CC-LH-A4": "LH-A4", "CC-COMP-DL": "COMP-DL", "CC-BC-STD": "BC-STD", "CC-ENV-DL": "ENV-DL",
                "CC-NCR-2P": "NCR-2P", "CC-NCR-3P": "NCR-3P", "CC-PRM-PARK": "PERMIT", "CC-LFT-A5": "LEAFLET-A5",
                "CC-LFT-DL": "LEAFLET-DL", "CC-POS-A3": "POSTER-A3", "CC-POS-A1": "POSTER-A1",
                "CC-SGN-COR": "SIGN-CORREX", "CC-BAN-EVT": "BANNER-3X1", "CC-BAN-FLAG": "FLAG-28"}
        return DemoAccount(
            name="HP Site Flow (sandbox)", live_on=("city-council",),
            credentials={"access_key": "demo-token", "secret": "demo-secret", "server": "custom",
                         "base_url": simulator_url.rstrip("/"),
                         "destination": "demo-psp", "non_integrated_shipping_name": "courier"},
            settings={"submission_mode": "sync"},
            product_settings={sku: {"siteflow_sku": remote} for sku, remote in skus.items()})

    def test_connection(self) -> str:
        body = self.http.request("GET", "/api/order", params={"page": 1, "pagesize": 1})
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ProviderResponseError("Site Flow answered /api/order without a data list.")
        return f"Connected to HP Site Flow ({'PrintOS gateway' if self.gateway else 'native'} signing)."

    def list_skus(self, limit: int = 500) -> list[tuple[str, str]]:
        """SKUs for the product setting's picker: (code, label) from ``GET /api/sku``."""
        body = self.http.request("GET", "/api/sku")
        rows = body.get("data") if isinstance(body, dict) else body
        if not isinstance(rows, list):
            raise ProviderResponseError("Site Flow answered /api/sku without a list.")
        return [(str(r["code"]), f"{r['code']} – {r.get('description') or r.get('productCode') or ''}".rstrip(" –"))
                for r in rows[:limit] if isinstance(r, dict) and isinstance(r.get("code"), str) and r["code"]]

    # ---- push ---------------------------------------------------------------------
    def build_payload(self, ctx: OrderContext) -> dict:
        creds = self.credentials_values
        return mapping.build_order(ctx, str(creds.get("destination") or "").strip(),
                                   str(creds.get("non_integrated_shipping_name") or "").strip())

    def push_order(self, ctx: OrderContext) -> PushResult:
        payload = self.build_payload(ctx)  # a missing mapping stops here, before any request
        known = self._known_order(ctx)
        if known is not None:
            return known
        if self.settings.get("submission_mode") == "async":
            return self._submit_async(ctx, payload)
        try:
            body = self.http.request("POST", "/api/order", json=payload)
        except ProviderRejected as exc:
            if exc.status in (400, 409) and DUPLICATE.search(" ".join(exc.messages())):
                found = self.find_order(ctx)
                if found is not None:
                    return found
            raise
        if isinstance(body, dict) and body.get("success") is False:  # a refusal inside a 2xx answer
            message, fields = parse_error_body(body)
            raise ProviderRejected(message, status=200, field_errors=fields)
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict) or not order.get("_id"):
            raise ProviderResponseError("Site Flow accepted the order but did not return it (no order._id).")
        ctx.remember("order_id", str(order["_id"]))
        return self._result(ctx, order)

    def _submit_async(self, ctx: OrderContext, payload: dict) -> PushResult:
        if self.gateway:
            raise ProviderConfigError("Asynchronous submission exists only on the native Site Flow hosts; "
                                      "choose Synchronous or a native server.")
        host = (self.settings.get("orders_url") or ASYNC_HOST).rstrip("/")
        ack = self.http.request("POST", f"{host}/api/order", json=payload)
        if not isinstance(ack, dict) or not ack.get("_id"):
            raise ProviderResponseError("Site Flow's orders host did not acknowledge the order (no _id).")
        ctx.remember("order_id", str(ack["_id"]))
        return PushResult(external_id=str(ack["_id"]), external_number=ctx.external_number, external_status="submitted",
                          items=[ItemPushResult(line_number=i.line_number, external_id=str(ack["_id"]),
                                                external_number=i.external_number, external_status="submitted",
                                                external_order_id=str(ack["_id"])) for i in ctx.items])

    def _known_order(self, ctx: OrderContext) -> PushResult | None:
        """An earlier attempt (or push) already has a Site Flow id: read it instead of submitting."""
        known = ctx.checkpoint.get("order_id") or ctx.existing_external_id
        if not known:
            return None
        try:
            order = self.get_order(str(known))
        except ProviderRejected as exc:
            if exc.status == 404:
                return None  # an async submission that failed validation: submit again
            raise
        return self._result(ctx, order)

    def find_order(self, ctx: OrderContext) -> PushResult | None:
        """Look the order up by our sourceOrderId (after a duplicate answer or an ambiguous failure)."""
        known = self._known_order(ctx)
        if known is not None:
            return known
        for page in range(1, LOOKUP_PAGES + 1):
            body = self.http.request("GET", "/api/order", params={"sourceOrderId": ctx.external_number,
                                                                 "page": page, "pagesize": LOOKUP_PAGE_SIZE})
            rows = body.get("data") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise ProviderResponseError("Site Flow answered /api/order without a data list.")
            for order in rows:
                data = order.get("orderData") if isinstance(order, dict) else None
                if isinstance(data, dict) and data.get("sourceOrderId") == ctx.external_number and order.get("_id"):
                    ctx.remember("order_id", str(order["_id"]))
                    return self._result(ctx, order)
            if len(rows) < LOOKUP_PAGE_SIZE:
                return None
        return None

    def get_order(self, order_id: str) -> dict:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,100}", order_id):
            raise ProviderRejected(f"Not a Site Flow order id: {order_id!r}", status=404)
        body = self.http.request("GET", f"/api/order/{order_id}")
        order = body.get("order", body) if isinstance(body, dict) else None
        if not isinstance(order, dict) or not order.get("_id"):
            raise ProviderResponseError("Site Flow answered an order read without the order.")
        return order

    @staticmethod
    def _result(ctx: OrderContext, order: dict) -> PushResult:
        order_id, data = mapping.order_parts(order)
        status = str(data.get("status") or "")
        remote_items = data.get("items") if isinstance(data.get("items"), list) else []
        by_source = {str(i.get("sourceItemId")): i for i in remote_items if isinstance(i, dict)}
        items = [ItemPushResult(line_number=i.line_number,
                                external_id=str((by_source.get(i.external_number) or {}).get("_id") or order_id),
                                external_number=i.external_number, external_status=status,
                                external_order_id=order_id) for i in ctx.items]
        return PushResult(external_id=order_id, external_number=str(data.get("sourceOrderId") or ctx.external_number),
                          items=items, external_status=status)

    # ---- status -------------------------------------------------------------------
    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        for ref in refs:
            if not ref.external_id:
                continue
            try:
                order = self.get_order(ref.external_id)
            except ProviderRejected as exc:
                if exc.status == 404:
                    continue  # an async submission that never became an order
                raise
            yield from mapping.status_updates(order, ref.idempotency_key)

    @classmethod
    def map_status(cls, remote_status: str | None, settings: dict | None = None) -> str | None:
        text = str(remote_status or "").strip().lower()
        return super().map_status("submission error" if text.startswith("submission error") else text, settings)

    # ---- triggers (webhooks) --------------------------------------------------------
    @staticmethod
    def trigger_token(webhook_token: str) -> str:
        """The static header token, derived from the account's webhook token (rotating one rotates both)."""
        return static_header_token(webhook_token)

    @classmethod
    def webhook_setup(cls, url: str, secret: str) -> WebhookSetup:
        return WebhookSetup(scheme=cls.webhook_auth, url=url, header_name=TRIGGER_HEADER,
                            header_value=cls.trigger_token(secret), template=mapping.trigger_template(),
                            steps="Site Flow → Settings → Triggers: an HTTP POST trigger (JSON template below) for "
                                  + ", ".join(mapping.TRIGGER_EVENTS) + ".")

    def verify_webhook(self, headers: dict, body: bytes, secret: str) -> None:
        sent = next((v for k, v in headers.items() if k.lower() == TRIGGER_HEADER), "")
        if not sent or not hmac.compare_digest(str(sent).encode(), self.trigger_token(secret).encode()):
            raise WebhookAuthError(f"missing or wrong {TRIGGER_HEADER} header")

    def parse_webhook(self, headers: dict, body: bytes) -> WebhookEnvelope:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("body is not a JSON object")
        order_id, hub = data.get("orderId"), data.get("hubKey")
        if not any(isinstance(v, str) and v.strip() for v in (order_id, hub)):
            raise ValueError("neither orderId nor hubKey is set")
        if order_id and not re.fullmatch(r"[A-Za-z0-9_\-]{1,100}", str(order_id)):
            raise ValueError("orderId is not a Site Flow id")
        event = data.get("event") if isinstance(data.get("event"), str) else "trigger"
        return WebhookEnvelope(dedupe_key=hashlib.sha256(body).hexdigest(), event_type=event[:100])

    def process_webhook(self, payload: bytes) -> Iterator[StatusUpdate]:
        """The trigger says which order changed; its state is read back from Site Flow (the trigger is
        unsigned, so it only points). A submission error has no order to read: its message is the status."""
        data = json.loads(payload)
        order_id = str(data.get("orderId") or "").strip()
        if order_id:
            try:
                yield from mapping.status_updates(self.get_order(order_id), str(data.get("hubKey") or "") or None)
                return
            except ProviderRejected as exc:
                if exc.status != 404:
                    raise
        hub = str(data.get("hubKey") or "").strip()
        if hub and "error" in str(data.get("event") or "").lower():
            message = str(data.get("message") or "").strip()
            yield StatusUpdate(push_key=hub, external_status="submission error" + (f": {message}" if message else ""))


PROVIDER = SiteFlow
