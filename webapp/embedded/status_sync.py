"""Order status coming back from providers — by a Synchronize run or by a webhook.

Provider statuses map to our item statuses through the provider's declared ``status_map``;
shipment data (carrier, tracking, ship date) lands on the items. A status that came from
the provider is never echoed back to it (no order_changed signal is sent here).
"""
from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import or_, select
from sqlalchemy import update as update_

from ..extensions import db
from ..models import PUSH_PUSHED, ItemPush, Order, OrderEvent, OrderItem, OrderPush, utcnow
from ..models import orders as o
from ..providers.context import PushRef, StatusUpdate
from ..providers.errors import ProviderAuthError, ProviderError, ProviderRateLimited
from .accounts import record_exchanges
from .bulk_sql import any_of
from .read_ahead import read_ahead
from .status_bulk import ChunkView

log = logging.getLogger(__name__)

FINAL = (o.CANCELLED, o.COMPLETED)
BATCH = 200
# A Synchronize run's chunk: one provider page. Each chunk costs a fixed set of statements
# and a commit, so a run of 5,000 orders pays that 12 times rather than 30.
SYNC_BATCH = 500


def push_refs(account_id: int, site_id: int | None = None, push_ids=None, *, pushed_after=None,
              open_only: bool = False) -> list[PushRef]:
    """What to ask the provider about; ``open_only`` leaves out completed / cancelled orders
    and ``pushed_after`` old pushes (the automatic refresh). Two narrow row queries (pushes,
    then their item numbers), no ORM objects: a status sync may cover every pushed order."""
    query = select(OrderPush.id, OrderPush.idempotency_key, OrderPush.reference, OrderPush.external_id,
                   OrderPush.pushed_at).where(OrderPush.account_id == account_id, OrderPush.state == PUSH_PUSHED)
    if site_id is not None or open_only:
        query = query.join(Order, Order.id == OrderPush.order_id)
    if site_id is not None:
        query = query.where(Order.site_id == site_id)
    if open_only:
        query = query.where(Order.status.notin_(FINAL))
    if pushed_after is not None:
        query = query.where(OrderPush.pushed_at >= pushed_after)
    if push_ids is not None:
        query = query.where(OrderPush.id.in_(push_ids))
    pushes = db.session.execute(query.order_by(OrderPush.id)).all()
    numbers: dict[int, list[str]] = {}
    if pushes:
        ids = query.with_only_columns(OrderPush.id).scalar_subquery()
        for push_id, number in db.session.execute(select(ItemPush.push_id, ItemPush.external_number)
                                                  .where(ItemPush.push_id.in_(ids)).order_by(ItemPush.id)):
            numbers.setdefault(push_id, []).append(number)
    return [PushRef(push_id=p.id, idempotency_key=p.idempotency_key, reference=p.reference,
                    external_id=p.external_id, pushed_at=p.pushed_at, item_numbers=numbers.get(p.id, []))
            for p in pushes]


def _push_for(update: StatusUpdate, by_key: dict, by_external: dict, by_item: dict):
    """Our key first; else the provider's order id; else one of its job / line ids."""
    return (by_key.get(update.push_key) or by_external.get(update.external_id or None)
            or next((by_item[i] for i in update.item_external_ids if i in by_item), None))


def _targets(update: StatusUpdate, items: list) -> list:
    """The item pushes an update is about (ItemPush objects or their narrow rows)."""
    if update.item_external_ids:
        return [ip for ip in items if ip.external_id in update.item_external_ids]
    if update.item_numbers:
        return [ip for ip in items if ip.external_number in update.item_numbers]
    return [ip for ip in items
            if not update.external_order_id or ip.external_order_id in (None, update.external_order_id)]


