"""Tharstern (cXML Punchout): orders pushed to the Tharstern MIS as cXML 1.2.063 OrderRequests.

Facts (providers-part2.md §4.2, §5; Aleyant KB a1463): HTTPS POST of the document
(``text/xml``, UTF-8) with a synchronous cXML ``Response/Status``; the cXML status decides,
not the HTTP status (a rejected order arrives as HTTP 200 carrying a 4xx Status). The API
login is the Sender identity and the API password its ``SharedSecret``; the product's
Integration ID holds the Tharstern product code (``SupplierPartID``); Tharstern customers
cannot be created through the API, so each store user carries the Tharstern customer code
in External ID (+ Active) — it goes into ``BillTo/Address/@addressID`` and
``Extrinsic name="CustomerCode"``. No status comes back: push only.

Idempotency (our rule): ``orderID`` is our stable order reference. Each document gets a new
``payloadID`` recorded in the push checkpoint *before* it is sent. A retry after an
unanswered attempt (timeout, 5xx/55x) replays the same payloadID: a supplier that already
received it answers ``409`` (duplicate payload), which we read as "received" = pushed. A
re-push of an order that was already accepted sends the same orderID with a new payloadID,
``type="update"`` and a ``DocumentReference`` to the accepted payloadID (kept in the
checkpoint; the push's external id is the orderID), so the supplier replaces its order
instead of creating a second one.

Assumptions [PROPOSED]/[UNCERTAIN], each a setting: the endpoint path (the server URL holds
the whole endpoint, e.g. ``https://<server>/TharsternAPI/cxml``); credential domains
(``NetworkId``); the ``To`` identity; ``Classification`` (UNSPSC 82121500) and
``UnitOfMeasure`` (EA) defaults, which the DTD requires; ``deploymentMode``.
``201 Accepted`` means received and pending. A connection test sends a ``ProfileRequest``
(read-only, authenticated), never an order. Two account fallbacks exist for installs that need
them, both off by default (= the KB rule, a push without the code is refused before any
request): a default customer code, and the SKU as product code. Because the framework's
``missing_settings`` cannot see account settings, the user fields are not declared
``required``; ``push_order`` refuses with the same words before any request.
A re-push after a *definitive* refusal (4xx) sends a new ``type="new"`` document.
"""
from __future__ import annotations

from datetime import datetime, timezone

import requests

from ..base import Capabilities, DemoAccount, Provider
from ..context import ItemPushResult, OrderContext, PushResult
from ..errors import (ProviderAuthError, ProviderConfigError, ProviderRejected, ProviderResponseError,
                      ProviderTransientError)
from ..fields import Field, schema
from ..http import USER_AGENT, ProviderHTTP
from . import cxml

DOMAIN_HELP = "cXML credential domain, e.g. NetworkId, DUNS."
ANSWERED = "answered_payload_id"   # checkpoint: the last payloadID that got a definitive answer
ACCEPTED = "accepted_payload_id"   # checkpoint: the payloadID of the document the supplier holds
DOCUMENT = "document"              # checkpoint: {"payload_id", "type", "ref"} of the last document sent


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """A non-2xx HTTP answer: the cXML Status words when the body is cXML, else its start."""
    try:
        return cxml.parse_status(response.content).words(), {}
    except ProviderResponseError:
        text = (response.text or "").strip()
        return (text[:300] if text and not text.startswith("<") else f"HTTP {response.status_code}"), {}


