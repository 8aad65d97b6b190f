"""Bulk push: a chunk of orders of one account in one provider request (ShipStation
``createorders``), with the same state machine as one push (push.py) done set-based.

A chunk costs a fixed number of statements whatever its size: queue and claim in one
conditional UPDATE each (``… RETURNING id``: only the rows this call moved are pushed), the
chunk's orders, items, files, activations and context data in batch loads, one commit before
the request; then every success in one commit (executemany UPDATE/INSERT). Orders the provider
refused, and a request that failed as a whole, take push.py's per-push path (rare, and they
need its retry/backoff bookkeeping). State changes of a chunk go through the ``_to_*``
functions below, one set-based call each.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, case, or_, select, update

from ..extensions import db
from ..models import (PUSH_FAILED, PUSH_PUSHED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, ItemPush, Order,
                      OrderEvent, OrderPush, ProviderAccount, utcnow)
from ..providers import errors as pe
from . import order_rows, push_summary
from .bulk_sql import any_of, dialect_name, ids_in, insert_rows, update_rows
from . import push as p
from .accounts import record_exchanges
from .context import ContextLoader, build_order_context, item_external_number
from .eligibility import check

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one push of the chunk, with what a run log line says about it."""

    outcome: str  # pushed | retrying | failed | waiting | skipped
    order_id: int | None = None
    number: str = ""
    external_number: str | None = None
    errors: list[str] = field(default_factory=list)
    error_kind: str | None = None
    next_attempt_at: datetime | None = None


# ---- state changes of a chunk (one statement each) ----------------------------------------

def existing_pushes(account_id: int, order_ids: list[int]) -> dict[int, tuple[int, str]]:
    """{order id: (push id, state)} of this account's pushes of these orders. Looked up by
    order only, the account checked here: with ``account_id = :a`` in the statement,
    PostgreSQL without statistics on a growing table (a first bulk push; this server runs
    without autovacuum) walked every push of the account through ix_order_pushes_account_state
    (5-15 ms a chunk at 5,000 pushes, bench/status_sync); by order it is one probe per order."""
    rows = db.session.execute(_existing_statement(dialect_name()), {"order_ids": list(order_ids)})
    return {row.order_id: (row.id, row.state) for row in rows if row.account_id == account_id}


@functools.lru_cache(maxsize=4)
def _existing_statement(dialect: str):
    return select(OrderPush.order_id, OrderPush.account_id, OrderPush.id, OrderPush.state) \
        .where(ids_in(OrderPush.order_id, "order_ids"))


def queue_orders(orders: list[Order], account: ProviderAccount,
                 existing: dict[int, tuple[int, str]] | None = None, *, claim: bool = False) -> dict[int, int]:
    """Every order's push row queued: created queued where missing (one INSERT that skips a
    row another worker created meanwhile), moved to queued from waiting or failed (one
    conditional UPDATE; a new request starts a new count of attempts). ``existing``: the
    caller's fresh ``existing_pushes`` of these orders. ``claim``: the rows go straight to
    pushing under this worker's lease (first attempt), as ``_to_pushing`` would move them in
    the same transaction — one write per row instead of two (a bulk chunk, order_sync).
    Returns {order id: push id} of the rows this call queued (or claimed); not committed."""
    if not orders:
        return {}
    if existing is None:
        existing = existing_pushes(account.id, [o.id for o in orders])
    now = utcnow()
    state = {"state": PUSH_PUSHING, "attempts": 1, "lease_until": now + p._lease()} if claim \
        else {"state": PUSH_QUEUED, "attempts": 0}
    new = [{"order_id": o.id, "account_id": account.id, **state, "queued_at": now, "reasons": [], "errors": [],
            "idempotency_key": p.idempotency_key(o, account), "reference": p.order_reference(o, account),
            "ambiguous": False, "checkpoint": {}, "created_at": now, "updated_at": now}
           for o in orders if o.id not in existing]
    queued = {row.order_id: row.id for row in insert_rows(
        OrderPush.__table__, new, returning=(OrderPush.order_id, OrderPush.id),
        skip_conflicts_on=("order_id", "account_id"))}
    again = [existing[o.id][0] for o in orders if o.id in existing and existing[o.id][1] in (PUSH_WAITING, PUSH_FAILED)]
    if again:
        rows = db.session.execute(
            update(OrderPush).where(any_of(OrderPush.id, again), OrderPush.state.in_((PUSH_WAITING, PUSH_FAILED)))
            .values(**state, queued_at=now, next_attempt_at=None, reasons=[], updated_at=now)
            .returning(OrderPush.order_id, OrderPush.id)
            .execution_options(synchronize_session=False)).all()
        queued.update({row.order_id: row.id for row in rows})
    return queued


