"""Midnight client: the XML-in-string documents, ReturnCode failures inside HTTP 200, token
failures (as a Result and as a fault), non-XML 500s and the look-up before OrderNew."""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import responses
from lxml import etree

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.context import CustomerContext
from webapp.providers.midnight import Midnight, mapping

URL = "https://ws.midnight.test/Service1.asmx"
CREDS = {"dev_token": "tok-secret-123", "base_url": URL}


def answer(op: str, result: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body><{op}Response xmlns="http://tempuri.org/"><{op}Result>{escape(result)}'
            f'</{op}Result></{op}Response></soap:Body></soap:Envelope>')


def ok(op: str, data: str = "") -> str:
    return answer(op, f"<Result><ReturnCode>0</ReturnCode>{data}</Result>")


def failed(op: str, *errors: str) -> str:
    return answer(op, "<Result><ReturnCode>1</ReturnCode><ReturnErrors>"
                      + "".join(f"<Error>{e}</Error>" for e in errors) + "</ReturnErrors></Result>")


def ctx(**kw):
    return contexts.order(customer=CustomerContext(email="ada@example.test", settings={"external_id": "1001"}),
                          external_number="W-1001-ES2", **kw)


def test_order_document_carries_customer_reference_and_lines():
    doc = etree.fromstring(mapping.order_new(ctx(items=[
        contexts.item(1, product_settings={"service_id": "12"}),
        contexts.item(2, product_settings={"item_id": "77"}, ship_to=contexts.OFFICE)]), {}))
    assert doc.tag == "OrderNew" and doc.findtext("Order/CustomerID") == "1001"
    assert doc.findtext("Order/OrderNo") == "W-1001-ES2" and doc.findtext("Order/UseOrderNo") == "true"
    assert doc.findtext("Order/PresseroId") == "W-1001"
    assert doc.findtext("Order/OrderDetail/Services/Service/SvcId") == "12"
    assert doc.findtext("Order/OrderInventory/Items/Item/ItemId") == "77"
    assert "ship to Bob Office" in doc.findtext("Order/OrderInventory/Items/Item/Notes")
    other = etree.fromstring(mapping.order_new(ctx(), {"reference_field": "project_name", "default_service_id": "5"}))
    assert other.findtext("Order/ProjectName") == "W-1001-ES2" and other.find("Order/OrderNo") is None


def test_refusals_before_any_request():
    with pytest.raises(pe.ProviderConfigError, match=r"customer has no Midnight External ID \(invalid customer id\)"):
        mapping.order_new(contexts.order(), {"default_service_id": "5"})
    with pytest.raises(pe.ProviderConfigError, match="service ID or inventory item ID is required"):
        mapping.order_new(ctx(), {})
    with pytest.raises(pe.ProviderConfigError, match="not both"):
        mapping.order_new(ctx(items=[contexts.item(1, product_settings={"item_id": "7", "project_type_id": "3"})]), {})
    assert any("customer has no Midnight External ID (invalid customer id)" in p
               for p in Midnight.missing_settings(contexts.order()))


@responses.activate
def test_a_first_push_creates_and_a_retry_after_sending_looks_up_first():
    created = ok("OrderNew", "<Orders><Order><OrderId>80001</OrderId><OrderNumber>W-1001-ES2</OrderNumber></Order>"
                             "</Orders>")
    responses.post(URL, body=created, content_type="text/xml")
    order = ctx()
    result = Midnight(CREDS, {"default_service_id": "5"}).push_order(order)
    assert result.external_id == "80001" and result.external_number == "W-1001-ES2"
    assert len(responses.calls) == 1 and order.checkpoint["midnight_order_new_sent"] is True
    responses.replace(responses.POST, URL, body=ok("OrderList", "<Orders/>"), content_type="text/xml")
    responses.add(responses.POST, URL, body=created, content_type="text/xml")
    retry = ctx(checkpoint={"midnight_order_new_sent": True})  # the answer was lost: not found, so create
    Midnight(CREDS, {"default_service_id": "5"}).push_order(retry)
    first, second = (etree.fromstring(c.request.body) for c in responses.calls[1:])
    assert first.findtext(".//{http://tempuri.org/}DevToken") == "tok-secret-123"
    inner = etree.fromstring(first.findtext(".//{http://tempuri.org/}inputXML").encode())
    assert inner.findtext("InputParameter/OrderNumber") == "W-1001-ES2"
    assert second.find(".//{http://tempuri.org/}sXML") is not None
    assert responses.calls[2].request.headers["SOAPAction"] == '"http://tempuri.org/OrderNew"'


@responses.activate
def test_a_repush_finds_the_order_and_does_not_recreate_it():
    responses.post(URL, body=ok("OrderList", "<Orders><Order><OrderID>80001</OrderID><OrderNumber>W-1001-ES2"
                                             "</OrderNumber><OrderProgressCode>50</OrderProgressCode>"
                                             "<OrderProgressText>In Production</OrderProgressText></Order></Orders>"),
                   content_type="text/xml")
    result = Midnight(CREDS, {"default_service_id": "5"}).push_order(ctx(existing_external_id="80001"))
    assert result.external_id == "80001" and result.external_status == "50 In Production"
    assert len(responses.calls) == 1


@responses.activate
def test_return_code_inside_a_200_is_a_rejection_in_midnights_words():
    responses.post(URL, body=failed("OrderNew", "invalid customer id (1001)."), content_type="text/xml")
    with pytest.raises(pe.ProviderRejected, match=r"invalid customer id \(1001\)"):
        Midnight(CREDS, {"default_service_id": "5"}).push_order(ctx())


@pytest.mark.parametrize("as_fault", [False, True])
@responses.activate
def test_a_bad_token_is_an_authentication_error(as_fault):
    message = "Invalid DevToken: the token is not valid or API access is not enabled for this site."
    responses.post(URL, body=ok("_GetWebServiceVersion", ""), content_type="text/xml")
    if as_fault:
        body = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
                f'<faultcode>soap:Server</faultcode><faultstring>{message}</faultstring></soap:Fault></soap:Body>'
                '</soap:Envelope>')
        responses.post(URL, body=body, status=500, content_type="text/xml")
    else:
        responses.post(URL, body=failed("OrderList", message), content_type="text/xml")
    with pytest.raises(pe.ProviderAuthError, match="Invalid DevToken"):
        Midnight(CREDS, {}).test_connection()


@responses.activate
def test_non_xml_500_is_transient_and_a_broken_inner_document_is_unreadable():
    responses.post(URL, body="Service Unavailable", status=500, content_type="text/plain")
    with pytest.raises(pe.ProviderTransientError):
        Midnight(CREDS, {"default_service_id": "5"}).push_order(ctx())
    responses.replace(responses.POST, URL, body=answer("OrderNew", "<Result><ReturnCode>0"), content_type="text/xml")
    with pytest.raises(pe.ProviderResponseError, match="Midnight OrderNew"):
        Midnight(CREDS, {"default_service_id": "5"}).push_order(ctx())


def test_account_status_vocabulary_matches_the_text_or_the_progress_code():
    settings = {"status_map_override": "60 = Completed\n30 Proof Sent = Ready to Ship"}
    assert Midnight.map_status("60 Shipped", settings) == "Completed"
    assert Midnight.map_status("30 Proof Sent", settings) == "Ready to Ship"
    assert Midnight.map_status("60 Shipped") == "Shipped" and Midnight.map_status("30 Proof Sent") == "On Hold"
    assert Midnight.map_status("Cancelled") == "Cancelled"
    _, errors = Midnight.account_settings.clean({"status_map_override": "60 = Teleported"})
    assert "status_map_override" in errors
