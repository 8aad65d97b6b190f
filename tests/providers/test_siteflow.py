"""HP Site Flow client: mapping, both signing schemes, HTTP and error mapping (with `responses`)."""
from __future__ import annotations

import json

import pytest
import responses

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.auth import hmac_hex
from webapp.providers.context import ShippingMethodContext
from webapp.providers.siteflow import SiteFlow, mapping

API = "https://pro-api.oneflowcloud.com/api"
CREDS = {"access_key": "tok", "secret": "test-secret", "server": "production", "destination": "psp-1",
         "non_integrated_shipping_name": "courier"}
SKU = {"siteflow_sku": "BC-100"}


def _ctx(**kw):
    items = kw.pop("items", None) or [contexts.item(1, product_settings=dict(SKU))]
    return contexts.order(items=items, external_number="W-1001-ES3", **kw)


def _order(order_id="abc123", status="dataready", items=("W-1001-1",), **extra):
    return {"_id": order_id, "orderData": {"sourceOrderId": "W-1001-ES3", "status": status,
                                           "extraData": {"hubKey": "hub-1-W-1001"},
                                           "items": [{"_id": f"it-{n}", "sourceItemId": n, "shipmentIndex": 0}
                                                     for n in items], "shipments": [{"shipmentIndex": 0}], **extra}}


# ---- mapping ------------------------------------------------------------------------------

def test_payload_follows_the_documented_order_structure():
    payload = mapping.build_order(_ctx(), "psp-1", "")
    assert payload["destination"] == {"name": "psp-1"}
    data = payload["orderData"]
    assert data["sourceOrderId"] == "W-1001-ES3" and data["extraData"]["hubKey"] == "hub-1-W-1001"
    [item] = data["items"]
    assert item["sourceItemId"] == "W-1001-1" and item["sku"] == "BC-100" and item["quantity"] == 250
    assert item["components"] == [{"code": "Content", "path": "https://files.example.test/1.pdf", "fetch": True}]
    [shipment] = data["shipments"]
    assert shipment["shipmentIndex"] == item["shipmentIndex"] == 0
    assert shipment["shipTo"]["address1"] == "1 Test St" and shipment["shipTo"]["town"] == "Austin"
    assert shipment["shipTo"]["isoCountry"] == "US"
    assert shipment["carrier"] == {"code": "ups", "service": "ups_ground"}  # Integration ID code:service


def test_items_to_two_addresses_get_two_shipments_and_an_alias_carrier():
    ground = ShippingMethodContext(name="Ground", integration_id="standard", is_integrated=True)
    items = [contexts.item(1, product_settings=dict(SKU), shipping_method=ground),
             contexts.item(2, product_settings=dict(SKU), shipping_method=ground, ship_to=contexts.OFFICE)]
    data = mapping.build_order(_ctx(items=items), "psp-1", "")["orderData"]
    assert [i["shipmentIndex"] for i in data["items"]] == [0, 1]
    assert [s["carrier"] for s in data["shipments"]] == [{"alias": "standard"}, {"alias": "standard"}]


def test_non_integrated_method_uses_the_non_integrated_shipping_name():
    pickup = ShippingMethodContext(name="Local Pickup", is_integrated=False)
    item = contexts.item(1, product_settings=dict(SKU), shipping_method=pickup)
    assert mapping.build_order(_ctx(items=[item]), "psp-1", "courier")["orderData"]["shipments"][0]["carrier"] == \
        {"alias": "courier"}
    with pytest.raises(pe.ProviderConfigError, match="Non-Integrated Shipping Name"):
        mapping.build_order(_ctx(items=[item]), "psp-1", "")


def test_missing_sku_and_too_few_component_codes_are_configuration_errors():
    with pytest.raises(pe.ProviderConfigError, match="Site Flow SKU is required"):
        mapping.build_order(_ctx(items=[contexts.item(1)]), "psp-1", "")
    two_files = contexts.item(1, product_settings=dict(SKU), file_urls=["https://f.test/c.pdf", "https://f.test/t.pdf"])
    with pytest.raises(pe.ProviderConfigError, match="component code"):
        mapping.build_order(_ctx(items=[two_files]), "psp-1", "")
    two_files.product_settings["component_codes"] = "Cover, Text"
    components = mapping.build_order(_ctx(items=[two_files]), "psp-1", "")["orderData"]["items"][0]["components"]
    assert [c["code"] for c in components] == ["Cover", "Text"]


