"""Webhook events processed in batches: one drain job for many events, one fetch per resource,
one transaction per batch, a crash mid-batch loses nothing and applies nothing twice."""
from __future__ import annotations

import pytest
import requests

from webapp.embedded import status_sync
from webapp.embedded import webhook_processing as processing
from webapp.embedded.jobs import drain_webhooks_job
from webapp.extensions import db
from webapp.models import OrderEvent, OrderPush, WebhookEvent
from webapp.queue import get_queue
from webapp.storefront import orders as uc


class WorkerDied(BaseException):
    """What a SIGKILL looks like to the code it interrupts: nothing after it runs."""


def _shipped_orders(factory, make_shipstation_account, run_worker, client, n: int):
    """n pushed orders shipped in the simulator, each notified by its own SHIP_NOTIFY (stored, not
    processed yet); returns (account, sim, orders)."""
    site = factory.site()
    account, sim = make_shipstation_account(site)
    orders = [factory.order(site, paid=False, items=[{"approval": "approved"}]) for _ in range(n)]
    for order in orders:
        uc.mark_paid(order, "ops")
    run_worker()
    for i, order in enumerate(orders):
        push = OrderPush.query.filter_by(order_id=order.id).one()
        shipped = sim.control("POST", "ship", orderId=int(push.external_id), trackingNumber=f"1ZBATCH{i}",
                              notify=False)
        body = {"resource_url": shipped["resource_url"], "resource_type": "SHIP_NOTIFY"}
        assert client.post(f"/webhooks/shipstation/{account.webhook_token}", json=body).status_code == 202
    return account, sim, orders


def _fetches(sim) -> int:
    return len([r for r in requests.get(f"{sim.api}/_sim/requests", timeout=10).json()["requests"]
                if r["path"].endswith("/shipments") and r["method"] == "GET"])


def _shipped(orders) -> list[str | None]:
    db.session.expire_all()
    return [order.items[0].tracking_number or None for order in orders]


def test_intake_queues_one_drain_job_for_many_events_and_a_batch_applies_them_all(
        factory, make_shipstation_account, run_worker, client):
    account, sim, orders = _shipped_orders(factory, make_shipstation_account, run_worker, client, 3)
    jobs = get_queue(drain_webhooks_job.queue).get_jobs()
    assert [job.func_name for job in jobs] == [drain_webhooks_job.func_path]  # not one job per event
    assert {e.state for e in WebhookEvent.query.all()} == {"received"}

    assert processing.drain() == {"processed": 3}
    assert _shipped(orders) == ["1ZBATCH0", "1ZBATCH1", "1ZBATCH2"]
    events = WebhookEvent.query.order_by(WebhookEvent.id).all()
    assert [(e.state, e.attempts, e.due_at) for e in events] == [("processed", 1, None)] * 3
    assert _fetches(sim) == 3                       # each resource_url fetched once
    assert processing.drain() == {}                 # nothing left, nothing fetched again
    assert _fetches(sim) == 3


def test_a_crash_mid_batch_applies_nothing_and_the_lease_brings_the_events_back(
        factory, make_shipstation_account, run_worker, client, monkeypatch):
    account, sim, orders = _shipped_orders(factory, make_shipstation_account, run_worker, client, 3)
    real_apply = status_sync.apply_update
    calls = {"n": 0}

    def dies_on_the_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerDied()
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(status_sync, "apply_update", dies_on_the_second)
    with pytest.raises(WorkerDied):
        processing.drain()
    db.session.rollback()  # the dead process's open transaction is gone with it
    monkeypatch.setattr(status_sync, "apply_update", real_apply)

    assert _shipped(orders) == [None, None, None]   # the first event's update was not committed alone
    events = WebhookEvent.query.all()
    assert {(e.state, e.attempts) for e in events} == {("processing", 1)}
    assert processing.claim() == []                 # claimed: no other worker takes them meanwhile
    assert processing.recover_stale() == 0          # the lease has not expired yet

    WebhookEvent.query.update({"due_at": WebhookEvent.received_at})  # ... time passes: lease expired
    db.session.commit()
    assert processing.recover_stale() == 3
    assert processing.drain() == {"processed": 3}
    assert _shipped(orders) == ["1ZBATCH0", "1ZBATCH1", "1ZBATCH2"]
    db.session.expire_all()
    assert {(e.state, e.attempts) for e in WebhookEvent.query.all()} == {("processed", 2)}
    shipments = OrderEvent.query.filter_by(kind="shipment").all()
    assert sorted(e.order_id for e in shipments) == sorted(o.id for o in orders)  # each applied once


