"""Tharstern (cXML) and Tharstern (REST) clients: payload mapping, DTD validity of every document
we build, error mapping of odd answers (``responses``; no sandbox)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from lxml import etree

from tests.providers.contexts import item, order
from webapp.providers import errors as pe
from webapp.providers.context import Address, CustomerContext
from webapp.providers.tharstern import Tharstern, api_root, mapping
from webapp.providers.tharstern.auth import ZERO_GUID
from webapp.providers.tharstern_cxml import TharsternCxml, cxml

ENDPOINT = "https://mis.example.test/TharsternAPI/cxml"
CREDS = {"api_login": "hub-store", "api_password": "shared-s3cret", "base_url": ENDPOINT}
CUSTOMER = CustomerContext(email="ada@example.test", settings={"external_id": "C0001", "active": True})
DTD_SHA256 = "bce915cb7c18cc7c1d27353ecbb9cbe3d4f6405c18df263999284ca46b0b6b4b"


def cxml_ctx(**kw):
    items = kw.pop("items", None) or [item(1, product_integration_id="BC-STD-350")]
    return order(items=items, customer=kw.pop("customer", CUSTOMER), **kw)


def validate_independently(document: bytes) -> etree._Element:
    """The shared, unmodified DTD loaded on its own (not through our module)."""
    dtd = etree.DTD(str(Path("/work/shared/cxml/cXML-1.2.063.dtd"))
                    if Path("/work/shared/cxml/cXML-1.2.063.dtd").exists() else str(cxml.DTD_PATH))
    root = etree.fromstring(document, etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    return root


def status_reply(code: int, text: str, detail: str = "") -> bytes:
    return (f'<?xml version="1.0"?><cXML payloadID="x@y" timestamp="2026-01-01T00:00:00+00:00">'
            f'<Response><Status code="{code}" text="{text}">{detail}</Status></Response></cXML>').encode()


# ---------------------------------------------------------------------------- cXML documents

def test_the_dtd_is_the_unmodified_official_file():
    assert hashlib.sha256(cxml.DTD_PATH.read_bytes()).hexdigest() == DTD_SHA256
    assert (cxml.DTD_PATH.parent / "README.md").read_text().count("cXML licence") == 1


@pytest.mark.parametrize("variant", ["plain", "update", "two_addresses", "no_extras", "test_mode"])
def test_every_order_request_validates_against_the_dtd(variant):
    client = TharsternCxml(CREDS, {"deployment_mode": "test"} if variant == "test_mode" else {})
    kw, document = {}, {"payload_id": "20261120180000.42.0000000001@hub", "type": "new", "ref": None}
    if variant == "update":
        document = {**document, "type": "update", "ref": "20261120170000.42.0000000000@hub"}
    if variant == "two_addresses":
        other = Address(name="Eve", street1="2 Side St", city="Leeds", country="GB")
        kw["items"] = [item(1, product_integration_id="BC"), item(2, product_integration_id="LH", ship_to=other)]
    if variant == "no_extras":
        kw.update(notes="", po_number="", tax_total=None, shipping_total=None, total=None)
        kw["items"] = [item(1, product_integration_id="BC", file_urls=[], requested_ship_date=None,
                            shipping_method=None)]
    root = validate_independently(client.build_document(cxml_ctx(**kw), document))
    header = root.find("Request/OrderRequest/OrderRequestHeader")
    assert header.get("orderID") == "W-1001" and header.get("type") == document["type"]
    assert root.find("Request").get("deploymentMode") == ("test" if variant == "test_mode" else "production")
    if variant == "update":
        assert header.find("DocumentReference").get("payloadID") == document["ref"]
    if variant == "two_addresses":
        assert root.findall("Request/OrderRequest/ItemOut")[1].find("ShipTo/Address/Name").text == "Eve"
    if variant == "no_extras":
        assert header.find("Total/Money").text == "30.00"  # 250 × 0.12


def test_envelope_credentials_timestamps_and_items():
    client = TharsternCxml(CREDS, {"from_identity": "STORE-7", "to_identity": "TH-1", "to_domain": "DUNS",
                                   "classification_code": "55101500", "unit_of_measure": "PK"})
    now = datetime(2026, 11, 20, 13, 0, tzinfo=timezone(timedelta(hours=-5)))
    root = validate_independently(client.build_document(cxml_ctx(), {"payload_id": "p@h", "type": "new"}, now=now))
    assert root.get("timestamp") == "2026-11-20T13:00:00-05:00" and root.get("version") == "1.2.063"
    assert root.find("Header/From/Credential/Identity").text == "STORE-7"
    assert root.find("Header/To/Credential").get("domain") == "DUNS"
    sender = root.find("Header/Sender/Credential")
    assert (sender.get("domain"), sender.findtext("Identity"), sender.findtext("SharedSecret")) == \
        ("NetworkId", "hub-store", "shared-s3cret")
    assert root.findtext("Header/Sender/UserAgent").startswith("EmbeddedServicesHub/")
    header = root.find("Request/OrderRequest/OrderRequestHeader")
    assert header.get("orderDate") == "2026-11-20T18:00:00+00:00"
    assert header.find("BillTo/Address").get("addressID") == "C0001"
    assert header.find("Extrinsic[@name='CustomerCode']").text == "C0001"
    line = root.find("Request/OrderRequest/ItemOut")
    assert (line.get("quantity"), line.get("lineNumber"), line.get("requestedDeliveryDate")) == ("250", "1", "2026-12-01")
    assert line.findtext("ItemID/SupplierPartID") == "BC-STD-350"
    assert line.findtext("ItemID/SupplierPartAuxiliaryID") == "W-1001-1"
    assert line.findtext("ItemDetail/UnitPrice/Money") == "0.12"
    assert line.findtext("ItemDetail/UnitOfMeasure") == "PK"
    assert line.find("ItemDetail/Classification").text == "55101500"
    assert line.find("ItemDetail/Extrinsic[@name='ArtworkURL']").text == "https://files.example.test/1.pdf"


def test_payload_id_follows_the_convention_and_is_unique():
    now = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
    first, second = cxml.new_payload_id(now, "hub.example"), cxml.new_payload_id(now, "hub.example")
    assert re.fullmatch(r"20261120180000\.\d+\.\d{10}@hub\.example", first) and first != second


def test_profile_request_validates():
    client = TharsternCxml(CREDS, {})
    now = datetime.now(timezone.utc)
    root = validate_independently(cxml.profile_request(client.envelope(), "p@h", now))
    assert root.find("Request/ProfileRequest") is not None


@responses.activate
def test_an_invalid_document_is_a_bug_and_is_never_sent(monkeypatch):
    client = TharsternCxml(CREDS, {})
    monkeypatch.setattr(cxml, "order_request", lambda *a, **k: b'<?xml version="1.0"?><cXML payloadID="x"/>')
    with pytest.raises(pe.ProviderConfigError, match="invalid against cXML 1.2.063"):
        client.push_order(cxml_ctx())
    assert len(responses.calls) == 0


def test_missing_product_code_and_customer_are_refused_with_reasons():
    ctx = cxml_ctx(items=[item(1)], customer=CustomerContext(email="x@example.test"))
    problems = TharsternCxml(CREDS, {}).missing(ctx)
    assert "Customer x@example.test: External ID (Tharstern customer code) is required on the user's Embedded " \
           "Services tab." in problems
    assert "Customer x@example.test: Active must be ticked on the user's Embedded Services tab." in problems
    assert any("Item W-1001-1: the product's Integration ID (Tharstern product code) is required" in p
               for p in problems)
    with pytest.raises(pe.ProviderConfigError):
        TharsternCxml(CREDS, {}).push_order(ctx)


def test_account_fallbacks_for_customer_code_and_sku_are_off_by_default():
    ctx = cxml_ctx(items=[item(1, sku="TH-SKU")], customer=CustomerContext(email="x@example.test",
                                                                          settings={"external_id": "C7"}))
    assert len(TharsternCxml(CREDS, {}).missing(ctx)) == 2  # Active not ticked, no product code
    client = TharsternCxml(CREDS, {"default_customer_code": "WEB", "sku_as_product_code": True})
    assert client.missing(ctx) == []
    root = validate_independently(client.build_document(ctx, {"payload_id": "p@h", "type": "new"}))
    assert root.find("Request/OrderRequest/OrderRequestHeader/BillTo/Address").get("addressID") == "WEB"
    assert root.findtext("Request/OrderRequest/ItemOut/ItemID/SupplierPartID") == "TH-SKU"


def test_an_address_without_street_is_refused_before_sending():
    ctx = cxml_ctx(billing=Address(name="No street", city="X", country="US"))
    with pytest.raises(pe.ProviderConfigError, match="billing address has no street"):
        TharsternCxml(CREDS, {}).build_document(ctx, {"payload_id": "p@h", "type": "new"})


# ---------------------------------------------------------------------------- cXML answers

@pytest.mark.parametrize("http, body, outcome", [
    (200, status_reply(200, "OK"), "Received (200 OK)"),
    (200, status_reply(201, "Accepted"), "Accepted (pending)"),
    (200, status_reply(409, "Conflict", "Duplicate payloadID"), "Already received (duplicate payload)"),
    (409, b"", "Already received (duplicate payload)"),
    (200, status_reply(400, "Bad Request", "Unknown SupplierPartID"), pe.ProviderRejected),
    (200, status_reply(401, "Unauthorized"), pe.ProviderAuthError),
    (200, status_reply(500, "Internal Server Error"), pe.ProviderTransientError),
    (200, status_reply(560, "Temporary server error"), pe.ProviderTransientError),
    (500, b"<html>oops</html>", pe.ProviderTransientError),
    (503, status_reply(503, "Unavailable"), pe.ProviderTransientError),
    (401, b"", pe.ProviderAuthError),
    (200, b"<html><body>proxy login</body></html>", pe.ProviderResponseError),
    (200, b"not xml at all", pe.ProviderResponseError),
    (200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><cXML/>', pe.ProviderResponseError),
])
@responses.activate
def test_the_cxml_status_decides(http, body, outcome):
    responses.post(ENDPOINT, body=body, status=http, content_type="text/xml")
    client, ctx = TharsternCxml(CREDS, {}), cxml_ctx()
    if isinstance(outcome, str):
        result = client.push_order(ctx)
        assert result.external_status == outcome and result.external_number == "W-1001"
        assert result.external_id == "W-1001"
        assert ctx.checkpoint["accepted_payload_id"] == ctx.checkpoint["document"]["payload_id"]
    else:
        with pytest.raises(outcome) as raised:
            client.push_order(ctx)
        if outcome is pe.ProviderRejected:
            assert raised.value.message == "Tharstern (cXML) answered 400 Bad Request: Unknown SupplierPartID"
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "text/xml; charset=utf-8"
    validate_independently(sent.body)


@responses.activate
def test_retry_replays_an_unanswered_payload_and_a_repush_after_an_answer_starts_a_new_one():
    responses.post(ENDPOINT, body=status_reply(550, "Unable to reach"), content_type="text/xml")
    responses.post(ENDPOINT, body=status_reply(200, "OK"), content_type="text/xml")
    responses.post(ENDPOINT, body=status_reply(400, "Bad Request", "no"), content_type="text/xml")
    responses.post(ENDPOINT, body=status_reply(200, "OK"), content_type="text/xml")
    client, ctx = TharsternCxml(CREDS, {}), cxml_ctx()
    with pytest.raises(pe.ProviderTransientError):
        client.push_order(ctx)
    ok = client.push_order(ctx)
    sent = [etree.fromstring(c.request.body) for c in responses.calls]
    accepted = ctx.checkpoint["accepted_payload_id"]
    assert sent[0].get("payloadID") == sent[1].get("payloadID") == accepted and ok.external_id == "W-1001"
    with pytest.raises(pe.ProviderRejected):
        client.push_order(ctx)
    client.push_order(ctx)
    sent = [etree.fromstring(c.request.body) for c in responses.calls]
    assert len({s.get("payloadID") for s in sent}) == 3  # a rejected update is not replayed
    for document in sent[2:]:
        header = document.find("Request/OrderRequest/OrderRequestHeader")
        assert header.get("type") == "update" and header.find("DocumentReference").get("payloadID") == accepted


# ---------------------------------------------------------------------------- REST

SERVER = "https://th.example.test"
API = f"{SERVER}/TharsternAPI/api/"
REST_CREDS = {"login": "api@x.test", "password": "pw-123456", "application_id": "hub", "base_url": SERVER}


def envelope(details, success=True, **status):
    return {"Status": {"Success": success, **status}, "Details": details}


def token_route(token="0f8fad5b-d9cb-469f-a165-70867728950e", success=True):
    return responses.get(f"{API}Authentication/GenerateAPIToken", json=envelope({"Token": token}, success))


def rest(**settings):
    return Tharstern(REST_CREDS, {"customer_code": "WEB", **settings})


def test_api_root_accepts_server_or_full_api_url():
    assert api_root("https://th.example.test:8443") == "https://th.example.test:8443/TharsternAPI/api/"
    assert api_root("https://th.example.test/TharsternAPI/api/") == "https://th.example.test/TharsternAPI/api/"


@responses.activate
def test_token_login_then_basic_token_colon_on_every_call():
    route = token_route()
    responses.get(f"{API}customers", json=envelope({"Items": [{"Code": "WEB"}], "TotalItemCount": 1}))
    client = rest()
    assert "customer WEB found" in client.test_connection()
    assert "customer WEB found" in client.test_connection()
    assert route.call_count == 1  # cached
    login = responses.calls[0].request
    assert "email=api%40x.test" in login.url and "applicationId=hub" in login.url
    auth = responses.calls[1].request.headers["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == "0f8fad5b-d9cb-469f-a165-70867728950e:"
    assert all("pw-123456" not in e.url for e in client.exchanges)


@pytest.mark.parametrize("answer", [envelope({"Token": ZERO_GUID}), envelope({"Token": None}, False,
                                                                             Message="Invalid login")])
@responses.activate
def test_failed_login_is_an_auth_error(answer):
    responses.get(f"{API}Authentication/GenerateAPIToken", json=answer)
    with pytest.raises(pe.ProviderAuthError):
        rest().test_connection()


@responses.activate
def test_401_refreshes_the_token_once_then_gives_up():
    route = token_route()
    responses.get(f"{API}customers", status=401, json={"Message": "Authorization has been denied for this request."})
    with pytest.raises(pe.ProviderAuthError):
        rest().test_connection()
    assert route.call_count == 2 and len([c for c in responses.calls if "customers" in c.request.url]) == 2


@responses.activate
def test_success_false_and_model_state_carry_tharsterns_words():
    token_route()
    responses.get(f"{API}customers", json=envelope({"Result": {"Problems": [{"Message": "Licence expired"}]}},
                                                   False))
    with pytest.raises(pe.ProviderRejected, match="Licence expired"):
        rest().test_connection()
    responses.get(f"{API}products", status=400, json={"Message": "The request is invalid.",
                                                      "ModelState": {"productCode": ["Too long."]}})
    with pytest.raises(pe.ProviderRejected) as raised:
        list(rest(product_codes="X").iter_products())
    assert raised.value.messages() == ["The request is invalid.", "productCode: Too long."]


@pytest.mark.parametrize("status, body, error", [(500, "<html>down</html>", pe.ProviderTransientError),
                                                 (200, "<html>proxy</html>", pe.ProviderResponseError),
                                                 (200, '{"Details": {}}', pe.ProviderResponseError)])
@responses.activate
def test_odd_answers_are_typed(status, body, error):
    token_route()
    responses.get(f"{API}customers", status=status, body=body)
    with pytest.raises(error):
        rest().test_connection()


@responses.activate
def test_sales_order_payload_and_id_zero():
    token_route()
    responses.get(f"{API}products", json=envelope({"Items": [{"ID": 501, "Code": "BC-1"}], "TotalItemCount": 1}))
    submit = responses.post(f"{API}orders/submit", json=envelope({"Orders": [{"ID": 0, "StatusDetails":
                                                                              "Customer on stop."}]}))
    ctx = order(items=[item(1, sku="BC-1")])
    with pytest.raises(pe.ProviderRejected, match="Tharstern rejected the order: Customer on stop."):
        rest().push_order(ctx)
    [sent] = json.loads(submit.calls[0].request.body)["Orders"]
    assert sent["UniqueSubmitOrderID"] == mapping.unique_submit_order_id("hub-1-W-1001")
    assert sent["InvoiceCustomer"] == {"Code": "WEB"} and sent["Ref1"] == "W-1001" and sent["Ref2"] == "PO-7"
    assert sent["OrderDate"] == "2026-11-20T18:00:00Z" and sent["RequiredDate"] == "2026-12-01T12:00:00Z"
    assert sent["Items"] == [{"StockItemID": 501, "Quantity": 250, "Ref1": "W-1001-1", "Ref2": "Business cards 1"}]
    assert "order_id" not in ctx.checkpoint


@responses.activate
def test_artwork_goes_once_through_submitorderasset():
    token_route()
    responses.get(f"{API}products", json=envelope({"Items": [{"ID": 501, "Code": "BC-1"}], "TotalItemCount": 1}))
    responses.post(f"{API}orders/submit", json=envelope({"Orders": [{"ID": 77, "OrderNo": "SO77",
                                                                     "StatusDetails": "Order Received"}]}))
    responses.get("https://files.example.test/1.pdf", body=b"%PDF-1.4 art")
    asset = responses.post(f"{API}orders/submitorderasset", json=envelope({}))
    ctx = order(items=[item(1, sku="BC-1")])
    result = rest(submit_artwork=True).push_order(ctx)
    assert (result.external_id, result.external_number) == ("77", "SO77")
    body = json.loads(asset.calls[0].request.body)
    assert body["OrderId"] == 77 and base64.b64decode(body["Content_Base64"]) == b"%PDF-1.4 art"
    rest(submit_artwork=True).push_order(ctx)  # retry: order and asset are in the checkpoint
    assert asset.call_count == 1 and len([c for c in responses.calls if "orders/submit" in c.request.url]) == 2


def test_uuid5_is_stable_and_distinct():
    assert mapping.unique_submit_order_id("k1") == mapping.unique_submit_order_id("k1")
    assert mapping.unique_submit_order_id("k1") != mapping.unique_submit_order_id("k2")


def test_product_mapping_markup_stock_and_category():
    product = mapping.remote_product({"ID": 9, "Code": "POS", "Name": "Poster", "Price": 4.25, "StockLevel": 30},
                                     {"markup_percent": "12.5", "import_category": "Print"})
    assert (product.sku, product.price, product.data["stock_level"]) == ("POS", "4.7813", "30")
    assert product.category.name == "Print" and product.active
    assert mapping.remote_product({"ID": 9, "Code": "POS", "Price": None}, {}).category is None  # Root
    assert mapping.remote_product({"ID": 0, "Code": "X"}, {}) is None
    assert mapping.marked_up("bad", "10") is None and mapping.marked_up(Decimal("2"), None) == "2.0000"


def test_status_map_setting():
    assert mapping.account_status_map("Pre-Press = ready to ship\n\n") == {"pre-press": "Ready to Ship"}
    with pytest.raises(pe.ProviderConfigError, match="line 1"):
        mapping.account_status_map("Pre-Press = Printing")
    assert Tharstern.map_status("Despatched") == "Shipped" and Tharstern.map_status("Ready to Ship") == "Ready to Ship"


def test_customer_code_prefers_active_user_external_id():
    ctx = order(customer=CustomerContext(email="a@b", settings={"external_id": "C9", "active": True}))
    assert mapping.customer_code(ctx, {"customer_code": "WEB"}) == "C9"
    ctx.customer.settings["active"] = False
    assert mapping.customer_code(ctx, {"customer_code": "WEB"}) == "WEB"