def apply_update(account, update: StatusUpdate, pushes_by_key: dict[str, OrderPush], push=None,
                 events: list | None = None) -> bool:
    """Apply one provider update; returns True when anything changed locally. ``push`` may be
    an ORM object or status_bulk's plain row with the same attributes; with ``events`` (a
    list) the history events are appended there as rows instead of added to the session."""
    push = push or pushes_by_key.get(update.push_key)
    if push is None:
        return False

    def event(**values) -> None:
        if events is None:
            db.session.add(OrderEvent(**values))
        else:
            events.append({**values, "created_at": now})
    now = utcnow()
    provider = account.provider
    actor = f"{account.name} ({provider.name})"
    changed = False
    targets = _targets(update, push.items)
    status = str(update.external_status or "")[:100]  # the column's size: an odd value never fails the commit
    mapped = provider.map_status(update.external_status, account.settings)
    for ip in targets:
        item = ip.item
        if ip.external_status != status:
            ip.external_status, changed = status, True
        ip.status_synced_at = now
        shipment = update.shipment
        if shipment and shipment.tracking_number and item.tracking_number != shipment.tracking_number[:100]:
            item.carrier = (shipment.carrier or item.carrier or "")[:100]
            item.tracking_number = shipment.tracking_number[:100]
            item.shipped_on = shipment.ship_date or item.shipped_on or now.date()
            event(order_id=push.order_id, item_id=item.id, actor=actor, kind="shipment",
                  detail=f"Item {item.number} shipped via {item.carrier}, tracking {item.tracking_number}")
            changed = True
        if mapped and item.status != mapped and item.status not in FINAL:
            event(order_id=push.order_id, item_id=item.id, actor=actor, kind="status",
                  detail=f"Item {item.number}: {item.status} → {mapped} ({provider.name}: {status})")
            item.status, item.status_changed_at, changed = mapped, now, True
    if push.external_status != status:
        push.external_status, changed = status, True
    push.status_synced_at = now
    if changed:
        push.order.refresh_status()
    return changed


@dataclass
class _Line:
    """An item push as read for the unchanged check (with its order item's status and tracking)."""
    id: int
    external_id: str | None
    external_number: str
    external_order_id: str | None
    external_status: str | None
    item_status: str | None
    tracking_number: str | None


@dataclass
class _Pushed:
    """A push as read for the unchanged check: plain values, no ORM object."""
    id: int
    idempotency_key: str
    external_id: str | None
    external_status: str | None
    order_id: int
    items: list = field(default_factory=list)


def _would_change(update: StatusUpdate, push: _Pushed, mapped: str | None) -> bool:
    """apply_update's decision, on plain rows: False only when applying would change nothing."""
    status = str(update.external_status or "")[:100]
    if push.external_status != status:
        return True
    tracking = update.shipment.tracking_number[:100] if update.shipment and update.shipment.tracking_number else ""
    for line in _targets(update, push.items):
        if line.external_status != status or (tracking and line.tracking_number != tracking):
            return True
        if mapped and line.item_status != mapped and line.item_status not in FINAL:
            return True
    return False


def _load_rows(account_id: int, chunk: list, allowed) -> list[_Pushed]:
    """The chunk's pushes (matched by key, provider order id or line id) in one row query."""
    keys = {update.push_key for update in chunk if update.push_key}
    external_ids = {update.external_id for update in chunk if update.external_id and not update.push_key}
    item_ids = {i for update in chunk if not (update.push_key or update.external_id)
                for i in update.item_external_ids}
    matches = []
    if keys:
        matches.append(any_of(OrderPush.idempotency_key, keys))
    if external_ids:
        matches.append(any_of(OrderPush.external_id, external_ids))
    if item_ids:
        matches.append(OrderPush.id.in_(select(ItemPush.push_id).where(any_of(ItemPush.external_id, item_ids))))
    if not matches:
        return []
    rows = db.session.execute(
        select(OrderPush.id, OrderPush.state, OrderPush.idempotency_key, OrderPush.external_id,
               OrderPush.external_status, OrderPush.order_id, ItemPush.id.label("line_id"), ItemPush.external_id.label("line_external_id"),
               ItemPush.external_number, ItemPush.external_order_id, ItemPush.external_status.label("line_status"),
               OrderItem.status.label("item_status"), OrderItem.tracking_number)
        .outerjoin(ItemPush, ItemPush.push_id == OrderPush.id).outerjoin(OrderItem, OrderItem.id == ItemPush.item_id)
        # The state is checked below, not here: with both equalities PostgreSQL without
        # statistics (a fresh bulk push, no autovacuum on this server) read every pushed row
        # of the account through (account_id, state) and filtered the keys (25 ms per page of
        # 500, bench/status_sync); with the account alone it takes (account_id, idempotency_key).
        .where(OrderPush.account_id == account_id, or_(*matches))
        .order_by(OrderPush.id, ItemPush.id))
    pushes: dict[int, _Pushed] = {}
    for r in rows:
        if r.state != PUSH_PUSHED or (allowed is not None and r.id not in allowed):
            continue
        push = pushes.get(r.id) or pushes.setdefault(r.id, _Pushed(r.id, r.idempotency_key, r.external_id,
                                                                    r.external_status, r.order_id))
        if r.line_id is not None:
            push.items.append(_Line(r.line_id, r.line_external_id, r.external_number, r.external_order_id,
                                    r.line_status, r.item_status, r.tracking_number))
    return list(pushes.values())


