"""The changed pushes of a status chunk, applied set-based (status_sync.apply_updates).

``apply_update`` works on objects with the ORM's attribute names; here they are plain rows
read in three queries per chunk (pushes with their item pushes, the orders with all their
items, the items' pending files). After the chunk's updates ran on them, what moved is
written with one executemany per table (item pushes, order items, pushes, orders) and the
history events with one INSERT — never one ORM object or flush per order. Rows whose values
did not move are not written (an unchanged item stays untouched).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

from sqlalchemy import select

from ..extensions import db
from ..models import ItemFile, ItemPush, Order, OrderEvent, OrderItem, OrderPush
from ..models.orders import FILE_PENDING, summary_status
from .bulk_sql import any_of, insert_rows, update_rows

_ITEM = ("carrier", "tracking_number", "shipped_on", "status", "status_changed_at")


@dataclass(eq=False)
class _File:
    state: str


@dataclass(eq=False)
class _Order:
    id: int
    number: str
    paid: bool
    status: str
    items: list = field(default_factory=list)

    def refresh_status(self) -> None:
        self.status = summary_status(self.paid, self.items)


@dataclass(eq=False)
class _Item:
    id: int
    line_number: int
    approval: str
    carrier: str
    tracking_number: str
    shipped_on: object
    status: str
    status_changed_at: object
    order: _Order
    files: list = field(default_factory=list)

    @property
    def number(self) -> str:  # as OrderItem.number
        return f"{self.order.number}-{self.line_number}"


@dataclass(eq=False)
class _ItemPush:
    id: int
    external_id: str | None
    external_number: str
    external_order_id: str | None
    external_status: str | None
    status_synced_at: object
    item: _Item


@dataclass(eq=False)
class _Push:
    id: int
    order_id: int
    external_status: str | None
    status_synced_at: object
    order: _Order
    items: list = field(default_factory=list)


class ChunkView:
    """The chunk's changing pushes as plain objects, and the write-back of what moved."""

    def __init__(self, push_ids):
        pushes = db.session.execute(
            select(OrderPush.id, OrderPush.order_id, OrderPush.external_status, OrderPush.status_synced_at)
            .where(any_of(OrderPush.id, push_ids))).all()
        order_ids = {p.order_id for p in pushes}
        self.orders: dict[int, _Order] = {}
        self.items: dict[int, _Item] = {}
        for r in db.session.execute(
                select(Order.id, Order.number, Order.paid, Order.status, OrderItem.id.label("item_id"),
                       OrderItem.line_number, OrderItem.approval, *(getattr(OrderItem, c) for c in _ITEM))
                .outerjoin(OrderItem, OrderItem.order_id == Order.id)
                .where(any_of(Order.id, order_ids)).order_by(Order.id, OrderItem.line_number)):
            order = self.orders.get(r.id) or self.orders.setdefault(r.id, _Order(r.id, r.number, r.paid, r.status))
            if r.item_id is not None:
                item = _Item(r.item_id, r.line_number, r.approval, *(getattr(r, c) for c in _ITEM), order=order)
                order.items.append(item)
                self.items[item.id] = item
        if self.items:
            for item_id, state in db.session.execute(
                    select(ItemFile.item_id, ItemFile.state).where(ItemFile.state == FILE_PENDING,
                                                                   ItemFile.item_id.in_(
                                                                       select(OrderItem.id).where(
                                                                           any_of(OrderItem.order_id, order_ids))))):
                if item_id in self.items:
                    self.items[item_id].files.append(_File(state))
        self.pushes = {p.id: _Push(p.id, p.order_id, p.external_status, p.status_synced_at, self.orders[p.order_id])
                       for p in pushes}
        for r in db.session.execute(
                select(ItemPush.id, ItemPush.push_id, ItemPush.item_id, ItemPush.external_id, ItemPush.external_number,
                       ItemPush.external_order_id, ItemPush.external_status, ItemPush.status_synced_at)
                .where(any_of(ItemPush.push_id, push_ids)).order_by(ItemPush.id)):
            item = self.items.get(r.item_id)
            if item is not None:
                self.pushes[r.push_id].items.append(_ItemPush(r.id, r.external_id, r.external_number,
                                                              r.external_order_id, r.external_status,
                                                              r.status_synced_at, item))
        # What was read, to write back only what moved.
        self._before = {id(o): _values(o) for o in self._objects()}

    def _objects(self):
        yield from self.orders.values()
        yield from self.items.values()
        yield from self.pushes.values()
        for push in self.pushes.values():
            yield from push.items

    def write(self, events: list[dict]) -> None:
        moved: dict[type, list] = {}
        for obj in self._objects():
            if _values(obj) != self._before[id(obj)]:
                moved.setdefault(type(obj), []).append(obj)
        for kind, (model, columns) in _WRITES.items():
            # One statement per table on PostgreSQL (UPDATE … FROM unnest): a pipelined
            # executemany is one prepared execution per row (bench/status_sync.py).
            update_rows(model.__table__, [{"b_id": obj.id, **{c: getattr(obj, c) for c in columns}}
                                          for obj in moved.get(kind, [])])
        insert_rows(OrderEvent.__table__, events)
        self._before = {id(o): _values(o) for o in self._objects()}


_WRITES = {
    _ItemPush: (ItemPush, ("external_status", "status_synced_at")),
    _Item: (OrderItem, _ITEM),
    _Push: (OrderPush, ("external_status", "status_synced_at")),
    _Order: (Order, ("status",)),
}


_GETTERS = {kind: attrgetter(*columns) for kind, (_, columns) in _WRITES.items()}


def _values(obj):
    """The written columns' values of ``obj`` (one attrgetter per kind: called for every
    object of a chunk twice)."""
    return _GETTERS[type(obj)](obj)
