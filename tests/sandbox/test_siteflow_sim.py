"""The HP Site Flow simulator (providers-part1.md §2, "simulator must" §2.10), driven by hand-signed
requests built from the reference's examples and fixed vectors — not by our client."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid

import pytest
import requests
from sandbox.siteflow import DEFAULT_CONFIG
from sandbox.testing import start_world

VECTOR_DATE = "2024-05-01T10:00:00.000Z"
VECTOR_SIGNATURE = "179bd8e1e95367b69a7eaa8ec62fab5de2030d9b046db04ad9814306ddde058d"

# The reference's schematic order (§2.3), verbatim in substance.
EXAMPLE_ORDER = {
    "destination": {"name": "psp-account-name"},
    "orderData": {
        "sourceOrderId": "W2P-000123", "customerName": "Storefront A", "email": "ops@example.test",
        "instructions": "optional note", "tags": ["hub"], "extraData": {"hubJobId": "77"},
        "items": [{"sourceItemId": "W2P-000123-1", "sku": "BC-100", "quantity": 250, "shipmentIndex": 0,
                   "description": "Business cards",
                   "components": [{"code": "Content", "fetch": True, "path": "https://files.example.test/art/123-1.pdf"}]}],
        "shipments": [{"shipmentIndex": 0,
                       "shipTo": {"name": "A. Buyer", "companyName": "", "address1": "1 Test St", "town": "Austin",
                                  "state": "TX", "postcode": "78701", "isoCountry": "US", "phone": "",
                                  "email": "buyer@example.test"},
                       "carrier": {"alias": "standard"}}],
    },
}


def native_headers(token, secret, method, path, date=VECTOR_DATE, algorithm="SHA256"):
    digest = hashlib.sha256 if algorithm == "SHA256" else hashlib.sha1
    signature = hmac.new(secret.encode(), f"{method} {path} {date}".encode(), digest).hexdigest()
    headers = {"x-oneflow-authorization": f"{token}:{signature}", "x-oneflow-date": date}
    if algorithm:
        headers["x-oneflow-algorithm"] = algorithm
    return headers


def gateway_headers(token, secret, method, path, date=VECTOR_DATE):
    signature = hmac.new(secret.encode(), f"{method} {path}{date}".encode(), hashlib.sha256).hexdigest()
    return {"x-hp-hmac-authentication": f"{token}:{signature}", "x-hp-hmac-date": date, "x-hp-hmac-algorithm": "SHA256"}


class RootSim:
    """The simulator's own server over real HTTP: the native host's paths at the root
    (``/api/order``) and the PrintOS gateway's under ``/siteflow``, as the real hosts serve them."""

    def __init__(self, base: str):
        self.base = base

    def post(self, path, json=None, headers=None):
        response = requests.post(f"{self.base}{path}", json=json, headers=headers, timeout=10)
        response.get_json = response.json
        return response

    def get(self, path, headers=None):
        response = requests.get(f"{self.base}{path}", headers=headers, timeout=10)
        response.get_json = response.json
        return response


@pytest.fixture(scope="module")
def root_sim():
    """A world whose Site Flow knows the reference's account ("tok" / "test-secret")."""
    running = start_world({"SITEFLOW_ACCOUNTS": {**DEFAULT_CONFIG["SITEFLOW_ACCOUNTS"], "tok": {
        "secret": "test-secret", "destinations": ["psp-account-name"]}}})
    yield RootSim(running.urls["siteflow"])
    running.stop()


