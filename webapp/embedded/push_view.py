"""Read side of pushes for the order and item tabs (one query per kind of row)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import (PUSH_FAILED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, ItemPush, Order, OrderPush, ProviderAccount,
                      ProviderExchange, SiteActivation)
from ..models.orders import (APPROVAL_DENIED, CANCELLED, ORDER_AWAITING_APPROVAL, ORDER_AWAITING_FILES,
                             ORDER_AWAITING_PAYMENT)
from . import push_summary
from .eligibility import check

# A live account with no push yet for an order that qualifies: it became eligible before the
# site went live (automatic pushes happen when an order changes), so it needs a push.
ELIGIBLE_NOT_PUSHED = ("The order qualifies but was not pushed to this account yet (it qualified before the "
                       "site went live): use Push Order.")

ACTIVE_STATES = (PUSH_QUEUED, PUSH_PUSHING)


@dataclass
class AccountPush:
    account: ProviderAccount
    push: OrderPush | None
    live: bool
    exchanges: list[ProviderExchange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it is waiting, as of now

    @property
    def state(self) -> str:
        return self.push.state if self.push else "waiting"


def eligible_not_pushed(order: Order, push: OrderPush | None, eligibility=None) -> bool:
    """The order qualifies, and the account has no push for it or only a waiting one: it
    qualified before the site went live (go_live counts and pushes these)."""
    if push is not None and push.state != PUSH_WAITING:
        return False
    return (eligibility or check(order)).ok


def waiting_reasons(order: Order, push: OrderPush | None, eligibility=None) -> list[str]:
    """Why an order is waiting for an account, checked now (a stored reason may be stale)."""
    if push is not None and push.state != PUSH_WAITING:
        return []
    eligibility = eligibility or check(order)
    return [ELIGIBLE_NOT_PUSHED] if eligible_not_pushed(order, push, eligibility) else eligibility.reasons


def order_pushes(order: Order, with_exchanges: bool = True) -> list[AccountPush]:
    pushes = {p.account_id: p for p in OrderPush.query.filter_by(order_id=order.id).all()}
    live = {a.account_id: a for a in SiteActivation.query.filter_by(site_id=order.site_id, enabled=True,
                                                                       is_live=True).all()}
    account_ids = sorted(set(pushes) | set(live))
    if not account_ids:
        return []
    accounts = {a.id: a for a in ProviderAccount.query.filter(ProviderAccount.id.in_(account_ids)).all()}
    exchanges: dict[int, list] = {}
    if with_exchanges:
        rows = (ProviderExchange.query.filter_by(subject_type="order", subject_id=order.id)
                .order_by(ProviderExchange.id.desc()).limit(50).all())
        for row in rows:
            exchanges.setdefault(row.account_id, []).append(row)
    rows = [AccountPush(accounts[i], pushes.get(i), i in live, exchanges.get(i, [])) for i in account_ids
            if i in accounts]
    if any(row.state == PUSH_WAITING for row in rows):
        eligibility = check(order)
        for row in rows:
            if row.state == PUSH_WAITING and row.live:
                row.reasons = waiting_reasons(order, row.push, eligibility)
    return rows


def any_active(rows: list[AccountPush]) -> bool:
    return any(r.push is not None and r.push.state in ACTIVE_STATES for r in rows)


def order_tab_visible(order: Order) -> bool:
    if OrderPush.query.filter_by(order_id=order.id).first() is not None:
        return True
    return SiteActivation.query.filter_by(site_id=order.site_id, enabled=True, is_live=True).first() is not None


@dataclass
class ItemRow:
    """One account's view of an item: pushed (with its external identity) and/or its order's
    last push failed (with the errors and a push button)."""

    push: OrderPush
    item_push: ItemPush | None

    @property
    def failed(self) -> bool:
        return self.push.state == PUSH_FAILED


def item_rows(item) -> list[ItemRow]:
    """An item has a row per account where it was pushed, or where its order's push failed
    while the item itself was ready (a cancelled or denied item is never pushed)."""
    pushed = {ip.push_id: ip for ip in ItemPush.query.filter(ItemPush.item_id == item.id,
                                                             ItemPush.pushed_at.isnot(None))}
    ready = item.status != CANCELLED and item.approval != APPROVAL_DENIED
    rows = []
    for push in OrderPush.query.filter_by(order_id=item.order_id).order_by(OrderPush.account_id):
        if push.id in pushed or (ready and push.state == PUSH_FAILED):
            rows.append(ItemRow(push, pushed.get(push.id)))
    return rows


def item_tab_visible(item) -> bool:
    """Once the item was pushed, or its push failed; a not-ready item shows no tab."""
    return bool(item_rows(item))


# --- the orders lists' Embedded Services column -------------------------------------------------

@dataclass
class ListCell:
    """One account's push state for one order in the orders lists."""

    account_name: str
    state: str                     # push_summary state: failed | waiting | in_flight | pushed | none
    external_status: str | None = None
    external_number: str | None = None
    why: str = ""                  # the first reason it waits, or the provider's error

    @property
    def label(self) -> str:
        return push_summary.LABELS[self.state]