def apply_updates(account, updates, push_ids=None, on_result=None, on_chunk=None,
                  batch: int = BATCH) -> tuple[int, int]:
    """Apply a stream of updates in chunks of ``batch``, one transaction each; returns (changed,
    unchanged) per order. A chunk's pushes are first read as plain rows in one query (never
    every push of the account: a webhook carries a handful of keys); an update that would
    change nothing is skipped there — only its pushes' ``status_synced_at`` moves, in one
    UPDATE per chunk. Only the pushes that change are read (with their orders and items, as
    plain rows: three queries), applied by ``apply_update`` and written back with one
    executemany per table and one INSERT of history events. ``on_result(push, update)`` gets
    that plain push (``order_id``, ``order.number``); ``on_chunk`` runs before each commit."""
    allowed = set(push_ids) if push_ids is not None else None
    account_id = account.id
    provider, settings = account.provider, account.settings
    # What apply_update reads of the account, as plain values: each chunk's commit expires the
    # ORM object, and reading it again would cost a query per chunk.
    account = SimpleNamespace(id=account_id, name=account.name, provider=provider, settings=settings)
    meanings: dict = {}  # provider status → ours, looked up once per status

    def mapped(status):
        if status not in meanings:
            meanings[status] = provider.map_status(status, settings)
        return meanings[status]
    changed_orders, seen_orders = set(), set()
    chunk: list = []

    def apply_chunk() -> None:
        rows = _load_rows(account_id, chunk, allowed)
        by_key = {p.idempotency_key: p for p in rows}
        by_external = {p.external_id: p for p in rows if p.external_id}
        by_item = {line.external_id: p for p in rows for line in p.items if line.external_id}
        work: list[tuple[StatusUpdate, int]] = []   # (update, push id) that change something
        dirty: set[int] = set()                     # pushes whose rows an earlier update changes
        matched: set[int] = set()
        for update in chunk:
            row = _push_for(update, by_key, by_external, by_item)
            if row is None:
                continue
            seen_orders.add(row.order_id)
            matched.add(row.id)
            if row.id in dirty or _would_change(update, row, mapped(update.external_status)):
                dirty.add(row.id)
                work.append((update, row.id))
        quiet = sorted(matched - dirty)
        if quiet:
            now = utcnow()
            db.session.execute(update_(OrderPush).where(any_of(OrderPush.id, quiet)).values(status_synced_at=now)
                               .execution_options(synchronize_session=False))
            db.session.execute(update_(ItemPush).where(any_of(ItemPush.push_id, quiet))
                               .values(status_synced_at=now).execution_options(synchronize_session=False))
        if work:  # applied on plain rows, written back set-based (status_bulk)
            view, events = ChunkView(dirty), []
            for update, push_id in work:
                push = view.pushes[push_id]
                if apply_update(account, update, {}, push=push, events=events):
                    changed_orders.add(push.order_id)
                    if on_result:
                        on_result(push, update)
            view.write(events)
        if on_chunk:
            on_chunk()
        db.session.commit()
        chunk.clear()

    for update in updates:
        chunk.append(update)
        if len(chunk) >= batch:
            apply_chunk()
    apply_chunk()
    return len(changed_orders), len(seen_orders - changed_orders)


