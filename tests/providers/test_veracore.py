"""VeraCore client: payload mapping, the SOAP envelope on the wire, faults (in 500s and as
rejections or credentials), non-XML 500s and the already-exists look-up — with `responses`."""
from __future__ import annotations

import pytest
import responses
from lxml import etree

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.context import ShippingMethodContext
from webapp.providers.veracore import VeraCore, mapping

URL = "https://acme.veracore.test/pmomsws/oms.asmx"
CREDS = {"username": "api-user", "password": "pa55-word", "base_url": URL}


def envelope(body: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body>{body}</soap:Body></soap:Envelope>')


def fault(message: str, code: str = "soap:Server") -> str:
    return envelope(f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{message}</faultstring></soap:Fault>")


def info(order_id: str, flag: str = "Unprocessed", packages: str = "") -> str:
    return envelope(f'<GetOrderInfoResponse xmlns="http://omscom/"><GetOrderInfoResult><OrdHead><OrderId>{order_id}'
                    f'</OrderId><Status><Unprocessed>{str(flag == "Unprocessed").lower()}</Unprocessed>'
                    f'<Shipped>{str(flag == "Shipped").lower()}</Shipped></Status></OrdHead>{packages}'
                    f'</GetOrderInfoResult></GetOrderInfoResponse>')


def ctx(**kw):
    items = [contexts.item(1, product_settings={"offer_id": "BC-100"}),
             contexts.item(2, product_settings={"offer_id": "FL-200"}, ship_to=contexts.OFFICE)]
    return contexts.order(items=kw.pop("items", items), external_number="W-1001-ES3", **kw)


def test_order_maps_offers_ship_to_keys_and_freight_codes():
    order = mapping.build_order(ctx())
    assert order["Header"]["ID"] == "W-1001-ES3" and order["Header"]["ReferenceNumber"] == "W-1001"
    keys = [s["Key"] for s in order["ShipTo"]["OrderShipTo"]]
    assert keys == [1, 2]
    assert [o["OrderShipTo"]["Key"] for o in order["Offers"]["OfferOrdered"]] == [1, 2]
    assert [o["Offer"]["Header"]["ID"] for o in order["Offers"]["OfferOrdered"]] == ["BC-100", "FL-200"]
    assert order["Shipping"]["FreightCode"] == "ups:ups_ground"  # the method's Integration ID
    assert order["ShipTo"]["OrderShipTo"][1]["CompanyName"] == "Acme"
    assert mapping.build_order(ctx(), send_order_id=False)["Header"]["ReferenceNumber"] == "W-1001-ES3"


def test_freight_code_setting_wins_and_a_method_without_code_is_refused():
    method = ShippingMethodContext(name="Courier", integration_id="", settings={"freight_code": "P01"})
    assert mapping.freight_code(contexts.item(1, shipping_method=method)) == "P01"
    with pytest.raises(pe.ProviderConfigError, match="no VeraCore FreightCode"):
        mapping.freight_code(contexts.item(1, shipping_method=ShippingMethodContext(name="Courier")))
    with pytest.raises(pe.ProviderConfigError, match="offer ID is required"):
        mapping.build_order(contexts.order())


@responses.activate
def test_envelope_carries_the_authentication_header_and_action():
    responses.post(URL, body=envelope('<AddOrderResponse xmlns="http://omscom/"><AddOrderResult><OrderID>W-1001-ES3'
                                      '</OrderID><OrderSeqID>7</OrderSeqID></AddOrderResult></AddOrderResponse>'),
                   content_type="text/xml")
    client = VeraCore(CREDS, {})
    result = client.push_order(ctx())
    assert result.external_id == "W-1001-ES3" and [i.external_order_id for i in result.items] == ["W-1001-ES3"] * 2
    sent = responses.calls[0].request
    assert sent.headers["SOAPAction"] == '"http://omscom/AddOrder"'
    assert sent.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(sent.body)
    ns = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "v": "http://omscom/"}
    assert root.findtext("s:Header/v:AuthenticationHeader/v:Username", namespaces=ns) == "api-user"
    assert root.findtext("s:Header/v:AuthenticationHeader/v:Password", namespaces=ns) == "pa55-word"
    assert root.findtext("s:Body/v:AddOrder/v:order/v:Header/v:ID", namespaces=ns) == "W-1001-ES3"
    assert "pa55-word" not in client.exchanges[0].request_body  # redacted in the exchange log


@responses.activate
def test_already_exists_is_looked_up_and_reported_pushed():
    responses.post(URL, body=fault("Order ID 'W-1001-ES3' already exists."), status=500, content_type="text/xml")
    responses.post(URL, body=info("W-1001-ES3", "Shipped"), content_type="text/xml")
    result = VeraCore(CREDS, {}).push_order(ctx())
    assert result.external_id == "W-1001-ES3" and result.external_status == "Shipped"
    assert b"GetOrderInfo" in responses.calls[1].request.body


@pytest.mark.parametrize("setting,error", [("rejected", pe.ProviderRejected), ("transient", pe.ProviderTransientError)])
@responses.activate
def test_validation_fault_inside_a_500_keeps_veracores_words(setting, error):
    responses.post(URL, body=fault("Offer 'BC-100' does not exist."), status=500, content_type="text/xml")
    with pytest.raises(error, match="Offer 'BC-100' does not exist."):
        VeraCore(CREDS, {"server_faults": setting}).push_order(ctx())


@pytest.mark.parametrize("setting", ["rejected", "transient"])
@responses.activate
def test_bad_password_fault_is_an_authentication_error_whatever_the_faultcode(setting):
    responses.post(URL, body=fault("Authentication failed: invalid Username or Password."), status=500,
                   content_type="text/xml")
    with pytest.raises(pe.ProviderAuthError) as caught:
        VeraCore(CREDS, {"server_faults": setting}).test_connection()
    assert not caught.value.transient


@pytest.mark.parametrize("body,content_type", [("<html><body>Server Error in '/' Application.</body></html>",
                                                "text/html"), ("", "text/plain"), ("not xml at all", "text/plain")])
@responses.activate
def test_a_500_that_is_not_soap_is_transient(body, content_type):
    responses.post(URL, body=body, status=500, content_type=content_type)
    with pytest.raises(pe.ProviderTransientError) as caught:
        VeraCore(CREDS, {}).push_order(ctx())
    assert caught.value.transient and caught.value.ambiguous


@responses.activate
def test_html_inside_a_200_is_an_unreadable_answer():
    responses.post(URL, body="<html><body>Maintenance</body></html>", content_type="text/html")
    with pytest.raises(pe.ProviderResponseError, match="not a SOAP envelope"):
        VeraCore(CREDS, {}).push_order(ctx())


@responses.activate
def test_status_skips_voided_packages_and_maps_flags():
    packages = ("<ShippingOrders><ShippingOrder><Packages><Package><TrackingId>VOID1</TrackingId>"
                "<DateVoided>2026-11-29</DateVoided></Package><Package><TrackingId>1Z9</TrackingId><Carrier>UPS"
                "</Carrier><DateShipped>2026-11-30T10:00:00</DateShipped><DateVoided/></Package></Packages>"
                "</ShippingOrder></ShippingOrders>")
    responses.post(URL, body=envelope('<GetShippingActivityResponse xmlns="http://omscom/"><GetShippingActivityResult>'
                                      '<ShippingActivity><OrderId>A1</OrderId></ShippingActivity>'
                                      '</GetShippingActivityResult></GetShippingActivityResponse>'), content_type="text/xml")
    responses.post(URL, body=info("A1", "Shipped", packages), content_type="text/xml")
    from tests.fuzz.corpus import push_refs

    [ref] = push_refs()
    ref.external_id = "A1"
    updates = list(VeraCore(CREDS, {}).fetch_status_updates([ref]))
    assert [u.shipment.tracking_number for u in updates if u.shipment] == ["1Z9"]
    assert VeraCore.map_status(updates[0].external_status) == "Shipped"
