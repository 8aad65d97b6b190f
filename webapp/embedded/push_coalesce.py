"""Automatic pushes sent together: a push job of an account whose provider has a bulk call
(ShipStation ``createorders``) takes the account's other queued, due pushes along in one
request, through the set-based chunk of push_bulk (same claims, same outcomes). Their own jobs
then find the rows no longer queued and skip. A burst of N orders thus costs a few requests
instead of N, and a few worker slots instead of N jobs in a row.

Exactly once rests on push_bulk's claim (a conditional UPDATE): only the rows the claim moved
are sent. On PostgreSQL the rows taken along are also locked with SKIP LOCKED first, so
workers starting together split the queue instead of waiting on each other's rows (and two
overlapping claims can never deadlock). A push waiting for its backoff (next_attempt_at in the
future) is not taken early; a push requested again (Push Order) has none and goes along.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import case, or_, select

from ..extensions import db
from ..models import PUSH_QUEUED, OrderPush, ProviderAccount, utcnow
from .clients import client_for

log = logging.getLogger(__name__)


def coalesces(account: ProviderAccount) -> bool:
    return bool(account.provider.capabilities.bulk_push and current_app.config.get("PUSH_COALESCE", True))


def take_along(push_id: int, account: ProviderAccount) -> list[int]:
    """This push (first) and the account's other queued pushes that are due, oldest first,
    up to the provider's bulk size; rows another worker is taking right now are left to it.
    Not committed: the caller's claim runs in the same transaction."""
    own = OrderPush.id == push_id
    return list(db.session.scalars(
        select(OrderPush.id)
        .where(OrderPush.account_id == account.id, OrderPush.state == PUSH_QUEUED,
               or_(own, OrderPush.next_attempt_at.is_(None), OrderPush.next_attempt_at <= utcnow()))
        .order_by(case((own, 0), else_=1), OrderPush.id)
        .limit(max(1, account.provider.bulk_push_size))
        .with_for_update(skip_locked=True)))


def push_together(push_id: int, push_ids: list[int], account: ProviderAccount) -> str:
    """Send the chunk in one bulk request; this job's outcome is its own push's ("skipped"
    when another worker has it)."""
    from .push_bulk import push_chunk

    account_id = account.id  # the chunk's commits expire the account
    outcomes = push_chunk(push_ids, account, client_for(account)) if push_ids else {}
    mine = outcomes.get(push_id)
    log.info("push sent together push=%s account=%s chunk=%s outcomes=%s", push_id, account_id, len(push_ids),
             _count(outcomes))
    return mine.outcome if mine is not None else "skipped"


def _count(outcomes: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts
