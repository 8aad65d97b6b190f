"""The three SOAP simulators, tested from the reference's own examples (hand-written XML on
the wire, not our clients' output): VeraCore §4.1/§4.3, PressWise §3.1/§3.3, Midnight §6.1/§6.3."""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import requests
from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def xml(response) -> etree._Element:
    return etree.fromstring(response.content)


def find(root, name: str) -> str:
    node = next((n for n in root.iter() if isinstance(n.tag, str) and etree.QName(n).localname == name), None)
    return (node.text or "") if node is not None else None


# --------------------------------------------------------------------------- VeraCore

VC_ORDER = """<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <AuthenticationHeader xmlns="http://omscom/"><Username>{user}</Username><Password>{password}</Password></AuthenticationHeader>
  </soap:Header>
  <soap:Body>
    <AddOrder xmlns="http://omscom/">
      <order>
        <Header><ID>{order_id}</ID><EntryDate>2024-05-01T10:00:00</EntryDate><Comments>..</Comments><PONumber>..</PONumber><ReferenceNumber>..</ReferenceNumber></Header>
        <Classification><Source><Description>Storefront A</Description></Source><CampaignID/></Classification>
        <Shipping><FreightCode>P01</FreightCode><FreightCodeDescription>..</FreightCodeDescription></Shipping>
        <OrderedBy><FirstName>Ada</FirstName><LastName>Buyer</LastName></OrderedBy>
        <ShipTo><OrderShipTo><Key>1</Key><Flag>Other</Flag><FirstName>Ada</FirstName><LastName>Buyer</LastName><Address1>1 Test St</Address1><City>Austin</City><State>TX</State><PostalCode>78701</PostalCode><SpecialHandling><Description>..</Description></SpecialHandling></OrderShipTo></ShipTo>
        <BillTo><Flag>OrderedBy</Flag></BillTo>
        <Offers>
          <OfferOrdered><Offer><Header><ID>BC-100</ID></Header></Offer><Quantity>{quantity}</Quantity><UnitPrice>19.50</UnitPrice><OrderShipTo><Key>{key}</Key></OrderShipTo></OfferOrdered>
        </Offers>
      </order>
    </AddOrder>
  </soap:Body>
</soap:Envelope>"""


@pytest.fixture(scope="module")
def veracore(sims):
    base = f"{sims['veracore']}"
    requests.post(f"{base}/_sim/accounts", json={"username": "u", "password": "p", "offers": [
        {"ID": "BC-100", "Description": "Business Cards", "Category": {"ID": "C1", "Description": "Cards"}},
        {"ID": "FL-200", "Description": "Flyers"}]}, timeout=10).raise_for_status()
    requests.post(f"{base}/_sim/accounts", json={"username": "legacy", "password": "p", "caller_ids": False,
                                                 "namespace": "http://sma-promail/"}, timeout=10).raise_for_status()
    return base


