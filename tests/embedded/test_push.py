"""Order push end to end: real Redis, real worker processes, the ShipStation sandbox over HTTP."""
from __future__ import annotations

import json
import time

import pytest
from rq.registry import ScheduledJobRegistry

from webapp.embedded.push import NotEligible, request_push
from webapp.extensions import db
from webapp.models import OrderPush
from webapp.queue import PUSH, get_queue
from webapp.storefront import orders as uc

READY_ITEM = {"approval": "approved"}


def _push(order, account) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id, account_id=account.id).one()


def test_marking_paid_pushes_to_shipstation(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM, {"approval": "denied"}])
    uc.mark_paid(order, "ops@example.test")
    assert _push(order, account).state == "queued"
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed", push.errors
    [remote] = sim.orders()
    assert remote["orderNumber"] == push.reference == f"{order.number}-ES{account.id}"
    assert remote["orderKey"] == push.idempotency_key
    assert [i["lineItemKey"] for i in remote["items"]] == [f"{push.reference}-1"]  # denied item left out
    assert push.external_id == str(remote["orderId"])
    [item_push] = push.items
    assert item_push.item.line_number == 1 and item_push.pushed_at is not None


@pytest.mark.parametrize("event", ["approve", "file_ready", "import"])
def test_each_triggering_event_queues_a_push(factory, make_shipstation_account, event):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    if event == "approve":
        order = factory.order(site, paid=True, items=[{"approval": "pending"}])
        uc.approve_item(order.items[0], "ops@example.test")
    elif event == "file_ready":
        order = factory.order(site, paid=True, items=[{"approval": "approved", "files": [("edoc", "pending")]}])
        uc.mark_file_ready(order.items[0].files[0], "ops@example.test")
    else:
        from webapp.storefront.importer import import_orders

        report = import_orders([{
            "number": "IMP-1", "site": site.slug, "customer_email": "a@example.com",
            "placed_at": "2026-11-20T10:00:00Z", "paid": True,
            "billing_address": {"name": "A", "street1": "1 St", "city": "Austin", "country": "US"},
            "items": [{"sku": "X", "name": "Cards", "quantity": 10, "unit_price": 1, "approval": "approved",
                       "status": "Order Received",
                       "ship_to": {"name": "A", "street1": "1 St", "city": "Austin", "country": "US"}}]}])
        assert not report.rejected, report.rejected
        from webapp.models import Order
        order = Order.query.filter_by(number="IMP-1").one()
    assert _push(order, account).state == "queued"
    assert len(get_queue(PUSH).get_job_ids()) == 1


