"""StreamLive client (assumed contract): payload, idempotent 409, HMAC webhook, error mapping."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import responses

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.base import WebhookAuthError
from webapp.providers.streamlive import StreamLive

BASE = "https://streamlive.example.test"
CREDS = {"base_url": BASE, "api_key": "k-123456", "account_id": "A1", "webhook_secret": "whsec"}
ORDER = {"id": "so_1", "external_id": "hub-1-W-1001", "status": "received",
         "items": [{"external_item_id": "W-1001-1", "status": "received", "tracking": None}]}


@responses.activate
def test_push_body_headers_and_result():
    responses.post(f"{BASE}/api/v1/orders", json={"id": "so_1", "status": "received"}, status=201)
    responses.get(f"{BASE}/api/v1/orders/so_1", json=ORDER)
    ctx = contexts.order(items=[contexts.item(1, product_settings={"product_code": "BANNER-13OZ", "width_mm": 1000,
                                                                   "preset": "Gloss"})])
    result = StreamLive(CREDS, {"default_customer_code": "C9"}).push_order(ctx)
    sent = json.loads(responses.calls[0].request.body)
    assert responses.calls[0].request.headers["X-Api-Key"] == "k-123456"
    assert responses.calls[0].request.headers["X-Account-Id"] == "A1"
    assert sent["external_id"] == ctx.idempotency_key and sent["due_date"] == "2026-12-01"
    assert sent["customer"]["code"] == "C9"
    assert sent["items"] == [{"external_item_id": "W-1001-1", "product_code": "BANNER-13OZ", "quantity": 250,
                              "files": [{"url": "https://files.example.test/1.pdf", "name": "1.pdf"}],
                              "width_mm": 1000, "preset": "Gloss"}]
    assert result.external_id == "so_1" and result.items[0].external_status == "received"


@responses.activate
def test_duplicate_external_id_409_is_the_existing_order():
    responses.post(f"{BASE}/api/v1/orders", json={"error": "exists", "id": "so_1"}, status=409)
    responses.get(f"{BASE}/api/v1/orders/so_1", json=ORDER)
    assert StreamLive(CREDS).push_order(contexts.order()).external_id == "so_1"


@responses.activate
def test_422_field_errors_and_401():
    responses.post(f"{BASE}/api/v1/orders", status=422, json={"error": "Validation failed",
                                                               "fields": {"items[0].files": ["At least one file."]}})
    with pytest.raises(pe.ProviderRejected) as info:
        StreamLive(CREDS).push_order(contexts.order())
    assert "items[0].files: At least one file." in info.value.messages()
    responses.replace(responses.POST, f"{BASE}/api/v1/orders", status=401, json={"error": "Invalid or missing API key."})
    with pytest.raises(pe.ProviderAuthError):
        StreamLive(CREDS).push_order(contexts.order())


def test_item_without_a_file_is_refused_before_sending():
    with pytest.raises(pe.ProviderConfigError, match="print file URL"):
        StreamLive(CREDS).push_order(contexts.order(items=[contexts.item(1, file_urls=[])]))


def test_webhook_hmac_sha256_vector():
    body = b'{"event":"order.status_changed","order_id":"so_1","external_id":"k","status":"shipped","at":"t"}'
    good = hmac.new(b"whsec", body, hashlib.sha256).hexdigest()
    client = StreamLive(CREDS)
    client.verify_webhook({"X-Signature": good}, body, "token")
    with pytest.raises(WebhookAuthError):
        client.verify_webhook({"X-Signature": hashlib.sha256(b"whsec" + body).hexdigest()}, body, "token")
    assert client.parse_webhook({}, body).event_type == "order.status_changed"
    with pytest.raises(ValueError):
        client.parse_webhook({}, b'{"event":"order.created","order_id":"so_1","external_id":"k"}')


@responses.activate
def test_status_updates_carry_tracking():
    shipped = {**ORDER, "items": [{"external_item_id": "W-1001-1", "status": "shipped",
                                   "tracking": {"tracking_number": "1Z", "carrier": "UPS"}}]}
    responses.get(f"{BASE}/api/v1/orders/so_1", json=shipped)
    from webapp.providers.context import PushRef
    [update] = StreamLive(CREDS).fetch_status_updates([PushRef(1, "key", "W-1001", "so_1", None, ["W-1001-1"])])
    assert update.external_status == "shipped" and update.shipment.tracking_number == "1Z"
    assert StreamLive.map_status("shipped") == "Shipped"


@responses.activate
def test_items_to_two_addresses_become_two_orders_with_stable_keys():
    responses.post(f"{BASE}/api/v1/orders", json={"id": "so_1"}, status=201)
    responses.post(f"{BASE}/api/v1/orders", json={"id": "so_2"}, status=201)
    responses.get(f"{BASE}/api/v1/orders/so_1", json=ORDER)
    responses.get(f"{BASE}/api/v1/orders/so_2", json={**ORDER, "id": "so_2", "external_id": "hub-1-W-1001|s2"})
    ctx = contexts.order(items=[contexts.item(1), contexts.item(2, ship_to=contexts.OFFICE)])
    result = StreamLive(CREDS).push_order(ctx)
    sent = [json.loads(c.request.body) for c in responses.calls if c.request.method == "POST"]
    assert [b["external_id"] for b in sent] == [ctx.idempotency_key, f"{ctx.idempotency_key}|s2"]
    assert sent[1]["ship_to"]["city"] == "Dallas" and [i["external_item_id"] for i in sent[1]["items"]] == ["W-1001-2"]
    assert result.external_id == "so_1,so_2" and [i.external_order_id for i in result.items] == ["so_1", "so_2"]
    assert StreamLive.push_key(f"{ctx.idempotency_key}|s2") == ctx.idempotency_key
