"""The "push orders" part of a synchronization: every order of the site placed in the last
30 days that qualifies and was not pushed yet; a not-ready order is logged with why."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import PUSH_PUSHED, PUSH_WAITING, Order, OrderPush, utcnow
from ..providers.errors import ProviderRateLimited
from . import push as push_uc
from . import order_rows, push_bulk, push_summary
from .clients import client_for
from .eligibility import check

LOOKBACK = timedelta(days=30)
CHUNK = 100  # orders per page of this stage (one bulk push each)


def push_recent_orders(ctx, account, site, client, budget) -> bool:
    """One slice: chunks of orders after the cursor (placed_at, id) of the last chunk done.
    Returns True when every recent order was handled, False when the slice's budget is spent."""
    if not account.provider.capabilities.bulk_push:
        return _push_recent_orders(ctx, account, site, budget)
    # A bulk chunk commits three times (claims, results, checkpoint) and reads its orders and
    # pushes as plain rows (order_rows) and its push rows' states by Core statements: nothing
    # it decides on comes from an ORM object. Expiring the run, account and site at each commit
    # only reloaded them (3-5 SELECTs per chunk, the run's own values: one slice job works on
    # it at a time). A rollback (push.py's failure path) still expires everything.
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        return _push_recent_orders(ctx, account, site, budget)
    finally:
        session.expire_on_commit = previous


def _push_recent_orders(ctx, account, site, budget) -> bool:
    cursor = ctx.cursor or {}
    # A backlog run (go_live) has its own window, fixed when it was asked for.
    since = datetime.fromisoformat(ctx.checkpoint["since"]) if ctx.checkpoint.get("since") else utcnow() - LOOKBACK
    recent = [Order.site_id == site.id, Order.placed_at >= since]
    if ctx.checkpoint.get("backlog"):
        recent.append(Order.paid.is_(True))  # an unpaid order never qualified
    if not cursor:
        if ctx.checkpoint.get("backlog"):
            ctx.log(f"Pushing the orders placed since {since:%Y-%m-%d %H:%M} UTC that qualified before "
                    f"{site.name} went live and were never pushed to {account.name}.")
        ctx.set_total(db.session.scalar(select(func.count()).select_from(Order).where(*recent)))
    first = True
    while not budget.exhausted:
        if not first and budget.urgent_waiting():
            # A push or webhook waits: the slice ends between chunks, not one order into the
            # next chunk (a bulk request and a chunk's statements for a single order).
            return False
        first = False
        query = list(recent)
        if cursor:
            after = datetime.fromisoformat(cursor["placed_at"])
            query.append(or_(Order.placed_at > after, and_(Order.placed_at == after, Order.id > cursor["id"])))
        # plain rows (order_rows): read only, and cheap to build and to keep across the commits
        chunk = order_rows.orders(and_(*query), order_by=(Order.placed_at, Order.id), limit=CHUNK)
        if not chunk:
            return True
        keys = [(o.placed_at, o.id) for o in chunk]
        resume_at, handled = _push_chunk(ctx, account, chunk, budget)
        placed_at, last_id = keys[handled - 1]
        cursor = {"placed_at": placed_at.isoformat(), "id": last_id}  # the next chunk of this slice too
        ctx.save_cursor(cursor)
        ctx.progress(handled)
        budget.spend()
        ctx.beat()
        if resume_at is not None:  # the next chunk would meet the same limit: the run waits too
            raise ProviderRateLimited("the provider's rate limit stopped a bulk push",
                                      retry_after=max(1.0, (resume_at - utcnow()).total_seconds()))
        if handled < len(keys):
            return False  # cut short for a waiting push: the next slice goes on from this order
        if len(keys) < CHUNK:
            return True
    return False


