"""The "push orders" part of a synchronization: every order of the site placed in the last
30 days that qualifies and was not pushed yet; a not-ready order is logged with why."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select

from ..extensions import db
from ..models import PUSH_PUSHED, PUSH_WAITING, Order, OrderPush, utcnow
from ..providers.errors import ProviderRateLimited
from . import push as push_uc
from . import account_status, order_rows, push_bulk, push_summary
from .clients import client_for
from .eligibility import check

LOOKBACK = timedelta(days=30)
CHUNK = 100  # orders per page of this stage (one bulk push each)
# While a bulk request is on its way its thread builds, encodes and parses JSON; each database
# call of the recording thread gives up the GIL and, at Python's default 5 ms switch interval,
# waited up to that long to get it back (an UPDATE of 1 ms took 7, bench/status_sync).
SWITCH_INTERVAL = 0.0005


def push_recent_orders(ctx, account, site, client, budget) -> bool:
    """One slice: chunks of orders after the cursor (placed_at, id) of the last chunk done.
    Returns True when every recent order was handled, False when the slice's budget is spent."""
    if not account.provider.capabilities.bulk_push:
        return _push_recent_orders(ctx, account, site, budget)
    # A bulk chunk commits twice (claims; results with the checkpoint) and reads its orders and
    # pushes as plain rows (order_rows) and its push rows' states by Core statements: nothing
    # it decides on comes from an ORM object. Expiring the run, account and site at each commit
    # only reloaded them (3-5 SELECTs per chunk, the run's own values: one slice job works on
    # it at a time). A rollback (push.py's failure path) still expires everything.
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        return _push_recent_bulk(ctx, account, site, budget)
    finally:
        session.expire_on_commit = previous


def chunks_after(ctx, account, site):
    """The stage's window of orders; returns ``read(cursor)``: the next chunk of it after the
    cursor (placed_at, id) as plain rows (order_rows: read only, cheap to build and to keep
    across the commits). Counts the window for the progress bar when the stage starts."""
    # A backlog run (go_live) has its own window, fixed when it was asked for.
    since = _aware(datetime.fromisoformat(ctx.checkpoint["since"])) if ctx.checkpoint.get("since") \
        else utcnow() - LOOKBACK
    window = [Order.site_id == site.id]
    if ctx.checkpoint.get("backlog"):
        window.append(Order.paid.is_(True))  # an unpaid order never qualified
    if not ctx.cursor:
        if ctx.checkpoint.get("backlog"):
            ctx.log(f"Pushing the orders placed since {since:%Y-%m-%d %H:%M} UTC that qualified before "
                    f"{site.name} went live and were never pushed to {account.name}.")
        ctx.set_total(db.session.scalar(select(func.count()).select_from(Order).where(*window,
                                                                                     Order.placed_at >= since)))

    first = and_(*window, Order.placed_at >= since)
    # One lower bound on placed_at, the cursor's: the index range starts there. With the
    # window's start as a bound too, SQLite walked the index from the window's start (it keeps
    # one of two bounds on a column, the first) and filtered; with the OR alone PostgreSQL did
    # the same (5.4 ms a chunk at 5,000 orders, bench/status_sync). Built once, given the
    # cursor's values at each read (order_rows.orders).
    after, after_id = bindparam("after", type_=Order.placed_at.type), bindparam("after_id", type_=Order.id.type)
    following = and_(*window, Order.placed_at >= bindparam("lower", type_=Order.placed_at.type),
                     or_(Order.placed_at > after, and_(Order.placed_at == after, Order.id > after_id)))

    def read(cursor: dict) -> list[order_rows.OrderRow]:
        if not cursor:
            return order_rows.orders(first, order_by=(Order.placed_at, Order.id), limit=CHUNK)
        moment = _aware(datetime.fromisoformat(cursor["placed_at"]))
        return order_rows.orders(following, order_by=(Order.placed_at, Order.id), limit=CHUNK,
                                 params={"lower": max(since, moment), "after": moment, "after_id": cursor["id"]})
    return read


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def cursor_of(order: order_rows.OrderRow) -> dict:
    return {"placed_at": order.placed_at.isoformat(), "id": order.id}