def refresh_statuses(ctx, account, site, client, budget) -> bool:
    """The Synchronize "update order status" step for one site (manual, or the automatic
    refresh: then only open orders pushed within the account's age limit). When the
    provider fails on the batch, each order is asked on its own, so one failing order never
    stops the rest; an auth error stops the site (every order would fail: the run's stage
    handler counts them failed). A rate limit pauses the run; the stage's checkpoint is the
    stage itself: updates are committed chunk by chunk and applying one twice changes
    nothing, so it is read again on resume, and counters are added only at its end."""
    from .status_polling import is_automatic, oldest_push

    if is_automatic(ctx.run):
        refs = push_refs(account.id, site.id, open_only=True, pushed_after=oldest_push(account))
    else:
        refs = push_refs(account.id, site.id)
    ctx.set_total(len(refs))
    if not refs:
        ctx.log(f"{site.name}: no pushed order to refresh.")
        return True

    lines = _ChunkLines(ctx)
    failed = 0
    # The provider's next page is fetched while this one is applied (read_ahead).
    stream = read_ahead(client.fetch_status_updates(refs))
    try:
        with fewer_collections():
            changed, unchanged = apply_updates(account, stream, push_ids=[r.push_id for r in refs],
                                               on_result=lines.add, on_chunk=lines.write, batch=SYNC_BATCH)
    except (ProviderAuthError, ProviderRateLimited):
        stream.close()  # the reader has stopped: every exchange it made is in client.exchanges
        raise  # the run's stage handler: stop the site (auth) or wait for the reset (rate limit)
    except Exception as exc:  # noqa: BLE001 — a provider bug on one order must not end the site
        stream.close()
        db.session.rollback()
        lines.clear()  # not committed
        if len(refs) == 1 and isinstance(exc, ProviderError):
            raise
        if len(refs) == 1:
            raise ProviderError(_words(exc)) from exc
        ctx.log(f"{site.name}: {_words(exc)} — asking for each order on its own.", "warning")
        changed, unchanged, failed = _one_by_one(ctx, account, client, refs, lines)
    ctx.count("updated", changed)
    ctx.count("unchanged", unchanged)
    missing = len(refs) - changed - unchanged - failed
    if missing > 0:
        ctx.count("skipped", missing)
        ctx.log(f"{site.name}: {missing} pushed order(s) had no news from {account.provider.name}.")
    ctx.progress(len(refs))
    requests = len(client.exchanges)
    record_exchanges(account.id, "run", ctx.run.id, client.exchanges)
    del client.exchanges[:]
    ctx.log(f"{site.name}: {requests} request(s) refreshed {len(refs)} order(s).")
    budget.spend()
    return True


@contextmanager
def fewer_collections(young: int = 50_000):
    """Python's cyclic GC runs a young collection every 700 allocations, and older ones scan every
    live object — here tens of thousands (pages, rows, refs), so a status sync spent a large
    share of its CPU in ~600 collections (bench/status_sync.py, gc.callbacks). For the stage,
    a young collection waits for ``young`` allocations; the cycles it leaves are few and
    short-lived, and the thresholds are put back after."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], young), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _words(exc: Exception) -> str:
    return " ".join(exc.messages()) if isinstance(exc, ProviderError) else f"unexpected error ({type(exc).__name__})"


class _ChunkLines:
    """A changed order's log line, inserted with its chunk's others in one statement just
    before that chunk commits (never one ORM object per line)."""

    def __init__(self, ctx):
        self.ctx, self.lines = ctx, []

    def add(self, push, update) -> None:
        tracking = update.shipment.tracking_number if update.shipment and update.shipment.tracking_number else ""
        self.lines.append((f"Order {push.order.number}: {update.external_status}"
                           + (f", tracking {tracking}" if tracking else ""), {"order_id": push.order_id}))

    def write(self) -> None:
        self.ctx.log_many(self.lines)
        self.lines.clear()

    def clear(self) -> None:
        self.lines.clear()


def _one_by_one(ctx, account, client, refs, lines: _ChunkLines) -> tuple[int, int, int]:
    changed = unchanged = failed = 0
    for ref in refs:
        try:
            c, u = apply_updates(account, client.fetch_status_updates([ref]), push_ids=[ref.push_id],
                                 on_result=lines.add, on_chunk=lines.write)
        except Exception as exc:  # noqa: BLE001 — logged on the order, the others go on
            db.session.rollback()
            lines.clear()
            if isinstance(exc, ProviderRateLimited):
                raise  # the run waits for the reset; this stage is read again then
            if not isinstance(exc, ProviderError):
                log.exception("status refresh failed account=%s push=%s", account.id, ref.push_id)
            failed += 1
            ctx.log(f"Order {ref.reference}: status not refreshed: {_words(exc)}", "error")
            if isinstance(exc, ProviderAuthError):
                ctx.log("Stopped: the provider refuses every further request.", "error")
                failed += len(refs) - refs.index(ref) - 1
                break
            continue
        changed, unchanged = changed + c, unchanged + u
    ctx.count("failed", failed)
    return changed, unchanged, failed
