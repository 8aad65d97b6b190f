"""Tharstern (fully integrated): sales orders, polled status and product import through the
Tharstern REST API at ``<server>/TharsternAPI/api/`` (providers-part2.md §4.1; Aleyant KB a2301).

* Auth: token from ``Authentication/GenerateAPIToken`` (login, password, application id); an
  all-zero GUID means the login failed (never retried). Token cached in Redis, refreshed once on
  401 through ProviderHTTP. Calls use Basic ``"<token>:"``.
* Every answer is a ``{Status: {Success}, Details}`` envelope and is checked; ``Success: false``
  is a rejection with Tharstern's words; HTTP 400 carries an ASP.NET ``ModelState``.
* Push: ``orders/submit`` with ``UniqueSubmitOrderID`` = uuid5 of our push key, so a re-push
  returns the same order instead of a second one; ``ID = 0`` = rejected with ``StatusDetails``.
  Stock items are looked up by product code (``products?productCode=``). Artwork goes through
  ``orders/submitorderasset`` when the account asks for it (each file recorded in the push
  checkpoint, so a retry never attaches it twice).
* Status: polled, ``orders?orderIDs=`` then ``jobs?jobNo=`` for lines that have a job.
* Products: import of chosen Tharstern products (codes, or ``*`` for the whole list) into the
  chosen category (Root when none), price with the optional markup %, stock level kept on the
  product's Embedded Services data; later syncs update price and stock, a second sync with
  nothing changed reports every product unchanged. New products start Active.

Assumptions [PROPOSED]/[UNCERTAIN] (not public), each configurable or documented here:
product fields ``ID, Code, Name, Description, Price, StockLevel`` (``products?customerCode=``
prices for the account's customer code); list paging ``pageNumber``/``pageSize``; order
answers ``{ID, OrderNo, Status, Items[{Ref1, JobNo, Status}]}``, job answers ``{JobNo, Status,
Despatch{Carrier, TrackingNo, DespatchDate}}``; the status vocabulary (Estimate, Order
Received, Pre-Press, Awaiting Approval, In Production, Despatched, Invoiced, Complete,
Cancelled) with the default map below, overridable per account (status map setting: an
overridden status is reported by its hub name); the token lifetime (setting, 20 min).
"""
from __future__ import annotations

import base64
from datetime import date
from typing import Iterator
from urllib.parse import urlsplit

import requests

from ..base import Capabilities, DemoAccount, Provider, RemoteProduct
from ..context import ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderConfigError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from .. import files
from ..http import ProviderHTTP, json_error_body
from . import mapping
from .auth import TharsternToken, envelope_message

API_PATH = "/TharsternAPI/api/"
PAGE_SIZE = 100
MAX_PAGES = 500
MAX_ARTWORK_BYTES = 50 * 1024 * 1024
STATUS_LINE = r"(?i)(\s*[^=\n]+=\s*(" + "|".join(mapping.HUB_STATUSES) + r")\s*(\n|$))*"


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """ASP.NET ``{"Message", "ModelState"}`` on 400, or the envelope's words, or the body's start."""
    body, fallback = json_error_body(response)
    if body is None:
        return fallback, {}
    state = body.get("ModelState") if isinstance(body.get("ModelState"), dict) else {}
    message = body.get("Message") or envelope_message(body) or f"HTTP {response.status_code}"
    return str(message), {str(k): v for k, v in state.items()}


def api_root(server_url: str) -> str:
    """``https://server[:port]`` (an entered ``…/TharsternAPI/api`` is accepted too) → the API root."""
    url = server_url.rstrip("/")
    lowered = url.lower()
    for suffix in ("/tharsternapi/api", "/tharsternapi"):
        if lowered.endswith(suffix):
            url = url[: -len(suffix)]
            break
    return url + API_PATH


