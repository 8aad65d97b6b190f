"""Aleyant tFLOW (prepress automation and proofing), REST API of a tFLOW instance.

Documented / seen in public clients (providers-part2.md §1.1): OAuth2 client credentials at
``POST {instance}/oauth/access_token`` (API key + secret key of a tFLOW user), 1-hour Bearer
tokens to be reused until an auth error (cached in Redis for every worker, one refresh on
401); ``/api/v{1,2}/<entity>/<action>``; ``order/create`` (an order = the customer's PO) and
``job/create`` (one job per artwork) with form-encoded, PHP-style nested bodies; jobs read
with ``current_state_name``; ``job/list?order_id=``; ``product/list``; webhooks registered
with ``webhook/create`` {name (event), url, security_key}.

Proposed contract — confirm with the vendor (each point is an account setting, and the
simulator tests each one):

* API version prefix ``/api/v2`` (setting ``api_version``; v1 also works on the simulator).
* Body encoding: form (as the public clients) or JSON (unverified) — ``body_format``.
* Workflow: the REST field that fixes a job's workflow at creation is not public; sent as
  ``workflow_id`` (setting ``workflow_field``).
* Artwork: by URL in ``props[artwork_url]`` at job creation, or uploaded as
  ``POST job/{id}/revision`` multipart part ``file`` — ``artwork_mode``.
* Order look-up before creating (a retry after a lost answer): ``order/list?name=`` (the
  filter is assumed; answers are also matched by name on our side).
* Webhook delivery: JSON ``{event, job_id, order_id, state, timestamp}`` with header
  ``X-Tflow-Signature: sha1(security_key + raw body)`` — a plain SHA-1 digest, NOT an HMAC
  (the order key+body / body+key is a setting). Delivery is unverified, so the hub also
  polls, and each webhook is confirmed by reading the job.
* State spellings beyond ``to_upload_first`` / ``approved`` are inferred (see status_map);
  ``printing`` / ``shipped`` (with ``props[tracking_number]``/``props[carrier]``) are
  assumed post-release states. Unknown states are recorded, the item status is unchanged.
* No rate limit is documented; we pace ourselves at 60 requests a minute.

Every push is safe to retry: the tFLOW order id and each job id are checkpointed the moment
they exist, and the intent to create the order is checkpointed before it is asked for; when
a previous attempt may have created something without us hearing of it, the order is looked
up by name and its jobs by our item number before anything is created.
The product setting is a picker filled from tFLOW's product list (``product_choices``), with
a typed-in id or name accepted when tFLOW cannot be reached.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Iterator

import requests
from urllib3 import encode_multipart_formdata

from ..base import Capabilities, DemoAccount, Provider, WebhookAuthError, WebhookEnvelope
from ..context import ItemPushResult, OrderContext, PushResult, Shipment, StatusUpdate
from ..errors import ProviderConfigError, ProviderConnectError, ProviderRejected, ProviderResponseError
from ..fields import Field, schema
from ..http import ProviderHTTP, json_error_body
from ..ratelimit import RateLimit, SharedRateLimiter, with_margin
from . import mapping
from .auth import TFlowToken

WORKFLOWS = (("2", "2 – One-step approval"), ("4", "4 – Automated release"), ("5", "5 – Approval without release"),
             ("8", "8 – Two-step approval"), ("9", "9 – Automated release, two-step approval"),
             ("10", "10 – No release, two-step approval"), ("20", "20 – No approval, auto-send"),
             ("30", "30 – No approval"))
DEFAULT_EVENTS = "job.approved,job.on_hold,job.released,job.rejected,job.printing,job.shipped"
MAX_ARTWORK_BYTES = 200 * 1024 * 1024


def parse_error(response: requests.Response) -> tuple[str, dict]:
    """tFLOW errors: {"error": "...", "messages": {field: [..]}} (or an OAuth error body)."""
    body, fallback = json_error_body(response)
    if body is None:
        return fallback, {}
    message = body.get("error_description") or body.get("error") or body.get("message") or ""
    messages = body.get("messages")
    fields = {str(k): v for k, v in messages.items()} if isinstance(messages, dict) else {}
    return str(message) if not isinstance(message, (dict, list)) else json.dumps(message)[:300], fields


def _id(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


class TFlow(Provider):
    key = "tflow"
    name = "Aleyant tFLOW"
    description = ("Prepress and proofing: one tFLOW order per order, one job per item with its artwork; job "
                   "states come back by polling and webhooks. Proposed contract — confirm with the vendor: API "
                   "v2 paths, workflow field name, artwork by URL or upload, order look-up by name, webhook "
                   "signature sha1(key + body) and the state names are assumptions, each one a setting.")
    docs_url = "https://support.aleyant.com/kb/a1835/tflow-api.aspx"
    default_base_url = "https://tflow.example.com"
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_polling=True, status_webhook=True,
                                webhook_subscribe=True)
    credentials = schema(
        Field("base_url", "tFLOW instance URL", type="url", required=True,
              help="The address of your tFLOW instance, e.g. https://yourcompany.tflow.example."),
        Field("client_id", "API key", required=True, max_length=200,
              help="tFLOW → your (dedicated API) user's profile → Show API credentials."),
        Field("client_secret", "Secret key", type="secret", required=True, max_length=200),
        Field("webhook_key", "Webhook security key", type="secret", max_length=200,
              help="Sent to tFLOW when webhooks are registered; every delivery is checked against it."),
    )
    account_settings = schema(
        Field("client_id", "tFLOW client (customer) id", type="int", min=1,
              help="The tFLOW customer new orders and jobs belong to; a site can override it."),
        Field("lead_days", "Lead days without a requested date", type="int", min=0, max=365, default=5,
              help="Due date = order date (site time zone) + this many days when an item has no ship date."),
        Field("priority", "Job priority", type="int", min=0, max=100),
        Field("artwork_mode", "Artwork", type="choice", default="url",
              choices=(("url", "By URL (props[artwork_url])"), ("upload", "Uploaded as a job revision")),
              help="Proposed contract: confirm with Aleyant which one your instance accepts."),
        Field("api_version", "API version", type="choice", default="v2", choices=(("v2", "/api/v2"), ("v1", "/api/v1"))),
        Field("body_format", "Request body", type="choice", default="form",
              choices=(("form", "Form-encoded (public clients)"), ("json", "JSON (unverified)"))),
        Field("workflow_field", "Workflow field name", default="workflow_id", max_length=50, regex=r"[a-z_]+",
              help="Proposed: the job/create field carrying the workflow id."),
        Field("webhook_events", "Webhook events", default=DEFAULT_EVENTS, max_length=500,
              regex=r"[a-z0-9_.]+(,[a-z0-9_.]+)*", help="Comma-separated tFLOW event names to register."),
        Field("webhook_signature", "Webhook signature", type="choice", default="key_body",
              choices=(("key_body", "sha1(security key + body)"), ("body_key", "sha1(body + security key)"))),
        Field("webhook_header", "Webhook signature header", default="X-Tflow-Signature", max_length=100,
              regex=r"[A-Za-z0-9-]+"),
    )
    site_settings = schema(
        Field("client_id", "tFLOW client (customer) id for this site", type="int", min=1),
    )
    product_settings = schema(
        Field("tflow_product", "tFLOW product", required=True, max_length=200, picker="product_choices",
              help="The tFLOW product id (number) or name (preflight / proof / finishing recipe): pick one "
                   "from tFLOW or type it in."),
        Field("tflow_workflow", "tFLOW workflow", type="choice", required=True, choices=WORKFLOWS,
              help="Fixed when the job is created; it cannot be changed later."),
    )
    status_map = {
        "to_upload_first": "Order Received", "upload_again": "Order Received", "to_review": "Order Received",
        "awaiting_approval": "Order Received", "approved_internal": "Order Received",
        "on_hold": "On Hold",
        "approved": "In Production", "released": "In Production", "printing": "In Production",
        "shipped": "Shipped", "completed": "Completed",
        "rejected": "Cancelled", "closed": "Cancelled", "cancelled": "Cancelled",
    }
    webhook_auth = "key_hash"
    rate_limit = RateLimit(limit=60, window_seconds=60)

    # ---- plumbing -----------------------------------------------------------------
    def build_http(self) -> ProviderHTTP:
        creds = self.credentials_values
        base = self.base_url.rstrip("/")
        token_http = ProviderHTTP(base, secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
                                  error_parser=parse_error)
        auth = TFlowToken(token_http, "/oauth/access_token", str(creds.get("client_id") or ""),
                          str(creds.get("client_secret") or ""), redis=self.redis)
        http = ProviderHTTP(base, auth=auth, secrets=self.secrets(), limiter=self.limiter(), timeout=self.timeout,
                            error_parser=parse_error)
        token_http.exchanges = http.exchanges  # one log: the token call shows next to the calls it served
        return http

    def limiter(self) -> SharedRateLimiter | None:
        if self.rate_limit is None or self.redis is None:
            return None
        return SharedRateLimiter(self.redis, f"{self.key}:{self.credential_fingerprint()}", with_margin(self.rate_limit))

    def api(self, path: str) -> str:
        return f"/api/{self.settings.get('api_version') or 'v2'}/{path.lstrip('/')}"

    def _post(self, path: str, body: dict):
        if (self.settings.get("body_format") or "form") == "json":
            return self.http.request("POST", self.api(path), json={k: v for k, v in body.items() if v is not None})
        return self.http.request("POST", self.api(path), data=mapping.form_fields(body),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})

    def _object(self, answer, what: str) -> dict:
        if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
            answer = answer["data"]  # tolerate a {"data": {...}} envelope
        if not isinstance(answer, dict) or _id(answer.get("id")) is None:
            raise ProviderResponseError(f"tFLOW answered {what} without an id.")
        return answer

    def _list(self, answer, what: str) -> list[dict]:
        if isinstance(answer, dict):
            answer = answer.get("data", answer.get("items"))
        if not isinstance(answer, list):
            raise ProviderResponseError(f"tFLOW answered {what} with something that is not a list.")
        return [row for row in answer if isinstance(row, dict)]

    # ---- connection ---------------------------------------------------------------
    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        from webapp.storefront.demo import CATALOG

        # The simulator's built-in demo API user (sandbox/tflow/state.py) and its products.
        skus = [sku for sub in CATALOG["city-council"].values() for rows in sub.values() for sku, *_ in rows]
        return DemoAccount(
            name="Aleyant tFLOW (sandbox)", live_on=("city-council",),
            credentials={"base_url": simulator_url.rstrip("/"), "client_id": "demo-tflow-key",
                         "client_secret": "demo-tflow-secret", "webhook_key": "demo-tflow-hook-key"},
            settings={"client_id": 1, "artwork_mode": "url"},
            product_settings={sku: {"tflow_product": "Print-ready PDF" if "BAN" not in sku else "Large format",
                                    "tflow_workflow": "2"} for sku in skus},
            subscribe_webhook=True)

    def test_connection(self) -> str:
        products = self._list(self.http.request("GET", self.api("product/list")), "product/list")
        return f"Connected to tFLOW ({len(products)} product{'s' if len(products) != 1 else ''})."

    def product_choices(self) -> list[tuple[str, str]]:
        """(tFLOW product id, "name (id)") for the product mapping picker."""
        rows = self._list(self.http.request("GET", self.api("product/list")), "product/list")
        return [(_id(p["id"]), f"{p.get('name') or 'Unnamed'} ({_id(p['id'])})") for p in rows if _id(p.get("id"))]

    # ---- push ---------------------------------------------------------------------
    def push_order(self, ctx: OrderContext) -> PushResult:
        if not ctx.items:
            raise ProviderConfigError("The order has no item to send.")
        jobs = [(item, mapping.product_fields(item)) for item in ctx.items]  # refuse before any request
        order_id = _id(ctx.checkpoint.get("order_id"))
        known_jobs: dict[str, dict] | None = {} if order_id is None else None
        if order_id is None:
            # Look up only when an earlier attempt got as far as asking (its intent is committed
            # before the request): a first push costs no extra call, a retry after any failure
            # — a lost answer or a killed worker — finds the order instead of creating another.
            found = self.find_remote_order(ctx.external_number) if ctx.checkpoint.get("order_requested") else None
            if found is None:
                ctx.remember("order_requested", True)
                order_id = _id(self._object(self._post("order/create", mapping.order_body(
                    ctx, self.settings, ctx.site_settings)), "order/create")["id"])
            else:
                order_id, known_jobs = found, None  # an earlier attempt created it: its jobs may exist too
            ctx.remember("order_id", order_id)
        results = []
        for item, _ in jobs:
            key = f"job:{item.line_number}"
            job_id, state = _id(ctx.checkpoint.get(key)), ""
            if job_id is None:
                if known_jobs is None:
                    known_jobs = self.jobs_by_item(order_id)
                existing = known_jobs.get(item.external_number)
                if existing is None:
                    created = self._object(self._post("job/create", mapping.job_body(
                        ctx, item, order_id, self.settings, ctx.site_settings)), "job/create")
                    job_id, state = _id(created["id"]), str(created.get("current_state_name") or "")
                else:
                    job_id, state = _id(existing["id"]), str(existing.get("current_state_name") or "")
                ctx.remember(key, job_id)
            if (self.settings.get("artwork_mode") or "url") == "upload" and item.file_urls \
                    and not ctx.checkpoint.get(f"revision:{item.line_number}"):
                revision = self.upload_artwork(job_id, item.file_urls[0])
                ctx.remember(f"revision:{item.line_number}", revision)
            results.append(ItemPushResult(line_number=item.line_number, external_id=job_id,
                                          external_number=item.external_number, external_status=state,
                                          external_order_id=order_id))
        return PushResult(external_id=order_id, external_number=ctx.external_number, items=results,
                          external_status=results[0].external_status if results else "")

    def find_order(self, ctx: OrderContext) -> PushResult | None:
        """After a failure that may have reached tFLOW (the framework asks): adopt an order an
        earlier attempt created, so push_order completes it instead of creating another."""
        if ctx.checkpoint.get("order_id") is None:
            found = self.find_remote_order(ctx.external_number)
            if found is not None:
                ctx.remember("order_id", found)
        return None

    def find_remote_order(self, name: str) -> str | None:
        """The tFLOW order with this name, if an earlier attempt created it (name filter assumed)."""
        orders = self._list(self.http.request("GET", self.api("order/list"), params={"name": name}), "order/list")
        for order in orders:
            if str(order.get("name") or "") == name and _id(order.get("id")):
                return _id(order["id"])
        return None

    def jobs_of(self, order_id: str) -> list[dict]:
        return self._list(self.http.request("GET", self.api("job/list"), params={"order_id": order_id}), "job/list")

    def jobs_by_item(self, order_id: str) -> dict[str, dict]:
        """Jobs of a tFLOW order keyed by our item number (props[hub_item], else the job name)."""
        out = {}
        for job in self.jobs_of(order_id):
            props = job.get("props") if isinstance(job.get("props"), dict) else {}
            number = str(props.get("hub_item") or job.get("name") or "")
            if number and _id(job.get("id")):
                out.setdefault(number, job)
        return out

    def upload_artwork(self, job_id: str, url: str) -> str:
        """Proposed contract: the file as a new revision (multipart part ``file``)."""
        name, content = download_artwork(url)
        body, content_type = encode_multipart_formdata({"file": (name, content, "application/pdf")})
        answer = self.http.request("POST", self.api(f"job/{job_id}/revision"), data=body,
                                   headers={"Content-Type": content_type})
        return _id(self._object(answer, "the revision upload")["id"])

    # ---- status -------------------------------------------------------------------
    def job_update(self, job: dict, push_key: str | None = None) -> StatusUpdate | None:
        props = job.get("props") if isinstance(job.get("props"), dict) else {}
        key = push_key or str(props.get("hub_order_key") or "")
        number = str(props.get("hub_item") or job.get("name") or "")
        if not key or not number:
            return None
        shipment = None
        if props.get("tracking_number"):
            shipment = Shipment(carrier=str(props.get("carrier") or ""), tracking_number=str(props["tracking_number"]))
        return StatusUpdate(push_key=key, external_status=str(job.get("current_state_name") or ""),
                            external_order_id=str(job.get("order_id") or ""), item_numbers=[number],
                            shipment=shipment)

    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        """One job list per tFLOW order (never one call per job)."""
        for ref in refs:
            if not ref.external_id:
                continue
            for job in self.jobs_of(ref.external_id):
                update = self.job_update(job, ref.idempotency_key)
                if update is not None and update.item_numbers[0] in ref.item_numbers:
                    yield update

    # ---- webhooks -----------------------------------------------------------------
    def signature(self, body: bytes) -> str:
        key = str(self.credentials_values.get("webhook_key") or "").encode()
        joined = body + key if self.settings.get("webhook_signature") == "body_key" else key + body
        return hashlib.sha1(joined).hexdigest()

    def verify_webhook(self, headers: dict, body: bytes, secret: str) -> None:
        if not self.credentials_values.get("webhook_key"):
            raise WebhookAuthError("no webhook security key is configured for this account")
        wanted = (self.settings.get("webhook_header") or "X-Tflow-Signature").lower()
        given = next((str(v) for k, v in headers.items() if str(k).lower() == wanted), "")
        if not given or not hmac.compare_digest(given.strip().lower().encode(), self.signature(body).encode()):
            raise WebhookAuthError("signature missing or wrong")

    def parse_webhook(self, headers: dict, body: bytes) -> WebhookEnvelope:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("body is not a JSON object")
        event, job_id = data.get("event"), _id(data.get("job_id"))
        if not isinstance(event, str) or not event or len(event) > 100:
            raise ValueError("event is missing")
        if job_id is None or len(job_id) > 50:
            raise ValueError("job_id is missing")
        return WebhookEnvelope(dedupe_key=mapping.dedupe_key(event, job_id, data.get("state"), data.get("timestamp")),
                               event_type=event)

    def process_webhook(self, payload: bytes) -> Iterator[StatusUpdate]:
        """Delivery is unverified: the job is read back and its current state is what counts."""
        data = json.loads(payload)
        job = self._object(self.http.request("GET", self.api(f"job/{_id(data.get('job_id'))}")), "the job")
        update = self.job_update(job)
        if update is not None:
            yield update

    def subscribe_webhook(self, target_url: str) -> dict:
        key = self.credentials_values.get("webhook_key")
        if not key:
            raise ProviderConfigError("Set the Webhook security key on the account before registering webhooks.")
        events = [e.strip() for e in (self.settings.get("webhook_events") or DEFAULT_EVENTS).split(",") if e.strip()]
        created = []
        for event in events:
            body = {"name": event, "url": target_url, "security_key": key}
            try:
                self._post("webhook/create", body)
            except ProviderRejected as exc:
                if exc.status != 409:
                    raise
                self._post(f"webhook/{event}", body)  # already registered: point it at us
            created.append(event)
        return {"events": created, "target_url": target_url}


def download_artwork(url: str) -> tuple[str, bytes]:
    """Fetch a production file for upload (storefront file URLs; no credentials travel)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderRejected(f"Artwork URL is not an http(s) address: {url[:100]}")
    try:
        with requests.get(url, timeout=(5, 60), stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                raise ProviderConnectError(f"Artwork {url[:100]} answered HTTP {response.status_code}.")
            chunks, size = [], 0
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
                if size > MAX_ARTWORK_BYTES:
                    raise ProviderRejected(f"Artwork {url[:100]} is larger than {MAX_ARTWORK_BYTES >> 20} MB.")
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise ProviderConnectError(f"Could not download the artwork {url[:100]} ({type(exc).__name__}).") from exc
    name = unquote(parts.path.rsplit("/", 1)[-1]) or "artwork.pdf"
    return name[:200], b"".join(chunks)


PROVIDER = TFlow
