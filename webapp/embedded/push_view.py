"""Read side of pushes for the order and item tabs (one query per kind of row)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import (PUSH_PUSHING, PUSH_QUEUED, ItemPush, Order, OrderPush, ProviderAccount, ProviderExchange,
                      SiteActivation)

ACTIVE_STATES = (PUSH_QUEUED, PUSH_PUSHING)


@dataclass
class AccountPush:
    account: ProviderAccount
    push: OrderPush | None
    live: bool
    exchanges: list[ProviderExchange] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.push.state if self.push else "waiting"


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
    return [AccountPush(accounts[i], pushes.get(i), i in live, exchanges.get(i, [])) for i in account_ids
            if i in accounts]


def any_active(rows: list[AccountPush]) -> bool:
    return any(r.push is not None and r.push.state in ACTIVE_STATES for r in rows)


def order_tab_visible(order: Order) -> bool:
    if OrderPush.query.filter_by(order_id=order.id).first() is not None:
        return True
    return SiteActivation.query.filter_by(site_id=order.site_id, enabled=True, is_live=True).first() is not None


def item_pushes(item) -> list[ItemPush]:
    return (ItemPush.query.filter(ItemPush.item_id == item.id, ItemPush.pushed_at.isnot(None))
            .order_by(ItemPush.push_id).all())


def item_tab_visible(item) -> bool:
    """Only once the item was pushed somewhere; a not-ready item shows no tab."""
    return ItemPush.query.filter(ItemPush.item_id == item.id, ItemPush.pushed_at.isnot(None)).first() is not None
