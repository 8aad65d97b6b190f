"""A provider answering a push with garbage (HTML, truncated JSON, binary, the wrong shape, an
HTML error page): the push ends red on the order's Embedded Services tab with a message an
admin understands, the worker does not crash, the order is not lost, and once the provider
behaves again Push Order sends it (once). Real worker, the simulator over HTTP, its
``fail_next`` fault control scripting each answer."""
from __future__ import annotations

import json
import re

import requests
from rq.registry import FailedJobRegistry

from sandbox.testing import run_sandbox
from tests.resilience import harness
from webapp.embedded.push import request_push
from webapp.extensions import db
from webapp.models import Order, OrderPush, ProviderExchange
from webapp.queue import all_queues

TRUNCATED = json.dumps({"orderId": 1, "orderNumber": "X", "items": [{"lineItemKey": "a"}]})[:37]
BAD_ANSWERS = [
    ("html page", {"status": 200, "body": "<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>",
                   "headers": {"Content-Type": "text/html; charset=utf-8"}}, "text/html instead of JSON"),
    ("truncated json", {"status": 200, "body": TRUNCATED, "headers": {"Content-Type": "application/json"}},
     "invalid or truncated JSON"),
    ("binary", {"status": 200, "body": "\x00\x01\x02PK\x03\x04",
                "headers": {"Content-Type": "application/octet-stream"}}, "application/octet-stream instead of JSON"),
    ("wrong shape", {"status": 200, "body": [], "headers": {}}, "did not return the stored order"),
    ("html error page", {"status": 502, "body": "<html><body>Bad gateway</body></html>",
                         "headers": {"Content-Type": "text/html"}}, "502"),
]


def test_garbage_answers_turn_the_tab_red_and_lose_nothing(app, app_ctx, run_worker):
    base, stop_sandbox = run_sandbox()
    try:
        world = harness.build_world([base], sites=1, orders=1, ineligible_every=0, providers=harness.only("shipstation"))
        [account_id] = world.accounts
        sim, api = world.accounts[account_id], world.api_bases[account_id]
        order_id = world.eligible[0]
        number = db.session.get(Order, order_id).number
        client = app.test_client()
        with app.app_context():  # a fresh g for the login (Flask-Login caches the user there)
            assert client.post("/login", data={"email": world.admin_email,
                                               "password": "secret-pass"}).status_code == 302
        for index, (name, answer, message) in enumerate(BAD_ANSWERS):
            requests.post(f"{api}/_sim/faults", json={"fail_next": [answer]}, timeout=10).raise_for_status()
            if index == 0:
                harness.pay([order_id])
            else:
                assert [r.queued for r in request_push(db.session.get(Order, order_id))] == [True]
            run_worker(PUSH_MAX_ATTEMPTS=1)  # the last attempt: the outcome is final
            db.session.expire_all()
            push = OrderPush.query.filter_by(order_id=order_id).one()
            assert push.state == "failed", (name, push.state, push.errors)
            assert message in " ".join(push.errors), (name, push.errors)
            with app.app_context():
                tab = client.get(f"/orders/{number}/embedded").get_data(as_text=True)
            assert re.search(r'push-bar-failed', tab) and "Not pushed" in tab, name
            assert message in tab.replace("&#39;", "'"), (name, message)
            assert 'name="account_id"' in tab  # the Push Order button is offered
            assert ProviderExchange.query.filter_by(subject_type="order", subject_id=order_id).count() >= index + 1
        assert not any(len(FailedJobRegistry(queue=q)) for q in all_queues())  # no job crashed on the way
        order = db.session.get(Order, order_id)
        assert order is not None and order.paid  # the order is intact

        # An answer that looks like success but carries absurd values: stored cut to size (on
        # PostgreSQL an over-long value used to fail the commit and leave the push "pushing").
        odd = {"status": 200, "headers": {"Content-Type": "application/json"},
               "body": {"orderId": "9" * 5000, "orderNumber": "N" * 5000, "orderStatus": "s" * 500, "items": "x"}}
        requests.post(f"{api}/_sim/faults", json={"fail_next": [odd]}, timeout=10).raise_for_status()
        assert [r.queued for r in request_push(order)] == [True]
        run_worker(PUSH_MAX_ATTEMPTS=1)
        db.session.expire_all()
        push = OrderPush.query.filter_by(order_id=order_id).one()
        assert push.state == "pushed" and len(push.external_id) == 200 and len(push.external_status) == 100

        # The provider behaves again: one click, one order at the provider.
        assert [r.queued for r in request_push(order)] == [True]
        run_worker()
        db.session.expire_all()
        push = OrderPush.query.filter_by(order_id=order_id).one()
        assert push.state == "pushed" and not push.errors
        assert sim.stats()["orders"] == 1 and sim.stats()["duplicates"] == 0
    finally:
        stop_sandbox()
