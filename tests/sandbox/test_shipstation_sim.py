"""The ShipStation V1 simulator over real HTTP (providers-part1.md §1, §1.12)."""
from __future__ import annotations

import base64
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.testing import run_sandbox

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$")
RATE_HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")


def order_body(number: str = "W2P-000123", key: str | None = "hub:storeA:000123",
               **overrides) -> dict:
    body = {
        "orderNumber": number,
        "orderDate": "2024-05-01 10:00:00",
        "orderStatus": "awaiting_shipment",
        "customerEmail": "buyer@example.test",
        "customerNotes": "please hurry",
        "billTo": {"name": "A. Buyer", "country": "US"},
        "shipTo": {"name": "A. Buyer", "street1": "1 Test St", "city": "Austin",
                   "state": "TX", "postalCode": "78701", "country": "US", "residential": True},
        "items": [
            {"lineItemKey": "L1", "sku": "BC-100", "name": "Business cards", "quantity": 2,
             "unitPrice": 19.5, "options": [{"name": "Paper", "value": "Matte"}]},
            {"lineItemKey": "L2", "sku": "FL-200", "name": "Flyers", "quantity": 1,
             "unitPrice": 10},
        ],
        "taxAmount": 3.0,
        "shippingAmount": 5.5,
        "advancedOptions": {"customField1": "hub-job-77"},
    }
    if key is not None:
        body["orderKey"] = key
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _reset_simulator_wide_settings(sims):
    """Faults and the clock belong to the whole simulator; never leak them across tests."""
    yield
    requests.delete(f"{sims['shipstation']}/_sim/faults", timeout=10)
    requests.delete(f"{sims['shipstation']}/_sim/clock", timeout=10)
    requests.post(f"{sims['shipstation']}/_sim/config",
                  json={"empty_401_body": False, "page_size_overflow": "reject"}, timeout=10)


# --------------------------------------------------------------------------- app shell

def test_index_lists_simulators_and_healthz(sandbox_url, sims):
    index = requests.get(sandbox_url + "/", timeout=5).json()
    assert {"key": "shipstation", "title": "ShipStation API V1", "url": sims["shipstation"],
            "base_url": f"{sandbox_url}/shipstation",
            "control_url": f"{sandbox_url}/shipstation/_sim"} in index["simulators"]
    listed = {s["key"]: s["url"] for s in index["simulators"]}
    assert listed == sims and listed["printos_box"].endswith("/box")  # Box's real path has the gateway prefix
    # The prefixed mount (humans, old URLs) and the real-path server share one world.
    ok = requests.get(f"{sandbox_url}/shipstation/orders", auth=("demo-key", "demo-secret"), timeout=5)
    assert ok.status_code == 200
    assert requests.get(sandbox_url + "/healthz", timeout=5).status_code == 200


# --------------------------------------------------------------------------- auth

def test_basic_auth_missing_wrong_and_correct(ss):
    url = ss.base + "/orders"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"message": "Authorization has been denied for this request."}
    assert "X-Rate-Limit-Limit" not in missing.headers

    wrong = requests.get(url, auth=(ss.key, "not-the-secret"), timeout=5)
    assert wrong.status_code == 401
    unknown_key = requests.get(url, auth=("nobody", ss.secret), timeout=5)
    assert unknown_key.status_code == 401
    bearer = requests.get(url, headers={"Authorization": f"Bearer {ss.secret}"}, timeout=5)
    assert bearer.status_code == 401

    token = base64.b64encode(f"{ss.key}:{ss.secret}".encode()).decode()
    ok = requests.get(url, headers={"Authorization": f"Basic {token}"}, timeout=5)
    assert ok.status_code == 200
    assert ok.json() == {"orders": [], "total": 0, "page": 1, "pages": 0}
    # Unauthenticated calls never count against the account.
    assert ss.stats()["requests"] == 1


def test_default_demo_account_and_empty_401_body_switch(sims):
    ok = requests.get(f"{sims['shipstation']}/orders", auth=("demo-key", "demo-secret"),
                      timeout=5)
    assert ok.status_code == 200
    requests.post(f"{sims['shipstation']}/_sim/config", json={"empty_401_body": True},
                  timeout=5).raise_for_status()
    denied = requests.get(f"{sims['shipstation']}/orders", timeout=5)
    assert denied.status_code == 401 and denied.content == b""


def test_config_accounts_and_control_routes_need_no_auth():
    base_url, shutdown = run_sandbox({"SHIPSTATION_ACCOUNTS": {
        "k1": "s1", "k2": {"api_secret": "s2", "rate_limit": 2, "window_seconds": 30}}})
    try:
        assert requests.get(f"{base_url}/shipstation/orders", auth=("demo-key", "demo-secret"),
                            timeout=5).status_code == 401
        r = requests.get(f"{base_url}/shipstation/orders", auth=("k2", "s2"), timeout=5)
        assert r.status_code == 200 and r.headers["X-Rate-Limit-Limit"] == "2"
        accounts = requests.get(f"{base_url}/shipstation/_sim/accounts", timeout=5).json()
        assert {a["api_key"] for a in accounts["accounts"]} == {"k1", "k2"}
        assert "s1" not in str(accounts) and "s2" not in str(accounts)
    finally:
        shutdown()


