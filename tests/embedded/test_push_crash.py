"""A bug in provider code never leaves a push stuck: an unexpected exception is an attempt like
any other, retried up to PUSH_MAX_ATTEMPTS and then final — failed, with the message on the
order tab — and lease recovery gives up on a push whose attempts ran out without finishing."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update

from webapp.embedded.maintenance import run_maintenance
from webapp.embedded.push import push_many
from webapp.extensions import db
from webapp.models import OrderEvent, OrderPush, utcnow
from webapp.providers.shipstation import ShipStation
from webapp.queue import PUSH, QUEUES, get_queue
from webapp.storefront import orders as uc

from ..conftest import ROOT, worker_env

READY_ITEM = {"approval": "approved"}
CAP = 3

# A real `worker.py` process whose ShipStation client has a bug: push_order raises.
CRASHING_WORKER = """
import runpy, sys
from webapp.providers.shipstation import ShipStation
def push_order(self, ctx):
    raise RuntimeError("boom: mapping bug for " + ctx.external_number)
ShipStation.push_order = push_order
sys.argv = ["worker.py", "--burst"]
runpy.run_path("worker.py", run_name="__main__")
"""


def _run_crashing_worker(app) -> None:
    env = {**worker_env(app), "PUSH_MAX_ATTEMPTS": str(CAP), "PUSH_BACKOFF_BASE": "0.05"}
    result = subprocess.run([sys.executable, "-c", CRASHING_WORKER], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    db.session.expire_all()


def _jobs_waiting() -> int:
    """Push jobs waiting or scheduled (maintenance may also queue a status poll: not a push)."""
    queue = get_queue(PUSH)
    return queue.count + len(queue.scheduled_job_registry)


def test_a_crash_in_push_order_is_retried_then_failed_with_its_message(app, client, login, factory,
                                                                       make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    number = order.number
    uc.mark_paid(order, "ops@example.test")

    for _ in range(4 * CAP):  # each burst runs the due retry; the next one waits in RQ's scheduler
        _run_crashing_worker(app)
        push = OrderPush.query.one()
        if push.state not in ("queued", "pushing"):
            break
    push = OrderPush.query.one()
    assert push.state == "failed", (push.state, push.errors)
    assert push.attempts == CAP  # every crash counted as an attempt; the cap made it final
    assert push.lease_until is None and push.next_attempt_at is None
    assert any("RuntimeError: boom: mapping bug" in e for e in push.errors), push.errors
    assert sim.stats()["orders"] == 0

    # Final means final: maintenance re-queues nothing and no job is left waiting.
    assert run_maintenance()["pushes"] == 0
    db.session.expire_all()
    assert OrderPush.query.one().state == "failed" and _jobs_waiting() == 0

    login(factory.admin(is_super=True))
    tab = client.get(f"/orders/{number}/embedded").get_data(as_text=True)
    assert "push-bar-failed" in tab and "RuntimeError: boom: mapping bug" in tab


def test_recovery_gives_up_on_a_lease_that_expired_with_no_attempt_left(app, client, login, factory,
                                                                         make_shipstation_account, monkeypatch):
    """A push that kills its worker (or meets a database error) every time: each claim counts an
    attempt, and at the cap recovery ends it failed instead of re-queueing it forever."""
    monkeypatch.setitem(app.config, "PUSH_MAX_ATTEMPTS", CAP)
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    number = order.number
    uc.mark_paid(order, "ops@example.test")
    get_queue(QUEUES[0]).empty()
    push = OrderPush.query.one()
    expired = utcnow() - timedelta(seconds=1)

    db.session.execute(update(OrderPush).where(OrderPush.id == push.id).values(
        state="pushing", lease_until=expired, attempts=CAP - 1))
    db.session.commit()
    assert run_maintenance()["pushes"] == 1  # an attempt is left: re-queued
    assert _jobs_waiting() == 1
    get_queue(QUEUES[0]).empty()

    db.session.execute(update(OrderPush).where(OrderPush.id == push.id).values(
        state="pushing", lease_until=expired, attempts=CAP))
    db.session.commit()
    assert run_maintenance()["pushes"] == 0
    db.session.expire_all()
    push = OrderPush.query.one()
    assert push.state == "failed" and push.lease_until is None
    assert push.errors[0].startswith(f"Stopped after {CAP} attempts")
    [event] = OrderEvent.query.filter_by(order_id=push.order_id, kind="push failed").all()
    assert event.detail.startswith(f"Stopped after {CAP} attempts")
    assert _jobs_waiting() == 0
    assert run_maintenance()["pushes"] == 0  # and it stays that way

    login(factory.admin(is_super=True))
    tab = client.get(f"/orders/{number}/embedded").get_data(as_text=True)
    assert "push-bar-failed" in tab and f"Stopped after {CAP} attempts" in tab


def test_a_new_push_request_starts_a_new_count_of_attempts(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    db.session.execute(update(OrderPush).values(state="failed", attempts=8))
    db.session.commit()
    from webapp.embedded.push import request_push
    request_push(order)
    assert OrderPush.query.one().attempts == 0
    run_worker()
    push = OrderPush.query.one()
    assert push.state == "pushed" and push.attempts == 1


def test_a_crash_in_a_bulk_push_is_an_attempt_for_every_order(app, factory, make_shipstation_account, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_MAX_ATTEMPTS", CAP)
    site = factory.site()
    account, sim = make_shipstation_account(site)
    orders = [factory.order(site, paid=False, items=[READY_ITEM]) for _ in range(2)]
    for order in orders:
        uc.mark_paid(order, "ops@example.test")

    def crash(self, contexts):
        raise KeyError("orderKey")
    monkeypatch.setattr(ShipStation, "push_orders_bulk", crash)
    outcomes = push_many([p.id for p in OrderPush.query.order_by(OrderPush.id)], account)
    assert list(outcomes.values()) == ["retrying", "retrying"]
    db.session.expire_all()
    for push in OrderPush.query.all():
        assert push.state == "queued" and push.ambiguous and push.attempts == 1
        assert "Unexpected error: KeyError" in push.errors[0]


def test_a_job_timeout_is_not_taken_for_a_provider_bug(app, factory, make_shipstation_account, monkeypatch):
    """RQ's job timeout is an Exception too: it must end the job (lease recovery takes over),
    not be recorded as a crashed attempt with more database work after the deadline."""
    import pytest
    from rq.timeouts import JobTimeoutException

    from webapp.embedded.jobs import push_order_job
    from webapp.embedded.push import run_push

    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[READY_ITEM])
    uc.mark_paid(order, "ops@example.test")
    get_queue(push_order_job.queue).empty()

    def too_slow(self, ctx):
        raise JobTimeoutException("Task exceeded maximum timeout value (3 seconds)")
    monkeypatch.setattr(ShipStation, "push_order", too_slow)
    with pytest.raises(JobTimeoutException):
        run_push(OrderPush.query.one().id)
    db.session.expire_all()
    push = OrderPush.query.one()
    assert push.state == "pushing" and push.lease_until is not None and push.errors == []
