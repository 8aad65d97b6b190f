"""Processing stored webhook events in batches, exactly once.

State machine on the event row, every transition a conditional UPDATE:

    received ──claim──▶ processing ──▶ processed | failed
        ▲                   │ transient provider error (attempts < MAX): received, due_at = backoff
        └── lease expired ──┘ (the worker died): received again (recover_stale)

A drain job claims up to BATCH due events in one statement (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serialises writers), fetches each distinct resource once, and applies the
whole batch's updates in the transaction that also marks its events processed — so a crash
mid-batch leaves them "processing" with nothing applied, and the lease brings them back.
Applying a status update is idempotent (unchanged items are left alone), which covers a batch
larger than one apply chunk too.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from queue import SimpleQueue

from flask import current_app

from redis.exceptions import RedisError
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import ProviderAccount, WebhookEvent, utcnow
from ..providers.errors import ProviderError
from .clients import client_for
from .status_sync import apply_updates

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH = 50                 # events claimed (and applied) together
DRAIN_SECONDS = 10         # a drain job hands over to a fresh job after this: pushes get their turn
LEASE_SECONDS = 180        # a claim's lease; longer than the drain job's timeout (jobs.py)
FETCH_THREADS = 4          # resource fetches in flight per drain job


def claim(limit: int = BATCH, event_id: int | None = None) -> list[int]:
    """Move up to ``limit`` due received events (or just ``event_id``) to processing, oldest
    first; returns their ids. Two claimers never get the same event."""
    now = utcnow()
    if event_id is not None:
        chosen = [event_id]
    else:
        pick = (select(WebhookEvent.id).where(WebhookEvent.state == "received",
                                              or_(WebhookEvent.due_at.is_(None), WebhookEvent.due_at <= now))
                .order_by(WebhookEvent.id).limit(limit))
        if db.session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        chosen = pick
    statement = (update(WebhookEvent)
                 .where(WebhookEvent.id.in_(chosen), WebhookEvent.state == "received")
                 .values(state="processing", attempts=WebhookEvent.attempts + 1,
                         due_at=now + timedelta(seconds=LEASE_SECONDS))
                 .returning(WebhookEvent.id)
                 .execution_options(synchronize_session=False))
    ids = sorted(db.session.execute(statement).scalars())
    db.session.commit()
    return ids


def process_one(event_id: int) -> str:
    ids = claim(event_id=event_id)
    if not ids:
        return "skipped"  # processed already (a replayed job) or being processed
    return process_batch(ids).get(event_id, "skipped")


def drain(budget_seconds: float = DRAIN_SECONDS, batch: int = BATCH) -> dict:
    """The drain job: claim and process batches until none is due or the budget is spent."""
    from .webhooks import DRAIN_FLAG, signal_drain

    _redis_call(lambda redis: redis.delete(DRAIN_FLAG))  # before the first claim: see webhooks.DRAIN_FLAG
    counts: Counter = Counter()
    fanned_out = False
    deadline = time.monotonic() + budget_seconds
    while True:
        ids = claim(batch)
        if not ids:
            break
        if len(ids) == batch and not fanned_out:
            _redis_call(lambda redis: signal_drain())  # a backlog: let an idle worker drain alongside
            fanned_out = True
        counts.update(process_batch(ids).values())
        if time.monotonic() >= deadline:
            _redis_call(lambda redis: signal_drain())
            break
    if counts:
        log.info("webhook drain %s", dict(counts))
    return dict(counts)


def _redis_call(fn) -> None:
    from ..queue import get_redis

    try:
        fn(get_redis())
    except RedisError:  # the database holds the events; recovery queues a drain later
        log.warning("webhook drain: queue unavailable", exc_info=True)


def process_batch(ids: list[int]) -> dict[int, str]:
    """Process claimed events; returns {event id: processed | failed | retrying}."""
    rows = db.session.execute(select(WebhookEvent.id, WebhookEvent.account_id, WebhookEvent.payload,
                                     WebhookEvent.attempts)
                              .where(WebhookEvent.id.in_(ids), WebhookEvent.state == "processing")
                              .order_by(WebhookEvent.id)).all()
    by_account = defaultdict(list)
    for row in rows:
        by_account[row.account_id].append(row)
    outcomes: dict[int, str] = {}
    for account_id, account_rows in by_account.items():
        outcomes.update(_process_account(account_id, account_rows))
    return outcomes


def _process_account(account_id: int, rows) -> dict[int, str]:
    account = db.session.get(ProviderAccount, account_id)
    outcomes: dict[int, str] = {}
    too_many = [row for row in rows if row.attempts > MAX_ATTEMPTS]  # a worker died on it every time
    for row in too_many:
        outcomes[row.id] = _finish(row.id, "failed", f"Processing was interrupted {row.attempts - 1} times.")
    rows = [row for row in rows if row.attempts <= MAX_ATTEMPTS]
    if account is None or not rows:
        return outcomes
    fetched, exchanges = _fetch_all(account, list(dict.fromkeys(row.payload for row in rows)))
    good: list = []
    retry_delays = []
    for row in rows:
        result = fetched[row.payload]
        if isinstance(result, Exception):
            outcome, delay = _failure(row, result)
            outcomes[row.id] = outcome
            if delay is not None:
                retry_delays.append(delay)
        else:
            good.append((row.id, result))
    if good:
        outcomes.update(_apply(account, good))
    if exchanges:
        from .accounts import record_exchanges

        record_exchanges(account.id, "account", account.id, exchanges)
        db.session.commit()
    if retry_delays:
        from .jobs import drain_webhooks_job

        _redis_call(lambda redis: drain_webhooks_job.enqueue(delay=min(retry_delays)))
    return outcomes


def _fetch_all(account, payloads: list[str]) -> tuple[dict[str, object], list]:
    """{payload: its updates, or the exception that stopped it} — each distinct payload (so each
    resource) fetched once, FETCH_THREADS at a time: a fetch is mostly waiting for the provider.
    Each thread uses a client of its own (a client's HTTP session and auth are not shared)."""
    app = current_app._get_current_object()
    clients = [client_for(account) for _ in range(max(1, min(FETCH_THREADS, len(payloads))))]
    if len(clients) == 1:
        results = {payload: _fetch_one(clients[0], payload) for payload in payloads}
    else:
        idle: SimpleQueue = SimpleQueue()
        for client in clients:
            idle.put(client)

        def fetch(payload: str):
            client = idle.get()
            try:
                with app.app_context():  # metrics and config are read through the app
                    return payload, _fetch_one(client, payload)
            finally:
                idle.put(client)

        with ThreadPoolExecutor(len(clients), thread_name_prefix="webhook-fetch") as pool:
            results = dict(pool.map(fetch, payloads))
    return results, [x for client in clients for x in client.exchanges]


def _fetch_one(client, payload: str):
    try:
        return list(client.process_webhook(payload.encode()))
    except Exception as exc:  # noqa: BLE001 — a provider error or bug fails this event only
        if not isinstance(exc, ProviderError):
            log.exception("webhook processing crashed (provider code)")
        return exc


def _apply(account, good: list) -> dict[int, str]:
    """Every good event's updates, and their processed mark, in one transaction; a failure
    there (a bug on one odd update) falls back to one event at a time so the rest still land."""
    try:
        _apply_together(account, good)
        return {event_id: "processed" for event_id, _ in good}
    except Exception:  # noqa: BLE001
        db.session.rollback()
        if len(good) == 1:
            event_id = good[0][0]
            log.exception("webhook processing crashed event=%s", event_id)
            return {event_id: _finish(event_id, "failed", _unexpected())}
    outcomes = {}
    for item in good:
        outcomes.update(_apply(account, [item]))
    return outcomes


def _unexpected() -> str:
    import sys

    exc = sys.exc_info()[1]
    return f"Unexpected error: {type(exc).__name__}: {exc}"


def _apply_together(account, good: list) -> None:
    ids = [event_id for event_id, _ in good]

    def stream():
        for _, updates in good:
            yield from updates
        # Queued after the last update, so it commits with the last chunk of applies.
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids), WebhookEvent.state == "processing")
                           .values(state="processed", processed_at=utcnow(), error=None, due_at=None)
                           .execution_options(synchronize_session=False))

    changed, unchanged = apply_updates(account, stream())
    log.info("webhook events processed account=%s events=%s changed=%s unchanged=%s",
             account.id, len(ids), changed, unchanged)


