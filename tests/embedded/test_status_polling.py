"""§6 automatic status polling and §7 matching by the provider's ids / per-account status
vocabulary, with the tests' fake provider over real HTTP and a real worker."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from webapp.embedded.maintenance import run_maintenance
from webapp.embedded.push import request_push, run_push
from webapp.embedded.status_polling import AUTOMATIC, schedule_due_polls
from webapp.embedded.status_sync import apply_updates
from webapp.extensions import db
from webapp.models import OrderPush, ProviderAccount, RunLogLine, SyncRun, utcnow
from webapp.providers.context import StatusUpdate


def _pushed(factory, site, account, items=1, **order_kw):
    order = factory.order(site, paid=True, items=[{"approval": "approved"}] * items, **order_kw)
    request_push(order, account.id)
    push = OrderPush.query.filter_by(order_id=order.id).one()
    assert run_push(push.id) == "pushed", push.errors
    db.session.expire_all()
    return order, db.session.get(OrderPush, push.id)


def test_every_polling_provider_gets_the_interval_setting_default_15_and_0_is_off(fake_registered):
    from webapp.providers.registry import all_providers

    for provider in all_providers().values():
        names = provider.account_settings.names()
        assert ("status_poll_minutes" in names) is provider.capabilities.status_polling, provider.key
    fields = {f.name: f for f in all_providers()["fake"].account_settings}
    assert fields["status_poll_minutes"].clean("") == 15 and fields["status_poll_minutes"].clean("0") == 0
    values, errors = all_providers()["fake"].account_settings.clean({"status_poll_minutes": "-5"})
    assert "status_poll_minutes" in errors


def test_due_accounts_get_one_automatic_run_per_interval_that_a_worker_executes(factory, fake_account, fake_remote,
                                                                                  run_worker):
    site = factory.site()
    account = fake_account(site)
    off = fake_account(factory.site(), status_poll_minutes=0)
    order, push = _pushed(factory, site, account)
    old_order, old_push = _pushed(factory, site, account)
    done_order, done_push = _pushed(factory, site, account)
    db.session.execute(update(OrderPush).where(OrderPush.id == old_push.id)
                       .values(pushed_at=utcnow() - timedelta(days=31)))
    done_order.items[0].status = "Completed"
    done_order.refresh_status()
    db.session.commit()
    for remote_order in fake_remote.orders.values():
        remote_order["status"] = "printing"

    assert run_maintenance()["status_polls"] == 1      # the maintenance job drives it
    assert schedule_due_polls() == 0                    # not again within the interval
    run = SyncRun.query.filter_by(account_id=account.id).one()
    assert run.started_by == AUTOMATIC and run.items == ["status"] and run.scope == "global"
    assert not SyncRun.query.filter_by(account_id=off.id).count()
    fake_remote.calls.clear()
    run_worker()
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.state == "finished" and run.updated == 1 and run.failed == 0
    assert order.items[0].status == "In Production"
    assert old_order.items[0].status == "Order Received"   # older than 30 days: left alone
    asked = {p for m, p, _ in fake_remote.calls if m == "GET" and p.startswith("/api/orders/")}
    assert asked == {f"/api/orders/{push.external_id}"}    # neither the old nor the completed one
    lines = [line.message for line in RunLogLine.query.filter_by(run_id=run.id)]
    assert any(f"Order {order.number}: printing" in line for line in lines)


def test_one_failing_order_never_stops_the_rest(app_ctx, factory, fake_account, fake_remote):
    from webapp.embedded.runs import execute_run, request_run

    site = factory.site()
    account = fake_account(site)
    good, _ = _pushed(factory, site, account)
    bad, bad_push = _pushed(factory, site, account)
    later, _ = _pushed(factory, site, account)
    fake_remote.orders.pop(bad_push.external_id)      # the provider lost it: it answers an error
    for remote_order in fake_remote.orders.values():
        remote_order["status"] = "shipped"
    run = request_run(account, ["status"], started_by=AUTOMATIC)
    assert execute_run(run.id) == "partial"  # not everything was processed: never "finished"
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert (run.updated, run.failed) == (2, 1) and "1 record(s) could not be processed" in run.error
    assert good.items[0].status == later.items[0].status == "Shipped"
    errors = [line.message for line in RunLogLine.query.filter_by(run_id=run.id, level="error")]
    assert errors[0] == f"Order {bad_push.reference}: status not refreshed: No order {bad_push.external_id}"
    assert len(errors) == 2 and errors[1].startswith("Partial: 0 created, 2 updated")  # the run's end line


def test_an_account_overrides_the_status_vocabulary(app_ctx, factory, fake_account, fake_remote):
    site = factory.site()
    account = fake_account(site, status_map_override="printing = On Hold\nproofing = In Production")
    order, push = _pushed(factory, site, account)
    account = db.session.get(ProviderAccount, account.id)
    apply_updates(account, [StatusUpdate(push_key=push.idempotency_key, external_status="Printing")])
    assert order.items[0].status == "On Hold"            # the account's meaning, not the provider's
    apply_updates(account, [StatusUpdate(push_key=push.idempotency_key, external_status="shipped")])
    assert order.items[0].status == "Shipped"            # the provider's own map still applies


def test_the_override_is_validated_like_any_setting(fake_registered):
    from webapp.providers.registry import get_provider_class

    _, errors = get_provider_class("fake").account_settings.clean({"status_map_override": "printing = Nope"})
    assert "not in the expected format" in errors["status_map_override"]


def test_callbacks_match_by_the_providers_order_and_job_ids(app_ctx, factory, fake_account, fake_remote):
    site = factory.site()
    account = fake_account(site)
    order, push = _pushed(factory, site, account, items=2)
    other, _ = _pushed(factory, site, account)
    job_1, job_2 = sorted(push.items, key=lambda ip: ip.item.line_number)
    account = db.session.get(ProviderAccount, account.id)
    # an order-level callback carrying only the provider's order id
    assert apply_updates(account, [StatusUpdate(push_key="", external_status="printing",
                                                external_id=push.external_id)]) == (1, 0)
    assert [i.status for i in order.items] == ["In Production", "In Production"]
    # a job-level callback carrying only the provider's job id
    assert apply_updates(account, [StatusUpdate(push_key="", external_status="shipped",
                                                item_external_ids=[job_2.external_id])]) == (1, 0)
    assert [i.status for i in order.items] == ["In Production", "Shipped"]
    assert job_1.external_status == "printing" and job_2.external_status == "shipped"
    assert other.items[0].status == "Order Received"
    # an id of another account's push never matches
    assert apply_updates(account, [StatusUpdate(push_key="", external_status="shipped", external_id="O-999")]) == (0, 0)


def test_a_chunk_is_applied_set_based_with_the_same_outcome_as_one_by_one(app_ctx, factory, fake_account,
                                                                          fake_remote):
    """apply_updates writes rows in bulk; apply_update on ORM objects is the reference: same
    statuses, tracking, order status and history (once), and an untouched item stays as it was."""
    from datetime import date

    from webapp.embedded.status_sync import apply_update
    from webapp.models import Order, OrderEvent
    from webapp.providers.context import Shipment

    site = factory.site()
    account = fake_account(site)
    (one, push_one), (bulk, push_bulk) = (_pushed(factory, site, account, items=3) for _ in range(2))
    account = db.session.get(ProviderAccount, account.id)

    def updates(push):
        jobs = sorted(push.items, key=lambda ip: ip.item.line_number)
        shipped = Shipment(carrier="ups", tracking_number="1ZBULK", ship_date=date(2026, 11, 30))
        return [StatusUpdate(push_key=push.idempotency_key, external_status="printing",
                             item_external_ids=[jobs[0].external_id, jobs[1].external_id]),
                StatusUpdate(push_key="", external_status="shipped", item_external_ids=[jobs[1].external_id],
                             shipment=shipped),
                StatusUpdate(push_key=push.idempotency_key, external_status="shipped",   # the same news again
                             item_external_ids=[jobs[1].external_id], shipment=shipped)]

    for news in updates(push_one):                 # the reference: ORM objects, one update at a time
        apply_update(account, news, {}, push=db.session.get(OrderPush, push_one.id))
        db.session.flush()
    db.session.commit()
    assert apply_updates(account, updates(db.session.get(OrderPush, push_bulk.id))) == (1, 0)
    db.session.expire_all()

    def outcome(order_id):
        order = db.session.get(Order, order_id)
        push = OrderPush.query.filter_by(order_id=order_id).one()
        events = [(e.kind, e.item.line_number, e.detail.replace(order.number, "N"))
                  for e in OrderEvent.query.filter_by(order_id=order_id).filter(
                      OrderEvent.kind.in_(["status", "shipment"])).order_by(OrderEvent.id)]
        items = [(i.status, i.carrier, i.tracking_number, i.shipped_on, i.status_changed_at is not None)
                 for i in order.items]
        lines = sorted((ip.item.line_number, ip.external_status, ip.status_synced_at is not None) for ip in push.items)
        return order.status, push.external_status, items, lines, events

    reference = outcome(one.id)
    assert outcome(bulk.id) == reference
    status, pushed, items, lines, events = reference
    assert items[0][:3] == ("In Production", "", "") and items[1][:3] == ("Shipped", "ups", "1ZBULK")
    assert items[2] == ("Order Received", "", "", None, False)        # not named by any update: untouched
    assert lines[2] == (3, None, False)
    assert [kind for kind, _, _ in events] == ["status", "status", "shipment", "status"]  # history once
    # The last news applied again: nothing changes, nothing is added.
    assert apply_updates(account, updates(db.session.get(OrderPush, push_bulk.id))[-1:]) == (0, 1)
    db.session.expire_all()
    again = outcome(bulk.id)
    assert again[:3] == reference[:3] and again[4] == reference[4]