def vc_post(base, body: str, action: str):
    return requests.post(f"{base}/pmomsws/oms.asmx", data=body.encode(), timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'})


def test_veracore_add_order_from_the_reference_example(veracore):
    response = vc_post(veracore, VC_ORDER.format(user="u", password="p", order_id="W2P-000123", quantity=250, key=1),
                       "http://omscom/AddOrder")
    assert response.status_code == 200, response.text
    assert find(xml(response), "OrderID") == "W2P-000123" and find(xml(response), "OrderSeqID")
    again = vc_post(veracore, VC_ORDER.format(user="u", password="p", order_id="W2P-000123", quantity=250, key=1),
                    "http://omscom/AddOrder")
    assert again.status_code == 500 and "already exists" in find(xml(again), "faultstring")


@pytest.mark.parametrize("change,words", [
    (dict(password="wrong"), "Authentication failed"),
    (dict(quantity=0), "Quantity must be greater than zero"),
    (dict(key=2), "matches no ship-to"),
])
def test_veracore_refusals_are_faults_in_500s(veracore, change, words):
    values = {**dict(user="u", password="p", order_id="W2P-BAD", quantity=5, key=1), **change}
    response = vc_post(veracore, VC_ORDER.format(**values), "http://omscom/AddOrder")
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/xml")
    assert words in find(xml(response), "faultstring")


def test_veracore_soapaction_namespace_and_tenant_assigned_ids(veracore):
    wrong_action = vc_post(veracore, VC_ORDER.format(user="u", password="p", order_id="X1", quantity=1, key=1),
                           "http://omscom/GetOffers")
    assert wrong_action.status_code == 500 and "SOAPAction" in find(xml(wrong_action), "faultstring")
    legacy = VC_ORDER.replace("http://omscom/", "http://sma-promail/")
    refused = vc_post(veracore, legacy.format(user="legacy", password="p", order_id="X1", quantity=1, key=1),
                      "http://sma-promail/AddOrder")
    assert "assigned by VeraCore" in find(xml(refused), "faultstring")
    requests.post(f"{veracore}/_sim/offers", json={"username": "legacy", "offers": [{"ID": "BC-100"}]}, timeout=10)
    assigned = vc_post(veracore, legacy.format(user="legacy", password="p", order_id="", quantity=1, key=1),
                       "http://sma-promail/AddOrder")
    assert assigned.status_code == 200 and find(xml(assigned), "OrderID").isdigit()


def test_veracore_offers_order_info_and_shipping_activity(veracore):
    offers = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><AuthenticationHeader '
              'xmlns="http://omscom/"><Username>u</Username><Password>p</Password></AuthenticationHeader></soap:Header>'
              '<soap:Body><GetOffers xmlns="http://omscom/"><searchString>{s}</searchString><searchID>{i}</searchID>'
              '<searchDescription>{d}</searchDescription></GetOffers></soap:Body></soap:Envelope>')
    ids = lambda r: [n.text for n in xml(r).iter() if etree.QName(n).localname == "ID" and n.getparent().tag.endswith("GetOfferResult")]  # noqa: E731
    assert ids(vc_post(veracore, offers.format(s="%", i="true", d="false"), "http://omscom/GetOffers")) == ["BC-100", "FL-200"]
    assert ids(vc_post(veracore, offers.format(s="BC%", i="true", d="false"), "http://omscom/GetOffers")) == ["BC-100"]
    assert ids(vc_post(veracore, offers.format(s="%flyer%", i="false", d="true"), "http://omscom/GetOffers")) == ["FL-200"]
    vc_post(veracore, VC_ORDER.format(user="u", password="p", order_id="W2P-SHIP", quantity=2, key=1),
            "http://omscom/AddOrder")
    requests.post(f"{veracore}/_sim/ship", json={"username": "u", "order_id": "W2P-SHIP", "tracking_id": "1ZABC"},
                  timeout=10).raise_for_status()
    body = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><AuthenticationHeader '
            'xmlns="http://omscom/"><Username>u</Username><Password>p</Password></AuthenticationHeader></soap:Header>'
            '<soap:Body><{op} xmlns="http://omscom/">{args}</{op}></soap:Body></soap:Envelope>')
    info = vc_post(veracore, body.format(op="GetOrderInfo", args="<orderId>W2P-SHIP</orderId>"), "http://omscom/GetOrderInfo")
    assert find(xml(info), "TrackingId") == "1ZABC" and find(xml(info), "Shipped") == "true"
    window = "<StartDate>2000-01-01T00:00:00</StartDate><EndDate>2999-01-01T00:00:00</EndDate>"
    activity = vc_post(veracore, body.format(op="GetShippingActivity", args=window), "http://omscom/GetShippingActivity")
    assert "W2P-SHIP" in [n.text for n in xml(activity).iter() if etree.QName(n).localname == "OrderId"]
    empty = "<StartDate>2000-01-01T00:00:00</StartDate><EndDate>2000-01-02T00:00:00</EndDate>"
    assert find(xml(vc_post(veracore, body.format(op="GetShippingActivity", args=empty),
                            "http://omscom/GetShippingActivity")), "OrderId") is None
    assert "OMSSoap" in requests.get(f"{veracore}/pmomsws/oms.asmx?WSDL", timeout=10).text


# --------------------------------------------------------------------------- PressWise