def _failure(row, exc: Exception) -> tuple[str, float | None]:
    message = " ".join(exc.messages()) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ProviderError):
        return _finish(row.id, "failed", f"Unexpected error: {message}"), None
    if exc.transient and row.attempts < MAX_ATTEMPTS:
        delay = float(exc.retry_after or 10 * row.attempts)
        _finish(row.id, "received", message, due_at=utcnow() + timedelta(seconds=delay))
        return "retrying", delay
    return _finish(row.id, "failed", message), None


def _finish(event_id: int, state: str, error: str, due_at=None) -> str:
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.state == "processing")
                       .values(state=state, error=error[:1000], due_at=due_at)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return state


def recover_stale() -> int:
    """Maintenance: events whose claim's lease expired (the worker died) are received again, and
    a drain is queued when due events have waited longer than WEBHOOK_STALE_SECONDS (the queue
    was down at intake, or Redis lost the job). Claims are atomic: an extra drain is harmless."""
    from flask import current_app

    from .jobs import drain_webhooks_job

    now = utcnow()
    stale = timedelta(seconds=current_app.config["WEBHOOK_STALE_SECONDS"])
    released = db.session.execute(
        update(WebhookEvent).where(WebhookEvent.state == "processing",
                                   or_(WebhookEvent.due_at < now,
                                       WebhookEvent.due_at.is_(None) & (WebhookEvent.received_at < now - stale)))
        .values(state="received", due_at=None).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    waiting = db.session.scalar(
        select(WebhookEvent.id).where(WebhookEvent.state == "received",
                                      or_(WebhookEvent.due_at.is_(None), WebhookEvent.due_at <= now),
                                      or_(WebhookEvent.received_at < now - stale, WebhookEvent.due_at < now - stale))
        .limit(1))
    if released or waiting is not None:
        drain_webhooks_job.enqueue()
        log.warning("webhook events: %s lease(s) expired; drain queued", released)
        return max(released, 1)
    return 0