def _push_recent_orders(ctx, account, site, budget) -> bool:
    """A provider without a bulk call: each chunk's orders pushed one after another."""
    read, cursor = chunks_after(ctx, account, site), ctx.cursor or {}
    first = True
    while not budget.exhausted:
        if not first and budget.urgent_waiting():
            # A push or webhook waits: the slice ends between chunks, not one order into the
            # next chunk.
            return False
        first = False
        chunk = read(cursor)
        if not chunk:
            return True
        queued, _, handled, notes = queue_chunk(account, chunk, budget, backlog=bool(ctx.checkpoint.get("backlog")),
                                                claim=False)
        notes.apply(ctx)
        push_summary.refresh(queued)  # the orders show "in flight" while they wait their turn
        outcomes = {push_id: _one(push_id) for push_id in queued.values()}
        resume_at = report(ctx, outcomes)
        cursor = cursor_of(chunk[handled - 1])  # the next chunk of this slice too
        ctx.save_cursor(cursor)
        ctx.progress(handled)
        budget.spend()
        ctx.beat()
        if resume_at is not None:  # the next order would meet the same limit: the run waits too
            raise rate_limited(resume_at)
        if handled < len(chunk):
            return False  # cut short for a waiting push: the next slice goes on from this order
        if len(chunk) < CHUNK:
            return True
    return False


class _Sent:
    """A bulk chunk claimed and committed whose request runs in the background (``sender``),
    with what the run's report says of the orders it skipped (``notes``) and where the run's
    cursor goes once its answer is recorded."""

    def __init__(self, sender, app, client, chunk, last_order, handled: int, notes: ChunkNotes):
        self.client, self.chunk, self.last_order, self.handled, self.notes = client, chunk, last_order, handled, notes
        self.future = sender.submit(_send, app, client, chunk) if chunk is not None and chunk.prepared else None
        self._answer = None

    def answer(self) -> tuple[list | None, BaseException | None]:
        """(results, None) or (None, the error that failed the request), waited for once."""
        if self._answer is None:
            try:
                self._answer = (self.future.result() if self.future else None, None)
            except Exception as exc:  # noqa: BLE001 — recorded by push_bulk.record_chunk
                self._answer = (None, exc)
        return self._answer

    def stopped_by_rate_limit(self) -> bool:
        return isinstance(self.answer()[1], ProviderRateLimited)


def _send(app, client, chunk: push_bulk.PreparedChunk) -> list:
    with app.app_context():  # the provider layer reads the install's settings
        return client.push_orders_bulk(chunk.contexts)


def _push_recent_bulk(ctx, account, site, budget) -> bool:
    """A provider with a bulk call: each chunk in one request, and while a chunk's request is
    on its way the previous chunk's answer is recorded (and the next chunk read) — the
    request's time is hidden behind the database work instead of added to it (bench/
    status_sync). One request at a time, as before; a chunk is claimed (committed) before its
    request is sent, and a request the provider's limit stopped is not followed by another."""
    read = chunks_after(ctx, account, site)
    app = current_app._get_current_object()
    backlog = bool(ctx.checkpoint.get("backlog"))
    sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-push")
    sent, finished, verified = None, False, False  # verified: by this slice (clients built before say not)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        orders = read(ctx.cursor or {})
        while not budget.exhausted:
            if sent is not None:
                sent.answer()  # the request in flight ends before another chunk is claimed
                if sent.stopped_by_rate_limit():
                    break  # recorded below: its orders are retried when the limit lifts, the run waits
                if budget.urgent_waiting():
                    break  # a push or webhook waits: the slice ends between chunks
            if not orders:
                finished = True
                break
            budget.spend()
            previous, sent = sent, _claim_and_send(sender, app, account, orders, budget, backlog)
            if previous is not None:
                verified = _record(ctx, previous, verify=not verified) or verified
            if sent.handled < len(orders):
                break  # cut short for a waiting push: the next slice goes on from this order
            if len(orders) < CHUNK:
                finished = True
                break
            # Read after the recording, not right after the request was handed over: then the
            # sender builds and encodes the request, and a SQLite read handing the GIL back
            # and forth with it at every row took 10 ms instead of 0.5 (bench/status_sync).
            orders = read(cursor_of(orders[-1]))
        if sent is not None:
            last, sent = sent, None
            _record(ctx, last, verify=not verified)
        return finished
    finally:
        # On an error the request in flight still ends (its pushes stay claimed until their
        # lease expires, as after a crash); nothing waits on it beyond the provider timeout.
        sender.shutdown(wait=True)
        sys.setswitchinterval(switch)


def _claim_and_send(sender, app, account, orders, budget, backlog: bool) -> _Sent:
    """A chunk's orders queued and claimed, built and committed, its request handed to
    ``sender``."""
    queued, eligible, handled, notes = queue_chunk(account, orders, budget, backlog=backlog, claim=True)
    client = client_for(account)
    chunk = push_bulk.prepare_chunk(list(queued.values()), account, client, {o.id: o for o in eligible},
                                    claimed=True) if queued else None
    return _Sent(sender, app, client, chunk, orders[handled - 1], handled, notes)