class TharsternCxml(Provider):
    key = "tharstern_cxml"
    name = "Tharstern (cXML)"
    description = ("Print MIS, cXML route: orders go to Tharstern as cXML OrderRequests (push only; Tharstern "
                   "does not report status). Products need the Tharstern product code in their Integration ID; "
                   "customers need their Tharstern customer code as External ID (+ Active). Assumed, configurable: "
                   "endpoint path, credential domains (NetworkId), To identity, UNSPSC 82121500 / EA defaults.")
    docs_url = "https://support.aleyant.com/kb/a1463/integration-tharstern-cxml-punchout.aspx"
    default_base_url = "https://tharstern.invalid/TharsternAPI/cxml"  # self-hosted: Server URL is required
    status_note = "Tharstern (cXML) does not report status."
    repush = "update"
    repush_note = ("Same orderID, a new payloadID, type=\"update\" with a DocumentReference to the accepted "
                   "document; an unanswered attempt is replayed with its payloadID (409 = already received).")
    capabilities = Capabilities(push_orders=True, idempotent_push=True, user_settings=True)
    credentials = schema(
        Field("api_login", "API Login", required=True, max_length=200,
              help="Tharstern API user: the cXML Sender identity."),
        Field("api_password", "API Password", type="secret", required=True, max_length=200,
              help="Sent as the Sender's SharedSecret."),
        Field("base_url", "Server URL (cXML endpoint)", type="url", required=True,
              help="The whole endpoint, e.g. https://tharstern.example.com/TharsternAPI/cxml (path not public)."),
    )
    account_settings = schema(
        Field("sender_domain", "Sender credential domain", default="NetworkId", max_length=100, help=DOMAIN_HELP),
        Field("from_identity", "From identity", max_length=200,
              help="Who the order is from (our storefront). Empty: the site's Integration ID, else its slug."),
        Field("from_domain", "From credential domain", default="NetworkId", max_length=100, help=DOMAIN_HELP),
        Field("to_identity", "To identity (Tharstern)", default="Tharstern", max_length=200,
              help="The supplier's identity, as Tharstern configured it."),
        Field("to_domain", "To credential domain", default="NetworkId", max_length=100, help=DOMAIN_HELP),
        Field("deployment_mode", "Deployment mode", type="choice", default="production",
              choices=(("production", "Production"), ("test", "Test"))),
        Field("classification_domain", "Classification domain", default="UNSPSC", max_length=50),
        Field("classification_code", "Classification code", default="82121500", max_length=50,
              help="Required by the cXML DTD on every item (82121500 = printing)."),
        Field("unit_of_measure", "Unit of measure", default="EA", max_length=10, regex=r"[A-Z0-9]{1,3}",
              help="UN/CEFACT Rec. 20 code, e.g. EA."),
        Field("default_customer_code", "Default customer code", max_length=100,
              help="Empty (recommended, the KB rule): every customer needs a Tharstern customer code as External ID "
                   "(+ Active). Set: used for customers without one."),
        Field("sku_as_product_code", "Use the SKU when a product has no Integration ID", type="bool",
              help="Off (the KB rule): a product without a Tharstern product code is refused."),
        Field("language", "Language (xml:lang)", default="en-US", max_length=20, regex=r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"),
    )
    site_settings = schema(
        Field("from_identity", "From identity for this site", max_length=200,
              help="Overrides the account's From identity for this site's orders."),
    )
    product_settings = schema(
        Field("product_code", "Tharstern product code", max_length=100,
              help="Empty: the product's Integration ID (where the Tharstern product code normally goes)."),
    )
    user_settings = schema(  # required unless the account sets a default customer code (checked in push_order)
        Field("external_id", "External ID (Tharstern customer code)", max_length=100,
              help="Required: the customer must exist in Tharstern (it cannot be created through the API)."),
        Field("active", "Active", type="bool", help="Required: the External ID is used only when ticked."),
    )

    def build_http(self) -> ProviderHTTP:
        return ProviderHTTP(self.base_url, secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
                            error_parser=parse_error)

    def customer_code(self, ctx) -> str:
        user = ctx.customer.settings or {}
        if user.get("external_id") and user.get("active") is True:
            return str(user["external_id"]).strip()
        return str(self.settings.get("default_customer_code") or "").strip()

    def product_code(self, item) -> str:
        return cxml.product_code(item) or (item.sku.strip() if self.settings.get("sku_as_product_code") else "")

    def missing(self, ctx) -> list[str]:
        """What this account's push lacks, in the framework's words; checked before any request."""
        problems = self.missing_settings(ctx)
        if not self.customer_code(ctx):
            user = ctx.customer.settings or {}
            if not user.get("external_id"):
                problems.append(f"Customer {ctx.customer.email}: External ID (Tharstern customer code) is required "
                                f"on the user's Embedded Services tab.")
            if user.get("active") is not True:
                problems.append(f"Customer {ctx.customer.email}: Active must be ticked on the user's Embedded "
                                f"Services tab.")
        problems += [f"Item {item.number}: the product's Integration ID (Tharstern product code) is required by "
                     f"{self.name}." for item in ctx.items if not self.product_code(item)]
        return problems

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        from ...storefront.demo import CATALOG, USERS

        site = "city-council"
        skus = [sku for top in CATALOG[site].values() for items in top.values() for sku, *_ in items]
        return DemoAccount(
            name="Tharstern cXML (sandbox)", live_on=(site,),
            credentials={"api_login": "hub-demo", "api_password": "demo-shared-secret",
                         "base_url": f"{simulator_url.rstrip('/')}/TharsternAPI/cxml"},
            settings={"deployment_mode": "test"},
            product_settings={sku: {"product_code": sku} for sku in skus},
            user_settings={email: {"external_id": f"CC{n:03d}", "active": True}
                           for n, (email, *_) in enumerate(USERS[site], 1)})

    # ---- envelope ------------------------------------------------------------------
    def envelope(self, site_settings: dict | None = None, site_integration_id: str = "", site_slug: str = "hub") \
            -> cxml.Envelope:
        s, creds = self.settings, self.credentials_values
        from_identity = ((site_settings or {}).get("from_identity") or s.get("from_identity")
                         or site_integration_id or site_slug)
        return cxml.Envelope(
            sender=cxml.Party(str(creds.get("api_login") or ""), s.get("sender_domain") or "NetworkId"),
            shared_secret=str(creds.get("api_password") or ""),
            from_=cxml.Party(str(from_identity), s.get("from_domain") or "NetworkId"),
            to=cxml.Party(s.get("to_identity") or "Tharstern", s.get("to_domain") or "NetworkId"),
            user_agent=USER_AGENT, deployment_mode=s.get("deployment_mode") or "production",
            lang=s.get("language") or "en-US")

    def item_options(self) -> cxml.ItemOptions:
        s = self.settings
        return cxml.ItemOptions(unit_of_measure=s.get("unit_of_measure") or "EA",
                                classification_domain=s.get("classification_domain") or "UNSPSC",
                                classification_code=s.get("classification_code") or "82121500")

    def _post(self, document: bytes) -> cxml.CxmlStatus:
        cxml.validate(document)  # never send an invalid document
        response = self.http.request("POST", self.base_url, data=document, expect="raw", ok_statuses=(409,),
                                     headers={"Content-Type": "text/xml; charset=utf-8"})
        if response.status_code == 409:  # a transport-level duplicate: the document was received before
            try:
                return cxml.parse_status(response.content)
            except ProviderResponseError:
                return cxml.CxmlStatus(409, "Conflict", "duplicate document")
        return cxml.parse_status(response.content)

    # ---- operations ------------------------------------------------------------------
    def test_connection(self) -> str:
        now = datetime.now(timezone.utc)
        document = cxml.profile_request(self.envelope(), cxml.new_payload_id(now), now)
        status = self._post(document)
        self._raise_for(status)
        return f"Connected to Tharstern (cXML): {status.words()}."

    def _raise_for(self, status: cxml.CxmlStatus) -> None:
        if 200 <= status.code < 300 or status.code == 409:
            return
        words = f"Tharstern (cXML) answered {status.words()}"
        if status.code in (401, 403):
            raise ProviderAuthError(words, status=status.code)
        if 400 <= status.code < 500:
            raise ProviderRejected(words, status=status.code)
        if status.code >= 500:  # 500, 550/551/560: temporary, may have been received → replay the same payloadID
            raise ProviderTransientError(words, status=status.code)
        raise ProviderResponseError(f"{words} (not a final cXML status).", status=status.code)

    def next_document(self, ctx: OrderContext) -> dict:
        """Which document this attempt sends (see the module docstring's idempotency rule)."""
        sent = ctx.checkpoint.get(DOCUMENT)
        accepted = ctx.checkpoint.get(ACCEPTED)
        if isinstance(sent, dict) and sent.get("payload_id") not in (ctx.checkpoint.get(ANSWERED), accepted):
            return sent  # unanswered last time: replay it with the same payloadID
        now = datetime.now(timezone.utc)
        document = {"payload_id": cxml.new_payload_id(now),
                    "type": "update" if accepted else "new", "ref": accepted}
        ctx.remember(DOCUMENT, document)  # committed before the request leaves
        return document

    def build_document(self, ctx: OrderContext, document: dict, now: datetime | None = None) -> bytes:
        customer_code = self.customer_code(ctx)
        return cxml.order_request(
            ctx, self.envelope(ctx.site_settings, ctx.site_integration_id, ctx.site_slug),
            payload_id=document["payload_id"], now=now or datetime.now(timezone.utc), customer_code=customer_code,
            options=self.item_options(), order_type=document["type"], previous_payload_id=document.get("ref"),
            product_code=self.product_code)

    def push_order(self, ctx: OrderContext) -> PushResult:
        missing = self.missing(ctx)
        if missing:
            raise ProviderConfigError(f"{self.name} needs settings that are missing:", field_errors={"": missing})
        document = self.next_document(ctx)
        body = self.build_document(ctx, document)
        status = self._post(body)
        if 400 <= status.code < 500 and status.code != 409:
            ctx.remember(ANSWERED, document["payload_id"])  # a definitive refusal: a later push starts anew
        self._raise_for(status)
        ctx.remember(ACCEPTED, document["payload_id"])  # what a later update references
        if status.code == 409:
            label = "Already received (duplicate payload)"
        elif status.code == 201:
            label = "Accepted (pending)"
        else:
            label = f"Received ({status.code} {status.text})".strip()
        return PushResult(
            external_id=ctx.external_number, external_number=ctx.external_number, external_status=label,
            items=[ItemPushResult(line_number=i.line_number, external_id=self.product_code(i),
                                  external_number=i.external_number, external_status=label,
                                  external_order_id=ctx.external_number) for i in ctx.items],
            data={"payload_id": document["payload_id"], "type": document["type"], "cxml_status": status.code})


PROVIDER = TharsternCxml