PW = """<?xml version="1.0" encoding="ISO-8859-1"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:anything"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<SOAP-ENV:Body><ns1:{op}>
<auth xsi:type="ns1:auth"><user xsi:type="xsd:string">pw</user><pass xsi:type="xsd:string">{password}</pass><code xsi:type="xsd:string">abc123</code></auth>
{arg}
</ns1:{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
PW_DATA = ("<data><sourceOrderID>{source}</sourceOrderID><customerID>42</customerID><btFirst>Jos\xe9</btFirst>"
           "{ship}<item><quantity>100</quantity><productID>BC</productID><sourceJobID>{source}-1</sourceJobID></item></data>")


@pytest.fixture(scope="module")
def presswise(sims):
    base = f"{sims['presswise']}"
    requests.post(f"{base}/_sim/accounts", json={"user": "pw", "password": "secret", "code": "abc123",
                                                 "customers": [42]}, timeout=10).raise_for_status()
    return base


def pw_post(base, op: str, arg: str, password: str = "secret"):
    return requests.post(f"{base}/r/wsdl-order2.php", timeout=10, headers={
        "Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": "#POST"},
        data=PW.format(op=op, arg=arg, password=password).encode("iso-8859-1"))


def test_presswise_add_purchase_order_in_latin1_and_deduplicated(presswise):
    first = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-1", ship="<shipTo><stCity>Austin</stCity></shipTo>"))
    assert first.status_code == 200 and find(xml(first), "code") == "0"
    order_id = find(xml(first), "orderID")
    again = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-1", ship=""))
    assert find(xml(again), "orderID") == order_id
    stored = requests.get(f"{presswise}/_sim/orders", params={"user": "pw"}, timeout=10).json()["orders"]
    assert [o["header"]["btFirst"] for o in stored if o["orderID"] == order_id] == ["José"]


def test_presswise_refusals_keep_http_200_with_a_status_code(presswise):
    two = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-2", ship="<shipTo/><shipTo/>"))
    assert two.status_code == 200 and find(xml(two), "code") != "0" and "Only one shipTo" in find(xml(two), "text")
    no_item = pw_post(presswise, "add_purchase_order", "<data><sourceOrderID>S-3</sourceOrderID><customerID>42</customerID></data>")
    assert "At least one item" in find(xml(no_item), "text")
    bad = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-4", ship=""), password="nope")
    assert bad.status_code == 200 and find(xml(bad), "code") == "101"
    requests.post(f"{presswise}/_sim/config", json={"auth_failure": "fault"}, timeout=10).raise_for_status()
    try:
        as_fault = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-4", ship=""), password="nope")
        assert as_fault.status_code == 500 and "Authentication failed" in find(xml(as_fault), "faultstring")
    finally:
        requests.post(f"{presswise}/_sim/config", json={"auth_failure": "status"}, timeout=10)


def test_presswise_proposed_status_call_and_create_user(presswise):
    created = pw_post(presswise, "add_purchase_order", PW_DATA.format(source="S-5", ship=""))
    order_id = find(xml(created), "orderID")
    requests.post(f"{presswise}/_sim/status", json={"user": "pw", "order_id": order_id, "status": "Exception: paper out",
                                                    "items": {"S-5-1": {"trackingNumber": "T1"}}}, timeout=10)
    for request in (f"<request><orderID>{order_id}</orderID></request>", "<request><sourceOrderID>S-5</sourceOrderID></request>"):
        status = xml(pw_post(presswise, "get_order_status", request))
        assert find(status, "status") is not None and find(status, "trackingNumber") == "T1"
        order_status, item_status = [n.text for n in status.iter() if etree.QName(n).localname == "status" and n.text]
        assert (order_status, item_status) == ("Exception: paper out", "AUTO New")
    missing = pw_post(presswise, "get_order_status", "<request><orderID>999999</orderID></request>")
    assert "not found" in find(xml(missing), "text")
    user = pw_post(presswise, "create_user", "<request><customerID>42</customerID><user><loginID>ada</loginID></user></request>")
    assert find(xml(user), "code") == "0" and find(xml(user), "userID")
    nobody = pw_post(presswise, "create_user", "<request><customerID>7</customerID><user><loginID>x</loginID></user></request>")
    assert "Unknown customer" in find(xml(nobody), "text")


# --------------------------------------------------------------------------- Midnight

MN = """<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>
<ValidationSoapHeader xmlns="urn:any-namespace"><DevToken>{token}</DevToken></ValidationSoapHeader></soap:Header>
<soap:Body><{op} xmlns="urn:any-namespace">{args}</{op}></soap:Body></soap:Envelope>"""


@pytest.fixture(scope="module")
def midnight(sims):
    base = f"{sims['midnight']}"
    requests.post(f"{base}/_sim/accounts", json={"token": "T0K", "customers": [1001]}, timeout=10).raise_for_status()
    return base


def mn_post(base, op: str, args: str = "", token: str = "T0K"):
    return requests.post(f"{base}/Service1.asmx", data=MN.format(op=op, args=args, token=token).encode(), timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"http://tempuri.org/{op}"'})


def result(response, op: str) -> etree._Element:
    return etree.fromstring(find(xml(response), f"{op}Result").encode())


def order_new(customer="1001", lines="<OrderDetail><Services><Service><SvcId>5</SvcId><SvcQuantity>10</SvcQuantity></Service></Services></OrderDetail>"):
    doc = f"<OrderNew><Order><CustomerID>{customer}</CustomerID><PresseroId>W-9</PresseroId><PONum>PO</PONum>{lines}</Order></OrderNew>"
    return f"<sXML>{escape(doc)}</sXML>"


def test_midnight_order_new_list_and_progress(midnight):
    created = result(mn_post(midnight, "OrderNew", order_new()), "OrderNew")
    assert find(created, "ReturnCode") == "0"
    order_id, number = find(created, "OrderId"), find(created, "OrderNumber")
    listed = result(mn_post(midnight, "OrderList", f"<inputXML>{escape(f'<OrderList><InputParameter><OrderNumber>{number}</OrderNumber></InputParameter></OrderList>')}</inputXML>"), "OrderList")
    assert find(listed, "OrderID") == order_id and find(listed, "OrderProgressCode") == "10"
    requests.post(f"{midnight}/_sim/progress", json={"token": "T0K", "order_id": order_id, "status": "Closed"}, timeout=10)
    open_only = result(mn_post(midnight, "OrderList", f"<inputXML>{escape('<OrderList><InputParameter><OpenOrdersOnly>true</OpenOrdersOnly></InputParameter></OrderList>')}</inputXML>"), "OrderList")
    assert order_id not in [n.text for n in open_only.iter() if n.tag == "OrderID"]
    assert find(xml(mn_post(midnight, "_GetWebServiceVersion", token="")), "_GetWebServiceVersionResult")


def test_midnight_refusals_are_results_with_a_return_code(midnight):
    unknown = result(mn_post(midnight, "OrderNew", order_new(customer="9")), "OrderNew")
    assert find(unknown, "ReturnCode") != "0" and "invalid customer id" in find(unknown, "Error")
    empty = result(mn_post(midnight, "OrderNew", order_new(lines="")), "OrderNew")
    assert "at least one service or inventory item" in find(empty, "Error")
    bad_token = result(mn_post(midnight, "OrderList", "<inputXML>&lt;OrderList/&gt;</inputXML>", token="nope"), "OrderList")
    assert find(bad_token, "ReturnCode") == "1" and "DevToken" in find(bad_token, "Error")
    requests.post(f"{midnight}/_sim/config", json={"auth_failure": "fault"}, timeout=10).raise_for_status()
    try:
        as_fault = mn_post(midnight, "OrderList", "<inputXML>&lt;OrderList/&gt;</inputXML>", token="nope")
        assert as_fault.status_code == 500 and "DevToken" in find(xml(as_fault), "faultstring")
    finally:
        requests.post(f"{midnight}/_sim/config", json={"auth_failure": "result"}, timeout=10)


def test_midnight_attachment_and_shipment(midnight):
    order_id = find(result(mn_post(midnight, "OrderNew", order_new()), "OrderNew"), "OrderId")
    attach = "<fileContent>{c}</fileContent><fileName>{n}</fileName><documentTypeId/><orderId>{o}</orderId>"
    assert find(result(mn_post(midnight, "OrderAddAttachment", attach.format(c="JVBERi0=", n="proof.pdf", o=order_id)),
                       "OrderAddAttachment"), "ReturnCode") == "0"
    assert "not allowed" in find(result(mn_post(midnight, "OrderAddAttachment", attach.format(
        c="JVBERi0=", n="run.exe", o=order_id)), "OrderAddAttachment"), "Error")
    assert "empty" in find(result(mn_post(midnight, "OrderAddAttachment", attach.format(
        c="", n="a.pdf", o=order_id)), "OrderAddAttachment"), "Error")
    ship = escape(f"<OrderShipmentNew><OrderID>{order_id}</OrderID><TrackingNo>1Z</TrackingNo>"
                  f"<ShippedDate>11/30/2026</ShippedDate></OrderShipmentNew>")
    assert find(result(mn_post(midnight, "OrderShipmentNew", f"<inputXML>{ship}</inputXML>"), "OrderShipmentNew"),
                "ReturnCode") == "0"


def test_veracore_rest_public_api_login_expiry_and_reads(veracore):
    requests.post(f"{veracore}/_sim/accounts", json={"username": "rest", "password": "p", "system_id": "SYS1",
                                                     "token_seconds": 60, "offers": [{"ID": "BC-100"}]}, timeout=10)
    api = f"{veracore}/VeraCore/Public.Api/api"
    refused = requests.post(f"{api}/login", json={"userName": "rest", "password": "p", "systemId": "nope"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["Error"] == "Invalid Requested System"
    login = requests.post(f"{veracore}/veracore/public.api/api/login",
                          json={"userName": "rest", "password": "p", "systemId": "SYS1"}, timeout=10).json()
    assert login["Token"] and login["Error"] is None
    bearer = {"Authorization": f"bearer {login['Token']}"}
    assert requests.get(f"{api}/orders", params={"request.status": "All"}, timeout=10).status_code == 401
    assert requests.get(f"{api}/orders", params={"request.status": "Unprocessed"}, headers=bearer,
                        timeout=10).json() == {"Orders": []}
    stock = requests.get(f"{api}/GetInventory", params={"offerIds": "BC-100,NOPE"}, headers=bearer, timeout=10).json()
    assert [i["OfferId"] for i in stock["Inventory"]] == ["BC-100"]
    requests.post(f"{veracore}/_sim/clock", json={"advance_seconds": 61}, timeout=10)
    try:
        assert requests.get(f"{api}/GetPackages", params={"request.ordersIds": "X"}, headers=bearer,
                            timeout=10).status_code == 401  # expired
    finally:
        requests.delete(f"{veracore}/_sim/clock", timeout=10)


# --------------------------------------------------------------------------- recorder

def recorded(base: str) -> list[dict]:
    return requests.get(f"{base}/_sim/requests", timeout=10).json()["requests"]


def test_soap_credentials_never_reach_the_recorder(midnight, presswise):
    """DevToken in the SOAP header, PressWise's pass and code in the body — right or wrong."""
    requests.delete(f"{midnight}/_sim/requests", timeout=10)
    requests.delete(f"{presswise}/_sim/requests", timeout=10)
    mn_post(midnight, "OrderList", f"<inputXML>{escape('<OrderList><InputParameter/></OrderList>')}</inputXML>")
    mn_post(midnight, "OrderList", token="WRONG-TOKEN")
    pw_post(presswise, "get_order_status", "<request><orderID>1</orderID></request>")
    pw_post(presswise, "get_order_status", "<request><orderID>1</orderID></request>", password="wrong-pass")
    dump = str(recorded(midnight)) + str(recorded(presswise))
    for secret in ("T0K", "WRONG-TOKEN", "secret", "wrong-pass", "abc123"):
        assert secret not in dump, secret
    assert dump.count("[redacted]") >= 6
    assert [e["credential"] for e in recorded(presswise)] == ["pw", None]  # a login name is no secret
