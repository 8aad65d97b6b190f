"""Read side of pushes for the order and item tabs (one query per kind of row)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import (PUSH_FAILED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, ItemPush, Order, OrderPush, ProviderAccount,
                      ProviderExchange, SiteActivation)
from ..models.orders import APPROVAL_DENIED, CANCELLED
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