WAITING_WHY = {
    ORDER_AWAITING_PAYMENT: "The order is not marked as paid.",
    ORDER_AWAITING_APPROVAL: "An item is waiting for approval.",
    ORDER_AWAITING_FILES: "An item has a pending file (upload or eDocBuilder).",
}


def waiting_why(order_status: str) -> str:
    """The first reason eligibility.check gives, from the order's summary status."""
    return WAITING_WHY.get(order_status, ELIGIBLE_NOT_PUSHED)


# Built once: the lists run these on every request (building the query each time cost more
# than running it).
_LIVE_ACCOUNTS = (
    select(SiteActivation.site_id, ProviderAccount.id, ProviderAccount.name)
    .join(ProviderAccount, ProviderAccount.id == SiteActivation.account_id)
    .where(SiteActivation.site_id.in_(bindparam("site_ids", expanding=True)), SiteActivation.enabled.is_(True),
           SiteActivation.is_live.is_(True)))
_PAGE_PUSHES = (
    select(OrderPush.order_id, OrderPush.account_id, ProviderAccount.name, OrderPush.state,
           OrderPush.external_status, OrderPush.external_number, OrderPush.errors)
    .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
    .where(OrderPush.order_id.in_(bindparam("order_ids", expanding=True))))


def list_cells(orders: list[Order]) -> dict[int, list[ListCell]]:
    """{order_id: cells} for a page of orders in two queries (the live accounts of the page's
    sites, the page's pushes), whatever the page size. Same definition as the order tab and
    orders.push_state: every live account, plus any account holding a push that is not waiting.
    Items are not loaded: why an order waits is read off its status (computed from the same
    payment, approval and file states eligibility.check reads; the tab lists every reason)."""
    if not orders:
        return {}
    site_ids = {o.site_id for o in orders}
    live = {}
    for site_id, account_id, name in db.session.execute(_LIVE_ACCOUNTS, {"site_ids": sorted(site_ids)}):
        live.setdefault(site_id, {})[account_id] = name
    pushes: dict[int, dict[int, tuple]] = {}
    for row in db.session.execute(_PAGE_PUSHES, {"order_ids": [o.id for o in orders]}):
        pushes.setdefault(row.order_id, {})[row.account_id] = row
    out = {}
    for order in orders:
        accounts = dict(live.get(order.site_id, {}))
        rows = pushes.get(order.id, {})
        accounts.update({a: r.name for a, r in rows.items() if r.state != PUSH_WAITING})
        cells = []
        for account_id, name in sorted(accounts.items(), key=lambda kv: (kv[1].lower(), kv[0])):
            row = rows.get(account_id)
            state = push_summary.account_state(row.state if row else None, account_id in live.get(order.site_id, {}),
                                               order.status)
            cell = ListCell(name, state, row.external_status if row else None, row.external_number if row else None)
            if state == push_summary.WAITING:
                cell.why = waiting_why(order.status)
            elif state == push_summary.FAILED and row.errors:
                cell.why = row.errors[0]
            cells.append(cell)
        out[order.id] = cells
    return out
