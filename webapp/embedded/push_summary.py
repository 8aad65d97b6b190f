"""An order's Embedded Services state at a glance (``orders.push_state``), kept denormalised so
the orders lists can filter on it through an index and the dashboard can count it.

One definition, the order tab's (push_view): for every account live on the order's site, the
order's push there is
  failed     — its push failed (also for an account no longer live: the red row stays on the tab),
  waiting    — no push yet, or a push waiting for the order (payment, approval, files…, or it
               qualified before the site went live) — unless the order has nothing to push
               (every item cancelled or denied: status "Cancelled"),
  in_flight  — queued or being pushed,
  pushed     — the provider has it;
and the order's summary is the worst of them: failed > waiting > in_flight > pushed > none.

Recomputed by one set-based UPDATE for any number of orders (``refresh``, ``refresh_sites``),
called wherever a push's state, an order's readiness or a site's live accounts change. The
statement only writes rows whose summary actually changes.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (PUSH_FAILED, PUSH_PUSHED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, Order, OrderPush,
                      SiteActivation)
from ..models.orders import ORDER_CANCELLED
from .bulk_sql import dialect_name, ids_in

FAILED, WAITING, IN_FLIGHT, PUSHED, NONE = "failed", "waiting", "in_flight", "pushed", "none"
STATES = (FAILED, WAITING, IN_FLIGHT, PUSHED, NONE)          # worst first
LABELS = {FAILED: "Failed", WAITING: "Waiting", IN_FLIGHT: "In flight", PUSHED: "Pushed", NONE: "Not pushed"}
RANK = {state: n for n, state in enumerate(reversed(STATES))}  # none 0 … failed 4

CHUNK = 1000  # ids per statement (SQLite's bound-parameter limit is far above)


def account_state(push_state: str | None, live: bool, order_status: str) -> str:
    """One account's column value for an order (``push_state`` None: no push row yet) — the
    Python twin of the SQL below, used to render the list's column."""
    if push_state == PUSH_FAILED:
        return FAILED
    if push_state in (PUSH_QUEUED, PUSH_PUSHING):
        return IN_FLIGHT
    if push_state == PUSH_PUSHED:
        return PUSHED
    if live and order_status != ORDER_CANCELLED:  # no push yet, or a waiting one
        return WAITING
    return NONE


def worst(states: Iterable[str]) -> str:
    return max(states, key=RANK.__getitem__, default=NONE)


@functools.cache
def summary_expression():
    """The SQL value of orders.push_state for the order row in the enclosing query: one scalar
    subquery over the order's pushes (one index probe), its worst push computed once by the
    aggregate — 3 failed, 2 queued or pushing, 1 pushed, 0 waiting, NULL without a push.
    Not one EXISTS per state: PostgreSQL may turn such an EXISTS into a hashed subplan reading
    every push of that state (it did wherever order_pushes had no statistics yet — this server
    runs without autovacuum — ~10 ms per order pushed, bench/starved_push). Nor one aggregate
    subquery per CASE branch: up to four probes per order, twice over (SET and WHERE), 7 ms a
    bulk chunk of 100 (bench/status_sync). Built once per process: it has no parameters of its
    own, and building it (and its cache key) cost ~10 ms a call."""
    other = aliased(OrderPush)
    rank = func.max(case((OrderPush.state == PUSH_FAILED, 3),
                         (OrderPush.state.in_((PUSH_QUEUED, PUSH_PUSHING)), 2),
                         (OrderPush.state == PUSH_PUSHED, 1), else_=0))
    waiting = and_(
        Order.status != ORDER_CANCELLED,
        # a live account whose push (if any) is still waiting: the unique (account, order) row
        # is either missing or in state waiting
        exists().where(SiteActivation.site_id == Order.site_id, SiteActivation.enabled.is_(True),
                       SiteActivation.is_live.is_(True),
                       ~exists().where(other.order_id == Order.id, other.account_id == SiteActivation.account_id,
                                       other.state != PUSH_WAITING).correlate_except(other))
        .correlate_except(SiteActivation))
    state = case((rank == 3, FAILED), (waiting, WAITING), (rank == 2, IN_FLIGHT), (rank == 1, PUSHED), else_=NONE)
    return select(state).where(OrderPush.order_id == Order.id).correlate_except(OrderPush).scalar_subquery()


def _update(criterion) -> int:
    value = summary_expression()
    result = db.session.execute(
        # updated_at kept: it says when the order changed, not its pushes
        update(Order).where(criterion, Order.push_state != value).values(push_state=value,
                                                                         updated_at=Order.updated_at)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


@functools.lru_cache(maxsize=4)
def _refresh_statement(dialect: str):
    value = summary_expression()
    return update(Order).where(ids_in(Order.id, "order_ids"), Order.push_state != value) \
        .values(push_state=value, updated_at=Order.updated_at).execution_options(synchronize_session=False)


def refresh(order_ids: Iterable[int]) -> int:
    """Recompute the summary of these orders (in the caller's transaction); returns rows changed.
    One statement per CHUNK ids, built once per process (its cache key alone cost 0.7 ms)."""
    ids = sorted({int(i) for i in order_ids if i is not None})
    changed = 0
    for start in range(0, len(ids), CHUNK):
        result = db.session.execute(_refresh_statement(dialect_name()), {"order_ids": ids[start:start + CHUNK]})
        changed += result.rowcount or 0
    return changed


def refresh_for_pushes(push_ids: Iterable[int]) -> int:
    """Recompute the orders of these pushes (one statement whatever the number)."""
    ids = sorted({int(i) for i in push_ids})
    if not ids:
        return 0
    return _update(Order.id.in_(select(OrderPush.order_id).where(OrderPush.id.in_(ids)).scalar_subquery()))


def refresh_sites(site_ids: Iterable[int]) -> int:
    """Every order of these sites: after an account goes live (or stops being live) there."""
    ids = sorted({int(i) for i in site_ids})
    return _update(Order.site_id.in_(ids)) if ids else 0


def reconcile_in_flight() -> int:
    """Run by maintenance: recompute the orders summarised "in flight" (few, and indexed).
    Two pushes of one order (two accounts) finishing at the same moment each recompute from
    a snapshot that may miss the other's outcome on PostgreSQL; the order is then left "in
    flight" until this pass puts it right."""
    changed = _update(Order.push_state == IN_FLIGHT)
    db.session.commit()
    return changed


def refresh_and_commit(order_ids: Iterable[int]) -> None:
    refresh(order_ids)
    db.session.commit()
