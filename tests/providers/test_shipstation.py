"""ShipStation client: payload mapping (pure) and HTTP behaviour (with `responses`)."""
from __future__ import annotations

import json
import time

import pytest
import responses

from webapp.providers import errors as pe
from webapp.providers.context import ShippingMethodContext
from webapp.providers.shipstation import ShipStation, mapping

from .contexts import OFFICE, item, order

BASE = "https://ssapi.shipstation.com"
CREDS = {"api_key": "testkey", "api_secret": "testsecret", "base_url": BASE}


def test_single_group_payload_maps_every_part():
    [(items, payload)] = mapping.build_orders(order(), {"time_zone": "America/Los_Angeles"}, {"store_id": 77})
    assert payload["orderNumber"] == "W-1001"
    assert payload["orderKey"] == "hub-1-W-1001"
    assert payload["orderDate"] == "2026-11-20 10:00:00"  # 18:00 UTC in Pacific time
    assert payload["paymentDate"] == "2026-11-20 10:05:00"
    assert payload["orderStatus"] == "awaiting_shipment"
    assert payload["billTo"]["company"] == "Acme" and payload["billTo"]["country"] == "US"
    assert payload["shipTo"]["street1"] == "1 Test St" and payload["shipTo"]["residential"] is True
    line = payload["items"][0]
    assert line["lineItemKey"] == "W-1001-1"
    assert line["name"] == "Premium cards 1"  # product name by default
    assert line["quantity"] == 250 and line["unitPrice"] == 0.12
    assert line["options"] == [{"name": "Production file 1", "value": "https://files.example.test/1.pdf"}]
    assert (payload["carrierCode"], payload["serviceCode"]) == ("ups", "ups_ground")
    assert payload["requestedShippingService"] == "UPS Ground"
    assert payload["advancedOptions"]["storeId"] == 77
    assert payload["advancedOptions"]["customField1"] == "W-1001"
    assert payload["amountPaid"] == 37.5 and payload["taxAmount"] == 2.5 and payload["shippingAmount"] == 5.0
    assert payload["shipByDate"] == "2026-12-01"


def test_product_resolution_linked_then_default_then_name():
    linked = item(1, product_settings={"shipstation_sku": "SS-LINKED", "shipstation_product_id": 9})
    plain = item(2)
    ctx = order(items=[linked, plain])
    [(_, with_default)] = mapping.build_orders(ctx, {"default_product_sku": "SS-DEFAULT",
                                                     "product_name_source": "item_name"}, {})
    assert with_default["items"][0]["sku"] == "SS-LINKED" and with_default["items"][0]["productId"] == 9
    assert with_default["items"][1]["sku"] == "SS-DEFAULT"
    assert with_default["items"][1]["name"] == "Business cards 2"  # item name chosen
    [(_, by_name)] = mapping.build_orders(ctx, {}, {})
    assert by_name["items"][1]["sku"] == "BC-2"


def test_items_to_different_addresses_become_separate_orders_with_stable_keys():
    ctx = order(items=[item(1), item(2, ship_to=OFFICE), item(3)])
    groups = mapping.build_orders(ctx, {}, {})
    assert [[i.line_number for i in g] for g, _ in groups] == [[1, 3], [2]]
    assert [p["orderNumber"] for _, p in groups] == ["W-1001-S1", "W-1001-S2"]
    assert [p["orderKey"] for _, p in groups] == ["hub-1-W-1001", "hub-1-W-1001|s2"]
    assert groups[1][1]["amountPaid"] is None  # money is counted once


def test_non_integrated_method_without_integration_id_is_refused_clearly():
    courier = ShippingMethodContext(name="Courier", is_integrated=False, integration_id="")
    with pytest.raises(pe.ProviderConfigError, match="non-integrated"):
        mapping.build_orders(order(items=[item(1, shipping_method=courier)]), {}, {})
    mapped = ShippingMethodContext(name="Courier", is_integrated=False, integration_id="",
                                   settings={"service": "fedex:fedex_ground"})
    [(_, payload)] = mapping.build_orders(order(items=[item(1, shipping_method=mapped)]), {}, {})
    assert payload["carrierCode"] == "fedex"


@responses.activate
def test_basic_auth_header_matches_the_documented_vector():
    responses.get(f"{BASE}/stores", json=[{"storeId": 1}], headers={"X-Rate-Limit-Remaining": "39"})
    assert "1 store" in ShipStation(CREDS).test_connection()
    assert responses.calls[0].request.headers["Authorization"] == "Basic dGVzdGtleTp0ZXN0c2VjcmV0"


