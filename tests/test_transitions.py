"""Admin state changes on orders: each valid one is audited, recomputes Order.status and notifies
after commit; each invalid one raises TransitionError and leaves the database untouched."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from webapp.extensions import db
from webapp.models import ItemFile, Order, OrderEvent, OrderItem
from webapp.models import orders as o
from webapp.storefront.orders import (TransitionError, approve_item, cancel_item, deny_item, mark_file_ready,
                                      mark_paid, order_changed, record_shipment, set_item_status)

ACTOR = "staff@example.test"
APPROVED = {"approval": o.APPROVAL_APPROVED}
PENDING = {"approval": o.APPROVAL_PENDING}


def committed_rows() -> dict:
    """Every order-related row, read on a separate connection: only committed state is visible."""
    with db.engine.connect() as conn:
        return {table.name: sorted(tuple(row) for row in conn.execute(db.select(table)))
                for table in (Order.__table__, OrderItem.__table__, ItemFile.__table__, OrderEvent.__table__)}


@pytest.fixture
def notified():
    """Records (order id, reason, committed order status) for every order_changed signal."""
    calls = []

    def receiver(order_id, reason):
        with db.engine.connect() as conn:
            status = conn.execute(db.select(Order.status).where(Order.id == order_id)).scalar_one()
        calls.append((order_id, reason, status))

    with order_changed.connected_to(receiver):
        yield calls


@pytest.fixture
def site(factory):
    return factory.site()


def assert_applied(order: Order, notified: list, kind: str, status: str, item: OrderItem | None = None):
    """The change is committed, audited (actor + time), summarised and announced once."""
    db.session.expire_all()
    event = OrderEvent.query.filter_by(order_id=order.id).one()
    assert (event.kind, event.actor, event.item_id) == (kind, ACTOR, item.id if item else None)
    assert datetime.now(timezone.utc) - event.created_at < timedelta(minutes=1)
    assert db.session.get(Order, order.id).status == status
    assert notified == [(order.id, kind, status)]  # sent after commit: the receiver saw the new status


# --------------------------------------------------------------------------- valid changes

def test_mark_paid(factory, site, notified):
    order = factory.order(site, paid=False, items=[APPROVED])
    assert order.status == o.ORDER_AWAITING_PAYMENT

    mark_paid(order, ACTOR)

    assert_applied(order, notified, "paid", o.ORDER_RECEIVED)
    assert order.paid and order.paid_by == ACTOR and order.paid_at is not None


def test_approve_item(factory, site, notified):
    order = factory.order(site, paid=True, items=[PENDING])
    assert order.status == o.ORDER_AWAITING_APPROVAL
    item = order.items[0]

    approve_item(item, ACTOR)

    assert_applied(order, notified, "approved", o.ORDER_RECEIVED, item)
    assert (item.approval, item.approval_by) == (o.APPROVAL_APPROVED, ACTOR) and item.approval_at


def test_deny_item_with_another_approved(factory, site, notified):
    order = factory.order(site, paid=True, items=[APPROVED, PENDING])
    item = order.items[1]

    deny_item(item, ACTOR)

    assert_applied(order, notified, "denied", o.ORDER_RECEIVED, item)
    assert (item.approval, item.approval_by) == (o.APPROVAL_DENIED, ACTOR) and item.approval_at


def test_denying_the_last_item_cancels_the_order(factory, site, notified):
    order = factory.order(site, paid=True, items=[PENDING])

    deny_item(order.items[0], ACTOR)

    assert_applied(order, notified, "denied", o.ORDER_CANCELLED, order.items[0])


def test_cancel_item(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**APPROVED, "status": o.IN_PRODUCTION}, APPROVED])
    item = order.items[1]

    cancel_item(item, ACTOR)

    # The cancelled line no longer holds the order back: the live line sets the status.
    assert_applied(order, notified, "cancelled", o.IN_PRODUCTION, item)
    assert item.status == o.CANCELLED and item.status_changed_at is not None


def test_cancelling_every_item_cancels_the_order(factory, site, notified):
    order = factory.order(site, paid=True, items=[APPROVED])

    cancel_item(order.items[0], ACTOR)

    assert_applied(order, notified, "cancelled", o.ORDER_CANCELLED, order.items[0])


@pytest.mark.parametrize("new_status, order_status", [
    (o.IN_PRODUCTION, o.IN_PRODUCTION),
    (o.READY_TO_SHIP, o.READY_TO_SHIP),
    (o.ON_HOLD, o.ON_HOLD),
])
def test_set_item_status(factory, site, notified, new_status, order_status):
    order = factory.order(site, paid=True, items=[APPROVED])
    item = order.items[0]

    set_item_status(item, new_status, ACTOR)

    assert_applied(order, notified, "status", order_status, item)
    assert item.status == new_status and item.status_changed_at is not None
    assert OrderEvent.query.one().detail == f"Item {item.number}: Order Received → {new_status}"


def test_order_status_is_the_least_advanced_live_item(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**APPROVED, "status": o.SHIPPED}, APPROVED])

    set_item_status(order.items[1], o.READY_TO_SHIP, ACTOR)

    assert_applied(order, notified, "status", o.READY_TO_SHIP, order.items[1])


def test_set_item_status_cancelled_is_a_cancel(factory, site, notified):
    order = factory.order(site, paid=True, items=[APPROVED, APPROVED])

    set_item_status(order.items[0], o.CANCELLED, ACTOR)

    assert_applied(order, notified, "cancelled", o.ORDER_RECEIVED, order.items[0])


def test_mark_file_ready(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**APPROVED, "files": [(o.FILE_EDOC, o.FILE_PENDING)]}])
    assert order.status == o.ORDER_AWAITING_FILES
    file = order.items[0].files[0]

    mark_file_ready(file, ACTOR)

    assert_applied(order, notified, "file_ready", o.ORDER_RECEIVED, order.items[0])
    assert (file.state, file.ready_by) == (o.FILE_READY, ACTOR) and file.ready_at is not None
    assert OrderEvent.query.one().detail.startswith("eDocBuilder file #")


def test_awaiting_files_comes_after_approval(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**PENDING, "files": [(o.FILE_UPLOAD, o.FILE_PENDING)]}])
    assert order.status == o.ORDER_AWAITING_APPROVAL

    approve_item(order.items[0], ACTOR)

    assert_applied(order, notified, "approved", o.ORDER_AWAITING_FILES, order.items[0])


def test_record_shipment(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**APPROVED, "status": o.READY_TO_SHIP}])
    item = order.items[0]

    record_shipment(item, "  UPS ", " 1Z999 ", date(2026, 11, 20), ACTOR)

    assert_applied(order, notified, "shipment", o.SHIPPED, item)
    assert (item.status, item.carrier, item.tracking_number, item.shipped_on) == (
        o.SHIPPED, "UPS", "1Z999", date(2026, 11, 20))


def test_record_shipment_keeps_completed_and_defaults_the_date(factory, site, notified):
    order = factory.order(site, paid=True, items=[{**APPROVED, "status": o.COMPLETED}])
    item = order.items[0]

    record_shipment(item, "FedEx", "7712", None, ACTOR)

    assert_applied(order, notified, "shipment", o.COMPLETED, item)
    assert item.status == o.COMPLETED and item.shipped_on == datetime.now(timezone.utc).date()


# --------------------------------------------------------------------------- refused changes

def _item(factory, site, **spec) -> OrderItem:
    files = spec.pop("files", [])
    return factory.order(site, paid=True, items=[{**APPROVED, **spec, "files": files}]).items[0]


REFUSED = [
    # (item spec, action, message)
    pytest.param({}, lambda i: mark_paid(i.order, ACTOR), "is already marked paid", id="mark_paid twice"),
    pytest.param({}, lambda i: approve_item(i, ACTOR), "is already approved", id="approve approved"),
    pytest.param({"status": o.CANCELLED, **PENDING}, lambda i: approve_item(i, ACTOR),
                 "is cancelled and cannot be approved", id="approve cancelled"),
    pytest.param({"approval": o.APPROVAL_DENIED}, lambda i: deny_item(i, ACTOR), "is already denied",
                 id="deny denied"),
    pytest.param({"status": o.CANCELLED}, lambda i: deny_item(i, ACTOR), "is cancelled and cannot be denied",
                 id="deny cancelled"),
    pytest.param({"status": o.CANCELLED}, lambda i: cancel_item(i, ACTOR), "is already cancelled",
                 id="cancel twice"),
    pytest.param({"status": o.SHIPPED}, lambda i: cancel_item(i, ACTOR), "is shipped and cannot be cancelled",
                 id="cancel shipped"),
    pytest.param({"status": o.COMPLETED}, lambda i: cancel_item(i, ACTOR),
                 "is completed and cannot be cancelled", id="cancel completed"),
    pytest.param({}, lambda i: set_item_status(i, "Lost in transit", ACTOR),
                 "Unknown item status 'Lost in transit'", id="unknown status"),
    pytest.param({}, lambda i: set_item_status(i, "in production", ACTOR),
                 "Unknown item status 'in production'", id="status spelled differently"),
    pytest.param({"status": o.CANCELLED}, lambda i: set_item_status(i, o.IN_PRODUCTION, ACTOR),
                 "is cancelled and cannot be changed", id="status of cancelled"),
    pytest.param({}, lambda i: set_item_status(i, o.ORDER_RECEIVED, ACTOR), "is already Order Received",
                 id="same status"),
    pytest.param({"files": [(o.FILE_EDOC, o.FILE_READY)]}, lambda i: mark_file_ready(i.files[0], ACTOR),
                 "already ready", id="file ready twice"),
    pytest.param({"status": o.CANCELLED, "files": [(o.FILE_UPLOAD, o.FILE_PENDING)]},
                 lambda i: mark_file_ready(i.files[0], ACTOR), "is cancelled", id="file of cancelled item"),
    pytest.param({}, lambda i: record_shipment(i, " ", "1Z", None, ACTOR), "Carrier is required",
                 id="shipment without carrier"),
    pytest.param({}, lambda i: record_shipment(i, "UPS", "", None, ACTOR), "Tracking number is required",
                 id="shipment without tracking"),
    pytest.param({"status": o.CANCELLED}, lambda i: record_shipment(i, "UPS", "1Z", None, ACTOR),
                 "is cancelled and cannot be shipped", id="shipment of cancelled item"),
]


@pytest.mark.parametrize("spec, action, message", REFUSED)
def test_refused_change_leaves_everything_as_it_was(factory, site, notified, spec, action, message):
    item = _item(factory, site, **spec)
    before = committed_rows()

    with pytest.raises(TransitionError, match=message):
        action(item)
    db.session.commit()  # even a later commit of the same session must have nothing to write

    assert committed_rows() == before
    assert notified == []
