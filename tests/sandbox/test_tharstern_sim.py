"""The Tharstern simulators, tested from the reference's examples and fixed vectors
(providers-part2.md §4.3, §5.3, §5.6) — not from our client's output."""
from __future__ import annotations

import base64
import uuid

import pytest
import requests
from lxml import etree

from sandbox.tharstern import testing as rest_testing
from sandbox.tharstern.state import ZERO_GUID
from sandbox.tharstern_cxml import testing as cxml_testing

# The schematic OrderRequest of providers-part2.md §5.3, with this sender's credentials.
SCHEMATIC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd">
<cXML payloadID="{payload}" timestamp="{timestamp}" xml:lang="en-US">
  <Header>
    <From><Credential domain="NetworkId"><Identity>HUB-STORE-1</Identity></Credential></From>
    <To><Credential domain="NetworkId"><Identity>Tharstern</Identity></Credential></To>
    <Sender>
      <Credential domain="NetworkId"><Identity>{identity}</Identity><SharedSecret>{secret}</SharedSecret></Credential>
      <UserAgent>hub/1.0</UserAgent>
    </Sender>
  </Header>
  <Request deploymentMode="test">
    <OrderRequest>
      <OrderRequestHeader orderID="{order_id}" orderDate="2025-01-01T11:59:00+00:00" type="{type}">
        <Total><Money currency="USD">125.50</Money></Total>
        <ShipTo><Address addressID="ship-1"><Name xml:lang="en">ACME Ltd</Name>
          <PostalAddress><DeliverTo>Jane Doe</DeliverTo><Street>1 Main St</Street><City>Springfield</City>
            <State>IL</State><PostalCode>62701</PostalCode><Country isoCountryCode="US">United States</Country></PostalAddress>
        </Address></ShipTo>
        <BillTo><Address addressID="{customer}"><Name xml:lang="en">ACME Ltd</Name>
          <PostalAddress><Street>1 Main St</Street><City>Springfield</City><Country isoCountryCode="US">United States</Country></PostalAddress>
        </Address></BillTo>
        <Shipping><Money currency="USD">10.00</Money><Description xml:lang="en">UPS Ground</Description></Shipping>
        {reference}
        <Extrinsic name="CustomerCode">{customer}</Extrinsic>
      </OrderRequestHeader>
      <ItemOut quantity="{quantity}" lineNumber="1" requestedDeliveryDate="2025-01-10">
        <ItemID><SupplierPartID>{part}</SupplierPartID><SupplierPartAuxiliaryID>item-77</SupplierPartAuxiliaryID></ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">0.231</Money></UnitPrice>
          <Description xml:lang="en">Business cards 350gsm</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          {classification}
          <Extrinsic name="ArtworkURL">https://files.example/a.pdf</Extrinsic>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>"""
CLASSIFICATION = '<Classification domain="UNSPSC">82121500</Classification>'


@pytest.fixture(scope="module")
def sender(sims):
    return cxml_testing.create_account(f"{sims['tharstern_cxml']}")


def document(sender, **kw) -> bytes:
    values = {"payload": f"20250101120000.4242.{uuid.uuid4().int % 10**10}@hub.example",
              "timestamp": "2025-01-01T12:00:00+00:00", "identity": sender.identity, "secret": sender.shared_secret,
              "order_id": f"WEB-{uuid.uuid4().hex[:6]}", "type": "new", "reference": "", "customer": "C0001",
              "quantity": "500", "part": "BC-STD-350", "classification": CLASSIFICATION}
    values.update(kw)
    return SCHEMATIC.format(**values).encode()