@responses.activate
def test_push_sends_createorder_and_reads_ids():
    def reply(request):
        body = json.loads(request.body)
        items = [{**i, "orderItemId": 500 + n} for n, i in enumerate(body["items"])]
        return 200, {}, json.dumps({**body, "orderId": 42, "items": items})

    responses.add_callback(responses.POST, f"{BASE}/orders/createorder", callback=reply)
    result = ShipStation(CREDS).push_order(order(items=[item(1), item(2)]))
    assert result.external_id == "42" and result.external_number == "W-1001"
    assert [(i.line_number, i.external_id) for i in result.items] == [(1, "500"), (2, "501")]


@responses.activate
def test_model_state_errors_come_back_field_by_field():
    responses.post(f"{BASE}/orders/createorder", status=400, json={
        "Message": "The request is invalid.",
        "ModelState": {"order.shipTo.country": ["The country field is required."]}})
    with pytest.raises(pe.ProviderRejected) as info:
        ShipStation(CREDS).push_order(order())
    assert info.value.messages() == ["The request is invalid.",
                                     "order.shipTo.country: The country field is required."]


@responses.activate
def test_html_error_page_is_a_clear_failure():
    responses.get(f"{BASE}/stores", status=200, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(pe.ProviderResponseError, match="text/html instead of JSON"):
        ShipStation(CREDS).test_connection()


@responses.activate
def test_redirects_are_not_followed_with_credentials():
    responses.get(f"{BASE}/stores", status=302, headers={"Location": "https://evil.example/steal"})
    with pytest.raises(pe.ProviderRejected, match="not followed"):
        ShipStation(CREDS).test_connection()
    assert len(responses.calls) == 1


def test_resource_url_only_from_shipstation_hosts():
    client = ShipStation(CREDS)
    assert client.allowed_resource_host("https://ssapi11.shipstation.com/shipments?batchId=1")
    assert not client.allowed_resource_host("https://shipstation.com.evil.example/shipments")
    assert not client.allowed_resource_host("http://ssapi.shipstation.com/shipments")
    with pytest.raises(pe.ProviderRejected):
        client.fetch_resource("https://attacker.example/shipments")


@responses.activate
def test_products_are_paged_and_categories_deduplicated():
    def page(request):
        n = int(request.params["page"])
        products = [{"productId": n * 10 + i, "sku": f"S{n}{i}", "name": "P", "active": True,
                     "productCategory": {"categoryId": i % 2, "name": f"C{i % 2}"}} for i in range(3)]
        return 200, {}, json.dumps({"products": products, "total": 6, "page": n, "pages": 2})

    responses.add_callback(responses.GET, f"{BASE}/products", callback=page)
    client = ShipStation(CREDS)
    assert len(list(client.iter_products())) == 6
    assert [c.external_id for c in client.iter_categories()] == ["0", "1"]


def test_rate_limit_headers_pause_every_worker(app_ctx):
    from webapp.queue import get_redis

    client = ShipStation(CREDS, redis=get_redis())
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/stores", json=[], headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "30"})
        client.test_connection()
    other_worker = ShipStation(CREDS, redis=get_redis())  # same key pair, fresh process state
    with pytest.raises(pe.ProviderRateLimited) as info:
        other_worker.test_connection()
    assert 25 < info.value.retry_after <= 30


def _answer_with_rate_headers(client, remaining: int, reset: int) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/stores", json=[], headers={"X-Rate-Limit-Remaining": str(remaining),
                                                     "X-Rate-Limit-Reset": str(reset)})
        client.test_connection()


def test_a_spent_window_pauses_until_the_end_its_first_answer_announced(app_ctx):
    """Reset is whole seconds, rounded up: the spent answer's "30" may mean 29.1 s. The first
    answer of the window bounded its end more tightly; the pause ends there, not later."""
    from webapp.queue import get_redis

    client = ShipStation(CREDS, redis=get_redis())
    _answer_with_rate_headers(client, remaining=39, reset=30)
    time.sleep(0.4)
    _answer_with_rate_headers(client, remaining=0, reset=30)
    other_worker = ShipStation(CREDS, redis=get_redis()).limiter()
    assert 29.0 < other_worker.try_acquire() < 29.65


def test_answers_of_an_earlier_window_do_not_shorten_the_pause(app_ctx):
    from webapp.queue import get_redis

    client = ShipStation(CREDS, redis=get_redis())
    _answer_with_rate_headers(client, remaining=1, reset=20)  # the window before: ends in 20 s
    _answer_with_rate_headers(client, remaining=0, reset=55)  # this one (another app took the turn)
    other_worker = ShipStation(CREDS, redis=get_redis()).limiter()
    assert 54 < other_worker.try_acquire() <= 55