def test_not_eligible_order_waits_with_reasons_and_manual_push_is_refused(factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    order = factory.order(site, paid=True, items=[{"approval": "pending"}])
    uc.set_item_status(order.items[0], "In Production", "ops@example.test")
    push = _push(order, account)
    assert push.state == "waiting" and "waiting for approval" in push.reasons[0]
    with pytest.raises(NotEligible) as info:
        request_push(order)
    assert "waiting for approval" in info.value.reasons[0]
    assert get_queue(PUSH).get_job_ids() == []


def test_site_not_live_gets_no_push(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    assert OrderPush.query.count() == 0 and get_queue(PUSH).get_job_ids() == []
    with pytest.raises(NotEligible, match="enabled and live"):
        request_push(order)
    run_worker()
    assert sim.orders() == []


def test_two_accounts_get_distinct_numbers(factory, make_shipstation_account, run_worker):
    site = factory.site()
    first, sim_a = make_shipstation_account(site)
    second, _ = make_shipstation_account(site, sim=sim_a)  # even the same ShipStation account
    order = factory.order(site, paid=False, items=[READY_ITEM, READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    a, b = _push(order, first), _push(order, second)
    assert a.state == b.state == "pushed"
    assert a.reference != b.reference and order.number in a.reference and order.number in b.reference
    numbers = sorted(o["orderNumber"] for o in sim_a.orders())
    assert numbers == sorted([a.reference, b.reference])
    item_numbers = {ip.external_number for ip in a.items} | {ip.external_number for ip in b.items}
    assert len(item_numbers) == 4


def test_double_click_gives_one_job(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    order = factory.order(site, paid=True, items=[READY_ITEM])
    from webapp.embedded.activation import set_activation
    set_activation(account, site, is_live=True)
    first = request_push(order)
    second = request_push(order)
    assert [r.queued for r in first] == [True] and [r.queued for r in second] == [False]
    assert len(get_queue(PUSH).get_job_ids()) == 1
    run_worker()
    assert _push(order, account).state == "pushed"
    assert sim.stats()["orders"] == 1


def test_timeout_after_create_then_retry_makes_one_order(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    sim.faults(timeout_after_create_rate=1.0, timeout_seconds=3)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker(PROVIDER_READ_TIMEOUT=1)
    push = _push(order, account)
    assert push.state == "queued" and push.ambiguous and "retrying" in push.errors[0]
    assert sim.stats()["orders"] == 1  # the provider did create it
    sim.faults(timeout_after_create_rate=0.0)
    time.sleep(1.2)  # the retry is scheduled with backoff, not slept on in a worker
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed" and push.attempts == 2
    stats = sim.stats()
    assert stats["orders"] == 1 and stats["duplicate_order_numbers"] == 0


def test_429_is_retried_later_without_holding_a_worker(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    sim.faults(fail_next=[{"status": 429, "body": {"message": "Too Many Requests"},
                           "headers": {"X-Rate-Limit-Limit": "40", "X-Rate-Limit-Remaining": "0",
                                       "X-Rate-Limit-Reset": "2"}}])
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker()  # returns: the burst worker is free while the push waits for the window
    push = _push(order, account)
    assert push.state == "queued" and push.error_kind == "rate_limited"
    registry = ScheduledJobRegistry(queue=get_queue(PUSH))
    assert len(registry) == 1  # parked in Redis, not in a worker
    parked = get_queue(PUSH).fetch_job(registry.get_job_ids()[0])
    assert parked.enqueue_at_front  # back for its turn: ahead of pushes that have none yet
    time.sleep(2.2)
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed" and push.attempts == 1  # waiting for the window is not a failure
    assert sim.stats()["orders"] == 1


def test_validation_error_turns_red_with_shipstations_words_then_fix_and_push(factory, make_shipstation_account,
                                                                               run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    bad_address = {"name": "No Country", "street1": "1 St", "city": "Austin", "country": ""}
    order = factory.order(site, paid=False, items=[{"approval": "approved", "ship_to": bad_address}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and push.error_kind == "rejected"
    assert push.errors[0] == "The request is invalid."
    assert any("shipTo.country" in line for line in push.errors[1:])
    assert sim.orders() == []
    item = order.items[0]
    item.ship_to = {**bad_address, "country": "US"}
    db.session.commit()
    request_push(order)
    run_worker()
    assert _push(order, account).state == "pushed"
    assert sim.stats()["orders"] == 1


def test_repush_of_a_pushed_order_updates_instead_of_duplicating(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    request_push(order)
    run_worker()
    assert _push(order, account).state == "pushed"
    assert sim.stats()["orders"] == 1


def test_auth_failure_stops_and_flags_the_account(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    account.credentials = {**account.credentials, "api_secret": "wrong-secret"}
    db.session.commit()
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and push.error_kind == "invalid_credentials"
    assert push.account.auth_state == "failing"


def test_exchanges_are_recorded_without_secrets(factory, make_shipstation_account, run_worker):
    from webapp.models import ProviderExchange

    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    exchanges = ProviderExchange.query.filter_by(subject_type="order", subject_id=order.id).all()
    assert [x.method for x in exchanges] == ["POST"] and exchanges[0].status == 200
    assert sim.api_secret not in json.dumps([x.request_body + x.response_body + x.url for x in exchanges])