def _to_pushing(push_ids: list[int]) -> set[int]:
    """push._claim for many rows: queued (or pushing under an expired lease) → pushing."""
    now = utcnow()
    rows = db.session.execute(
        update(OrderPush)
        .where(any_of(OrderPush.id, push_ids),
               or_(OrderPush.state == PUSH_QUEUED,
                   (OrderPush.state == PUSH_PUSHING) & (OrderPush.lease_until < now)))
        .values(state=PUSH_PUSHING, attempts=OrderPush.attempts + 1, lease_until=now + p._lease(), updated_at=now,
                ambiguous=case((OrderPush.state == PUSH_PUSHING, True), else_=OrderPush.ambiguous))
        .returning(OrderPush.id)
        .execution_options(synchronize_session=False)).all()
    return {row.id for row in rows}


def _to_waiting(waiting: dict[int, list[str]]) -> None:
    """push._back_to_waiting for many rows (their order or site stopped qualifying)."""
    if waiting:
        db.session.execute(
            update(OrderPush.__table__).where(OrderPush.__table__.c.id == bindparam("b_id"))
            .values(state=PUSH_WAITING, reasons=bindparam("b_reasons"), lease_until=None, updated_at=utcnow()),
            [{"b_id": push_id, "b_reasons": reasons} for push_id, reasons in waiting.items()])
        push_summary.refresh_for_pushes(waiting)


@dataclass
class _Claimed:
    """What recording a result needs of a claimed row, read before the commit expires it."""

    id: int
    order_id: int
    attempts: int
    reference: str
    item_pushes: dict[int, int]  # item id → its ItemPush id (a re-push updates them)
    item_ids: dict[int, int]  # line number → item id


def _to_pushed(done: list[tuple[_Claimed, object]], account_id: int, account_name: str, client) -> None:
    """push._succeeded for many rows: push rows, item rows, History and the request's
    exchange (recorded once, on the chunk's first order) in a few executemany statements."""
    now = utcnow()
    t, it = OrderPush.__table__, ItemPush.__table__
    pushes, new_items, old_items, events = [], [], [], []
    for push, result in done:
        item_ids = push.item_ids
        external_number = p._fit(result.external_number, 200)
        pushes.append({"b_id": push.id, "external_id": p._fit(result.external_id, 200),
                       "external_number": external_number,
                       "external_status": p._fit(result.external_status, 100) or None})
        existing = push.item_pushes
        for item_result in result.items:
            item_id = item_ids.get(item_result.line_number)
            if item_id is None:
                continue
            values = {
                "external_id": p._fit(item_result.external_id, 200),
                "external_number": p._fit(item_result.external_number
                                          or item_external_number(push, item_result.line_number), 120),
                "external_status": p._fit(item_result.external_status, 100) or None,
                "external_order_id": p._fit(item_result.external_order_id, 100) or None, "pushed_at": now}
            if item_id in existing:
                old_items.append({"b_id": existing[item_id], **values})
            else:
                new_items.append({"push_id": push.id, "item_id": item_id, **values})
        events.append({"order_id": push.order_id, "item_id": None, "actor": "Embedded Services", "kind": "pushed",
                       "detail": f"Pushed to {account_name} as {external_number or result.external_id} "
                                 f"(attempt {push.attempts})."[:1000], "created_at": now})
    update_rows(t, pushes, state=PUSH_PUSHED, pushed_at=now, errors=[], error_kind=None, ambiguous=False,
                lease_until=None, next_attempt_at=None, updated_at=now)
    insert_rows(it, new_items)
    if old_items:
        db.session.execute(update(it).where(it.c.id == bindparam("b_id")), old_items)
    insert_rows(OrderEvent.__table__, events)
    push_summary.refresh(push.order_id for push, _ in done)
    record_exchanges(account_id, "order", done[0][0].order_id, client.exchanges)
    client.exchanges.clear()


