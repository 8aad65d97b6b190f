"""StreamLive simulator against the proposed contract of providers-part2.md §2.2/§2.3."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from sandbox.streamlive.testing import create_account
from sandbox.testing import serve_wsgi

EXAMPLE = {"external_id": "WEB-1001", "customer": {"code": "C001", "name": "Ann", "email": "ann@example.test"},
           "ship_to": {"name": "Ann", "street1": "1 Road", "street2": "", "city": "Leeds", "state": "",
                       "postal_code": "LS1", "country": "GB"},
           "due_date": "2025-01-10",
           "items": [{"external_item_id": "WEB-1001-1", "product_code": "BANNER-13OZ", "quantity": 2,
                      "width_mm": 1000, "height_mm": 2000,
                      "files": [{"url": "https://files.example.test/art.pdf", "name": "art.pdf"}]}]}


@pytest.fixture
def sl(sims):
    sim = create_account(f"{sims['streamlive']}")
    http = requests.Session()
    http.headers["X-Api-Key"] = sim.api_key
    return sim, http


def test_api_key_is_required(sl):
    sim, http = sl
    assert requests.get(f"{sim.api_base}/api/v1/products").status_code == 401
    assert requests.get(f"{sim.api_base}/api/v1/products", headers={"X-Api-Key": "nope"}).json()["error"]
    assert http.get(f"{sim.api_base}/api/v1/products").status_code == 200


def test_example_order_is_created_once(sl):
    sim, http = sl
    first = http.post(f"{sim.api_base}/api/v1/orders", json=EXAMPLE)
    assert first.status_code == 201 and first.json()["status"] == "received" and first.json()["id"].startswith("so_")
    again = http.post(f"{sim.api_base}/api/v1/orders", json=EXAMPLE)
    assert again.status_code == 409 and again.json()["id"] == first.json()["id"]
    read = http.get(f"{sim.api_base}/api/v1/orders/{first.json()['id']}").json()
    assert read["external_id"] == "WEB-1001" and read["items"][0]["status"] == "received"
    assert sim.stats()["orders"] == 1 and sim.stats()["duplicates"] == 0


@pytest.mark.parametrize("change,field", [
    ({"items": []}, "items"),
    ({"items": [{**EXAMPLE["items"][0], "files": []}]}, "items[0].files"),
    ({"items": [{**EXAMPLE["items"][0], "product_code": ""}]}, "items[0].product_code"),
    ({"items": [{**EXAMPLE["items"][0], "quantity": 0}]}, "items[0].quantity"),
    ({"external_id": ""}, "external_id"),
])
def test_invalid_orders_are_422_with_field_errors(sl, change, field):
    sim, http = sl
    r = http.post(f"{sim.api_base}/api/v1/orders", json={**EXAMPLE, **change})
    assert r.status_code == 422 and field in r.json()["fields"]
    assert http.post(f"{sim.api_base}/api/v1/orders", data="x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_lists_are_paged_with_caldera_headers(sl):
    sim, http = sl
    sim.control("POST", "catalog", products=[{"code": f"P{n}", "name": f"P{n}", "category": "C", "active": True}
                                             for n in range(5)])
    r = http.get(f"{sim.api_base}/api/v1/products", params={"page": 2, "limit": 2})
    assert [p["code"] for p in r.json()] == ["P2", "P3"]
    assert (r.headers["caldera-page"], r.headers["caldera-limit"], r.headers["caldera-total-results"]) == ("2", "2", "5")
    assert 'rel="next"' in r.headers["link"] and 'rel="prev"' in r.headers["link"]
    assert http.get(f"{sim.api_base}/api/v1/products", params={"limit": 500}).status_code == 400


def test_status_hook_moves_forward_only_and_signs_the_webhook(sl):
    sim, http = sl
    received = []

    def hook(environ, start_response):
        received.append((environ.get("HTTP_X_SIGNATURE"), environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        start_response("202 Accepted", [])
        return [b""]

    url, stop = serve_wsgi(hook)
    try:
        order_id = http.post(f"{sim.api_base}/api/v1/orders", json=EXAMPLE).json()["id"]
        sim.set_webhook(url)
        sim.status(order_id, "queued")
        with pytest.raises(requests.HTTPError):
            sim.status(order_id, "received")  # no going back
        shipped = sim.status(order_id, "shipped", tracking_number="1Z9", carrier="DHL")
    finally:
        stop()
    assert shipped["items"][0]["tracking"] == {"tracking_number": "1Z9", "carrier": "DHL"}
    signature, body = received[-1]
    assert json.loads(body)["status"] == "shipped" and json.loads(body)["event"] == "order.status_changed"
    assert signature == hmac.new(sim.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
