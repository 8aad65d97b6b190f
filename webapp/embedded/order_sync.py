"""The "push orders" part of a synchronization: every order of the site placed in the last
30 days that qualifies and was not pushed yet; a not-ready order is logged with why."""
from __future__ import annotations

from datetime import timedelta

from ..extensions import db
from ..models import PUSH_FAILED, PUSH_PUSHED, PUSH_WAITING, Order, OrderPush, utcnow
from . import push as push_uc
from .eligibility import check

LOOKBACK = timedelta(days=30)
CHUNK = 100


def push_recent_orders(ctx, account, site) -> None:
    since = utcnow() - LOOKBACK
    order_ids = [row.id for row in Order.query.filter(Order.site_id == site.id, Order.placed_at >= since)
                 .order_by(Order.placed_at, Order.id).with_entities(Order.id).all()]
    ctx.stage(ctx.run.stage, total=len(order_ids))
    states = {p.order_id: p.state for p in OrderPush.query.filter(OrderPush.account_id == account.id,
                                                                  OrderPush.order_id.in_(order_ids)).all()}
    to_push: list[int] = []
    for order_id in order_ids:
        if states.get(order_id) == PUSH_PUSHED:
            ctx.count("unchanged")
            ctx.progress()
            continue
        order = db.session.get(Order, order_id)
        eligibility = check(order)
        if not eligibility.ok:
            ctx.count("skipped")
            ctx.progress()
            ctx.log(f"Order {order.number} skipped: {' '.join(eligibility.reasons)}", "warning", order_id=order.id)
            continue
        push = push_uc.ensure_push(order, account)
        if push_uc.to_queued(push.id, (PUSH_WAITING, PUSH_FAILED)):
            to_push.append(push.id)
        else:
            ctx.count("skipped")
            ctx.progress()
            ctx.log(f"Order {order.number} skipped: a push is already {push.state}.", order_id=order.id)
    ctx.beat()
    for start in range(0, len(to_push), CHUNK):
        chunk = to_push[start:start + CHUNK]
        outcomes = push_uc.push_many(chunk, account)
        for push_id, outcome in outcomes.items():
            push = db.session.get(OrderPush, push_id)
            if outcome == "pushed":
                ctx.count("created")
                ctx.log(f"Order {push.order.number} pushed as {push.external_number}.", order_id=push.order_id)
            elif outcome == "retrying":
                ctx.count("failed")
                ctx.log(f"Order {push.order.number}: {' '.join(push.errors)}", "warning", order_id=push.order_id)
            elif outcome == "failed":
                ctx.count("failed")
                ctx.log(f"Order {push.order.number} failed: {' '.join(push.errors)}", "error", order_id=push.order_id)
            else:
                ctx.count("skipped")
                ctx.log(f"Order {push.order.number} skipped ({outcome}).", order_id=push.order_id)
        ctx.progress(len(chunk))
        ctx.beat()
