"""Read-only plain rows for the bulk push path: orders with their items and files, pushes,
activations — the attributes the models have, without ORM objects.

Why: a bulk chunk reads a hundred orders, their items and files once and never changes them
through the session. As ORM objects each row costs identity-map bookkeeping, expiry at every
commit of the chunk and, worse, a reload when read after one (profiled: the larger part of a
bulk push's own CPU). Plain rows cost a tuple each. Eligibility (eligibility.check) and the
context builder (context.build_order_context) read attributes only, so they take either.
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from sqlalchemy import inspect, select

from ..extensions import db
from ..models import ItemFile, ItemPush, Order, OrderItem, OrderPush, SiteActivation
from .bulk_sql import any_of, dialect_name, ids_in


class Row:
    """Attribute access over one row's columns (the model's attribute names)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', '?')}>"


class OrderRow(Row):
    items: list


class ItemRow(Row):
    files: list

    @property
    def number(self) -> str:  # OrderItem.number
        return f"{self.order_number}-{self.line_number}"


@lru_cache(maxsize=None)
def _columns(model, only: tuple[str, ...] | None = None) -> tuple:
    props = inspect(model).column_attrs
    return tuple(prop.columns[0].label(prop.key) for prop in props if only is None or prop.key in only)


def rows(model, criterion, *, cls=Row, only: tuple[str, ...] | None = None, order_by=(), limit=None) -> list:
    stmt = select(*_columns(model, only)).where(criterion).order_by(*order_by)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _materialize(db.session.execute(stmt), cls)


@lru_cache(maxsize=None)
def _by_ids(model, key: str, only: tuple[str, ...] | None, order_by: tuple[str, ...], dialect: str):
    return select(*_columns(model, only)).where(ids_in(getattr(model, key), "ids")) \
        .order_by(*(getattr(model, name) for name in order_by))


def rows_by_ids(model, key: str, ids, *, cls=Row, only: tuple[str, ...] | None = None,
                order_by: tuple[str, ...] = ()) -> list:
    """``rows`` of ``model`` whose column ``key`` is in ``ids``: one statement per shape, built
    once (bulk_sql.ids_in)."""
    stmt = _by_ids(model, key, only, order_by, dialect_name())
    return _materialize(db.session.execute(stmt, {"ids": list(ids)}), cls)


def _materialize(result, cls) -> list:
    keys = tuple(result.keys())  # once: a Row's own mapping view costs more than the row
    found = []
    for values in result.tuples():
        row = cls.__new__(cls)
        row.__dict__ = dict(zip(keys, values))
        found.append(row)
    return found


# What eligibility and the push context read (fewer columns: fewer values to convert).
_ORDER = ("id", "number", "site_id", "customer_id", "customer_email", "paid", "paid_at", "placed_at", "po_number",
          "notes", "billing_address", "currency", "subtotal", "shipping_total", "tax_total", "total", "status")
_ITEM = ("id", "order_id", "line_number", "product_id", "sku", "name", "quantity", "unit_price", "approval",
         "status", "ship_to", "shipping_method_id", "shipping_method_name", "requested_ship_date")
_FILE = ("id", "item_id", "kind", "state", "url")


@lru_cache(maxsize=64)
def _orders_statement(criterion, order_by: tuple, limit):
    stmt = select(*_columns(Order, _ORDER)).where(criterion).order_by(*order_by)
    return stmt.limit(limit) if limit is not None else stmt


def orders(criterion, *, order_by=(), limit=None, params: dict | None = None) -> list[OrderRow]:
    """Orders matching ``criterion`` with ``.items`` (by line number, each with ``.files`` by
    id): three statements, as the models' selectin loading does. The statement is kept per
    criterion object: one built once with bind parameters and given their ``params`` at each
    call (a sync's chunk read) is not built again."""
    stmt = _orders_statement(criterion, tuple(order_by), limit)
    return _with_items(_materialize(db.session.execute(stmt, params or {}), OrderRow))


def orders_by_id(ids) -> dict[int, OrderRow]:
    ids = list(ids)
    return {o.id: o for o in _with_items(rows_by_ids(Order, "id", ids, cls=OrderRow, only=_ORDER))} if ids else {}


def _with_items(found: list[OrderRow]) -> list[OrderRow]:
    by_id = {o.id: o for o in found}
    for o in found:
        o.items = []
    if not found:
        return found
    items = rows_by_ids(OrderItem, "order_id", by_id, cls=ItemRow, only=_ITEM, order_by=("order_id", "line_number"))
    by_item = {}
    for item in items:
        order = by_id[item.order_id]
        item.order_number, item.files = order.number, []
        order.items.append(item)
        by_item[item.id] = item
    if by_item:
        for f in rows_by_ids(ItemFile, "item_id", by_item, only=_FILE, order_by=("id",)):
            by_item[f.item_id].files.append(f)
    return found


_PUSH_COLUMNS = ("id", "order_id", "account_id", "attempts", "reference", "idempotency_key", "external_id",
                 "checkpoint", "pushed_at")


def pushes(ids) -> list[Row]:
    """Claimed pushes as read now (by id), with ``.item_pushes`` {item id: ItemPush id}.
    Item rows are written only with a push's success, which sets its pushed_at for good
    (push._succeeded, push_bulk._to_pushed): a push never pushed has none, and a chunk of
    first pushes skips that lookup."""
    found = rows_by_ids(OrderPush, "id", ids, only=_PUSH_COLUMNS, order_by=("id",))
    item_pushes = defaultdict(dict)
    pushed_before = [p.id for p in found if p.pushed_at is not None]
    if pushed_before:
        for row in db.session.execute(select(ItemPush.push_id, ItemPush.item_id, ItemPush.id)
                                      .where(any_of(ItemPush.push_id, pushed_before))):
            item_pushes[row.push_id][row.item_id] = row.id
    for push in found:
        push.item_pushes = item_pushes[push.id]
    return found


def activations(account_id: int, site_ids) -> dict[int, Row]:
    return {a.site_id: a for a in rows(SiteActivation, (SiteActivation.account_id == account_id)
                                       & any_of(SiteActivation.site_id, site_ids),
                                       only=("site_id", "enabled", "is_live", "settings"))}
