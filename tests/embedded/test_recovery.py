"""A worker killed mid-push: the lease expires and the push completes once, without a duplicate."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from webapp.embedded.maintenance import run_maintenance
from webapp.extensions import db
from webapp.models import OrderPush, utcnow
from webapp.queue import PUSH, get_queue
from webapp.storefront import orders as uc


def test_expired_lease_is_recovered_and_pushed_once(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()  # pushed once
    # Simulate a worker that claimed a re-push, sent it, and was SIGKILLed before recording the answer.
    push = OrderPush.query.one()
    db.session.execute(update(OrderPush).where(OrderPush.id == push.id).values(
        state="pushing", lease_until=utcnow() - timedelta(seconds=1), ambiguous=True))
    db.session.commit()
    get_queue(PUSH).empty()
    assert run_maintenance()["pushes"] == 1
    run_worker()
    db.session.expire_all()
    assert OrderPush.query.one().state == "pushed"
    assert sim.stats()["orders"] == 1


def test_queued_push_whose_job_was_lost_is_re_enqueued(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops@example.test")
    get_queue(PUSH).empty()  # Redis lost the job
    db.session.execute(update(OrderPush).values(queued_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert run_maintenance()["pushes"] == 1
    run_worker()
    db.session.expire_all()
    assert OrderPush.query.one().state == "pushed"
    assert sim.stats()["orders"] == 1