def post(sender, body: bytes, content_type: str = "text/xml; charset=utf-8"):
    response = requests.post(sender.endpoint, data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 200  # cXML status is independent of the HTTP status
    status = etree.fromstring(response.content).find("Response/Status")
    return int(status.get("code")), status.get("text"), (status.text or "")


def test_schematic_order_request_is_accepted(sender):
    assert post(sender, document(sender))[:2] == (200, "OK")


def test_replayed_payload_id_is_a_conflict_and_creates_nothing(sender):
    body = document(sender)
    before = sender.stats()["orders"]
    assert post(sender, body)[0] == 200
    code, _, detail = post(sender, body)
    assert code == 409 and "Duplicate payloadID" in detail
    assert sender.stats()["orders"] == before + 1


def test_missing_classification_fails_dtd_validation_with_the_first_error(sender):
    code, _, detail = post(sender, document(sender, classification=""))
    assert code == 400 and "DTD validation failed" in detail and "ItemDetail" in detail


@pytest.mark.parametrize("kw, code, words", [
    ({"secret": "wrong"}, 401, "SharedSecret"),
    ({"identity": "nobody"}, 401, "SharedSecret"),
    ({"timestamp": "2025-01-01T12:00:00"}, 400, "time zone"),
    ({"part": "NOT-A-PART"}, 400, "unknown SupplierPartID 'NOT-A-PART'"),
    ({"customer": "C9999"}, 400, "Unknown customer code C9999"),
    ({"quantity": "0"}, 400, "quantity must be positive"),
    ({"type": "update", "reference": '<DocumentReference payloadID="never-sent@x"/>'}, 400, "must reference"),
])
def test_validation_and_authentication(sender, kw, code, words):
    got, _, detail = post(sender, document(sender, **kw))
    assert got == code and words in detail


def test_wrong_to_identity_is_unauthorized(sender):
    body = document(sender).replace(b"<Identity>Tharstern</Identity>", b"<Identity>SomeoneElse</Identity>")
    assert post(sender, body)[0] == 401


def test_update_must_reference_a_previous_payload_of_the_same_order(sender):
    first = f"p-{uuid.uuid4().hex}@hub"
    assert post(sender, document(sender, payload=first, order_id="WEB-UPD"))[0] == 200
    assert post(sender, document(sender, order_id="WEB-UPD"))[0] == 409  # a second "new" for a held order
    update = document(sender, order_id="WEB-UPD", type="update",
                      reference=f'<DocumentReference payloadID="{first}"/>')
    assert post(sender, update)[0] == 200
    [held] = [o for o in sender.orders() if o["order_id"] == "WEB-UPD"]
    assert held["version"] == 2


@pytest.mark.parametrize("body, content_type, words", [
    (b"hello", "text/plain", "Content-Type"),
    (b"<cXML><unclosed>", "text/xml", "Not well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY x "y">]><cXML/>', "text/xml", "entities"),
    (b'<?xml version="1.0"?><cXML payloadID="a" timestamp="2025-01-01T00:00:00Z"/>', "text/xml", "DOCTYPE"),
])
def test_non_cxml_is_a_cxml_400(sender, body, content_type, words):
    code, _, detail = post(sender, body, content_type)
    assert code == 400 and words in detail


def test_accept_pending_sender_answers_201(sims):
    pending = cxml_testing.create_account(f"{sims['tharstern_cxml']}", accept_pending=True)
    assert post(pending, document(pending))[:2] == (201, "Accepted")


# ---------------------------------------------------------------------------- REST

@pytest.fixture(scope="module")
def tenant(sims):
    return rest_testing.create_account(f"{sims['tharstern']}")


def api(tenant) -> str:
    return f"{tenant.api_base}/TharsternAPI/api/"


def login(tenant, **kw):
    params = {"email": tenant.login, "password": tenant.password, "applicationId": "app-1", **kw}
    return requests.get(api(tenant) + "Authentication/GenerateAPIToken", params=params, timeout=10).json()


def basic(value: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def test_token_and_both_basic_forms(tenant):
    answer = login(tenant)
    assert answer["Status"]["Success"] is True
    token = answer["Details"]["Token"]
    for value in (token, f"{token}:"):
        listing = requests.get(api(tenant) + "customers", headers=basic(value), timeout=10).json()
        assert listing["Status"]["Success"] and listing["Details"]["TotalItemCount"] == 3
    assert requests.get(api(tenant) + "customers", headers=basic("nope:"), timeout=10).status_code == 401
    assert requests.get(api(tenant) + "customers", timeout=10).status_code == 401


def test_bad_login_gives_the_zero_guid_or_success_false(tenant, sims):
    assert login(tenant, password="wrong")["Details"]["Token"] == ZERO_GUID
    assert login(tenant, applicationId="")["Details"]["Token"] == ZERO_GUID
    strict = rest_testing.create_account(f"{sims['tharstern']}", zero_guid_on_failure=False)
    assert login(strict, password="wrong")["Status"]["Success"] is False


def test_orders_submit_is_idempotent_and_rejects_with_id_zero(tenant):
    headers = basic(login(tenant)["Details"]["Token"] + ":")
    products = requests.get(api(tenant) + "products", params={"productCode": "POS-A2"}, headers=headers,
                            timeout=10).json()["Details"]["Items"]
    stock_id = products[0]["ID"]
    unique = str(uuid.uuid4())
    order = {"UniqueSubmitOrderID": unique, "InvoiceCustomer": {"Code": "C0001"}, "OrderDate": "2026-11-20T18:00:00Z",
             "RequiredDate": "2026-12-01T12:00:00Z", "Ref1": "W-1", "Ref2": "",
             "Items": [{"StockItemID": stock_id, "Quantity": 5, "Ref1": "W-1-1", "Ref2": ""}]}
    first = requests.post(api(tenant) + "orders/submit", json={"Orders": [order]}, headers=headers, timeout=10).json()
    again = requests.post(api(tenant) + "orders/submit", json={"Orders": [order]}, headers=headers, timeout=10).json()
    assert first["Details"]["Orders"][0]["ID"] == again["Details"]["Orders"][0]["ID"] != 0
    bad = {**order, "UniqueSubmitOrderID": str(uuid.uuid4()), "Items": [{"StockItemID": 1, "Quantity": 5}]}
    rejected = requests.post(api(tenant) + "orders/submit", json={"Orders": [bad]}, headers=headers, timeout=10).json()
    assert rejected["Details"]["Orders"][0]["ID"] == 0 and "stock item 1" in rejected["Details"]["Orders"][0]["StatusDetails"]
    malformed = requests.post(api(tenant) + "orders/submit", json={"Orders": [{**order, "UniqueSubmitOrderID": "x"}]},
                              headers=headers, timeout=10)
    assert malformed.status_code == 400 and "orders.Orders[0].UniqueSubmitOrderID" in malformed.json()["ModelState"]
    order_id = first["Details"]["Orders"][0]["ID"]
    read = requests.get(api(tenant) + "orders", params={"orderIDs": str(order_id)}, headers=headers, timeout=10).json()
    assert read["Details"]["Items"][0]["Ref1"] == "W-1"
    asset = requests.post(api(tenant) + "orders/submitorderasset", headers=headers, timeout=10, json={
        "OrderId": order_id, "Filename": "a.pdf", "Content_Base64": base64.b64encode(b"%PDF").decode()}).json()
    assert asset["Details"]["Asset"]["Size"] == 4
    tenant.set_status(order_id, job_status="Despatched", despatch={"Carrier": "DPD", "TrackingNo": "T1"})
    job_no = requests.get(api(tenant) + "orders", params={"orderIDs": str(order_id)}, headers=headers,
                          timeout=10).json()["Details"]["Items"][0]["Items"][0]["JobNo"]
    job = requests.get(api(tenant) + "jobs", params={"jobNo": job_no}, headers=headers, timeout=10).json()
    assert job["Details"]["Items"][0]["Despatch"]["TrackingNo"] == "T1"


def test_estimate_to_job(tenant):
    headers = basic(login(tenant)["Details"]["Token"])
    example = requests.get(api(tenant) + "EstRequest/11/Example", headers=headers, timeout=10).json()["Details"]
    example.update(Title="Cards", Customer={"Code": "C0001"})
    estimate = requests.post(api(tenant) + "estrequest", json=example, headers=headers, timeout=10).json()
    job = requests.post(api(tenant) + "job/createfromestimate", headers=headers, timeout=10,
                        json={"EstimateID": estimate["Details"]["Estimate"]["ID"]}).json()
    assert job["Status"]["Success"] and job["Details"]["JobNo"].startswith("J")
    assert requests.post(api(tenant) + "estrequest", data="x", headers=headers, timeout=10).status_code == 415


def test_shared_secrets_never_reach_the_recorder(sender):
    requests.delete(f"{sender.api_base}/_sim/requests", timeout=10)
    post(sender, document(sender))
    post(sender, document(sender, secret="a-wrong-one"))
    dump = requests.get(f"{sender.api_base}/_sim/requests", timeout=10).text
    assert sender.shared_secret not in dump and "a-wrong-one" not in dump
    assert dump.count("<SharedSecret>[redacted]</SharedSecret>") == 2
