"""tFLOW client: mapping, the webhook signature vector, token reuse/refresh and error mapping."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest
import responses

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.base import WebhookAuthError
from webapp.providers.tflow import TFlow, mapping

BASE = "https://tflow.example.test"
CREDS = {"base_url": BASE, "client_id": "key", "client_secret": "secret", "webhook_key": "hook-key"}
MAPPED = {"tflow_product": "Print-ready PDF", "tflow_workflow": "2"}


def test_php_style_form_fields():
    body = {"name": "J", "props": {"quantity": 2, "skip": None}, "tflows": [{"id": "808:1"}], "attach_proofs": True}
    assert mapping.form_fields(body) == [("name", "J"), ("props[quantity]", "2"), ("tflows[0][id]", "808:1"),
                                         ("attach_proofs", "1")]


def test_ship_date_uses_the_site_time_zone_and_lead_days():
    ctx = contexts.order(site_time_zone="Asia/Bangkok")
    item = contexts.item(1, requested_ship_date=date(2018, 11, 30))
    assert mapping.ship_date(ctx, item, 5) == "2018-11-30T23:59:59+07:00"
    undated = contexts.item(1, requested_ship_date=None)  # paid 2026-11-20 18:05 UTC = 21st 01:05 in Bangkok
    assert mapping.ship_date(ctx, undated, 3) == "2026-11-24T23:59:59+07:00"


def test_job_body_carries_product_workflow_field_and_artwork_by_setting():
    ctx = contexts.order(items=[contexts.item(1, product_settings={"tflow_product": "101", "tflow_workflow": "4"})])
    body = mapping.job_body(ctx, ctx.items[0], "45", {"workflow_field": "workflow", "artwork_mode": "url"}, {})
    assert body["product_id"] == "101" and body["workflow"] == "4" and "workflow_id" not in body
    assert body["props"]["artwork_url"] == "https://files.example.test/1.pdf"
    assert body["props"]["hub_order_key"] == ctx.idempotency_key and body["order_id"] == "45"
    upload = mapping.job_body(ctx, ctx.items[0], "45", {"artwork_mode": "upload"}, {})
    assert "artwork_url" not in upload["props"] and upload["workflow_id"] == "4"
    with pytest.raises(pe.ProviderConfigError, match="tFLOW product and workflow are required"):
        mapping.product_fields(contexts.item(1))


def test_webhook_signature_is_plain_sha1_of_key_then_body():
    client = TFlow(CREDS)
    body = b'{"event":"job.approved","job_id":123}'
    # Fixed vector: sha1("hook-key" + body), computed independently.
    vector = hashlib.sha1(b'hook-key{"event":"job.approved","job_id":123}').hexdigest()
    client.verify_webhook({"X-Tflow-Signature": vector}, body, "token")
    with pytest.raises(WebhookAuthError):
        client.verify_webhook({"X-Tflow-Signature": hashlib.sha1(b"hook-key").hexdigest()}, body, "token")
    with pytest.raises(WebhookAuthError):  # an HMAC is not what tFLOW sends
        import hmac
        client.verify_webhook({"X-Tflow-Signature": hmac.new(b"hook-key", body, "sha1").hexdigest()}, body, "t")
    swapped = TFlow(CREDS, {"webhook_signature": "body_key", "webhook_header": "X-Sig"})
    swapped.verify_webhook({"x-sig": hashlib.sha1(body + b"hook-key").hexdigest()}, body, "token")
    with pytest.raises(WebhookAuthError):
        TFlow({**CREDS, "webhook_key": ""}).verify_webhook({"X-Tflow-Signature": vector}, body, "token")


def test_parse_webhook_rejects_malformed_bodies():
    client = TFlow(CREDS)
    assert client.parse_webhook({}, b'{"event":"job.approved","job_id":1,"state":"approved"}').event_type \
        == "job.approved"
    for bad in (b"nope", b"[]", b'{"job_id":1}', b'{"event":"job.approved"}', b'{"event":"e","job_id":true}'):
        with pytest.raises(ValueError):
            client.parse_webhook({}, bad)


@responses.activate
def test_token_is_reused_and_refreshed_once_on_401():
    responses.post(f"{BASE}/oauth/access_token", json={"access_token": "t1", "token_type": "Bearer", "expires_in": 3600})
    responses.get(f"{BASE}/api/v2/product/list", json=[{"id": 1, "name": "A"}])
    client = TFlow(CREDS)
    client.test_connection()
    assert client.product_choices() == [("1", "A (1)")]
    assert [c.request.url for c in responses.calls].count(f"{BASE}/oauth/access_token") == 1
    assert responses.calls[1].request.headers["Authorization"] == "Bearer t1"
    responses.replace(responses.GET, f"{BASE}/api/v2/product/list", json={"error": "invalid_token"}, status=401)
    with pytest.raises(pe.ProviderAuthError):
        client.test_connection()
    token_calls = [c for c in responses.calls if c.request.url.endswith("/oauth/access_token")]
    assert len(token_calls) == 2  # one refresh, then the 401 stands


@responses.activate
def test_bad_secret_is_an_auth_error():
    responses.post(f"{BASE}/oauth/access_token", json={"error": "invalid_client"}, status=401)
    with pytest.raises(pe.ProviderAuthError):
        TFlow(CREDS).test_connection()
    assert len(responses.calls) == 1


@responses.activate
def test_validation_errors_keep_the_providers_words():
    responses.post(f"{BASE}/oauth/access_token", json={"access_token": "t", "expires_in": 3600})
    responses.get(f"{BASE}/api/v2/order/list", json=[])
    responses.post(f"{BASE}/api/v2/order/create", json={"id": 45, "name": "W-1001"}, status=201)
    responses.post(f"{BASE}/api/v2/job/create", status=422, json={
        "error": "Validation failed", "messages": {"ship_date": ["The ship date needs a time zone offset."]}})
    ctx = contexts.order(items=[contexts.item(1, product_settings=MAPPED)])
    with pytest.raises(pe.ProviderRejected) as info:
        TFlow(CREDS).push_order(ctx)
    assert "ship_date: The ship date needs a time zone offset." in info.value.messages()
    assert ctx.checkpoint == {"order_requested": True, "order_id": "45"}  # a retry must not create it again
    assert not any("/order/list" in c.request.url for c in responses.calls)  # a first push looks nothing up


@responses.activate
def test_retry_after_an_unanswered_order_create_finds_the_order_and_its_jobs():
    responses.post(f"{BASE}/oauth/access_token", json={"access_token": "t", "expires_in": 3600})
    responses.get(f"{BASE}/api/v2/order/list", json=[{"id": 44, "name": "other"}, {"id": 45, "name": "W-1001"}])
    responses.get(f"{BASE}/api/v2/job/list", json=[{"id": 123, "name": "TF000045-1", "order_id": 45,
                                                    "current_state_name": "to_review",
                                                    "props": {"hub_item": "W-1001-1"}}])
    responses.post(f"{BASE}/api/v2/job/create", json={"id": 124, "current_state_name": "to_review"}, status=201)
    ctx = contexts.order(items=[contexts.item(line, product_settings=MAPPED) for line in (1, 2)],
                         checkpoint={"order_requested": True})
    result = TFlow(CREDS).push_order(ctx)
    assert result.external_id == "45" and [i.external_id for i in result.items] == ["123", "124"]
    assert ctx.checkpoint == {"order_requested": True, "order_id": "45", "job:1": "123", "job:2": "124"}
    creates = [c for c in responses.calls if c.request.url.endswith("/job/create")]
    assert len(creates) == 1 and "order_id=45" in creates[0].request.body


@responses.activate
def test_html_500_is_transient_and_json_body_format_is_a_setting():
    responses.post(f"{BASE}/oauth/access_token", json={"access_token": "t", "expires_in": 3600})
    responses.get(f"{BASE}/api/v1/order/list", json=[])
    responses.post(f"{BASE}/api/v1/order/create", body="<html>oops</html>", status=500)
    ctx = contexts.order(items=[contexts.item(1, product_settings=MAPPED)])
    with pytest.raises(pe.ProviderTransientError):
        TFlow(CREDS, {"api_version": "v1", "body_format": "json"}).push_order(ctx)
    assert responses.calls[-1].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_answer_without_an_id_is_a_response_error():
    responses.post(f"{BASE}/oauth/access_token", json={"access_token": "t", "expires_in": 3600})
    responses.get(f"{BASE}/api/v2/order/list", json=[])
    responses.post(f"{BASE}/api/v2/order/create", json={"ok": True})
    with pytest.raises(pe.ProviderResponseError):
        TFlow(CREDS).push_order(contexts.order(items=[contexts.item(1, product_settings=MAPPED)]))
