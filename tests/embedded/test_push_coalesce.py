"""A push job of a bulk provider takes the account's other queued, due pushes along in one
request (webapp/embedded/push_coalesce.py), exactly once."""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import requests
from sqlalchemy import update

from webapp.embedded import push_coalesce
from webapp.embedded.push import request_push, run_push
from webapp.extensions import db
from webapp.models import OrderEvent, OrderPush, utcnow
from webapp.providers.shipstation import ShipStation
from webapp.storefront import orders as uc

READY_ITEM = {"approval": "approved"}


def _paid_orders(factory, site, n: int) -> list[int]:
    """n orders marked paid: each queues its automatic push (and its job). Push ids, oldest first."""
    for _ in range(n):
        uc.mark_paid(factory.order(site, paid=False, items=[READY_ITEM]), "ops@example.test")
    return [p.id for p in OrderPush.query.order_by(OrderPush.id)]


def _creates(sim) -> dict[str, int]:
    recorded = requests.get(f"{sim.api}/_sim/requests", timeout=10).json()["requests"]
    return {kind: sum(1 for r in recorded if r["path"].endswith(f"/orders/{kind}"))
            for kind in ("createorder", "createorders")}


def _states(ids) -> list[str]:
    db.session.expire_all()
    return [db.session.get(OrderPush, i).state for i in ids]


def _pushed_once(ids) -> None:
    db.session.expire_all()
    for push_id in ids:
        push = db.session.get(OrderPush, push_id)
        assert push.state == "pushed" and push.attempts == 1, (push_id, push.state, push.errors)
        assert OrderEvent.query.filter_by(order_id=push.order_id, kind="pushed").count() == 1


def test_queued_pushes_of_a_bulk_account_go_out_in_one_request_once(factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 5)
    assert run_push(ids[2]) == "pushed"
    _pushed_once(ids)
    assert _creates(sim) == {"createorder": 0, "createorders": 1}
    assert sim.stats()["orders"] == 5 and sim.stats()["duplicate_order_numbers"] == 0
    # the other pushes' own jobs find their row pushed and skip, sending nothing
    assert [run_push(i) for i in ids if i != ids[2]] == ["skipped"] * 4
    assert _creates(sim) == {"createorder": 0, "createorders": 1}
    _pushed_once(ids)


def test_a_push_waiting_for_its_backoff_is_not_taken_along(factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 4)
    later = utcnow() + timedelta(seconds=60)
    db.session.execute(update(OrderPush).where(OrderPush.id == ids[1]).values(next_attempt_at=later))
    # a failed push requested again with the Push Order button is queued with no backoff: it goes along
    db.session.execute(update(OrderPush).where(OrderPush.id == ids[3]).values(state="failed"))
    db.session.commit()
    [requested] = request_push(db.session.get(OrderPush, ids[3]).order, account.id)
    assert requested.queued
    assert run_push(ids[0]) == "pushed"
    assert _states(ids) == ["pushed", "queued", "pushed", "pushed"]
    assert _creates(sim) == {"createorder": 0, "createorders": 1}
    # its earlier job (before the backoff) skips; the job scheduled for its time sends it
    assert run_push(ids[1]) == "skipped"
    assert _states(ids)[1] == "queued"
    db.session.execute(update(OrderPush).where(OrderPush.id == ids[1]).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert run_push(ids[1]) == "pushed"
    assert _creates(sim) == {"createorder": 1, "createorders": 1}  # nothing else was queued: alone
    assert sim.stats()["orders"] == 4


def test_a_provider_without_bulk_push_pushes_one_by_one(factory, make_shipstation_account, monkeypatch):
    monkeypatch.setattr(ShipStation, "capabilities", dataclasses.replace(ShipStation.capabilities, bulk_push=False))
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 3)
    assert run_push(ids[0]) == "pushed"
    assert _states(ids) == ["pushed", "queued", "queued"]
    assert [run_push(i) for i in ids[1:]] == ["pushed", "pushed"]
    assert _creates(sim) == {"createorder": 3, "createorders": 0}


def test_coalescing_can_be_switched_off(app, factory, make_shipstation_account, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_COALESCE", False)
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 2)
    assert run_push(ids[0]) == "pushed"
    assert _states(ids) == ["pushed", "queued"]
    assert _creates(sim) == {"createorder": 1, "createorders": 0}


def test_a_push_claimed_by_another_worker_meanwhile_is_not_sent_twice(factory, make_shipstation_account,
                                                                       monkeypatch):
    """Another worker claims one of the rows between this job's look at the queue and its claim:
    the claim (a conditional UPDATE) leaves it to that worker."""
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 5)
    look = push_coalesce.take_along

    def look_then_lose_one(push_id, acct):
        chunk = look(push_id, acct)
        assert chunk == ids
        db.session.execute(update(OrderPush).where(OrderPush.id == ids[3]).values(
            state="pushing", attempts=1, lease_until=utcnow() + timedelta(minutes=5)))
        return chunk
    monkeypatch.setattr(push_coalesce, "take_along", look_then_lose_one)
    assert run_push(ids[0]) == "pushed"
    assert _states(ids) == ["pushed", "pushed", "pushed", "pushing", "pushed"]
    assert sim.stats()["orders"] == 4
    db.session.expire_all()
    assert db.session.get(OrderPush, ids[3]).attempts == 1  # claimed once, by the other worker only


def test_workers_starting_together_send_every_order_once(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ids = _paid_orders(factory, site, 30)
    workers = [threading.Thread(target=run_worker) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    _pushed_once(ids)
    stats = sim.stats()
    assert stats["orders"] == 30 and stats["duplicate_order_numbers"] == 0
    creates = _creates(sim)
    assert creates["createorder"] == 0 and 1 <= creates["createorders"] <= 3  # at most one per worker