# ---- the chunk ----------------------------------------------------------------------------

@dataclass
class PreparedChunk:
    """A chunk claimed, built and committed: what its request sends and what recording its
    answer needs (prepare_chunk → client.push_orders_bulk → record_chunk)."""

    outcomes: dict[int, Outcome]
    prepared: list[tuple[_Claimed, object]]  # (claimed row, order context), in request order
    account_id: int
    account_name: str

    @property
    def contexts(self) -> list:
        return [ctx for _, ctx in self.prepared]


def push_chunk(push_ids: list[int], account: ProviderAccount, client,
               orders: dict[int, order_rows.OrderRow] | None = None, *, claimed: bool = False) -> dict[int, Outcome]:
    """Claim, build and push a chunk of this account's queued pushes in one bulk request.
    ``orders``: the chunk's orders already loaded (order_rows.orders, with items and files)
    by the caller. ``claimed``: the caller claimed them already (queue_orders(claim=True))."""
    chunk = prepare_chunk(push_ids, account, client, orders, claimed=claimed)
    if not chunk.prepared:
        return chunk.outcomes
    try:
        results = client.push_orders_bulk(chunk.contexts)
    except Exception as exc:  # noqa: BLE001 — record_chunk sorts it (ours re-raised, theirs retried)
        return record_chunk(chunk, client, error=exc)
    return record_chunk(chunk, client, results)


def prepare_chunk(push_ids: list[int], account: ProviderAccount, client,
                  orders: dict[int, order_rows.OrderRow] | None = None, *, claimed: bool = False) -> PreparedChunk:
    """Everything before the request: claims (unless ``claimed``), orders that stopped
    qualifying back to waiting, the order contexts; committed, so no transaction is held
    while the request runs. Pushes missing a setting fail here, on push.py's path."""
    outcomes: dict[int, Outcome] = {push_id: Outcome("skipped") for push_id in push_ids}
    account_id, account_name = account.id, account.name  # the commits below expire the account
    claimed = set(push_ids) if claimed else _to_pushing(push_ids) if push_ids else set()
    if not claimed:
        db.session.commit()
        return PreparedChunk(outcomes, [], account_id, account_name)
    # Plain rows, not ORM objects: read once, never changed through the session (order_rows).
    pushes = order_rows.pushes(claimed)  # as claimed
    orders = dict(orders or {})
    orders.update(order_rows.orders_by_id([push.order_id for push in pushes if push.order_id not in orders]))
    rows = [(push, orders[push.order_id]) for push in pushes]
    activations = order_rows.activations(account_id, {o.site_id for _, o in rows})
    waiting: dict[int, list[str]] = {}
    ready = []  # (push, order, activation, eligibility)
    for push, order in rows:
        outcomes[push.id] = Outcome("skipped", order.id, order.number)
        activation = activations.get(order.site_id)
        if activation is None or not (activation.enabled and activation.is_live):
            waiting[push.id] = ["The site is no longer live for this account."]
            continue
        eligibility = check(order)
        if not eligibility.ok:
            waiting[push.id] = eligibility.reasons
            continue
        ready.append((push, order, activation, eligibility))
    loaded = ContextLoader(account_id, [(order, e.items) for _, order, _, e in ready])
    prepared, config_errors = [], []  # (claimed row, ctx) / (push id, error)
    for push, order, activation, eligibility in ready:
        ctx = build_order_context(order, push, activation, eligibility.items, loaded)
        try:
            p._require_settings(account, ctx)
        except pe.ProviderConfigError as exc:
            config_errors.append((push.id, exc))
            continue
        prepared.append((_Claimed(push.id, push.order_id, push.attempts, push.reference, push.item_pushes,
                                  {i.line_number: i.id for i in eligibility.items}), ctx))
    _to_waiting(waiting)
    for push_id in waiting:
        outcomes[push_id].outcome = "waiting"
    db.session.commit()  # claims and waiting rows together; no transaction is held during the request
    for push_id, exc in config_errors:
        _per_push(outcomes, push_id, p._failed_attempt(push_id, exc, client))
    return PreparedChunk(outcomes, prepared, account_id, account_name)