# --------------------------------------------------------------------------- rate limit

def test_rate_limit_headers_on_every_api_response(ss):
    responses = [
        ss.get("/orders"),                                   # 200 list
        ss.get("/orders/999"),                               # 404
        ss.post("/orders/createorder", {"orderNumber": "x"}),  # 400
        ss.post("/orders/createorder", order_body()),        # 200 create
        ss.get("/no/such/route"),                            # 404 route
        ss.get("/products"), ss.get("/stores"), ss.get("/accounts/listtags"),
        ss.get("/webhooks"), ss.get("/shipments"), ss.get("/fulfillments"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 400, 200, 404] + [200] * 6
    remaining = []
    for r in responses:
        assert all(h in r.headers for h in RATE_HEADERS), r.url
        assert r.headers["X-Rate-Limit-Limit"] == "40"
        reset = int(r.headers["X-Rate-Limit-Reset"])  # integer seconds, not an epoch
        assert 1 <= reset <= 60
        remaining.append(int(r.headers["X-Rate-Limit-Remaining"]))
    assert remaining == list(range(39, 39 - len(responses), -1))


def test_429_after_limit_is_not_processed_and_window_resets(ss):
    ss.sim("POST", "/config", {"rate_limit": 3, "window_seconds": 1})
    codes = [ss.get("/orders").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    limited = ss.post("/orders/createorder", order_body())
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too Many Requests"}
    assert limited.headers["X-Rate-Limit-Limit"] == "3"
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    assert int(limited.headers["X-Rate-Limit-Reset"]) == 1
    assert ss.stats()["orders"] == 0  # the 429'd create never happened

    time.sleep(int(limited.headers["X-Rate-Limit-Reset"]) + 0.1)
    again = ss.post("/orders/createorder", order_body())
    assert again.status_code == 200
    assert again.headers["X-Rate-Limit-Remaining"] == "2"
    stats = ss.stats()
    assert stats["orders"] == 1 and stats["rate_limited"] == 1 and stats["requests"] == 5


def test_rate_limits_are_per_key_pair(make_account):
    a, b = make_account(rate_limit=1, window_seconds=60), make_account(rate_limit=1,
                                                                       window_seconds=60)
    assert a.get("/orders").status_code == 200
    assert a.get("/orders").status_code == 429
    assert b.get("/orders").status_code == 200


# --------------------------------------------------------------------------- createorder

def test_createorder_returns_full_stored_order(ss):
    r = ss.post("/orders/createorder", order_body())
    assert r.status_code == 200
    order = r.json()
    assert isinstance(order["orderId"], int)
    assert order["orderKey"] == "hub:storeA:000123"
    assert order["orderNumber"] == "W2P-000123"
    assert order["orderDate"] == "2024-05-01T10:00:00.0000000"
    assert TS.match(order["createDate"]) and TS.match(order["modifyDate"])
    assert order["orderTotal"] == 2 * 19.5 + 10 + 3.0 + 5.5
    ids = [item["orderItemId"] for item in order["items"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 2
    assert order["items"][0]["options"] == [{"name": "Paper", "value": "Matte"}]
    stores = ss.get("/stores").json()
    assert order["advancedOptions"]["storeId"] == stores[0]["storeId"]
    assert order["advancedOptions"]["customField1"] == "hub-job-77"
    assert ss.get(f"/orders/{order['orderId']}").json() == order


def test_createorder_validation_errors_use_modelstate(ss):
    bad = order_body(orderDate="yesterday", orderStatus="done")
    del bad["orderNumber"]
    del bad["billTo"]
    bad["shipTo"]["country"] = "USA"
    bad["items"][0]["name"] = None
    bad["items"][1]["quantity"] = -1
    bad["items"].append({"name": "x", "quantity": "many"})
    r = ss.post("/orders/createorder", bad)
    assert r.status_code == 400
    body = r.json()
    assert body["Message"] == "The request is invalid."
    assert set(body["ModelState"]) == {
        "order.orderNumber", "order.orderDate", "order.orderStatus", "order.billTo",
        "order.shipTo.country", "order.items[0].name", "order.items[1].quantity",
        "order.items[2].quantity"}
    assert all(isinstance(v, list) and v for v in body["ModelState"].values())

    no_ship_to = order_body()
    del no_ship_to["shipTo"]
    r = ss.post("/orders/createorder", no_ship_to)
    assert list(r.json()["ModelState"]) == ["order.shipTo"]
    no_country = order_body()
    del no_country["shipTo"]["country"]
    assert list(ss.post("/orders/createorder", no_country).json()["ModelState"]) == [
        "order.shipTo.country"]
    iso_date = ss.post("/orders/createorder",
                       order_body(key="iso", orderDate="2024-05-01T10:00:00Z"))
    assert iso_date.status_code == 200
    assert iso_date.json()["orderDate"] == "2024-05-01T10:00:00.0000000"

    malformed = ss.http.post(ss.base + "/orders/createorder", data=b'{"orderNumber": ',
                             headers={"Content-Type": "application/json"}, timeout=5)
    assert malformed.status_code == 400
    assert malformed.json()["Message"] == "The request is invalid."
    assert "order" in malformed.json()["ModelState"]
    array = ss.post("/orders/createorder", [order_body()])
    assert array.status_code == 400 and "order" in array.json()["ModelState"]
    wrong_media = ss.http.post(ss.base + "/orders/createorder", data="orderNumber=1",
                               headers={"Content-Type": "text/plain"}, timeout=5)
    assert wrong_media.status_code == 415
    assert ss.stats()["orders"] == 1  # only the valid ISO-date order


def test_orderkey_upsert_replaces_whole_order(ss):
    first = ss.post("/orders/createorder", order_body()).json()
    changed = order_body(orderStatus="on_hold", items=[order_body()["items"][0]])
    del changed["customerNotes"]
    second = ss.post("/orders/createorder", changed)
    assert second.status_code == 200
    updated = second.json()
    assert updated["orderId"] == first["orderId"]
    assert updated["createDate"] == first["createDate"]
    assert updated["modifyDate"] >= first["modifyDate"]
    assert updated["orderStatus"] == "on_hold"
    assert updated["customerNotes"] is None          # omitted → cleared (no partial update)
    assert len(updated["items"]) == 1
    assert updated["items"][0]["orderItemId"] == first["items"][0]["orderItemId"]
    assert ss.get("/orders").json()["total"] == 1

    other = ss.post("/orders/createorder", order_body(key="hub:storeA:000124")).json()
    assert other["orderId"] != first["orderId"]
    assert ss.get("/orders").json()["total"] == 2

    no_key_1 = ss.post("/orders/createorder", order_body(key=None)).json()
    no_key_2 = ss.post("/orders/createorder", order_body(key=None)).json()
    assert no_key_1["orderKey"] and no_key_2["orderKey"]
    assert no_key_1["orderKey"] != no_key_2["orderKey"]
    assert ss.stats()["orders"] == 4


def test_concurrent_pushes_with_one_order_key_make_one_order(make_account):
    acct = make_account(rate_limit=1000)
    def push(_: int) -> requests.Response:  # one connection per call: Session is not shared
        return requests.post(acct.base + "/orders/createorder", json=order_body(key="race"),
                             auth=(acct.key, acct.secret), timeout=10)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(push, range(16)))
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["orderId"] for r in results}) == 1
    assert acct.stats()["orders"] == 1


def test_update_of_shipped_or_cancelled_order_is_refused(ss):
    shipped = ss.post("/orders/createorder", order_body(key="k-ship")).json()
    ss.sim("POST", "/ship", {"orderId": shipped["orderId"]})
    r = ss.post("/orders/createorder", order_body(key="k-ship", customerNotes="changed"))
    assert r.status_code == 400
    assert "shipped" in r.json()["Message"]

    cancelled = ss.post("/orders/createorder", order_body(key="k-cancel")).json()
    ss.sim("POST", "/status", {"orderKey": "k-cancel", "orderStatus": "cancelled"})
    r = ss.post("/orders/createorder", order_body(key="k-cancel"))
    assert r.status_code == 400 and "cancelled" in r.json()["Message"]
    stored = ss.get(f"/orders/{cancelled['orderId']}").json()
    assert stored["orderStatus"] == "cancelled" and stored["customerNotes"] == "please hurry"
    assert ss.get(f"/orders/{shipped['orderId']}").json()["customerNotes"] == "please hurry"


def test_createorders_bulk_reports_each_element(ss):
    bad = order_body(number="B-2", key="bulk-2")
    bad["shipTo"]["country"] = None
    r = ss.post("/orders/createorders", [order_body(number="B-1", key="bulk-1"), bad,
                                         order_body(number="B-3", key="bulk-3")])
    assert r.status_code == 200
    body = r.json()
    assert body["hasErrors"] is True
    assert [x["success"] for x in body["results"]] == [True, False, True]
    assert [x["orderNumber"] for x in body["results"]] == ["B-1", "B-2", "B-3"]
    assert [x["orderKey"] for x in body["results"]] == ["bulk-1", "bulk-2", "bulk-3"]
    assert body["results"][1]["orderId"] is None
    assert "shipTo.country" in body["results"][1]["errorMessage"]
    assert body["results"][0]["errorMessage"] is None
    assert isinstance(body["results"][0]["orderId"], int)
    numbers = sorted(o["orderNumber"] for o in ss.get("/orders").json()["orders"])
    assert numbers == ["B-1", "B-3"]

    again = ss.post("/orders/createorders", [order_body(number="B-1", key="bulk-1")]).json()
    assert again == {"hasErrors": False, "results": [
        {"orderId": body["results"][0]["orderId"], "orderNumber": "B-1", "orderKey": "bulk-1",
         "success": True, "errorMessage": None}]}
    too_many = ss.post("/orders/createorders",
                       [order_body(key=f"k{i}") for i in range(101)])
    assert too_many.status_code == 400 and "orders" in too_many.json()["ModelState"]
    assert ss.stats()["orders"] == 2


# --------------------------------------------------------------------------- GET /orders

def test_list_orders_filters_sorting_and_paging(ss):
    store2 = ss.sim("POST", "/stores", {"storeName": "Web Store"})["storeId"]
    for i in range(1, 8):
        ss.post("/orders/createorder", order_body(
            number=f"{'W2P' if i <= 5 else 'OTHER'}-{i:03d}", key=f"k{i}",
            orderDate=f"2024-05-0{i} 10:00:00",
            orderStatus="awaiting_shipment" if i % 2 else "on_hold",
            advancedOptions={"storeId": store2} if i == 7 else {})).raise_for_status()

    by_prefix = ss.get("/orders", params={"orderNumber": "w2p-"}).json()
    assert by_prefix["total"] == 5
    assert ss.get("/orders", params={"orderNumber": "-00"}).json()["total"] == 0  # starts-with
    held = ss.get("/orders", params={"orderStatus": "on_hold"}).json()
    assert sorted(o["orderNumber"] for o in held["orders"]) == ["OTHER-006", "W2P-002",
                                                                 "W2P-004"]
    in_store2 = ss.get("/orders", params={"storeId": store2}).json()
    assert [o["orderNumber"] for o in in_store2["orders"]] == ["OTHER-007"]

    page = ss.get("/orders", params={"pageSize": 3, "page": 3}).json()
    assert (page["total"], page["page"], page["pages"], len(page["orders"])) == (7, 3, 3, 1)
    walked = []
    for n in range(1, 4):
        walked += [o["orderId"] for o in ss.get(
            "/orders", params={"pageSize": 3, "page": n}).json()["orders"]]
    assert walked == sorted(walked) and len(set(walked)) == 7  # default: ascending orderId

    newest = ss.get("/orders", params={"sortBy": "OrderDate", "sortDir": "DESC"}).json()
    assert newest["orders"][0]["orderNumber"] == "OTHER-007"
    assert newest["orders"][-1]["orderNumber"] == "W2P-001"

    for params in ({"pageSize": 501}, {"pageSize": 0}, {"page": 0}, {"orderStatus": "nope"},
                   {"modifyDateStart": "last week"}, {"sortBy": "Total"}):
        r = ss.get("/orders", params=params)
        assert r.status_code == 400, params
        assert r.json()["Message"] == "The request is invalid."
    ss.sim("POST", "/config", {"page_size_overflow": "clamp"})
    assert ss.get("/orders", params={"pageSize": 1000}).status_code == 200


def test_modify_date_window_with_scripted_clock(ss):
    clock = ss.base + "/_sim/clock"
    requests.post(clock, json={"now": "2026-11-27T10:00:00"}, timeout=5).raise_for_status()
    early = ss.post("/orders/createorder", order_body(number="EARLY", key="e")).json()
    assert early["createDate"] == "2026-11-27T10:00:00.0000000"
    requests.post(clock, json={"advance_seconds": 3600}, timeout=5).raise_for_status()
    late = ss.post("/orders/createorder", order_body(number="LATE", key="l")).json()
    assert late["modifyDate"] == "2026-11-27T11:00:00.0000000"

    since = ss.get("/orders", params={"modifyDateStart": "2026-11-27 10:30:00",
                                      "sortBy": "ModifyDate"}).json()
    assert [o["orderNumber"] for o in since["orders"]] == ["LATE"]
    until = ss.get("/orders", params={"createDateEnd": "2026-11-27 10:30:00"}).json()
    assert [o["orderNumber"] for o in until["orders"]] == ["EARLY"]

    requests.post(clock, json={"advance_seconds": 3600}, timeout=5).raise_for_status()
    ss.sim("POST", "/ship", {"orderKey": "e"})  # shipping moves modifyDate
    moved = ss.get("/orders", params={"modifyDateStart": "2026-11-27 11:30:00"}).json()
    assert [(o["orderNumber"], o["orderStatus"]) for o in moved["orders"]] == [
        ("EARLY", "shipped")]


def test_get_and_delete_order(ss, make_account):
    order = ss.post("/orders/createorder", order_body()).json()
    missing = ss.get("/orders/12345")
    assert missing.status_code == 404 and "message" in missing.json()
    other = make_account()
    assert other.get(f"/orders/{order['orderId']}").status_code == 404
    assert other.delete(f"/orders/{order['orderId']}").status_code == 404

    deleted = ss.delete(f"/orders/{order['orderId']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert ss.get(f"/orders/{order['orderId']}").status_code == 404
    assert ss.get("/orders").json()["total"] == 0


# --------------------------------------------------------------------------- products

def test_products_paging_categories_and_full_update(ss):
    created = ss.sim("POST", "/products", {"generate": 25, "categories": 4,
                                           "uncategorized_every": 5, "inactive_every": 10})
    assert created["created"] == 25 and len(created["categories"]) == 4

    active = ss.get("/products", params={"pageSize": 10}).json()
    assert (active["total"], active["pages"], len(active["products"])) == (23, 3, 10)
    everything = ss.get("/products", params={"pageSize": 10, "page": 3,
                                             "showInactive": "true"}).json()
    assert (everything["total"], len(everything["products"])) == (25, 5)

    seen: dict[int, str] = {}
    uncategorized = 0
    for n in range(1, 4):
        for product in ss.get("/products", params={"pageSize": 10, "page": n}).json()[
                "products"]:
            if product["productCategory"] is None:
                uncategorized += 1
            else:
                seen[product["productCategory"]["categoryId"]] = product["productCategory"][
                    "name"]
    assert uncategorized == 3  # products 5, 15 and 25 (10 and 20 are inactive)
    assert sorted(seen.values()) == ["Category 001", "Category 002", "Category 003",
                                     "Category 004"]
    first_cat = created["categories"][0]["categoryId"]
    in_cat = ss.get("/products", params={"productCategoryId": first_cat}).json()
    assert in_cat["total"] > 0
    assert all(p["productCategory"]["categoryId"] == first_cat for p in in_cat["products"])
    by_sku = ss.get("/products", params={"sku": "SIM-00001"}).json()
    # starts-with; SIM-000010 is inactive and hidden
    assert sorted(p["sku"] for p in by_sku["products"]) == [f"SIM-0000{i}" for i in
                                                            range(11, 20)]

    pid = created["productIds"][0]
    product = ss.get(f"/products/{pid}").json()
    assert product["productId"] == pid and product["sku"] == "SIM-000001"
    assert ss.get("/products/1").status_code == 404

    second_cat = created["categories"][1]
    update = {"productId": pid, "sku": "SIM-000001", "name": "Renamed", "price": 9.99,
              "active": True, "productCategory": {"categoryId": second_cat["categoryId"]}}
    r = ss.put(f"/products/{pid}", update)
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["message"]
    stored = ss.get(f"/products/{pid}").json()
    assert stored["name"] == "Renamed" and stored["price"] == 9.99
    assert stored["productCategory"] == second_cat
    assert stored["weightOz"] is None  # omitted in the PUT → cleared
    bad_cat = ss.put(f"/products/{pid}", {**update, "productCategory": {"categoryId": 1}})
    assert bad_cat.status_code == 400
    assert "product.productCategory.categoryId" in bad_cat.json()["ModelState"]
    no_sku = ss.put(f"/products/{pid}", {"name": "x"})
    assert no_sku.status_code == 400 and "product.sku" in no_sku.json()["ModelState"]

    patched = ss.sim("PATCH", f"/products/{pid}", {"active": False})
    assert patched["active"] is False and patched["name"] == "Renamed"
    assert ss.get("/products").json()["total"] == 22


def test_large_catalogue_categories_by_deduplication(ss):
    started = time.monotonic()
    created = ss.sim("POST", "/products", {"generate": 10000, "categories": 25})
    assert created["created"] == 10000
    assert time.monotonic() - started < 20
    categories: dict[int, str] = {}
    first = ss.get("/products", params={"pageSize": 500}).json()
    assert (first["total"], first["pages"]) == (10000, 20)
    for page in range(1, first["pages"] + 1):
        for p in ss.get("/products", params={"pageSize": 500, "page": page}).json()[
                "products"]:
            categories[p["productCategory"]["categoryId"]] = p["productCategory"]["name"]
    assert len(categories) == 25


def test_explicit_products_and_stores_and_tags(ss):
    created = ss.sim("POST", "/products", {"products": [
        {"sku": "BC-100", "name": "Business cards", "price": 19.5,
         "productCategory": {"name": "Cards"}},
        {"sku": "BC-200", "name": "Premium cards", "productCategory": {"name": "Cards"}},
        {"sku": "FL-1", "name": "Flyer"}]})
    cards = [c for c in created["categories"] if c["name"] == "Cards"]
    assert len(cards) == 1
    products = ss.get("/products", params={"sortBy": "SKU", "sortDir": "DESC"}).json()
    assert [p["sku"] for p in products["products"]] == ["FL-1", "BC-200", "BC-100"]
    assert products["products"][0]["productCategory"] is None
    assert products["products"][1]["productCategory"] == cards[0]
    invalid = requests.post(ss.base + "/_sim/products",
                            json={"api_key": ss.key, "products": [{"name": "no sku"}]},
                            timeout=5)
    assert invalid.status_code == 400
    assert ss.stats()["products"] == 3

    stores = ss.get("/stores").json()
    assert isinstance(stores, list) and stores[0]["storeName"] == "Manual Orders"
    tags = ss.get("/accounts/listtags").json()
    assert {"Rush", "Gift"} <= {t["name"] for t in tags}
    assert all(set(t) == {"tagId", "name", "color"} for t in tags)


# --------------------------------------------------------------------------- shipments

def test_ship_creates_shipment_visible_in_shipments(ss):
    order = ss.post("/orders/createorder", order_body()).json()
    shipped = ss.sim("POST", "/ship", {"orderNumber": "W2P-000123", "carrierCode": "fedex",
                                       "serviceCode": "fedex_ground",
                                       "trackingNumber": "TRACK-1", "shipDate": "2024-05-03"})
    assert shipped["order"]["orderStatus"] == "shipped"
    assert ss.get(f"/orders/{order['orderId']}").json()["orderStatus"] == "shipped"
    listed = ss.get("/shipments", params={"orderId": order["orderId"]}).json()
    assert (listed["total"], listed["page"], listed["pages"]) == (1, 1, 1)
    shipment = listed["shipments"][0]
    assert shipment["orderId"] == order["orderId"]
    assert shipment["orderKey"] == "hub:storeA:000123"
    assert shipment["orderNumber"] == "W2P-000123"
    assert (shipment["carrierCode"], shipment["serviceCode"]) == ("fedex", "fedex_ground")
    assert shipment["trackingNumber"] == "TRACK-1"
    assert shipment["shipDate"] == "2024-05-03"
    assert shipment["voided"] is False and shipment["voidDate"] is None
    assert shipment["batchNumber"] == str(shipped["batchId"])
    assert shipment["shipTo"]["postalCode"] == "78701"
    assert shipment["shipmentItems"] is None

    with_items = ss.get("/shipments", params={"orderNumber": "W2P-000123",
                                              "includeShipmentItems": "true"}).json()
    items = with_items["shipments"][0]["shipmentItems"]
    assert [(i["sku"], i["quantity"]) for i in items] == [("BC-100", 2), ("FL-200", 1)]
    assert ss.get("/shipments", params={"trackingNumber": "TRACK-1"}).json()["total"] == 1
    assert ss.get("/shipments", params={"trackingNumber": "nope"}).json()["total"] == 0
    assert ss.get("/shipments", params={"batchId": shipped["batchId"]}).json()["total"] == 1
    assert ss.get("/shipments", params={"shipDateStart": "2024-05-04"}).json()["total"] == 0
    generated = ss.sim("POST", "/ship", {"orderId": order["orderId"]})["shipment"]
    assert generated["trackingNumber"] and generated["carrierCode"] == "ups"
    assert ss.get("/shipments").json()["total"] == 2


def test_voided_shipment_is_flagged_and_order_reopens(ss):
    order = ss.post("/orders/createorder", order_body()).json()
    shipment = ss.sim("POST", "/ship", {"orderId": order["orderId"]})["shipment"]
    voided = ss.sim("POST", "/void", {"shipmentId": shipment["shipmentId"]})
    assert voided["shipment"]["voided"] is True
    listed = ss.get("/shipments", params={"orderId": order["orderId"]}).json()["shipments"]
    assert listed[0]["voided"] is True and TS.match(listed[0]["voidDate"])
    assert ss.get(f"/orders/{order['orderId']}").json()["orderStatus"] == "awaiting_shipment"
    again = requests.post(ss.base + "/_sim/void", json={
        "api_key": ss.key, "shipmentId": shipment["shipmentId"]}, timeout=5)
    assert again.status_code == 409


def test_fulfillments_listing(ss):
    order = ss.post("/orders/createorder", order_body()).json()
    assert ss.get("/fulfillments", params={"orderId": order["orderId"]}).json()["total"] == 0
    ss.sim("POST", "/fulfill", {"orderId": order["orderId"], "trackingNumber": "FF-1"})
    listed = ss.get("/fulfillments", params={"orderNumber": "W2P-000123"}).json()
    assert listed["total"] == 1
    f = listed["fulfillments"][0]
    assert (f["orderId"], f["trackingNumber"], f["voided"]) == (order["orderId"], "FF-1", False)
    assert ss.get("/shipments").json()["total"] == 0


# --------------------------------------------------------------------------- webhooks

def test_webhook_subscribe_list_delete(ss):
    r = ss.post("/webhooks/subscribe", {"target_url": "http://127.0.0.1:9/hook",
                                        "event": "SHIP_NOTIFY", "friendly_name": "hub"})
    assert r.status_code in (200, 201)
    hook_id = r.json()["id"]
    assert isinstance(hook_id, int)
    hooks = ss.get("/webhooks").json()["webhooks"]
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["WebHookID"] == hook_id and hook["HookType"] == "SHIP_NOTIFY"
    assert hook["Url"] == "http://127.0.0.1:9/hook" and hook["Name"] == "hub"
    assert hook["MessageFormat"] == "Json" and hook["Active"] is True
    assert hook["StoreID"] is None and isinstance(hook["SellerID"], int)

    bad = ss.post("/webhooks/subscribe", {"target_url": "http://x/", "event": "SHIPPED"})
    assert bad.status_code == 400 and "event" in bad.json()["ModelState"]
    missing = ss.post("/webhooks/subscribe", {"event": "SHIP_NOTIFY"})
    assert missing.status_code == 400 and "target_url" in missing.json()["ModelState"]
    assert ss.delete(f"/webhooks/{hook_id}").status_code == 200
    assert ss.get("/webhooks").json() == {"webhooks": []}
    assert ss.delete(f"/webhooks/{hook_id}").status_code == 404


def test_ship_notify_is_delivered_and_resource_url_returns_the_shipment(ss, receiver):
    ship_hook = ss.post("/webhooks/subscribe", {"target_url": receiver.url + "/ss/tok123",
                                                "event": "SHIP_NOTIFY"}).json()["id"]
    ss.post("/webhooks/subscribe", {"target_url": receiver.url + "/ss/items",
                                    "event": "ITEM_SHIP_NOTIFY"}).raise_for_status()
    other_store = ss.sim("POST", "/stores", {"storeName": "Elsewhere"})["storeId"]
    ss.post("/webhooks/subscribe", {"target_url": receiver.url + "/ss/other",
                                    "event": "SHIP_NOTIFY", "store_id": other_store}
            ).raise_for_status()
    ss.post("/webhooks/subscribe", {"target_url": receiver.url + "/ss/orders",
                                    "event": "ORDER_NOTIFY"}).raise_for_status()

    order = ss.post("/orders/createorder", order_body()).json()
    result = ss.sim("POST", "/ship", {"orderId": order["orderId"], "trackingNumber": "T-77"})
    assert sorted(d["status"] for d in result["deliveries"]) == [200, 200]
    assert sorted(c["path"] for c in receiver.calls) == ["/ss/items", "/ss/tok123"]

    call = next(c for c in receiver.calls if c["path"] == "/ss/tok123")
    assert call["method"] == "POST"
    assert call["headers"]["Content-Type"].startswith("application/json")
    assert set(call["json"]) == {"resource_url", "resource_type"}
    assert call["json"]["resource_type"] == "SHIP_NOTIFY"
    url = call["json"]["resource_url"]
    store_id = order["advancedOptions"]["storeId"]
    assert url == (f"{ss.base}/shipments?storeID={store_id}&batchId={result['batchId']}"
                   "&includeShipmentItems=False")
    assert len(url) <= 200
    assert not any("signature" in h.lower() for h in call["headers"])  # V1 hooks are unsigned

    assert requests.get(url, timeout=5).status_code == 401
    fetched = requests.get(url, auth=(ss.key, ss.secret), timeout=5).json()
    assert fetched["total"] == 1
    assert fetched["shipments"][0]["trackingNumber"] == "T-77"
    assert fetched["shipments"][0]["shipmentItems"] is None
    item_call = next(c for c in receiver.calls if c["path"] == "/ss/items")
    assert item_call["json"]["resource_url"].endswith("includeShipmentItems=True")
    with_items = requests.get(item_call["json"]["resource_url"], auth=(ss.key, ss.secret),
                              timeout=5).json()
    assert len(with_items["shipments"][0]["shipmentItems"]) == 2
    delivered = ss.sim("GET", "/deliveries")["deliveries"]
    assert {d["webhookId"] for d in delivered} >= {ship_hook}


def test_unreachable_webhook_target_is_reported_not_fatal(ss):
    ss.post("/webhooks/subscribe", {"target_url": "http://127.0.0.1:9/closed",
                                    "event": "SHIP_NOTIFY"}).raise_for_status()
    order = ss.post("/orders/createorder", order_body()).json()
    result = ss.sim("POST", "/ship", {"orderId": order["orderId"]})
    assert len(result["deliveries"]) == 1 and "error" in result["deliveries"][0]
    assert ss.get(f"/orders/{order['orderId']}").json()["orderStatus"] == "shipped"


# --------------------------------------------------------------------------- faults

def test_fail_next_scripts_the_next_responses_exactly(ss):
    faults = ss.base + "/_sim/faults"
    requests.post(faults, json={"fail_next": [
        {"status": 500, "body": {"Message": "An error has occurred."}},
        {"status": 503, "body": "down for maintenance", "headers": {"Retry-After": "7"}},
    ]}, timeout=5).raise_for_status()
    first = ss.post("/orders/createorder", order_body())
    assert first.status_code == 500 and first.json() == {"Message": "An error has occurred."}
    second = ss.get("/orders")
    assert second.status_code == 503 and second.text == "down for maintenance"
    assert second.headers["Retry-After"] == "7"
    assert ss.get("/orders").status_code == 200
    assert ss.stats()["orders"] == 0  # the faulted create was never processed
    snapshot = requests.get(faults, timeout=5).json()
    assert snapshot["fail_next"] == [] and snapshot["injected"]["scripted"] == 2

    recorded = ss.sim("GET", "/requests", credential=ss.key)["requests"]
    assert [r["status"] for r in recorded] == [200]  # faults answer before authentication
    everything = requests.get(ss.base + "/_sim/requests", params={"limit": 3},
                              timeout=5).json()["requests"]
    assert [(r["status"], r["fault"]) for r in everything] == [
        (500, "scripted"), (503, "scripted"), (200, None)]


def test_timeout_after_create_leaves_the_order_behind(ss):
    requests.post(ss.base + "/_sim/faults", json={"timeout_after_create_rate": 1.0,
                                                  "timeout_seconds": 2}, timeout=5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        ss.post("/orders/createorder", order_body(), timeout=(3, 0.5))
    requests.delete(ss.base + "/_sim/faults", timeout=5)

    found = ss.get("/orders", params={"orderNumber": "W2P-000123"}).json()
    assert found["total"] == 1  # the write happened although the client saw a timeout
    retry = ss.post("/orders/createorder", order_body()).json()
    assert retry["orderId"] == found["orders"][0]["orderId"]  # orderKey makes retries safe
    assert ss.stats()["orders"] == 1


def test_error_rate_burst_and_slow_faults(ss):
    faults = ss.base + "/_sim/faults"
    requests.post(faults, json={"error_rate": 1.0, "error_status": 502, "seed": 1}, timeout=5)
    r = ss.get("/orders")
    assert r.status_code == 502 and "message" in r.json()
    requests.delete(faults, timeout=5)

    requests.post(faults, json={"rate_limit_burst": 2}, timeout=5)
    burst = [ss.get("/orders") for _ in range(3)]
    assert [b.status_code for b in burst] == [429, 429, 200]
    assert burst[0].json() == {"message": "Too Many Requests"}
    assert burst[0].headers["X-Rate-Limit-Remaining"] == "0"
    assert int(burst[0].headers["X-Rate-Limit-Reset"]) >= 1
    assert ss.stats()["rate_limited"] == 2

    requests.post(faults, json={"slow_rate": 1.0, "slow_seconds": 0.4}, timeout=5)
    started = time.monotonic()
    assert ss.get("/orders").status_code == 200
    assert time.monotonic() - started >= 0.4

    half = requests.post(faults, json={"slow_rate": 0, "error_rate": 0.5, "error_status": 502,
                                       "seed": 42}, timeout=5).json()
    assert half["error_rate"] == 0.5
    codes = [ss.get("/orders").status_code for _ in range(20)]
    assert 0 < codes.count(502) < 20  # the simulator really draws; both outcomes occur
    requests.post(faults, json={"seed": 42}, timeout=5)
    assert [ss.get("/orders").status_code for _ in range(20)] == codes  # seeded → replayable

    for bad in ({"error_rate": 2}, {"error_status": 42}, {"bogus": 1},
                {"fail_next": [{"body": "no status"}]}):
        assert requests.post(faults, json=bad, timeout=5).status_code == 400


# --------------------------------------------------------------------------- accounts, stats

def test_each_key_pair_has_its_own_data(make_account):
    a, b = make_account(), make_account()
    order = a.post("/orders/createorder", order_body()).json()
    a.post("/webhooks/subscribe", {"target_url": "http://127.0.0.1:9/", "event": "SHIP_NOTIFY"})
    a.sim("POST", "/products", {"generate": 3, "categories": 1})
    assert b.get("/orders").json()["total"] == 0
    assert b.get("/products").json()["total"] == 0
    assert b.get("/webhooks").json()["webhooks"] == []
    assert b.get(f"/orders/{order['orderId']}").status_code == 404
    same_key = b.post("/orders/createorder", order_body()).json()  # same orderKey, other account
    assert same_key["orderId"] != order["orderId"]
    assert a.stats()["orders"] == 1 and b.stats()["orders"] == 1
    assert a.get("/stores").json()[0]["storeId"] != b.get("/stores").json()[0]["storeId"]

    a.sim("POST", "/reset")
    assert a.get("/orders").json()["total"] == 0
    assert b.get("/orders").json()["total"] == 1


def test_stats_count_duplicate_order_numbers(ss):
    for _ in range(3):
        ss.post("/orders/createorder", order_body(number="DUP-1", key=None)).raise_for_status()
    ss.post("/orders/createorder", order_body(number="DUP-2", key=None)).raise_for_status()
    ss.post("/orders/createorder", order_body(number="DUP-2", key=None)).raise_for_status()
    ss.post("/orders/createorder", order_body(number="ONCE", key="once")).raise_for_status()
    ss.post("/orders/createorder", order_body(number="ONCE", key="once")).raise_for_status()
    stats = ss.stats()
    assert stats["orders"] == 6
    assert stats["orders_by_number"] == {"DUP-1": 3, "DUP-2": 2}
    assert stats["duplicate_order_numbers"] == 2
    assert stats["requests"] == 7 and stats["rate_limited"] == 0


def test_recorder_redacts_credentials_and_truncates_bodies(ss):
    requests.delete(ss.base + "/_sim/requests", timeout=5)
    big = order_body(internalNotes="x" * 5000)
    ss.post("/orders/createorder", big).raise_for_status()
    ss.get("/orders", params={"orderStatus": "shipped"})
    dump = requests.get(ss.base + "/_sim/requests", timeout=5)
    assert ss.secret not in dump.text
    entries = dump.json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/orders/createorder", 200), ("GET", "/orders", 200)]  # ShipStation's real paths
    assert entries[0]["headers"]["Authorization"] == "Basic [redacted]"
    assert entries[0]["body_truncated"] is True and len(entries[0]["body"]) == 2048
    assert entries[1]["query"] == "orderStatus=shipped"
    assert entries[1]["credential"] == ss.key
    assert requests.delete(ss.base + "/_sim/requests", timeout=5).status_code == 200
    assert requests.get(ss.base + "/_sim/requests", timeout=5).json()["requests"] == []


def test_control_routes_validate_their_input(ss):
    post = lambda path, body: requests.post(ss.base + "/_sim" + path, json=body, timeout=5)
    assert post("/ship", {"orderId": 1}).status_code == 400          # no api_key
    assert post("/ship", {"api_key": "nobody", "orderId": 1}).status_code == 404
    assert post("/ship", {"api_key": ss.key, "orderId": 1}).status_code == 404
    assert post("/status", {"api_key": ss.key, "orderId": 1,
                            "orderStatus": "lost"}).status_code == 400
    ss.post("/orders/createorder", order_body(key="a")).raise_for_status()
    ss.post("/orders/createorder", order_body(key="b")).raise_for_status()
    assert post("/ship", {"api_key": ss.key, "orderNumber": "W2P-000123"}).status_code == 409
    ss.sim("POST", "/status", {"orderKey": "a", "orderStatus": "cancelled"})
    assert post("/ship", {"api_key": ss.key, "orderKey": "a"}).status_code == 409
    assert post("/accounts", {"api_key": "x"}).status_code == 400
    assert post("/config", {"api_key": ss.key, "rate_limit": 0}).status_code == 400

