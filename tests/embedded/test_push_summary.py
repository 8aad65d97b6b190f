"""orders.push_state — an order's Embedded Services state at a glance — follows every change
that moves it, with the order tab's definition of "waiting"; the orders lists show and filter
on it, and the dashboard counts it."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from webapp.embedded import push_summary
from webapp.embedded.activation import set_activation
from webapp.embedded.push import request_push
from webapp.embedded.push_release import release_stuck_push
from webapp.extensions import db
from webapp.models import Order, OrderPush
from webapp.storefront import orders as uc

READY = {"approval": "approved"}


def state(order) -> str:
    db.session.expire_all()
    return db.session.get(Order, order.id).push_state


def test_the_summary_follows_the_push_from_waiting_to_pushed_and_failed(factory, make_shipstation_account,
                                                                       run_worker, client, login):
    site = factory.site()
    order = factory.order(site, paid=False, items=[READY])
    assert state(order) == "none"  # nobody is live on the site
    account, sim = make_shipstation_account(site)  # goes live: the site's orders now wait for it
    assert state(order) == "waiting"
    login(factory.admin(sites=[site]))
    page = client.get(f"/sites/{site.slug}/orders?push=waiting").get_data(as_text=True)
    assert order.number in page and "The order is not marked as paid." in page and account.name in page

    uc.mark_paid(order, "ops@example.test")  # queued by the storefront event
    assert state(order) == "in_flight"
    run_worker()
    assert state(order) == "pushed"
    page = client.get("/orders?push=pushed").get_data(as_text=True)
    assert order.number in page and "push-cell-pushed" in page
    assert order.number not in client.get("/orders?push=waiting").get_data(as_text=True)

    sim.faults(fail_next=[{"status": 400, "body": {"Message": "The request is invalid.",
                                                    "ExceptionMessage": "Ship-to country ZZ is not valid."}}])
    request_push(db.session.get(Order, order.id))
    assert state(order) == "in_flight"
    run_worker()
    assert state(order) == "failed"
    page = client.get("/orders?push=failed").get_data(as_text=True)
    assert order.number in page and "push-cell-failed" in page
    dashboard = client.get("/").get_data(as_text=True)
    assert 'data-count="failed"' in dashboard and "1 failed" in dashboard and "/orders?push=failed" in dashboard

    # Not live any more: a failed push stays failed (its red row stays on the tab).
    assert set_activation(account, site, enabled=True, is_live=False).ok
    assert state(order) == "failed"


def test_worst_state_over_accounts_and_nothing_to_push(app_ctx, factory, make_shipstation_account):
    site = factory.site()
    first, _ = make_shipstation_account(site, name="First")
    second, _ = make_shipstation_account(site, name="Second")
    order = factory.order(site, paid=True, items=[READY])
    cancelled = factory.order(site, paid=True, items=[{"approval": "approved", "status": "Cancelled"}])
    db.session.add(OrderPush(order_id=order.id, account_id=first.id, state="pushed", idempotency_key="k1",
                             reference="r1"))
    db.session.flush()
    push_summary.refresh([order.id, cancelled.id])
    db.session.commit()
    # pushed to First, never sent to Second (it qualified before Second went live): waiting
    assert state(order) == "waiting" and state(cancelled) == "none"
    db.session.add(OrderPush(order_id=order.id, account_id=second.id, state="queued", idempotency_key="k2",
                             reference="r2"))
    db.session.flush()
    push_summary.refresh([order.id])
    db.session.commit()
    assert state(order) == "in_flight"
    # the order is cancelled: nothing waits any more for it (a waiting push row included)
    OrderPush.query.filter_by(order_id=order.id, account_id=second.id).update({"state": "waiting"})
    for item in db.session.get(Order, order.id).items:
        uc.cancel_item(item, "ops@example.test")
    assert state(order) == "pushed"


def test_release_moves_the_summary_to_failed(app_ctx, factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    order = factory.order(site, paid=True, items=[READY])
    push = OrderPush(order_id=order.id, account_id=account.id, state="pushing", idempotency_key="k",
                     reference="r", attempts=1)
    db.session.add(push)
    db.session.flush()
    push_summary.refresh([order.id])
    db.session.commit()
    assert state(order) == "in_flight"
    release_stuck_push(push, account.admin)
    assert state(order) == "failed"


@pytest.mark.parametrize("n", [3, 400])
def test_refresh_is_one_statement_for_many_orders(app_ctx, factory, make_shipstation_account, n):
    site = factory.site()
    make_shipstation_account(site)
    ids = [factory.order(site, paid=True, items=[READY]).id for _ in range(n)]
    Order.query.update({"push_state": "none"})
    db.session.commit()
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert push_summary.refresh(ids) == n
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    assert len(statements) == 1
    assert {s for (s,) in db.session.query(Order.push_state).filter(Order.id.in_(ids))} == {"waiting"}


def test_the_filter_ignores_an_unknown_value_with_a_message(app_ctx, factory, client, login):
    site = factory.site()
    order = factory.order(site)
    login(factory.admin(sites=[site]))
    response = client.get("/orders?push=bogus")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and order.number in page and "Some filters were not applied" in page


def test_maintenance_puts_a_stale_in_flight_summary_right(app_ctx, factory, make_shipstation_account):
    from webapp.embedded.maintenance import run_maintenance

    site = factory.site()
    account, _ = make_shipstation_account(site)
    order = factory.order(site, paid=True, items=[READY])
    db.session.add(OrderPush(order_id=order.id, account_id=account.id, state="pushed", idempotency_key="k",
                             reference="r"))
    Order.query.filter_by(id=order.id).update({"push_state": "in_flight"})  # as a lost race leaves it
    db.session.commit()
    assert run_maintenance()["push_summaries"] == 1
    assert state(order) == "pushed"


def test_cli_lists_orders_by_push_state_like_the_lists(app, app_ctx, factory, make_shipstation_account):
    import json

    site = factory.site()
    account, _ = make_shipstation_account(site)
    waiting = factory.order(site, paid=False, items=[READY])
    failed = factory.order(site, paid=True, items=[READY])
    db.session.add(OrderPush(order_id=failed.id, account_id=account.id, state="failed", idempotency_key="k",
                             reference="r", errors=["Ship-to country ZZ is not valid."]))
    db.session.flush()
    push_summary.refresh([waiting.id, failed.id])
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orders", "list", "--push", "failed", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [o["number"] for o in report["orders"]] == [failed.number] and report["total"] == 1
    assert report["orders"][0]["accounts"][0]["why"] == "Ship-to country ZZ is not valid."
    text = runner.invoke(args=["orders", "list", "--site", site.slug, "--push", "waiting"]).output
    assert waiting.number in text and "not marked as paid" in text and failed.number not in text
    assert runner.invoke(args=["orders", "list", "--push", "bogus"]).exit_code == 2


def _bulk_sync(account, site) -> list[str]:
    """A Synchronize "orders" run (bulk createorders); returns the push_state UPDATEs it sent."""
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run

    run = request_run(account, ["orders"], "ops@example.test", site=site)
    db.session.commit()
    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE ORDERS SET PUSH_STATE"):
            seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        execute_run(run.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_a_bulk_chunk_refreshes_the_summary_once_with_its_outcome(app_ctx, factory, make_shipstation_account):
    """A chunk is in flight for one request only: its orders go from waiting to pushed with one
    summary UPDATE; a request that fails as a whole leaves each order in flight for its retry
    (push.py's path refreshes them), never "waiting" or a stale "pushed"."""
    site = factory.site()
    account, sim = make_shipstation_account(site)
    orders = [factory.order(site, paid=True, items=[READY]) for _ in range(3)]
    push_summary.refresh_and_commit(o.id for o in orders)  # the factory does not keep the summary
    assert {state(o) for o in orders} == {"waiting"}
    updates = _bulk_sync(account, site)
    assert {state(o) for o in orders} == {"pushed"}
    assert len(updates) == 1, updates

    site2 = factory.site()
    account2, sim2 = make_shipstation_account(site2)
    orders2 = [factory.order(site2, paid=True, items=[READY]) for _ in range(3)]
    sim2.faults(fail_next=[{"status": 503}])
    _bulk_sync(account2, site2)
    assert {state(o) for o in orders2} == {"in_flight"}  # queued again with a backoff
    assert {p.state for p in OrderPush.query.filter_by(account_id=account2.id)} == {"queued"}
