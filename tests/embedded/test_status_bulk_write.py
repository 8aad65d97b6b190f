"""bulk_sql.update_rows / insert_rows (status chunks, bulk push chunks, run log lines): rows
written by id — one executemany on SQLite, one UPDATE … FROM unnest(…) on PostgreSQL — and
rows inserted in their order, with the same result on both."""
from __future__ import annotations

from datetime import date, timedelta

from webapp.embedded.bulk_sql import insert_rows, update_rows
from webapp.extensions import db
from webapp.models import Order, OrderItem, utcnow


def test_rows_are_written_by_id_with_nulls_and_dates_and_updated_at_moves(factory):
    site = factory.site()
    order = factory.order(site, paid=True, items=[{"approval": "approved"}, {"approval": "approved"}])
    other = factory.order(site, paid=True, items=[{"approval": "approved"}])
    third = factory.order(site, paid=True, items=[{"approval": "approved"}])
    first, second = sorted(order.items, key=lambda item: item.line_number)
    stamped = utcnow() - timedelta(days=1)
    db.session.query(Order).filter(Order.id.in_([order.id, other.id, third.id])).update({"updated_at": stamped})
    db.session.commit()
    when = utcnow()
    update_rows(OrderItem.__table__, [
        {"b_id": first.id, "status": "Shipped", "tracking_number": "1Z999", "shipped_on": date(2026, 1, 2),
         "status_changed_at": when},
        {"b_id": second.id, "status": "On Hold", "tracking_number": "", "shipped_on": None, "status_changed_at": None}])
    update_rows(Order.__table__, [{"b_id": order.id, "status": "Shipped"}, {"b_id": third.id, "status": "Shipped"}])
    db.session.commit()
    db.session.expire_all()
    first, second = db.session.get(OrderItem, first.id), db.session.get(OrderItem, second.id)
    assert (first.status, first.tracking_number, first.shipped_on, first.status_changed_at) == (
        "Shipped", "1Z999", date(2026, 1, 2), when)
    assert (second.status, second.tracking_number, second.shipped_on, second.status_changed_at) == (
        "On Hold", "", None, None)
    order, other = db.session.get(Order, order.id), db.session.get(Order, other.id)
    for moved in (order, db.session.get(Order, third.id)):
        assert moved.status == "Shipped" and moved.updated_at > stamped + timedelta(hours=23)  # as an ORM update would
    assert other.updated_at == stamped and other.items[0].status != "Shipped"  # no other row touched


def test_events_are_inserted_in_their_order_with_every_value(factory):
    from webapp.models import OrderEvent

    site = factory.site()
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])
    when = utcnow()
    rows = [{"order_id": order.id, "item_id": order.items[0].id if n % 2 else None, "actor": "Acct (ShipStation)",
             "kind": "shipment" if n % 2 else "status", "detail": f"event {n}", "created_at": when} for n in range(5)]
    insert_rows(OrderEvent.__table__, rows)
    db.session.commit()
    stored = OrderEvent.query.filter_by(order_id=order.id).filter(OrderEvent.detail.like("event %")) \
        .order_by(OrderEvent.id).all()
    assert [(e.item_id, e.actor, e.kind, e.detail, e.created_at) for e in stored] == [
        (r["item_id"], r["actor"], r["kind"], r["detail"], r["created_at"]) for r in rows]
