"""Releasing a push stuck in "pushing" (its worker hung or vanished and the admin will not wait
for the lease): an account manager moves it to failed, from where Push Order sends it again.

The same conditional-UPDATE style as push.py: only a row still "pushing" is released, so a
worker finishing at the same moment and a double click cannot both win. The row is marked
ambiguous (the hung attempt may have reached the provider): the next push looks the order
up before creating it. A worker that still finishes later records the truth (pushed)."""
from __future__ import annotations

import logging

from sqlalchemy import update

from ..extensions import db
from ..models import PUSH_FAILED, PUSH_PUSHING, Admin, OrderEvent, OrderPush, utcnow
from . import push_summary
from .account_access import can_manage

log = logging.getLogger(__name__)


class ReleaseRefused(Exception):
    pass


def release_stuck_push(push: OrderPush | None, admin: Admin) -> None:
    if push is None:
        raise ReleaseRefused("This order has no push for that account; nothing to release.")
    if not can_manage(admin, push.account):
        raise ReleaseRefused("Only an admin who manages this account can release its push.")
    note = f"Released by {admin.email} while pushing (attempt {push.attempts}); push it again when ready."
    now = utcnow()
    released = db.session.execute(
        update(OrderPush).where(OrderPush.id == push.id, OrderPush.state == PUSH_PUSHING)
        .values(state=PUSH_FAILED, errors=[note], error_kind="unknown", lease_until=None, next_attempt_at=None,
                ambiguous=True, updated_at=now))
    if released.rowcount != 1:
        db.session.rollback()
        raise ReleaseRefused("This push is no longer running; nothing to release.")
    db.session.add(OrderEvent(order_id=push.order_id, actor=admin.email, kind="push_released",
                              detail=f"Push to {push.account.name} released by {admin.email} (was stuck in pushing)."))
    push_summary.refresh([push.order_id])
    db.session.commit()
    log.warning("push released push=%s by admin=%s", push.id, admin.id)