def test_required_sku_refuses_the_push_before_any_request():
    assert SiteFlow.missing_settings(_ctx(items=[contexts.item(1)])) == \
        ["Item W-1001-1: Site Flow SKU is required on the product's Embedded Services tab."]


def test_status_updates_bring_tracking_onto_the_items_of_the_shipment():
    order = _order(status="shipped", items=("W-1001-1", "W-1001-2"))
    order["orderData"]["items"][1]["shipmentIndex"] = 1
    order["orderData"]["shipments"] = [
        {"shipmentIndex": 0, "status": "shipped", "trackingNumber": "1ZA", "shippedAt": "2026-11-21T10:00:00Z",
         "carrier": {"code": "ups", "service": "ground"}}, {"shipmentIndex": 1, "status": "live"}]
    order_update, shipped = mapping.status_updates(order)
    assert (order_update.push_key, order_update.external_status, order_update.item_numbers) == \
        ("hub-1-W-1001", "shipped", [])
    assert shipped.item_numbers == ["W-1001-1"] and shipped.shipment.tracking_number == "1ZA"
    assert shipped.shipment.carrier == "ups" and shipped.shipment.ship_date.isoformat() == "2026-11-21"
    assert SiteFlow.map_status("printready") == "In Production" and SiteFlow.map_status("shipped") == "Shipped"


# ---- auth ---------------------------------------------------------------------------------

@responses.activate
def test_native_server_signs_with_oneflow_headers_over_the_api_path(monkeypatch):
    monkeypatch.setattr("webapp.providers.auth.utc_timestamp", lambda: "2024-05-01T10:00:00.000Z")
    responses.get(f"{API}/order", json={"data": []})
    client = SiteFlow(CREDS, {})
    client.http.auth.clock = lambda: "2024-05-01T10:00:00.000Z"
    client.test_connection()
    sent = responses.calls[0].request
    assert sent.url == f"{API}/order?page=1&pagesize=1"
    expected = hmac_hex("test-secret", "GET /api/order 2024-05-01T10:00:00.000Z")
    assert sent.headers["x-oneflow-authorization"] == f"tok:{expected}"
    assert sent.headers["x-oneflow-algorithm"] == "SHA256" and "x-hp-hmac-authentication" not in sent.headers


@responses.activate
def test_printos_gateway_signs_with_hp_hmac_without_the_service_prefix():
    responses.get("https://stage.printos.api.hp.com/siteflow/api/order", json={"data": []})
    client = SiteFlow({**CREDS, "server": "printos_staging"}, {})
    client.http.auth.clock = lambda: "2024-05-01T10:00:00.000Z"
    client.test_connection()
    sent = responses.calls[0].request
    expected = hmac_hex("test-secret", "GET /api/order2024-05-01T10:00:00.000Z")
    assert sent.headers["x-hp-hmac-authentication"] == f"tok:{expected}"
    assert "x-oneflow-authorization" not in sent.headers


def test_custom_server_needs_its_url():
    with pytest.raises(pe.ProviderConfigError, match="Custom server URL"):
        SiteFlow({**CREDS, "server": "custom"}, {}).test_connection()


# ---- push over HTTP -----------------------------------------------------------------------

@responses.activate
def test_sync_push_returns_the_site_flow_ids_and_checkpoints_the_order():
    responses.post(f"{API}/order", status=201, json={"success": True, "order": _order()})
    ctx = _ctx()
    result = SiteFlow(CREDS, {}).push_order(ctx)
    assert (result.external_id, result.external_number, result.external_status) == ("abc123", "W-1001-ES3", "dataready")
    assert [(i.external_id, i.external_order_id) for i in result.items] == [("it-W-1001-1", "abc123")]
    assert ctx.checkpoint == {"order_id": "abc123"}
    assert json.loads(responses.calls[0].request.body)["orderData"]["sourceOrderId"] == "W-1001-ES3"


@responses.activate
def test_validation_error_keeps_site_flows_words():
    responses.post(f"{API}/order", status=400, json={"success": False, "error": {
        "message": "Order validation failed.", "name": "ValidationError", "code": 400,
        "validations": {"orderData.items[0].sku": "SKU 'BC-100' was not found."}}})
    with pytest.raises(pe.ProviderRejected) as info:
        SiteFlow(CREDS, {}).push_order(_ctx())
    assert info.value.messages() == ["Order validation failed.", "orderData.items[0].sku: SKU 'BC-100' was not found."]


