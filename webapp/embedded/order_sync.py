"""The "push orders" part of a synchronization: every order of the site placed in the last
30 days that qualifies and was not pushed yet; a not-ready order is logged with why."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_

from ..extensions import db
from ..models import PUSH_FAILED, PUSH_PUSHED, PUSH_WAITING, Order, OrderPush, utcnow
from ..providers.errors import ProviderRateLimited
from . import push as push_uc
from .eligibility import check

LOOKBACK = timedelta(days=30)
CHUNK = 100  # orders per page of this stage (one bulk push each)


def push_recent_orders(ctx, account, site, client, budget) -> bool:
    """One slice: chunks of orders after the cursor (placed_at, id) of the last chunk done.
    Returns True when every recent order was handled, False when the slice's budget is spent."""
    cursor = ctx.cursor or {}
    # A backlog run (go_live) has its own window, fixed when it was asked for.
    since = datetime.fromisoformat(ctx.checkpoint["since"]) if ctx.checkpoint.get("since") else utcnow() - LOOKBACK
    recent = Order.query.filter(Order.site_id == site.id, Order.placed_at >= since)
    if ctx.checkpoint.get("backlog"):
        recent = recent.filter(Order.paid.is_(True))  # an unpaid order never qualified
    if not cursor:
        if ctx.checkpoint.get("backlog"):
            ctx.log(f"Pushing the orders placed since {since:%Y-%m-%d %H:%M} UTC that qualified before "
                    f"{site.name} went live and were never pushed to {account.name}.")
        ctx.set_total(recent.count())
    while not budget.exhausted:
        query = recent
        if cursor:
            after = datetime.fromisoformat(cursor["placed_at"])
            query = query.filter(or_(Order.placed_at > after, and_(Order.placed_at == after, Order.id > cursor["id"])))
        chunk = query.order_by(Order.placed_at, Order.id).limit(CHUNK).all()
        if not chunk:
            return True
        resume_at = _push_chunk(ctx, account, chunk)
        last = chunk[-1]
        cursor = {"placed_at": last.placed_at.isoformat(), "id": last.id}
        ctx.save_cursor(cursor)
        ctx.progress(len(chunk))
        budget.spend()
        ctx.beat()
        if resume_at is not None:  # the next chunk would meet the same limit: the run waits too
            raise ProviderRateLimited("the provider's rate limit stopped a bulk push",
                                      retry_after=max(1.0, (resume_at - utcnow()).total_seconds()))
        if len(chunk) < CHUNK:
            return True
    return False


def _push_chunk(ctx, account, orders: list[Order]):
    """Push a chunk in one bulk request; returns when the provider's rate limit lifts if it
    stopped the request (its orders are then retried by the push queue at that time)."""
    states = {p.order_id: p.state for p in OrderPush.query.filter(
        OrderPush.account_id == account.id, OrderPush.order_id.in_([o.id for o in orders])).all()}
    to_push: list[int] = []
    backlog = ctx.checkpoint.get("backlog")
    for order in orders:
        if states.get(order.id) == PUSH_PUSHED:
            ctx.count("unchanged")
            continue
        if backlog and states.get(order.id) not in (None, PUSH_WAITING):  # failed or in flight: not backlog
            ctx.count("unchanged")
            continue
        eligibility = check(order)
        if not eligibility.ok:
            ctx.count("skipped")
            ctx.log(f"Order {order.number} skipped: {' '.join(eligibility.reasons)}", "warning", order_id=order.id)
            continue
        push = push_uc.ensure_push(order, account)
        if push_uc.to_queued(push.id, (PUSH_WAITING, PUSH_FAILED)):
            to_push.append(push.id)
        else:
            ctx.count("skipped")
            ctx.log(f"Order {order.number} skipped: a push is already {push.state}.", order_id=order.id)
    if not to_push:
        return None
    ctx.beat()  # queued before the provider is called
    resume_at = None
    for push_id, outcome in push_uc.push_many(to_push, account).items():
        push = db.session.get(OrderPush, push_id)
        if outcome == "retrying" and push.error_kind == "rate_limited":
            # Not a failure: its push job is scheduled for the reset time and pushes it then.
            ctx.count("skipped")
            ctx.log(f"Order {push.order.number}: rate limited; its push is retried at "
                    f"{push.next_attempt_at:%H:%M:%S} UTC.", "warning", order_id=push.order_id)
            resume_at = max(resume_at or push.next_attempt_at, push.next_attempt_at)
        elif outcome == "pushed":
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
    return resume_at
