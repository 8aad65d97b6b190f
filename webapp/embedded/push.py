"""Pushing orders to provider accounts, exactly once.

State lives in OrderPush (one row per order and account). Every transition is a
conditional UPDATE, so a double click, two workers or a retried job cannot both act:
  waiting/failed/pushed --request--> queued --claim--> pushing --> pushed | failed | queued (retry)
A worker holds a pushing row under a lease; a killed worker's lease expires and the row
is queued again (push_recovery). Re-sending is safe because every push carries the same idempotency key
(ShipStation orderKey upsert) or, for providers without one, looks the order up first after
any failure that may have reached the provider (``may_have_reached``) or a worker that died
mid-push; a multi-call push resumes from its checkpoint (ctx.checkpoint).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException
from sqlalchemy import case, or_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (PUSH_FAILED, PUSH_PUSHED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, ItemPush, Order,
                      OrderEvent, OrderPush, ProviderAccount, SiteActivation, utcnow)
from ..providers import errors as pe
from . import account_status, push_coalesce, push_summary
from .accounts import record_exchanges
from .clients import client_for
from .context import build_order_context, item_external_number
from .eligibility import check
from .jobs import push_order_job

log = logging.getLogger(__name__)

BACKOFF_CAP = 600.0
# A job released this early (RQ's scheduler vs our clock) still counts as on time.
DUE_GRACE = 2.0
# Failures of our side, not the provider's: they propagate (the job fails visibly, the lease
# expires, recovery re-queues). RQ's job timeout is an Exception too and must never be
# mistaken for a provider bug and answered with more database work.
OUR_INFRASTRUCTURE = (DBAPIError, RedisError, JobTimeoutException)


def _lease() -> timedelta:
    """How long a worker holds a pushing row (PUSH_LEASE_SECONDS, 5 min by default): longer
    than any single push may take, so the job timeout never exceeds it."""
    return timedelta(seconds=current_app.config["PUSH_LEASE_SECONDS"])


def stale_queued_after() -> timedelta:
    """A queued row with no progress this long gets a new job (PUSH_STALE_QUEUED_SECONDS)."""
    return timedelta(seconds=current_app.config["PUSH_STALE_QUEUED_SECONDS"])


QUEUE_DOWN = ("saved as queued, but the background queue is unreachable right now; it will be sent "
              "automatically once the queue is back")


class NotEligible(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Requested:
    account: ProviderAccount
    queued: bool
    message: str


def order_reference(order: Order, account: ProviderAccount) -> str:
    """Our order number in the external system: unique per account, stable, recognisable."""
    return f"{order.number}-ES{account.id}"


def idempotency_key(order: Order, account: ProviderAccount) -> str:
    return f"es{account.id}-o{order.id}-{order.number}"[:120]


def _live_activations(order: Order, account_id: int | None = None) -> list[SiteActivation]:
    query = SiteActivation.query.filter_by(site_id=order.site_id, enabled=True, is_live=True)
    if account_id is not None:
        query = query.filter_by(account_id=account_id)
    return [a for a in query.order_by(SiteActivation.account_id).all()
            if a.account.provider.capabilities.push_orders]


def ensure_push(order: Order, account: ProviderAccount) -> OrderPush:
    push = OrderPush.query.filter_by(order_id=order.id, account_id=account.id).first()
    if push is None:
        push = OrderPush(order_id=order.id, account_id=account.id, state=PUSH_WAITING, reasons=[], errors=[],
                         idempotency_key=idempotency_key(order, account), reference=order_reference(order, account))
        db.session.add(push)
        db.session.flush()
    return push


def to_queued(push_id: int, allowed_from: tuple[str, ...]) -> bool:
    """Atomically move to queued; False when another click/job already did. A new request
    starts a new count of attempts (the cap applies per request, not per order's lifetime)."""
    result = db.session.execute(
        update(OrderPush).where(OrderPush.id == push_id, OrderPush.state.in_(allowed_from))
        .values(state=PUSH_QUEUED, queued_at=utcnow(), next_attempt_at=None, reasons=[], attempts=0,
                updated_at=utcnow())
    )
    return result.rowcount == 1


def queue_automatic_pushes(order_id: int) -> list[int]:
    """Called after a committed order change: queue a push to every live account once the
    order qualifies; otherwise record why it is waiting. Never re-pushes a pushed order."""
    order = db.session.get(Order, order_id)
    if order is None:
        return []
    activations = _live_activations(order)
    if not activations:
        return []
    eligibility = check(order)
    queued = []
    for activation in activations:
        push = ensure_push(order, activation.account)
        if not eligibility.ok:
            if push.state == PUSH_WAITING:
                push.reasons = eligibility.reasons
            continue
        if push.state == PUSH_WAITING and to_queued(push.id, (PUSH_WAITING,)):
            queued.append(push.id)
    db.session.commit()
    for push_id in queued:
        push_order_job.enqueue(push_id)
    return queued


def request_push(order: Order, account_id: int | None = None) -> list[Requested]:
    """The Push Order button / CLI: resubmit to every live account (or one). Refuses with
    the reasons when the order does not qualify. A push already queued or running is left
    alone, so a double click gives one job."""
    eligibility = check(order)
    if not eligibility.ok:
        raise NotEligible(eligibility.reasons)
    activations = _live_activations(order, account_id)
    if not activations:
        raise NotEligible(["No account is enabled and live for this order's site."
                           if account_id is None else "That account is not enabled and live on this order's site."])
    outcome, to_enqueue = [], []
    for activation in activations:
        push = ensure_push(order, activation.account)
        if to_queued(push.id, (PUSH_WAITING, PUSH_FAILED, PUSH_PUSHED)):
            to_enqueue.append(push.id)
            outcome.append(Requested(activation.account, True, "queued"))
        else:
            outcome.append(Requested(activation.account, False, f"already {push.state}"))
    push_summary.refresh([order.id])
    db.session.commit()
    try:
        for push_id in to_enqueue:
            push_order_job.enqueue(push_id)
    except RedisError:
        # The rows are committed as queued: maintenance gives them a job once the queue is back.
        log.exception("push requested but not queued (queue unavailable) pushes=%s", to_enqueue)
        for requested in outcome:
            if requested.queued:
                requested.message = QUEUE_DOWN
    return outcome


# ---- the job --------------------------------------------------------------------------

def _claim(push_id: int):
    """queued (or pushing under an expired lease) → pushing, not committed: the caller commits
    it together with what it decided. Returns what the attempt must read under the claim (the
    checkpoint, the remote id, ambiguity) or None when another worker holds the row."""
    now = utcnow()
    return db.session.execute(
        update(OrderPush)
        .where(OrderPush.id == push_id,
               or_(OrderPush.state == PUSH_QUEUED,
                   (OrderPush.state == PUSH_PUSHING) & (OrderPush.lease_until < now)))
        .values(state=PUSH_PUSHING, attempts=OrderPush.attempts + 1, lease_until=now + _lease(), updated_at=now,
                # a lease that ran out: the worker died mid-push, maybe after a create call
                ambiguous=case((OrderPush.state == PUSH_PUSHING, True), else_=OrderPush.ambiguous))
        .returning(OrderPush.ambiguous, OrderPush.checkpoint, OrderPush.external_id)
        .execution_options(synchronize_session=False)).first()


def _prepare(push: OrderPush):
    """Read everything the attempt needs before claiming it (no write lock held meanwhile):
    the reasons to wait, or (context, {line: item id}, client)."""
    order, account = push.order, push.account
    activation = SiteActivation.query.filter_by(site_id=order.site_id, account_id=account.id).first()
    if activation is None or not (activation.enabled and activation.is_live):
        return ["The site is no longer live for this account."]
    eligibility = check(order)
    if not eligibility.ok:
        return eligibility.reasons
    client = client_for(account)
    ctx = build_order_context(order, push, activation, eligibility.items)
    return ctx, {item.line_number: item.id for item in eligibility.items}, client


def run_push(push_id: int) -> str:
    """One attempt, two commits: the claim (with the decision to wait, when the order no longer
    qualifies), then the outcome. The row's checkpoint and remote id are read by the claim
    itself, so a context built just before it never carries another attempt's stale ones."""
    # The account in the same statement, without its activations (_prepare reads the one it needs).
    push = db.session.get(OrderPush, push_id, options=[
        joinedload(OrderPush.account).lazyload(ProviderAccount.activations)])
    if push is None or push.state not in (PUSH_QUEUED, PUSH_PUSHING):
        db.session.rollback()
        log.info("push skipped push=%s (not queued)", push_id)
        return "skipped"
    if push.state == PUSH_QUEUED and push.next_attempt_at is not None \
            and push.next_attempt_at > utcnow() + timedelta(seconds=DUE_GRACE):
        # An earlier job of a push that has since been rescheduled (it went along in a bulk
        # request that was turned away): the job scheduled for next_attempt_at sends it.
        db.session.rollback()
        log.info("push skipped push=%s (not due before %s)", push_id, push.next_attempt_at)
        return "skipped"
    account = push.account
    if push.state == PUSH_QUEUED and push_coalesce.coalesces(account):
        chunk = push_coalesce.take_along(push_id, account)
        if chunk != [push_id]:  # others go along (or another worker holds this one)
            return push_coalesce.push_together(push_id, chunk, account)
    try:
        prepared, error = _prepare(push), None
    except OUR_INFRASTRUCTURE:
        db.session.rollback()
        raise
    except Exception as exc:  # a bug building the context: an attempt like any other (claimed below)
        log.exception("push crashed push=%s", push_id)
        prepared, error = None, pe.ProviderCrash.wrapping(exc)
    claimed = _claim(push_id)
    if claimed is None:
        db.session.rollback()
        log.info("push skipped push=%s (not queued, or held by another worker)", push_id)
        return "skipped"
    if isinstance(prepared, list):
        return _back_to_waiting(push_id, prepared)
    if error is not None:
        db.session.commit()
        return _failed_attempt(push_id, error, client_for(account))
    ctx, item_ids, client = prepared
    ctx.checkpoint, ctx.existing_external_id = dict(claimed.checkpoint or {}), claimed.external_id
    try:
        _require_settings(account, ctx)
    except pe.ProviderConfigError as exc:
        db.session.commit()
        return _failed_attempt(push_id, exc, client)
    lookup = claimed.ambiguous and account.provider.capabilities.order_lookup
    account_name = account.name  # read before the commit expires it: the outcome needs no reload of the account
    db.session.commit()  # the claim; no transaction (or pooled connection) is held during provider HTTP
    try:
        result = client.find_order(ctx) if lookup else None  # the last attempt may have created it
        if result is None:
            result = client.push_order(ctx)
    except pe.ProviderError as exc:
        return _failed_attempt(push_id, exc, client)
    except OUR_INFRASTRUCTURE:
        # Our own database or Redis hiccuped, or the job ran out of time — not the provider:
        # fail the job visibly (RQ's failed registry) and leave the row under its lease, which
        # the maintenance job re-queues once it expires (up to the attempt cap) — never a red
        # bar for an order the provider never refused.
        db.session.rollback()
        raise
    except Exception as exc:  # a bug: an attempt like any other, visible, final at the cap
        log.exception("push crashed push=%s", push_id)
        return _failed_attempt(push_id, pe.ProviderCrash.wrapping(exc), client)
    return _record_success(push_id, result, item_ids, client, account_name)


def _record_success(push_id: int, result, item_ids: dict[int, int], client, account_name: str) -> str:
    """_succeeded, where an answer our code cannot store (a provider returning the wrong
    shape) is a crashed attempt, not a job error leaving the row 'pushing'."""
    try:
        outcome = _succeeded(push_id, result, item_ids, client, account_name)
    except OUR_INFRASTRUCTURE:
        db.session.rollback()
        raise  # our infrastructure: the lease expires and recovery re-queues (up to the cap)
    except Exception as exc:
        log.exception("push result could not be recorded push=%s", push_id)
        return _failed_attempt(push_id, pe.ProviderCrash.wrapping(exc), client)
    account_status.call_succeeded(client)  # nothing written when the account is verified already
    return outcome


def push_many(push_ids: list[int], account: ProviderAccount) -> dict[int, str]:
    """Push several queued orders of one account: in one bulk request where the provider has
    one (ShipStation createorders; push_bulk), else one by one. Same claims and outcomes as run_push."""
    if not account.provider.capabilities.bulk_push:
        return {push_id: run_push(push_id) for push_id in push_ids}
    from .push_bulk import push_chunk

    return {push_id: o.outcome for push_id, o in push_chunk(push_ids, account, client_for(account)).items()}


def may_have_reached(exc: pe.ProviderError, client) -> bool:
    """After this failure, could something exist at the provider? Ambiguous errors (timeout,
    5xx), and any failure after a call that changes data got an answer or timed out — in a
    multi-call push the first create may have worked before a later call failed."""
    return exc.ambiguous or any(
        x.method not in ("GET", "HEAD", "OPTIONS") and (x.status is not None or x.error == "read timeout")
        for x in client.exchanges)


def _require_settings(account: ProviderAccount, ctx) -> None:
    missing = account.provider.missing_settings(ctx)
    if missing:
        raise pe.ProviderConfigError(f"{account.provider.name} needs settings that are missing:",
                                     field_errors={"": missing})


def _back_to_waiting(push_id: int, reasons: list[str]) -> str:
    """pushing → waiting (the order or its site stopped qualifying), committed with the claim."""
    db.session.execute(update(OrderPush).where(OrderPush.id == push_id)
                       .values(state=PUSH_WAITING, reasons=reasons, lease_until=None, updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    push_summary.refresh_for_pushes([push_id])
    db.session.commit()
    return "waiting"


def _fit(value, length: int) -> str | None:
    """A provider's value cut to its column: an odd answer is stored, never a failed commit
    (PostgreSQL refuses over-long strings) that would leave the push 'pushing' forever."""
    return None if value is None else str(value)[:length]


def _succeeded(push_id: int, result, item_ids: dict[int, int], client, account_name: str) -> str:
    """pushed, in one commit; nothing is read back after it (bench/starved_push: round trips)."""
    push = db.session.get(OrderPush, push_id)
    now = utcnow()
    push.state, push.pushed_at, push.errors, push.error_kind = PUSH_PUSHED, now, [], None
    push.external_id, push.external_number = _fit(result.external_id, 200), _fit(result.external_number, 200)
    push.external_status, push.ambiguous, push.lease_until, push.next_attempt_at = (
        _fit(result.external_status, 100) or None, False, None, None)
    existing = {ip.item_id: ip for ip in push.items}
    for item_result in result.items:
        item_id = item_ids.get(item_result.line_number)
        if item_id is None:
            continue
        row = existing.get(item_id)
        if row is None:
            row = ItemPush(push=push, item_id=item_id, external_number="")
            db.session.add(row)
        row.external_id = _fit(item_result.external_id, 200)
        row.external_number = _fit(item_result.external_number or item_external_number(push, item_result.line_number),
                                   120)
        row.external_status = _fit(item_result.external_status, 100) or None
        row.external_order_id = _fit(item_result.external_order_id, 100) or None
        row.pushed_at = now
    record_exchanges(push.account_id, "order", push.order_id, client.exchanges)
    _history(push, "pushed", f"Pushed to {account_name} as {push.external_number or push.external_id} "
                             f"(attempt {push.attempts}).")
    push_summary.refresh([push.order_id])
    logged = (push_id, push.order_id, push.account_id, push.external_id)
    db.session.commit()
    log.info("push ok push=%s order=%s account=%s external=%s", *logged)
    return "pushed"


def _history(push: OrderPush, kind: str, detail: str) -> None:
    """Every push attempt's outcome shows in the order's History."""
    db.session.add(OrderEvent(order_id=push.order_id, actor="Embedded Services", kind=kind, detail=detail[:1000]))


def backoff(attempt: int) -> float:
    """Full jitter: spreads retries so a provider outage does not end in a synchronized storm."""
    base = current_app.config["PUSH_BACKOFF_BASE"]
    return random.uniform(base, max(base, min(BACKOFF_CAP, base * 2 ** max(0, attempt - 1))))


def _failed_attempt(push_id: int, exc: pe.ProviderError, client) -> str:
    db.session.rollback()
    push = db.session.get(OrderPush, push_id)
    push.ambiguous = push.ambiguous or may_have_reached(exc, client)
    push.lease_until = None
    if isinstance(exc, pe.ProviderRateLimited):
        push.attempts = max(0, push.attempts - 1)  # waiting for a window is not a failed attempt
    record_exchanges(push.account_id, "order", push.order_id, client.exchanges)
    retry = exc.transient and push.attempts < current_app.config["PUSH_MAX_ATTEMPTS"]
    if retry:
        delay = exc.retry_after if exc.retry_after is not None else backoff(push.attempts)
        push.state, push.next_attempt_at = PUSH_QUEUED, utcnow() + timedelta(seconds=delay)
        push.errors = [f"Attempt {push.attempts} failed, retrying in {delay:.0f}s: {' '.join(exc.messages())}"]
        push.error_kind = exc.kind
        _history(push, "push retry", push.errors[0])
        db.session.commit()
        # Back for its rate-limit turn: ahead of queued pushes with no turn yet (a slot left idle is lost).
        push_order_job.enqueue(push_id, delay=delay, at_front=isinstance(exc, pe.ProviderRateLimited))
        log.warning("push retry push=%s in=%.1fs kind=%s", push_id, delay, exc.kind)
        return "retrying"
    push.state, push.errors, push.error_kind, push.next_attempt_at = PUSH_FAILED, exc.messages(), exc.kind, None
    account_status.call_failed(push.account, exc, f"Push of order {push.order.number}")
    _history(push, "push failed", f"Push to {push.account.name} failed (attempt {push.attempts}): "
                                  + " ".join(push.errors))
    push_summary.refresh([push.order_id])
    db.session.commit()
    log.warning("push failed push=%s kind=%s errors=%s", push_id, exc.kind, push.errors)
    return "failed"
