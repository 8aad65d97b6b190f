"""Webhooks: intake rules and the ShipStation SHIP_NOTIFY round trip over real HTTP."""
from __future__ import annotations

import json

import pytest
import requests

from sandbox.testing import serve_wsgi
from webapp.embedded.accounts import request_webhook_subscription
from webapp.extensions import db
from webapp.models import OrderPush, WebhookEvent
from webapp.storefront import orders as uc


@pytest.fixture
def hub_url(app):
    """The hub itself served over HTTP, so the sandbox can call its webhook."""
    base, stop = serve_wsgi(app)
    yield base
    stop()


def _pushed_order(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops")
    run_worker()
    return account, sim, order


def test_ship_notify_updates_item_by_itself(factory, make_shipstation_account, run_worker, hub_url):
    account, sim, order = _pushed_order(factory, make_shipstation_account, run_worker)
    target = f"{hub_url}/webhooks/shipstation/{account.webhook_token}"
    request_webhook_subscription(account, target)
    run_worker()
    db.session.expire_all()
    assert account.webhook_subscription["state"] == "ok", account.webhook_subscription
    push = OrderPush.query.one()
    shipped = sim.control("POST", "ship", orderId=int(push.external_id), trackingNumber="1ZWEBHOOK", carrierCode="ups")
    assert [d["status"] for d in shipped["deliveries"]] == [202]
    run_worker()
    db.session.expire_all()
    item = order.items[0]
    assert item.status == "Shipped" and item.tracking_number == "1ZWEBHOOK"
    assert WebhookEvent.query.one().state == "processed"


def test_intake_rejections(client, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    url = f"/webhooks/shipstation/{account.webhook_token}"
    good = {"resource_url": f"{sim.api}/shipments?storeID=1&batchId=9", "resource_type": "SHIP_NOTIFY"}
    assert client.post("/webhooks/shipstation/not-a-token", json=good).status_code == 404
    assert client.post(f"/webhooks/other/{account.webhook_token}", json=good).status_code == 404
    bad = client.post(url, data="{not json", content_type="application/json")
    assert bad.status_code == 400 and "not JSON" in bad.get_json()["status"]
    assert client.post(url, json={"resource_type": "SHIP_NOTIFY"}).status_code == 400
    evil = {"resource_url": "https://attacker.example/shipments", "resource_type": "SHIP_NOTIFY"}
    assert client.post(url, json=evil).status_code == 400
    huge = client.post(url, data=b"x" * (300 * 1024), content_type="application/json")
    assert huge.status_code == 413
    assert WebhookEvent.query.count() == 0
    first = client.post(url, json=good)
    replay = client.post(url, json=good)
    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.get_json()["status"] == "duplicate ignored"
    assert WebhookEvent.query.count() == 1


def test_replayed_job_processes_once(factory, make_shipstation_account, run_worker, client):
    account, sim, order = _pushed_order(factory, make_shipstation_account, run_worker)
    push = OrderPush.query.one()
    shipped = sim.control("POST", "ship", orderId=int(push.external_id), trackingNumber="1ZONCE", notify=False)
    payload = {"resource_url": shipped["resource_url"], "resource_type": "SHIP_NOTIFY"}
    assert client.post(f"/webhooks/shipstation/{account.webhook_token}", json=payload).status_code == 202
    event = WebhookEvent.query.one()
    from webapp.embedded.jobs import process_webhook_job
    process_webhook_job.enqueue(event.id)  # the same job delivered twice
    run_worker()
    db.session.expire_all()
    assert WebhookEvent.query.one().state == "processed"
    from webapp.models import OrderEvent
    assert OrderEvent.query.filter_by(kind="shipment").count() == 1
    requested = [r for r in requests.get(f"{sim.api}/_sim/requests").json()["requests"]
                 if r["path"].endswith("/shipments")]
    assert len(requested) == 1  # resource_url fetched once
    assert json.loads(event.payload)["resource_type"] == "SHIP_NOTIFY"


def test_subscribe_button_registers_the_webhook_without_the_token_in_job_args(client, login, factory,
                                                                               make_shipstation_account, run_worker):
    from webapp.embedded.jobs import subscribe_webhook_job
    from webapp.queue import get_queue
    site = factory.site()
    account, sim = make_shipstation_account(site)
    login(factory.admin(is_super=True))
    response = client.post(f"/preferences/embedded/accounts/{account.id}/webhook", follow_redirects=True)
    assert "Subscription queued" in response.get_data(as_text=True)
    [job] = get_queue(subscribe_webhook_job.queue).get_jobs()
    assert account.webhook_token not in repr(job.args) + repr(job.kwargs) + (job.description or "")
    run_worker()
    page = client.get(f"/preferences/embedded/accounts/{account.id}").get_data(as_text=True)
    assert "Subscribed" in page
    hooks = requests.get(f"{sim.api}/webhooks", auth=(sim.api_key, sim.api_secret)).json()["webhooks"]
    assert [h["HookType"] for h in hooks] == ["SHIP_NOTIFY"] and account.webhook_token in hooks[0]["Url"]


def test_webhook_requests_neither_read_nor_set_our_session_cookie(app, client, login, factory):
    """A provider never carries our session cookie: its route does not parse one (an empty
    session) and never answers with one; every other page has the real session. An error page
    there (a bad URL) still renders."""
    from flask import session

    login(factory.admin(is_super=True))  # the test client now holds a signed session cookie
    cookie = client.get_cookie("session")
    assert cookie is not None
    with app.test_request_context("/webhooks/shipstation/some-token", method="POST",
                                  headers={"Cookie": f"session={cookie.value}"}):
        app.preprocess_request()
        assert dict(session) == {}
    with app.test_request_context("/login", headers={"Cookie": f"session={cookie.value}"}):
        app.preprocess_request()
        assert dict(session) != {}
    for path in ("/webhooks/shipstation/unknown-token", "/webhooks/tflow/"):
        answer = client.post(path, data=b"{}", content_type="application/json")
        assert answer.status_code in (401, 404, 405), (path, answer.status_code)
        assert "Set-Cookie" not in answer.headers


def test_a_remembered_account_is_checked_again_when_the_event_is_stored(client, factory, make_shipstation_account):
    """Intake remembers a token's account for a few seconds, but stores an event only while the
    account still has that token, credentials and settings: a rotated token is refused at once,
    an edited account is looked up (and verified) again."""
    account, sim = make_shipstation_account(factory.site())
    old = f"/webhooks/shipstation/{account.webhook_token}"

    def body(n):
        return {"resource_url": f"{sim.api}/shipments?storeID=1&batchId={n}", "resource_type": "SHIP_NOTIFY"}

    assert client.post(old, json=body(1)).status_code == 202          # remembered from here on
    account.settings = {**account.settings, "note": "edited"}
    db.session.commit()
    assert client.post(old, json=body(2)).status_code == 202          # edited: looked up again
    assert client.post(old, json=body(2)).status_code == 200          # a redelivery stays a duplicate
    account.webhook_token = "rotated-" + account.webhook_token[:20]
    db.session.commit()
    assert client.post(old, json=body(3)).status_code == 404          # the old token: refused at once
    assert client.post(f"/webhooks/shipstation/{account.webhook_token}", json=body(3)).status_code == 202
    assert WebhookEvent.query.count() == 3


def test_concurrent_deliveries_from_threads_are_stored_once(app, factory, make_shipstation_account, hub_url):
    """The web server runs threads (deploy/Procfile: --threads 4): deliveries arriving at once in
    one process — distinct events and redeliveries of one event — each end as one stored event,
    and none fails (on SQLite the threads queue for the write, webhooks._SQLITE_WRITER)."""
    from concurrent.futures import ThreadPoolExecutor

    account, sim = make_shipstation_account(factory.site())
    url = f"{hub_url}/webhooks/shipstation/{account.webhook_token}"

    def post(n):
        body = {"resource_url": f"{sim.api}/shipments?storeID=1&batchId={n}", "resource_type": "SHIP_NOTIFY"}
        return n, requests.post(url, json=body, timeout=30).status_code

    deliveries = list(range(24)) + [7] * 8  # 24 distinct events, event 7 delivered 9 times in all
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, deliveries))
    assert sorted(status for n, status in answers if n != 7) == [202] * 23
    assert sorted(status for n, status in answers if n == 7) == [200] * 8 + [202]
    db.session.expire_all()
    assert WebhookEvent.query.count() == 24
    assert {e.state for e in WebhookEvent.query} == {"received"}
