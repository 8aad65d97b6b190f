"""Order status coming back from providers — by a Synchronize run or by a webhook.

Provider statuses map to our item statuses through the provider's declared ``status_map``;
shipment data (carrier, tracking, ship date) lands on the items. A status that came from
the provider is never echoed back to it (no order_changed signal is sent here).
"""
from __future__ import annotations

import logging

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import PUSH_PUSHED, ItemPush, Order, OrderEvent, OrderPush, utcnow
from ..models import orders as o
from ..providers.context import PushRef, StatusUpdate
from ..providers.errors import ProviderAuthError, ProviderError, ProviderRateLimited
from .accounts import record_exchanges

log = logging.getLogger(__name__)

FINAL = (o.CANCELLED, o.COMPLETED)
BATCH = 200


def push_refs(account_id: int, site_id: int | None = None, push_ids=None, *, pushed_after=None,
              open_only: bool = False) -> list[PushRef]:
    """What to ask the provider about; ``open_only`` leaves out completed / cancelled orders
    and ``pushed_after`` old pushes (the automatic refresh)."""
    query = OrderPush.query.filter(OrderPush.account_id == account_id, OrderPush.state == PUSH_PUSHED)
    if site_id is not None or open_only:
        query = query.join(Order, Order.id == OrderPush.order_id)
    if site_id is not None:
        query = query.filter(Order.site_id == site_id)
    if open_only:
        query = query.filter(Order.status.notin_(FINAL))
    if pushed_after is not None:
        query = query.filter(OrderPush.pushed_at >= pushed_after)
    if push_ids is not None:
        query = query.filter(OrderPush.id.in_(push_ids))
    return [PushRef(push_id=p.id, idempotency_key=p.idempotency_key, reference=p.reference,
                    external_id=p.external_id, pushed_at=p.pushed_at,
                    item_numbers=[ip.external_number for ip in p.items]) for p in query.all()]


def _push_for(update: StatusUpdate, by_key: dict, by_external: dict, by_item: dict):
    """Our key first; else the provider's order id; else one of its job / line ids."""
    return (by_key.get(update.push_key) or by_external.get(update.external_id or None)
            or next((by_item[i] for i in update.item_external_ids if i in by_item), None))


def apply_update(account, update: StatusUpdate, pushes_by_key: dict[str, OrderPush], push=None) -> bool:
    """Apply one provider update; returns True when anything changed locally."""
    push = push or pushes_by_key.get(update.push_key)
    if push is None:
        return False
    now = utcnow()
    provider = account.provider
    actor = f"{account.name} ({provider.name})"
    changed = False
    if update.item_external_ids:
        targets = [ip for ip in push.items if ip.external_id in update.item_external_ids]
    elif update.item_numbers:
        targets = [ip for ip in push.items if ip.external_number in update.item_numbers]
    else:
        targets = [ip for ip in push.items
                   if not update.external_order_id or ip.external_order_id in (None, update.external_order_id)]
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
            db.session.add(OrderEvent(order_id=push.order_id, item_id=item.id, actor=actor, kind="shipment",
                                      detail=f"Item {item.number} shipped via {item.carrier}, tracking "
                                             f"{item.tracking_number}"))
            changed = True
        if mapped and item.status != mapped and item.status not in FINAL:
            db.session.add(OrderEvent(order_id=push.order_id, item_id=item.id, actor=actor, kind="status",
                                      detail=f"Item {item.number}: {item.status} → {mapped} "
                                             f"({provider.name}: {status})"))
            item.status, item.status_changed_at, changed = mapped, now, True
    if push.external_status != status:
        push.external_status, changed = status, True
    push.status_synced_at = now
    if changed:
        push.order.refresh_status()
    return changed


def apply_updates(account, updates, push_ids=None, on_result=None) -> tuple[int, int]:
    """Apply a stream of updates in chunks of BATCH, one transaction each; returns (changed,
    unchanged) per order. A chunk's pushes are loaded by key together with their items and
    orders (items, files) in a constant number of queries — never one per push or item, and
    never every push of the account (a webhook carries a handful of keys)."""
    allowed = set(push_ids) if push_ids is not None else None
    account_id = account.id
    changed_orders, seen_orders = set(), set()
    chunk: list = []

    def apply_chunk() -> None:
        keys = {update.push_key for update in chunk if update.push_key}
        external_ids = {update.external_id for update in chunk if update.external_id and not update.push_key}
        item_ids = {i for update in chunk if not (update.push_key or update.external_id)
                    for i in update.item_external_ids}
        matches = []
        if keys:
            matches.append(OrderPush.idempotency_key.in_(keys))
        if external_ids:
            matches.append(OrderPush.external_id.in_(external_ids))
        if item_ids:
            matches.append(OrderPush.id.in_(db.session.query(ItemPush.push_id).filter(
                ItemPush.external_id.in_(item_ids))))
        loaded = [p for p in OrderPush.query.filter(
            OrderPush.account_id == account_id, OrderPush.state == PUSH_PUSHED, or_(*matches)).options(
            selectinload(OrderPush.items), selectinload(OrderPush.order)).all()
            if allowed is None or p.id in allowed] if matches else []
        pushes = {p.idempotency_key: p for p in loaded}
        by_external = {p.external_id: p for p in loaded if p.external_id}
        by_item = {ip.external_id: p for p in loaded for ip in p.items if ip.external_id}
        for update in chunk:
            push = _push_for(update, pushes, by_external, by_item)
            if push is None:
                continue
            seen_orders.add(push.order_id)
            if apply_update(account, update, pushes, push=push):
                changed_orders.add(push.order_id)
                if on_result:
                    on_result(push, update)
        db.session.commit()
        chunk.clear()

    for update in updates:
        chunk.append(update)
        if len(chunk) >= BATCH:
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

    def logged(push, update):
        ctx.log(f"Order {push.order.number}: {update.external_status}"
                + (f", tracking {update.shipment.tracking_number}" if update.shipment and
                   update.shipment.tracking_number else ""), order_id=push.order_id)

    failed = 0
    try:
        changed, unchanged = apply_updates(account, client.fetch_status_updates(refs),
                                           push_ids=[r.push_id for r in refs], on_result=logged)
    except (ProviderAuthError, ProviderRateLimited):
        raise  # the run's stage handler: stop the site (auth) or wait for the reset (rate limit)
    except Exception as exc:  # noqa: BLE001 — a provider bug on one order must not end the site
        db.session.rollback()
        if len(refs) == 1 and isinstance(exc, ProviderError):
            raise
        if len(refs) == 1:
            raise ProviderError(_words(exc)) from exc
        ctx.log(f"{site.name}: {_words(exc)} — asking for each order on its own.", "warning")
        changed, unchanged, failed = _one_by_one(ctx, account, client, refs, logged)
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


def _words(exc: Exception) -> str:
    return " ".join(exc.messages()) if isinstance(exc, ProviderError) else f"unexpected error ({type(exc).__name__})"


def _one_by_one(ctx, account, client, refs, logged) -> tuple[int, int, int]:
    changed = unchanged = failed = 0
    for ref in refs:
        try:
            c, u = apply_updates(account, client.fetch_status_updates([ref]), push_ids=[ref.push_id],
                                 on_result=logged)
        except Exception as exc:  # noqa: BLE001 — logged on the order, the others go on
            db.session.rollback()
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