def _record(ctx, sent: _Sent, verify: bool = True) -> bool:
    """A chunk's answer recorded, reported and checkpointed: one commit (the beat's). Lost
    with the process before it, the claimed pushes are re-queued when their lease ends, as
    after a crash during the request (bench/status_sync: a commit less per chunk).
    ``verify``: an accepted request verifies the account (True when this one did)."""
    resume_at, outcomes = None, None
    if sent.chunk is not None:
        results, error = sent.answer()
        outcomes = push_bulk.record_chunk(sent.chunk, sent.client, results, error, commit=False) \
            if sent.chunk.prepared else sent.chunk.outcomes
    sent.notes.apply(ctx)  # after record_chunk: recording a refusal starts with a rollback
    if outcomes is not None:
        resume_at = report(ctx, outcomes)
    ctx.save_cursor(cursor_of(sent.last_order))
    ctx.progress(sent.handled)
    ctx.beat()
    # The chunk's own client, not the stage's: a request it got through verifies the account.
    verified = verify and account_status.calls_accepted(sent.client) and account_status.call_succeeded(sent.client)
    if resume_at is not None:  # the next chunk would meet the same limit: the run waits too
        raise rate_limited(resume_at)
    return verified


def rate_limited(resume_at: datetime) -> ProviderRateLimited:
    return ProviderRateLimited("the provider's rate limit stopped a push of this run",
                               retry_after=max(1.0, (resume_at - utcnow()).total_seconds()))


@dataclass
class ChunkNotes:
    """What a chunk's report says of its orders that were not queued: counted and logged by
    ``apply``, with the chunk's other lines and in its commit (a run resumed after a lost
    slice never counts them twice)."""

    unchanged: int = 0
    skipped: list = field(default_factory=list)  # (line, refs): orders that do not qualify
    busy: list = field(default_factory=list)  # (line, refs): a push of theirs is in flight

    def apply(self, ctx) -> None:
        if self.unchanged:
            ctx.count("unchanged", self.unchanged)
        ctx.count("skipped", len(self.skipped) + len(self.busy))
        ctx.log_many(self.skipped, "warning")
        ctx.log_many(self.busy)


def queue_chunk(account, orders: list[order_rows.OrderRow], budget, *, backlog: bool, claim: bool):
    """A chunk's orders that qualify and are not pushed yet, queued (``claim``: claimed by
    this worker, for a bulk request) in a fixed number of statements; the others counted in
    the notes. When a push or a webhook starts waiting while the chunk is being checked, the
    orders checked so far are queued and the rest is left to the next slice. Returns
    ({order id: push id} queued, the orders that qualified, how many orders were handled,
    the ChunkNotes of the others)."""
    existing = push_bulk.existing_pushes(account.id, [o.id for o in orders])
    states = {order_id: state for order_id, (_, state) in existing.items()}
    eligible, notes = [], ChunkNotes()
    handled = 0
    for order in orders:
        if handled and budget.urgent_waiting():
            break
        handled += 1
        if states.get(order.id) == PUSH_PUSHED:
            notes.unchanged += 1
            continue
        if backlog and states.get(order.id) not in (None, PUSH_WAITING):  # failed or in flight: not backlog
            notes.unchanged += 1
            continue
        eligibility = check(order)
        if eligibility.ok:
            eligible.append(order)
        else:
            notes.skipped.append((f"Order {order.number} skipped: {' '.join(eligibility.reasons)}",
                                  {"order_id": order.id}))
    queued = push_bulk.queue_orders(eligible, account, existing, claim=claim)
    notes.busy = [(f"Order {o.number} skipped: a push is already {states.get(o.id, 'in progress')}.",
                   {"order_id": o.id}) for o in eligible if o.id not in queued]
    return queued, eligible, handled, notes


def _one(push_id: int) -> push_bulk.Outcome:
    """A provider without a bulk call: one push at a time, reported like a bulk chunk's."""
    outcome = push_uc.run_push(push_id)
    push = db.session.get(OrderPush, push_id)
    return push_bulk.Outcome(outcome, push.order_id, push.order.number, push.external_number,
                             list(push.errors or []), push.error_kind, push.next_attempt_at)


def report(ctx, outcomes: dict) -> datetime | None:
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
    for level, entries in lines.items():
        if entries:
            ctx.log_many(entries, level)
    for outcome, n in counts.items():  # after the lines: written with the checkpoint, not flushed by them
        ctx.count(outcome, n)
    return resume_at