def _push_chunk(ctx, account, orders: list[order_rows.OrderRow], budget):
    """Push a chunk in one bulk request; returns (when the provider's rate limit lifts if it
    stopped the request — its orders are then retried by the push queue at that time — and
    how many orders of the chunk were handled). Set-based (push_bulk): a fixed number of
    statements for the chunk, whatever its size. When a push or a webhook starts waiting while
    the chunk is being checked, the orders checked so far are sent and the rest is left to the
    next slice."""
    existing = push_bulk.existing_pushes(account.id, [o.id for o in orders])
    states = {order_id: state for order_id, (_, state) in existing.items()}
    eligible, skipped = [], []
    handled = unchanged = 0
    backlog = ctx.checkpoint.get("backlog")
    for order in orders:
        if handled and budget.urgent_waiting():
            break
        handled += 1
        if states.get(order.id) == PUSH_PUSHED:
            unchanged += 1
            continue
        if backlog and states.get(order.id) not in (None, PUSH_WAITING):  # failed or in flight: not backlog
            unchanged += 1
            continue
        eligibility = check(order)
        if eligibility.ok:
            eligible.append(order)
        else:
            skipped.append((f"Order {order.number} skipped: {' '.join(eligibility.reasons)}", {"order_id": order.id}))
    bulk = account.provider.capabilities.bulk_push
    queued = push_bulk.queue_orders(eligible, account, existing, claim=bool(bulk))
    if not bulk:  # one request after another: the orders show "in flight" while they wait their turn
        push_summary.refresh(queued)
    # A bulk chunk is in flight for one request only: its summary is refreshed once, with the
    # outcome (push_bulk: pushed, waiting, and push.py's path for refused orders).
    busy = [(f"Order {o.number} skipped: a push is already {states.get(o.id, 'in progress')}.", {"order_id": o.id})
            for o in eligible if o.id not in queued]
    if unchanged:
        ctx.count("unchanged", unchanged)
    ctx.count("skipped", len(skipped) + len(busy))
    ctx.log_many(skipped, "warning")
    ctx.log_many(busy)
    if not queued:
        return None, handled
    # Queued and claimed rows are committed (with the run's counters and lines so far) by the
    # chunk before the provider is called.
    client = client_for(account)
    if not bulk:
        outcomes = {push_id: _one(push_id) for push_id in queued.values()}
    else:
        outcomes = push_bulk.push_chunk(list(queued.values()), account, client, {o.id: o for o in eligible},
                                        claimed=True)
    return _report(ctx, outcomes), handled


def _one(push_id: int) -> push_bulk.Outcome:
    """A provider without a bulk call: one push at a time, reported like a bulk chunk's."""
    outcome = push_uc.run_push(push_id)
    push = db.session.get(OrderPush, push_id)
    return push_bulk.Outcome(outcome, push.order_id, push.order.number, push.external_number,
                             list(push.errors or []), push.error_kind, push.next_attempt_at)


def _report(ctx, outcomes: dict) -> datetime | None:
    """Counters and run log lines for a chunk's outcomes (one INSERT per level)."""
    resume_at, lines, counts = None, {"info": [], "warning": [], "error": []}, Counter()
    for o in outcomes.values():
        ref = {"order_id": o.order_id}
        if o.outcome == "retrying" and o.error_kind == "rate_limited":
            # Not a failure: its push job is scheduled for the reset time and pushes it then.
            counts["skipped"] += 1
            lines["warning"].append((f"Order {o.number}: rate limited; its push is retried at "
                                     f"{o.next_attempt_at:%H:%M:%S} UTC.", ref))
            resume_at = max(resume_at or o.next_attempt_at, o.next_attempt_at)
        elif o.outcome == "pushed":
            counts["created"] += 1
            lines["info"].append((f"Order {o.number} pushed as {o.external_number}.", ref))
        elif o.outcome == "retrying":
            counts["failed"] += 1
            lines["warning"].append((f"Order {o.number}: {' '.join(o.errors)}", ref))
        elif o.outcome == "failed":
            counts["failed"] += 1
            lines["error"].append((f"Order {o.number} failed: {' '.join(o.errors)}", ref))
        else:
            counts["skipped"] += 1
            lines["info"].append((f"Order {o.number} skipped ({o.outcome}).", ref))
    for outcome, n in counts.items():
        ctx.count(outcome, n)
    for level, entries in lines.items():
        if entries:
            ctx.log_many(entries, level)
    return resume_at