def test_one_failing_event_does_not_hold_back_its_batch(factory, make_shipstation_account, run_worker, client):
    account, sim, orders = _shipped_orders(factory, make_shipstation_account, run_worker, client, 3)
    sim.faults(fail_next=[{"status": 503}])         # one fetch (they run side by side): a transient error
    assert processing.drain() == {"retrying": 1, "processed": 2}
    assert _shipped(orders).count(None) == 1
    waiting = WebhookEvent.query.filter_by(state="received").one()
    assert waiting.error and waiting.due_at is not None and waiting.attempts == 1
    assert processing.claim() == []                 # its backoff is not over: not claimed again yet
    WebhookEvent.query.filter_by(id=waiting.id).update({"due_at": waiting.received_at})
    db.session.commit()
    assert processing.drain() == {"processed": 1}
    assert _shipped(orders) == ["1ZBATCH0", "1ZBATCH1", "1ZBATCH2"]


def test_an_event_whose_worker_keeps_dying_ends_failed(factory, make_shipstation_account, run_worker, client):
    account, sim, orders = _shipped_orders(factory, make_shipstation_account, run_worker, client, 1)
    WebhookEvent.query.update({"attempts": processing.MAX_ATTEMPTS})
    db.session.commit()
    assert processing.drain() == {"failed": 1}
    event = WebhookEvent.query.one()
    assert event.state == "failed" and "interrupted" in event.error
    assert _fetches(sim) == 0


def _stored_events(account, n: int) -> list[int]:
    events = [WebhookEvent(account_id=account.id, dedupe_key=f"race-{i}", event_type="SHIP_NOTIFY", payload="{}")
              for i in range(n)]
    db.session.add_all(events)
    db.session.commit()
    return [e.id for e in events]


def test_concurrent_drains_never_claim_the_same_event(app, factory, make_shipstation_account):
    """Several drain jobs run side by side on a backlog (the drain fans out): their claims race,
    and every event goes to exactly one of them, once."""
    import threading

    account, _ = make_shipstation_account(factory.site())
    ids = _stored_events(account, 120)
    start = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def claimer(mine: list[int]) -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                while batch := processing.claim(7):
                    mine.extend(batch)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    every = [event_id for mine in claimed for event_id in mine]
    assert sorted(every) == sorted(ids)                   # each event claimed once, none left behind
    db.session.expire_all()
    assert {(e.state, e.attempts) for e in WebhookEvent.query.all()} == {("processing", 1)}


def test_a_claim_skips_rows_another_claimer_holds_on_postgresql(app, factory, make_shipstation_account):
    """PostgreSQL: a claim does not wait for (or take) the rows another claim is moving."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serialises writers)")
    from sqlalchemy import text

    account, _ = make_shipstation_account(factory.site())
    ids = _stored_events(account, 10)
    with db.engine.connect() as other:
        other.execute(text("SET LOCAL lock_timeout = '5s'"))
        other.execute(text("SELECT id FROM webhook_events WHERE id IN :ids FOR UPDATE")
                      .bindparams(db.bindparam("ids", expanding=True)), {"ids": ids[:4]})
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # a blocked claim fails, never hangs
        assert processing.claim(6) == ids[4:]
        other.rollback()
    assert processing.claim(6) == ids[:4]