def record_chunk(chunk: PreparedChunk, client, results: list | None = None,
                 error: BaseException | None = None, *, commit: bool = True) -> dict[int, Outcome]:
    """Everything after the request: its ``results`` (one per context: a PushResult or a
    ProviderError), or the ``error`` that failed it as a whole. ``client``: the one that sent
    it (its exchanges are the request's). ``commit=False``: when every order succeeded, the
    successes are left for the caller's commit (a sync run commits them with its report and
    checkpoint, one commit)."""
    outcomes, prepared = chunk.outcomes, chunk.prepared
    if error is not None:
        if isinstance(error, p.OUR_INFRASTRUCTURE):
            db.session.rollback()
            raise error
        if not isinstance(error, pe.ProviderError):  # the whole request crashed: every order retries
            log.error("bulk push crashed pushes=%s", [push.id for push, _ in prepared], exc_info=error)
            error = pe.ProviderCrash.wrapping(error)
        for push, _ in prepared:  # the whole request failed: every order retries on its own
            _per_push(outcomes, push.id, p._failed_attempt(push.id, error, client))
            client.exchanges.clear()
        _refresh_retried(outcomes, [push for push, _ in prepared])
        return outcomes
    done, refused = [], []
    for (push, _), result in zip(prepared, results):
        (refused if isinstance(result, pe.ProviderError) else done).append((push, result))
    if done:
        try:
            _to_pushed(done, chunk.account_id, chunk.account_name, client)
            if commit or refused:  # a refusal's record starts with a rollback (push._failed_attempt)
                db.session.commit()
        except p.OUR_INFRASTRUCTURE:
            db.session.rollback()
            raise  # leases expire and recovery re-queues them (up to the cap)
        except Exception as exc:  # an answer our code cannot store: a crashed attempt for these orders
            log.exception("bulk push results could not be recorded")
            refused += [(push, pe.ProviderCrash.wrapping(exc)) for push, _ in done]
            done = []
        for push, result in done:
            outcome = outcomes[push.id]
            outcome.outcome, outcome.external_number = "pushed", p._fit(result.external_number, 200)
        if done:
            log.info("bulk push ok account=%s pushed=%s", chunk.account_id, len(done))
    for push, refusal in refused:
        _per_push(outcomes, push.id, p._failed_attempt(push.id, refusal, client))
        client.exchanges.clear()
    _refresh_retried(outcomes, [push for push, _ in refused])
    return outcomes


def _refresh_retried(outcomes: dict[int, Outcome], pushes: list[_Claimed]) -> None:
    """push.py keeps a retried push's order "in flight" without a refresh (its summary said so
    since it was queued); a bulk chunk skips the in-flight refresh (order_sync), so its retried
    orders are refreshed here: one statement, on the rare failed requests only."""
    retried = [push.order_id for push in pushes if outcomes[push.id].outcome == "retrying"]
    if retried:
        push_summary.refresh_and_commit(retried)


def _per_push(outcomes: dict[int, Outcome], push_id: int, outcome: str) -> None:
    """An outcome recorded by push.py's one-push path (a refused order, a failed request)."""
    push = db.session.get(OrderPush, push_id)
    entry = outcomes[push_id]
    entry.outcome, entry.errors, entry.error_kind = outcome, list(push.errors or []), push.error_kind
    entry.next_attempt_at, entry.external_number = push.next_attempt_at, push.external_number