@responses.activate
def test_a_refusal_inside_a_2xx_answer_is_an_error():
    responses.post(f"{API}/order", status=200, json={"success": False, "error": {"message": "Destination unknown"}})
    with pytest.raises(pe.ProviderRejected, match="Destination unknown"):
        SiteFlow(CREDS, {}).push_order(_ctx())


@responses.activate
def test_duplicate_source_order_id_is_looked_up_and_reported_pushed():
    responses.post(f"{API}/order", status=400, json={"success": False, "error": {
        "message": "An order with sourceOrderId 'W-1001-ES3' already exists.", "code": 400}})
    responses.get(f"{API}/order", json={"data": [_order(order_id="other", items=()) | {"orderData": {
        "sourceOrderId": "W-9"}}, _order()]})
    result = SiteFlow(CREDS, {}).push_order(_ctx())
    assert result.external_id == "abc123"
    assert "sourceOrderId=W-1001-ES3" in responses.calls[1].request.url
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


@responses.activate
def test_a_known_order_id_is_read_not_submitted_again():
    responses.get(f"{API}/order/abc123", json=_order(status="printready"))
    ctx = _ctx(existing_external_id="abc123")
    result = SiteFlow(CREDS, {}).push_order(ctx)
    assert result.external_status == "printready"
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_async_mode_posts_to_the_orders_host_and_keeps_the_ack_id():
    responses.post("https://orders.oneflow.io/api/order", json={"_id": "ack1", "url": "x", "timestamp": "t",
                                                                "sourceAccountId": "s"})
    ctx = _ctx()
    result = SiteFlow(CREDS, {"submission_mode": "async"}).push_order(ctx)
    assert (result.external_id, result.external_status) == ("ack1", "submitted") and ctx.checkpoint["order_id"] == "ack1"
    with pytest.raises(pe.ProviderConfigError, match="native"):
        SiteFlow({**CREDS, "server": "printos"}, {"submission_mode": "async"}).push_order(_ctx())


@responses.activate
@pytest.mark.parametrize("status,body,error", [
    (401, {"success": False, "error": {"message": "Invalid signature.", "code": 401}}, pe.ProviderAuthError),
    (500, "<html>oops</html>", pe.ProviderTransientError),
    (429, {"success": False, "error": {"message": "Rate limit"}}, pe.ProviderRateLimited),
])
def test_http_failures_are_typed(status, body, error):
    kw = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.post(f"{API}/order", status=status, **kw)
    with pytest.raises(error) as info:
        SiteFlow(CREDS, {}).push_order(_ctx())
    if status == 401:
        assert info.value.message == "Invalid signature."


# ---- triggers -----------------------------------------------------------------------------

def test_trigger_needs_the_static_header_token_derived_from_the_webhook_token():
    from webapp.providers.base import WebhookAuthError

    setup = SiteFlow.webhook_setup("https://hub.test/webhooks/siteflow/tok123", "tok123")
    header, value = setup.header_name, setup.header_value
    client = SiteFlow(CREDS, {})
    client.verify_webhook({header.upper(): value}, b"{}", "tok123")
    for headers in ({}, {header: value + "x"}, {header: SiteFlow.trigger_token("other")}):
        with pytest.raises(WebhookAuthError):
            client.verify_webhook(headers, b"{}", "tok123")
    assert "{{order._id}}" in setup.template and "Shipment Shipped" in setup.steps


@responses.activate
def test_trigger_is_verified_by_reading_the_order_back():
    responses.get(f"{API}/order/abc123", json=_order(status="printready"))
    client = SiteFlow(CREDS, {})
    body = json.dumps({"event": "Order Print Ready", "orderId": "abc123", "status": "shipped"}).encode()
    envelope = client.parse_webhook({}, body)
    assert envelope.event_type == "Order Print Ready"
    [update] = client.process_webhook(body)
    assert (update.push_key, update.external_status) == ("hub-1-W-1001", "printready")  # Site Flow's word, not the body's


def test_submission_error_trigger_becomes_the_status():
    body = json.dumps({"event": "Order Submission Error", "orderId": "", "hubKey": "hub-1-W-1001",
                       "message": "SKU not found"}).encode()
    [update] = SiteFlow(CREDS, {}).process_webhook(body)
    assert update.external_status == "submission error: SKU not found"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"event": "x"}', b'{"orderId": "../../etc"}'])
def test_malformed_triggers_are_refused(body):
    with pytest.raises(ValueError):
        SiteFlow(CREDS, {}).parse_webhook({}, body)
