"""Presswise client: Aleyant's header mapping, MISID rules, the multi-destination decision,
status.code failures inside HTTP 200, faults and non-XML 500s."""
from __future__ import annotations

from decimal import Decimal

import pytest
import responses
from lxml import etree

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.context import CustomerContext
from webapp.providers.presswise import Presswise, mapping

URL = "https://shop.presswise.test/r/wsdl-order2.php"
CREDS = {"username": "api", "password": "pw-secret-1", "auth_code": "c0ffee42", "base_url": URL}


def answer(op: str, code: int, text: str, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="ISO-8859-1"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/'
            f'soap/envelope/"><SOAP-ENV:Body><ns1:{op}Response xmlns:ns1="urn:presswise"><return><status><code>{code}'
            f'</code><text>{text}</text></status>{extra}</return></ns1:{op}Response></SOAP-ENV:Body>'
            '</SOAP-ENV:Envelope>')


def ctx(items=None, **kw):
    return contexts.order(items=items, site_settings={"mis_id": "1001"}, external_number="W-1001-ES4", **kw)


def test_header_follows_the_kb_mapping():
    [(_, data)] = mapping.purchase_orders(ctx(), {})
    assert data["sourceOrderID"] == "W-1001-ES4" and data["customerPO"] == "PO-7" and data["customerID"] == "1001"
    assert (data["btFirst"], data["btLast"], data["btAttention"]) == ("Bob", "Office", "Bob Office")
    assert data["btTerms"] == "Prepaid" and data["initial_status"] == "AUTO New"
    assert (data["shipCostFlag"], data["salesDate"], data["isReprint"]) == ("fixed", "auto", "N")
    assert data["shipTo"]["avsResidential"] == "N" and data["shipTo"]["stTelephone"] == "555-0100"
    assert (data["subTotal"], data["taxCost"], data["shipCost"], data["totalCost"]) == ("30.00", "2.50", "5.00", "37.50")
    assert data["dueDate"] == "2026-12-01" and data["shipMethod"] == "UPS Ground"
    assert data["item"][0]["sourceJobID"] == "W-1001-1" and data["item"][0]["productID"] == "BC-1"
    assert data["item"][0]["fileF"] == {"href": "https://files.example.test/1.pdf"}


def test_pricing_goes_into_the_notes_when_asked():
    [(_, data)] = mapping.purchase_orders(ctx(), {"send_pricing_in_notes": True})
    assert "Rush please" in data["comments"] and "Pricing: W-1001-1: 250 × 0.12 = 30.00" in data["comments"]
    [(_, plain)] = mapping.purchase_orders(ctx(), {})
    assert "Pricing" not in plain["comments"]


def test_misid_user_overrides_site_and_must_be_digits():
    user = CustomerContext(email="ada@example.test", settings={"mis_id": "2002"})
    assert mapping.customer_id(ctx(customer=user)) == "2002"
    with pytest.raises(pe.ProviderConfigError, match="MISID \\(PressWise customer ID\\) is required"):
        mapping.customer_id(contexts.order())
    with pytest.raises(pe.ProviderConfigError, match="digits only"):
        mapping.customer_id(contexts.order(site_settings={"mis_id": "12a"}))
    _, errors = Presswise.site_settings.clean({"mis_id": "12-3"})  # refused when saved, too
    assert "mis_id" in errors


def test_multi_destination_one_purchase_order_per_ship_to_or_one_without_ship_to():
    items = [contexts.item(1, unit_price=Decimal("1")), contexts.item(2, ship_to=contexts.OFFICE, unit_price=Decimal("2"))]
    split = mapping.purchase_orders(ctx(items), {})
    assert [d["sourceOrderID"] for _, d in split] == ["W-1001-ES4", "W-1001-ES4-S2"]
    assert [d["shipTo"]["stCity"] for _, d in split] == ["Austin", "Dallas"]
    assert [d["shipCost"] for _, d in split] == ["5.00", "0.00"]  # shipping and tax once
    assert [len(d["item"]) for _, d in split] == [1, 1]
    [(_, single)] = mapping.purchase_orders(ctx(items), {"multi_destination": "single"})
    assert single["shipTo"] is None and len(single["item"]) == 2
    assert "W-1001-2 ships to Bob Office, 9 Main St, Dallas" in single["comments"]


@responses.activate
def test_push_sends_rpc_auth_and_remembers_each_purchase_order():
    responses.post(URL, body=answer("add_purchase_order", 0, "OK", "<orderID>5001</orderID>"), content_type="text/xml")
    responses.post(URL, body=answer("add_purchase_order", 0, "OK", "<orderID>5002</orderID>"), content_type="text/xml")
    order = ctx([contexts.item(1), contexts.item(2, ship_to=contexts.OFFICE)])
    result = Presswise(CREDS, {}).push_order(order)
    assert result.external_id == "5001,5002" and order.checkpoint == {"po:W-1001-ES4": "5001",
                                                                       "po:W-1001-ES4-S2": "5002"}
    body = etree.fromstring(responses.calls[0].request.body)
    assert body.findtext(".//auth/user") == "api" and body.findtext(".//auth/code") == "c0ffee42"
    assert body.findtext(".//data/sourceOrderID") == "W-1001-ES4"
    again = Presswise(CREDS, {}).push_order(order)  # a retry reads the checkpoint: nothing is sent
    assert again.external_id == "5001,5002" and len(responses.calls) == 2


@responses.activate
def test_status_code_inside_a_200_fails_with_presswises_words():
    responses.post(URL, body=answer("add_purchase_order", 2, "item productID is required."), content_type="text/xml")
    with pytest.raises(pe.ProviderRejected, match="item productID is required."):
        Presswise(CREDS, {}).push_order(ctx())
    responses.replace(responses.POST, URL, content_type="text/xml",
                      body=answer("add_purchase_order", 101, "Authentication failed: invalid user, password or "
                                                             "authorization code."))
    with pytest.raises(pe.ProviderAuthError):
        Presswise(CREDS, {}).push_order(ctx())


@responses.activate
def test_faults_and_non_xml_500s():
    responses.post(URL, status=500, content_type="text/xml", body=(
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
        '<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Authentication failed: bad login'
        '</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>'))
    with pytest.raises(pe.ProviderAuthError, match="bad login"):
        Presswise(CREDS, {}).test_connection()
    responses.replace(responses.POST, URL, status=500, body="<b>Fatal error</b>: out of memory", content_type="text/html")
    with pytest.raises(pe.ProviderTransientError):
        Presswise(CREDS, {}).push_order(ctx())


def test_status_vocabulary_maps_by_prefix():
    assert Presswise.map_status("Exception: paper jam") == "On Hold"
    assert Presswise.map_status("AUTO New") == "Order Received"
    assert Presswise.map_status("Shipped") == "Shipped"
    assert Presswise.map_status("Something else") is None