class Account:
    def __init__(self, base: str, **settings):
        self.base = base  # the simulator's own server (native host at its root)
        self.token, self.secret = f"tok-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        response = requests.post(f"{self.base}/_sim/accounts", json={
            "token": self.token, "secret": self.secret, "destinations": ["psp-account-name"], **settings}, timeout=10)
        assert response.status_code == 201, response.text

    def call(self, method, path, body=None, host="", scheme="native", **headers):
        """Native: the real path is signed as sent. Gateway: sent under /siteflow, signed without it."""
        mount = "" if scheme == "native" else "/siteflow"
        url = f"{self.base}{mount}{host}{path}"
        signed = native_headers(self.token, self.secret, method, f"{host}{path.split('?')[0]}") \
            if scheme == "native" else gateway_headers(self.token, self.secret, method, f"{host}{path.split('?')[0]}")
        return requests.request(method, url, json=body, headers={**signed, **headers}, timeout=10)

    def control(self, method, path, **body):
        response = requests.request(method, f"{self.base}/_sim/{path}", params={"token": self.token},
                                    json={"token": self.token, **body}, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def sf(sims):
    return Account(sims["siteflow"])


# ---- 2. authentication ---------------------------------------------------------------------

def test_reference_vector_is_accepted_on_the_native_path(root_sim):
    headers = {"x-oneflow-authorization": f"tok:{VECTOR_SIGNATURE}", "x-oneflow-date": VECTOR_DATE,
               "x-oneflow-algorithm": "SHA256"}
    response = root_sim.post("/api/order", json=EXAMPLE_ORDER, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["order"]["orderData"]["status"] == "dataready"
    tampered = {**headers, "x-oneflow-authorization": f"tok:{VECTOR_SIGNATURE[:-1]}0"}
    refused = root_sim.post("/api/order", json=EXAMPLE_ORDER, headers=tampered)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == 401


def test_missing_headers_unknown_token_and_query_in_the_signature_are_refused(sf):
    assert requests.get(f"{sf.base}/api/order", timeout=10).status_code == 401
    other = native_headers("nobody", sf.secret, "GET", "/api/order")
    assert requests.get(f"{sf.base}/api/order", headers=other, timeout=10).status_code == 401
    with_query = native_headers(sf.token, sf.secret, "GET", "/api/order?page=1")
    assert requests.get(f"{sf.base}/api/order?page=1", headers=with_query, timeout=10).status_code == 401
    assert sf.call("GET", "/api/order?page=1&pagesize=1").status_code == 200


def test_sha1_is_the_default_when_the_algorithm_header_is_absent(sf):
    sha1 = native_headers(sf.token, sf.secret, "GET", "/api/sku", algorithm="SHA1")
    del sha1["x-oneflow-algorithm"]
    assert requests.get(f"{sf.base}/api/sku", headers=sha1, timeout=10).status_code == 200
    sha256_unnamed = native_headers(sf.token, sf.secret, "GET", "/api/sku", algorithm="SHA256")
    del sha256_unnamed["x-oneflow-algorithm"]
    assert requests.get(f"{sf.base}/api/sku", headers=sha256_unnamed, timeout=10).status_code == 401


def test_printos_gateway_scheme_signs_the_path_after_the_service_prefix(sf):
    assert sf.call("GET", "/api/sku", scheme="gateway").status_code == 200
    wrong = gateway_headers(sf.token, sf.secret, "GET", "/siteflow/api/sku")  # prefix signed: refused
    assert requests.get(f"{sf.base}/siteflow/api/sku", headers=wrong, timeout=10).status_code == 401


# ---- 3/4. validation and duplicates ----------------------------------------------------------

def test_sync_validation_lists_every_problem(sf):
    bad = copy.deepcopy(EXAMPLE_ORDER)
    bad["destination"]["name"] = ""
    bad["orderData"]["items"][0].update(sku="NOPE", quantity=0, shipmentIndex=3)
    bad["orderData"]["items"][0]["components"][0].pop("path")
    bad["orderData"]["shipments"][0]["shipTo"].pop("town")
    bad["orderData"]["shipments"][0]["carrier"] = {"code": "ups"}
    response = sf.call("POST", "/api/order", bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and set(error["validations"]) == {
        "destination.name", "orderData.items[0].sku", "orderData.items[0].quantity",
        "orderData.items[0].shipmentIndex", "orderData.items[0].components[0]",
        "orderData.shipments[0].shipTo.town", "orderData.shipments[0].carrier"}
    assert sf.control("GET", "stats")["orders"] == 0


def test_second_order_with_the_same_source_order_id_is_rejected(sf):
    assert sf.call("POST", "/api/order", EXAMPLE_ORDER).status_code == 201
    again = sf.call("POST", "/api/order", EXAMPLE_ORDER)
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    stats = sf.control("GET", "stats")
    assert stats["orders"] == 1 and stats["duplicate_rejections"] == 1 and stats["duplicates"] == 0


def test_validate_creates_nothing(sf):
    assert sf.call("POST", "/api/order/validate", EXAMPLE_ORDER).json() == {"success": True}
    assert sf.control("GET", "stats")["orders"] == 0


def test_async_host_acknowledges_everything_and_reports_errors_by_trigger(sf, receiver):
    sf.control("POST", "triggers", url=receiver.url + "/hook", headers={"authorization": "static-token"},
               template='{"event": "{{event}}", "orderId": "{{order._id}}", "message": "{{error.message}}"}',
               events=["Order Submission Error"])
    bad = copy.deepcopy(EXAMPLE_ORDER)
    bad["orderData"]["items"][0]["sku"] = "NOPE"
    ack = sf.call("POST", "/api/order", bad, host="/orders")
    assert ack.status_code == 200 and set(ack.json()) == {"_id", "url", "timestamp", "sourceAccountId"}
    [call] = receiver.calls
    assert call["headers"]["Authorization"] == "static-token"
    assert call["json"]["event"] == "Order Submission Error" and call["json"]["orderId"] == ack.json()["_id"]
    assert "SKU 'NOPE' was not found" in call["json"]["message"]
    good = sf.call("POST", "/api/order", EXAMPLE_ORDER, host="/orders").json()
    assert sf.call("GET", f"/api/order/{good['_id']}").json()["orderData"]["sourceOrderId"] == "W2P-000123"


# ---- 5. reads, cancel, catalogue, files ------------------------------------------------------

def test_get_list_and_cancel_by_both_forms(sf):
    first = sf.call("POST", "/api/order", EXAMPLE_ORDER).json()["order"]
    second_body = copy.deepcopy(EXAMPLE_ORDER)
    second_body["orderData"]["sourceOrderId"] = "W2P-000124"
    second = sf.call("POST", "/api/order", second_body).json()["order"]
    listed = sf.call("GET", "/api/order?page=1&pagesize=1").json()
    assert len(listed["data"]) == 1 and listed["count"] == 2
    assert sf.call("GET", "/api/order?sourceOrderId=W2P-000124").json()["data"][0]["_id"] == second["_id"]
    assert sf.call("GET", "/api/order/nope").status_code == 404
    assert sf.call("PUT", f"/api/order/{first['_id']}/cancel").json()["order"]["orderData"]["status"] == "cancelled"
    cancelled = sf.call("PUT", f"/api/order/{sf.token}/W2P-000124/cancel").json()
    assert cancelled["order"]["orderData"]["status"] == "cancelled"


def test_catalogue_and_preupload(sf):
    skus = sf.call("GET", "/api/sku").json()["data"]
    assert "BC-100" in {s["code"] for s in skus}
    assert sf.call("GET", "/api/product").json()["data"]
    assert sf.call("GET", "/api/file/getpreupload").status_code == 400
    urls = sf.call("GET", "/api/file/getpreupload?mimeType=application/pdf").json()
    assert requests.put(urls["url"], data=b"%PDF", timeout=10).status_code == 200
    assert requests.get(urls["path"], timeout=10).content == b"%PDF"


# ---- 6. status machine and triggers -----------------------------------------------------------

def test_transitions_fire_the_documented_events_with_the_template_rendered(sf, receiver):
    template = ('{"event": "{{event}}", "sourceOrderId": "{{order.orderData.sourceOrderId}}", '
                '"status": "{{order.orderData.status}}", "tracking": "{{shipment.trackingNumber}}"}')
    sf.control("POST", "triggers", url=receiver.url + "/hook", headers={"x-token": "t0k"}, template=template)
    order = sf.call("POST", "/api/order", EXAMPLE_ORDER).json()["order"]
    for status in ("printready", "complete", "shipped"):
        sf.control("POST", f"orders/{order['_id']}/advance", status=status,
                   shipment={"shipmentIndex": 0, "trackingNumber": "1ZTRACK"} if status == "shipped" else None)
    events = [c["json"] for c in receiver.calls]
    assert [e["event"] for e in events] == ["Order Print Ready", "Shipment Shipped"]
    assert events[-1] == {"event": "Shipment Shipped", "sourceOrderId": "W2P-000123", "status": "shipped",
                          "tracking": "1ZTRACK"}
    assert all(c["headers"]["X-Token"] == "t0k" for c in receiver.calls)
    shipment = sf.call("GET", f"/api/order/{order['_id']}").json()["orderData"]["shipments"][0]
    assert shipment["trackingNumber"] == "1ZTRACK" and shipment["status"] == "shipped"


# ---- 7. rate limit ------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_limit_headers(sims):
    sf = Account(sims["siteflow"], rate_limit=2, window_seconds=60)
    first = sf.call("GET", "/api/sku")
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
    sf.call("GET", "/api/sku")
    refused = sf.call("GET", "/api/sku")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"


def test_request_bodies_that_are_not_json_are_400(sf):
    response = requests.post(f"{sf.base}/api/order", data=b"{nope", timeout=10,
                             headers=native_headers(sf.token, sf.secret, "POST", "/api/order"))
    assert response.status_code == 400 and json.loads(response.text)["success"] is False
