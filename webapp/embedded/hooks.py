"""Wires storefront events to Embedded Services: an order change, once committed, may
queue pushes. A failure here never undoes or hides the admin's change."""
from __future__ import annotations

import logging

from ..storefront.orders import order_changed

log = logging.getLogger(__name__)


def on_order_changed(order_id: int, reason: str = "") -> None:
    from . import push_summary
    from .push import queue_automatic_pushes

    try:
        queued = queue_automatic_pushes(order_id)
        # The order's readiness (or its pushes) may have changed its summary: recomputed after
        # the pushes were queued, from what is committed.
        push_summary.refresh_and_commit([order_id])
        if queued:
            log.info("order %s changed (%s): queued pushes %s", order_id, reason, queued)
    except Exception:  # Redis down, etc.: the reaper re-enqueues queued rows later
        log.exception("could not queue pushes for order %s after %s", order_id, reason)
        from ..extensions import db
        db.session.rollback()


def init_app(app) -> None:
    order_changed.connect(on_order_changed, weak=False)
