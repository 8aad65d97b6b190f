"""A tiny provider that exists only in the tests (registered through
EMBEDDED_PROVIDER_MODULES) and uses every part-two extension of the framework: a multi-call
push (order, then one job per item) with no idempotency key, resumed from ctx.checkpoint and
looked up before re-creating; OAuth2 through the HTTP layer; failures inside HTTP 200;
file upload to another host; polled status."""
from __future__ import annotations

import hmac
import json
import os

from webapp.providers import errors as pe
from webapp.providers.auth import OAuth2ClientCredentials
from webapp.providers.base import (Capabilities, Provider, WebhookAuthError, WebhookEnvelope, WebhookSetup,
                                   static_header_token)
from webapp.providers import files
from webapp.providers.context import ItemPushResult, PushResult, StatusUpdate
from webapp.providers.fields import Field, schema


class FakeProvider(Provider):
    key = "fake"
    name = "Fake provider (tests)"
    description = "Test double for the framework; never shipped."
    default_base_url = "https://fake.example.test/api"
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_polling=True, status_webhook=True)
    credentials = schema(
        Field("client_id", "Client ID", required=True),
        Field("client_secret", "Client secret", type="secret", required=True),
        Field("base_url", "API URL", type="url", required=True),
    )
    status_map = {"received": "Order Received", "printing": "In Production", "shipped": "Shipped",
                  "cancelled": "Cancelled"}
    webhook_auth = "static_token"
    repush = "noop"
    repush_note = "The fake answers an existing reference with the order it already has."

    def build_http(self):
        auth = OAuth2ClientCredentials(self.url("oauth/token"), self.credentials_values["client_id"],
                                       self.credentials_values["client_secret"], redis=self.redis)
        return super().build_http(auth=auth)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path

    def check_response(self, response):
        if "json" in response.headers.get("Content-Type", "") and response.status_code == 200:
            error = (response.json() or {}).get("error")
            if error:
                raise pe.in_body(error["kind"], error["text"])

    def test_connection(self) -> str:
        self.http.request("GET", "orders", params={"reference": "connection-test"})
        return "Connected."

    def find_order(self, ctx) -> PushResult | None:
        """Only a complete order counts as found; a partial one is finished by push_order."""
        found = self.http.request("GET", "orders", params={"reference": ctx.external_number})["orders"]
        if not found:
            return None
        order = found[0]
        if "order" not in ctx.checkpoint:
            ctx.remember("order", order["id"])
        done = {job["line"]: job for job in order["jobs"]}
        for line, job in done.items():
            if f"job:{line}" not in ctx.checkpoint:
                ctx.remember(f"job:{line}", job["id"])
        if any(item.line_number not in done for item in ctx.items):
            return None
        return self._result(ctx, order["id"])

    def push_order(self, ctx) -> PushResult:
        order_id = ctx.checkpoint.get("order")
        if order_id is None:
            order_id = self.http.request("POST", "orders", json={"reference": ctx.external_number})["order"]["id"]
            ctx.remember("order", order_id)
            if os.environ.get("FAKE_PROVIDER_CRASH_AFTER") == "order":
                os._exit(1)  # the worker dies between the two calls
        for item in ctx.items:
            if f"job:{item.line_number}" not in ctx.checkpoint:
                job = self.http.request("POST", f"orders/{order_id}/jobs", json={"line": item.line_number})["job"]
                ctx.remember(f"job:{item.line_number}", job["id"])
            self._send_artwork(ctx, item)
        return self._result(ctx, order_id)

    def _send_artwork(self, ctx, item) -> None:
        """Each file: ask for an upload slot, fetch the artwork (capped), PUT it to the
        pre-signed URL on the storage host — which must get no credentials of ours."""
        for ref in item.files:
            key = f"file:{item.line_number}:{ref.role}"
            if key in ctx.checkpoint:
                continue
            slot = self.http.request("POST", "uploads", json={"name": ref.name, "role": ref.role})
            data = files.download(self.http, ref.url, max_bytes=int(self.settings.get("max_file_bytes") or 10_000))
            files.upload_presigned(self.http, slot["put_url"], data, ref.content_type)
            ctx.remember(key, slot["key"])

    def _result(self, ctx, order_id) -> PushResult:
        return PushResult(external_id=order_id, external_number=ctx.external_number, external_status="received",
                          items=[ItemPushResult(line_number=i.line_number, external_id=ctx.checkpoint[f"job:{i.line_number}"],
                                                external_number=i.external_number, external_order_id=order_id)
                                 for i in ctx.items])

    def fetch_status_updates(self, refs):
        for ref in refs:
            if not ref.external_id:
                continue
            order = self.http.request("GET", f"orders/{ref.external_id}")["order"]
            yield StatusUpdate(push_key=ref.idempotency_key, external_status=order["status"],
                               external_order_id=order["id"])


    # ---- webhooks: a static header token and a body template the admin pastes ------------
    @classmethod
    def webhook_setup(cls, url, secret):
        return WebhookSetup(scheme=cls.webhook_auth, url=url, header_name="X-Fake-Token",
                            header_value=static_header_token(secret),
                            template='{"orderId": "{{order.id}}", "status": "{{order.status}}"}',
                            steps="Fake dashboard → Notifications → New trigger.")

    @classmethod
    def webhook_reply(cls, status, message):
        return f"<ack status=\"{status}\">{message}</ack>", "application/xml"

    def verify_webhook(self, headers, body, secret):
        given = {k.lower(): v for k, v in headers.items()}.get("x-fake-token", "")
        if not hmac.compare_digest(given, static_header_token(secret)):
            raise WebhookAuthError("wrong or missing X-Fake-Token")

    def parse_webhook(self, headers, body):
        try:
            data = json.loads(body)
            return WebhookEnvelope(dedupe_key=f"{data['orderId']}:{data['status']}", event_type="status")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a fake notification ({type(exc).__name__})") from None

    def process_webhook(self, payload):
        data = json.loads(payload)
        yield StatusUpdate(push_key="", external_status=data["status"], external_id=data["orderId"])


PROVIDER = FakeProvider
