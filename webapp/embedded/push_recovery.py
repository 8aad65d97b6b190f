"""Push recovery, run by the maintenance job: pushes whose job was lost (a worker killed, Redis
flushed) get a new job; a push whose attempts ran out without ever finishing ends failed."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import or_, update

from ..extensions import db
from ..models import PUSH_FAILED, PUSH_PUSHING, PUSH_QUEUED, OrderEvent, OrderPush, utcnow
from . import push_summary
from .jobs import push_order_job
from .push import stale_queued_after

log = logging.getLogger(__name__)


def _waiting_in_queue() -> set[int]:
    """Push ids whose job is still waiting in its queue (a backlog, not a lost job)."""
    from ..queue import get_queue

    ids = set()
    for job_id in get_queue(push_order_job.queue).get_job_ids():
        parts = job_id.split("-")
        if len(parts) >= 2 and parts[0] == "push" and parts[1].isdigit():
            ids.add(int(parts[1]))
    return ids


def recover_stale_pushes() -> int:
    """Re-enqueue pushes whose job was lost (worker killed, Redis flushed): leases that
    expired, and queued rows overdue by PUSH_STALE_QUEUED_SECONDS whose job is not still
    waiting in the queue (a long backlog must not be multiplied by recovery). Safe to run
    from any process. An expired lease whose attempts reached PUSH_MAX_ATTEMPTS ends failed
    instead: a push that crashes its worker every time is not re-queued forever."""
    now = utcnow()
    _give_up_exhausted_leases(now)
    stale_queued = stale_queued_after()
    stale = OrderPush.query.filter(or_(
        (OrderPush.state == PUSH_PUSHING) & (OrderPush.lease_until < now),
        (OrderPush.state == PUSH_QUEUED) & (OrderPush.next_attempt_at.is_(None))
        & (OrderPush.queued_at < now - stale_queued),
        (OrderPush.state == PUSH_QUEUED) & (OrderPush.next_attempt_at < now - stale_queued),
    )).with_entities(OrderPush.id, OrderPush.state).order_by(OrderPush.id).limit(5000).all()
    waiting = _waiting_in_queue() if any(row.state == PUSH_QUEUED for row in stale) else set()
    ids = [row.id for row in stale if not (row.state == PUSH_QUEUED and row.id in waiting)][:500]
    if ids:
        db.session.execute(update(OrderPush).where(OrderPush.id.in_(ids))
                           .values(queued_at=now, next_attempt_at=None))
        db.session.commit()
    for push_id in ids:
        push_order_job.enqueue(push_id)
    if ids:
        log.warning("recovered %s stale pushes", len(ids))
    return len(ids)


GAVE_UP = ("Stopped after {attempts} attempts: the last one never finished (its worker stopped, or our "
           "database or queue failed during the push). The provider may have the order; Push Order sends it "
           "again safely.")


def _give_up_exhausted_leases(now) -> int:
    """Expired leases with no attempt left end failed, visibly (conditional UPDATE: a worker
    that finishes the push meanwhile wins)."""
    cap = current_app.config["PUSH_MAX_ATTEMPTS"]
    rows = (OrderPush.query.filter(OrderPush.state == PUSH_PUSHING, OrderPush.lease_until < now,
                                   OrderPush.attempts >= cap)
            .with_entities(OrderPush.id, OrderPush.order_id, OrderPush.attempts, OrderPush.errors)
            .limit(500).all())
    for row in rows:
        errors = [GAVE_UP.format(attempts=row.attempts)] + [e for e in (row.errors or [])][:5]
        done = db.session.execute(update(OrderPush).where(OrderPush.id == row.id, OrderPush.state == PUSH_PUSHING,
                                                          OrderPush.lease_until < now)
                                  .values(state=PUSH_FAILED, errors=errors, error_kind="unknown", lease_until=None,
                                          next_attempt_at=None, updated_at=now))
        if done.rowcount == 1:  # like every push outcome, it shows in the order's History
            db.session.add(OrderEvent(order_id=row.order_id, actor="Embedded Services", kind="push failed",
                                      detail=errors[0]))
    if rows:
        push_summary.refresh(row.order_id for row in rows)
        db.session.commit()
        log.warning("gave up %s pushes whose attempts ran out without finishing: %s", len(rows),
                    [row.id for row in rows])
    return len(rows)