class Tharstern(Provider):
    key = "tharstern"
    name = "Tharstern"
    description = ("Print MIS, fully integrated: orders become Tharstern sales orders (idempotent "
                   "UniqueSubmitOrderID), status is polled, chosen Tharstern products are imported with price "
                   "(+ markup %) and stock and kept in step. Assumed, configurable: product/order/job field names, "
                   "status vocabulary (map per account), token lifetime.")
    docs_url = "https://support.aleyant.com/kb/a2301/integration-tharstern-via-embedded-services.aspx"
    default_base_url = "https://tharstern.invalid"  # self-hosted: the Server URL credential is required
    capabilities = Capabilities(push_orders=True, idempotent_push=True, status_polling=True, product_sync=True,
                                user_settings=True)
    repush = "noop"
    repush_note = "orders/submit is idempotent on UniqueSubmitOrderID (uuid5 of our push key): the same order comes back."
    credentials = schema(
        Field("login", "API Login", required=True, max_length=200),
        Field("password", "API Password", type="secret", required=True, max_length=200),
        Field("application_id", "Application ID", required=True, max_length=100,
              help="Free text you choose, unique per storefront (Tharstern ties the API session to it)."),
        Field("base_url", "Server URL", type="url", required=True,
              help="https://your-tharstern-server[:port] — the API lives under /TharsternAPI/api/."),
    )
    account_settings = schema(
        Field("customer_code", "Customer code for products", required=True, max_length=100,
              help="Tharstern customer whose prices are imported; also the invoice customer of orders from "
                   "users without an active External ID."),
        Field("product_codes", "Products to import", type="text", max_length=20000,
              help="Tharstern product codes, one per line or comma-separated; * imports the whole product list."),
        Field("import_category", "Category for imported products", max_length=200,
              help="Created on the site when missing; empty puts new products in Root."),
        Field("markup_percent", "Price markup %", type="decimal", default="0", min=0, max=1000),
        Field("submit_artwork", "Send artwork files", type="bool",
              help="Attach each item's production files to the sales order (orders/submitorderasset)."),
        Field("lead_days", "Required date (days after order)", type="int", default=7, min=0, max=365,
              help="Used when an item has no requested ship date."),
        Field("status_map", "Status map", type="text", max_length=5000, regex=STATUS_LINE,
              help="Lines 'Tharstern status = hub status' overriding the defaults, e.g. 'Pre-Press = In Production'."),
        Field("token_minutes", "API token lifetime (minutes)", type="int", default=20, min=1, max=1440),
    )
    product_settings = schema(
        Field("product_code", "Tharstern product code", max_length=100,
              help="Empty: the product's Integration ID, then its SKU (imported products use their code as SKU)."),
    )
    user_settings = schema(
        Field("external_id", "External ID (Tharstern customer code)", max_length=100,
              help="Invoice customer of this user's orders; empty uses the account's customer code."),
        Field("active", "Active", type="bool"),
    )
    status_map = {
        "order received": "Order Received", "estimate": "Order Received", "pre-press": "In Production",
        "awaiting approval": "On Hold", "in production": "In Production", "despatched": "Shipped",
        "dispatched": "Shipped", "invoiced": "Completed", "complete": "Completed", "completed": "Completed",
        "cancelled": "Cancelled", "on hold": "On Hold",
        # an account's own map reports the hub name (see module docstring)
        **{s.lower(): s for s in mapping.HUB_STATUSES},
    }

    @property
    def api_root(self) -> str:
        return api_root(self.base_url)

    def build_http(self) -> ProviderHTTP:
        c = self.credentials_values
        token = TharsternToken(self.api_root, str(c.get("login") or ""), str(c.get("password") or ""),
                               str(c.get("application_id") or ""), redis=self.redis,
                               ttl_seconds=int(self.settings.get("token_minutes") or 20) * 60, timeout=self.timeout)
        http = ProviderHTTP(self.api_root, auth=token, secrets=self.secrets(), limiter=self.limiter(),
                            timeout=self.timeout, error_parser=parse_error, headers={"Accept": "application/json"})
        token.login_http = ProviderHTTP(self.api_root, secrets=self.secrets(), limiter=self.limiter(),
                                        timeout=self.timeout, error_parser=parse_error,
                                        headers={"Accept": "application/json"})
        token.login_http.exchanges = http.exchanges  # one exchange log per client
        return http

    def call(self, method: str, path: str, **kwargs) -> dict:
        """One API call; the ``{Status, Details}`` envelope is checked and ``Details`` returned."""
        body = self.http.request(method, path, **kwargs)
        if not isinstance(body, dict) or not isinstance(body.get("Status"), dict):
            raise ProviderResponseError(f"Tharstern answered {path} without its Status envelope.")
        if body["Status"].get("Success") is not True:
            raise ProviderRejected(f"Tharstern refused {path.split('?')[0]}: "
                                   f"{envelope_message(body) or 'Success is false, no details given.'}")
        details = body.get("Details")
        return details if isinstance(details, dict) else {}

    @staticmethod
    def items_of(details: dict) -> list[dict]:
        items = details.get("Items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        from ...storefront.demo import USERS

        site = "promo-shop"
        return DemoAccount(
            name="Tharstern (sandbox)", live_on=(site,),
            credentials={"login": "demo@tharstern.test", "password": "demo-password", "application_id": "hub-demo",
                         "base_url": simulator_url.rstrip("/")},
            settings={"customer_code": "WEBSTORE", "product_codes": "TH-BC-350\nTH-FLY-A5\nTH-POS-A2",
                      "import_category": "Tharstern Products", "markup_percent": "20"},
            user_settings={email: {"external_id": f"PR{n:03d}", "active": True}
                           for n, (email, *_) in enumerate(USERS[site], 1)})

    # ---- connection ------------------------------------------------------------------
    def test_connection(self) -> str:
        code = str(self.settings.get("customer_code") or "")
        customers = self.items_of(self.call("GET", "customers", params={"customerCode": code}))
        if code and not customers:
            raise ProviderRejected(f"Logged in, but Tharstern has no customer {code!r} (customer code for products).")
        return f"Connected to Tharstern as {self.credentials_values.get('login')}" + (
            f"; customer {code} found." if code else ".")

    # ---- push ------------------------------------------------------------------------
    def stock_item_ids(self, ctx: OrderContext) -> dict[str, int]:
        ids: dict[str, int] = {}
        for item in ctx.items:
            code = mapping.product_code(item)
            if code in ids:
                continue
            found = [p for p in self.items_of(self.call("GET", "products", params={"productCode": code}))
                     if str(p.get("Code") or code) == code and p.get("ID")]
            if not found:
                raise ProviderRejected(f"Item {item.number}: Tharstern has no product with code {code!r}.")
            ids[code] = found[0]["ID"]
        return ids

    def push_order(self, ctx: OrderContext) -> PushResult:
        missing = [f"Item {i.number}: no Tharstern product code (product setting, Integration ID or SKU)."
                   for i in ctx.items if not mapping.product_code(i)]
        if missing:
            raise ProviderConfigError("Tharstern needs settings that are missing:", field_errors={"": missing})
        order_id = ctx.checkpoint.get("order_id")
        number, status = ctx.checkpoint.get("order_no") or "", ctx.checkpoint.get("status") or ""
        if not order_id:
            payload = mapping.sales_order(ctx, self.settings, self.stock_item_ids(ctx))
            details = self.call("POST", "orders/submit", json={"Orders": [payload]})
            answers = [o for o in details.get("Orders") or [] if isinstance(o, dict)]
            if not answers:
                raise ProviderResponseError("Tharstern orders/submit answered without an order.")
            answer = answers[0]
            if str(answer.get("ID") or "0") in ("0", ""):
                raise ProviderRejected(f"Tharstern rejected the order: {answer.get('StatusDetails') or 'no reason given'}")
            order_id, number = str(answer["ID"]), str(answer.get("OrderNo") or answer["ID"])
            status = str(answer.get("StatusDetails") or "Order Received")[:100]
            ctx.remember("order_id", order_id)
            ctx.remember("order_no", number)
            ctx.remember("status", status)
        if self.settings.get("submit_artwork"):
            self.submit_artwork(ctx, order_id)
        return PushResult(external_id=order_id, external_number=number, external_status=status,
                          items=[ItemPushResult(line_number=i.line_number, external_id=order_id,
                                                external_number=i.external_number, external_status=status,
                                                external_order_id=order_id) for i in ctx.items])

    def submit_artwork(self, ctx: OrderContext, order_id: str) -> None:
        for item in ctx.items:
            for n, url in enumerate(item.file_urls, 1):
                key = f"asset:{item.line_number}:{n}"
                if ctx.checkpoint.get(key) or urlsplit(url).scheme not in ("http", "https"):
                    continue
                content = self.download(url)
                name = (urlsplit(url).path.rsplit("/", 1)[-1] or f"{item.external_number}-{n}.pdf")[:200]
                self.call("POST", "orders/submitorderasset", json={
                    "OrderId": int(order_id), "Filename": f"{item.external_number}-{name}",
                    "Content_Base64": base64.b64encode(content).decode()})
                ctx.remember(key, True)

    def download(self, url: str) -> bytes:
        """A production file from our storefront: through the HTTP layer, which sends no
        Tharstern credentials to another host, streamed and size-capped."""
        return files.download(self.http, url, max_bytes=MAX_ARTWORK_BYTES)

    # ---- status ----------------------------------------------------------------------
    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        overrides = mapping.account_status_map(self.settings.get("status_map"))
        by_id = {str(r.external_id): r for r in refs if r.external_id}
        ids = list(by_id)
        for start in range(0, len(ids), 50):
            chunk = ids[start:start + 50]
            for order in self.items_of(self.call("GET", "orders", params={"orderIDs": ",".join(chunk)})):
                ref = by_id.get(str(order.get("ID")))
                if ref is None:
                    continue
                yield from self._order_updates(ref, order, overrides)

    def _order_updates(self, ref, order: dict, overrides: dict) -> Iterator[StatusUpdate]:
        def named(status) -> str:
            text = str(status or "")
            return overrides.get(text.strip().lower(), text)

        yield StatusUpdate(push_key=ref.idempotency_key, external_status=named(order.get("Status")),
                           external_order_id=str(order.get("ID")))
        for line in order.get("Items") if isinstance(order.get("Items"), list) else []:
            if not isinstance(line, dict) or not line.get("JobNo") or not line.get("Ref1"):
                continue
            jobs = self.items_of(self.call("GET", "jobs", params={"jobNo": str(line["JobNo"])}))
            if not jobs:
                continue
            job = jobs[0]
            despatch = job.get("Despatch") if isinstance(job.get("Despatch"), dict) else None
            shipment = None
            if despatch and despatch.get("TrackingNo"):
                try:
                    shipped = date.fromisoformat(str(despatch.get("DespatchDate") or "")[:10])
                except ValueError:
                    shipped = None
                shipment = Shipment(carrier=str(despatch.get("Carrier") or ""),
                                    tracking_number=str(despatch["TrackingNo"]), ship_date=shipped)
            yield StatusUpdate(push_key=ref.idempotency_key, external_status=named(job.get("Status")),
                               external_order_id=str(order.get("ID")), item_numbers=[str(line["Ref1"])],
                               shipment=shipment)

    # ---- products --------------------------------------------------------------------
    def iter_products(self) -> Iterator[RemoteProduct]:
        codes = mapping.codes_to_import(self.settings.get("product_codes"))
        if not codes:
            raise ProviderConfigError("Choose the Tharstern products to import: set 'Products to import' (product "
                                      "codes, or * for the whole list) on the account.")
        customer = str(self.settings.get("customer_code") or "")
        if "*" in codes:
            yield from self._all_products(customer)
            return
        for code in codes:
            for item in self.items_of(self.call("GET", "products", params={"productCode": code,
                                                                            "customerCode": customer})):
                product = mapping.remote_product(item, self.settings)
                if product is not None and product.sku == code:
                    yield product

    def _all_products(self, customer: str) -> Iterator[RemoteProduct]:
        page, seen = 1, 0
        while page <= MAX_PAGES:
            details = self.call("GET", "products", params={"customerCode": customer, "pageNumber": page,
                                                           "pageSize": PAGE_SIZE})
            items = self.items_of(details)
            for item in items:
                product = mapping.remote_product(item, self.settings)
                if product is not None:
                    yield product
            seen += len(items)
            total = details.get("TotalItemCount")
            if not items or not isinstance(total, int) or seen >= total:
                return
            page += 1


PROVIDER = Tharstern
