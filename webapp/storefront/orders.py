"""Order and item state changes made from the admin.

Each function validates the transition, records who did it and when (OrderEvent),
recomputes the order summary and commits. After the commit it sends the
``order_changed`` signal, so listeners (the Embedded Services push) only ever see
committed state.
"""
from __future__ import annotations

from datetime import date

from blinker import signal

from ..extensions import db
from ..models import ItemFile, Order, OrderEvent, OrderItem, utcnow
from ..models import orders as o

order_changed = signal("order-changed")


class TransitionError(ValueError):
    """A state change that is not allowed; the message is shown to the admin."""


def _record(order: Order, actor: str, kind: str, detail: str, item: OrderItem | None = None) -> None:
    db.session.add(OrderEvent(order=order, item=item, actor=actor, kind=kind, detail=detail[:1000]))


def commit_and_notify(order: Order, reason: str) -> None:
    order.refresh_status()
    db.session.commit()
    order_changed.send(order.id, reason=reason)


def mark_paid(order: Order, actor: str) -> None:
    if order.paid:
        raise TransitionError(f"Order {order.number} is already marked paid.")
    order.paid = True
    order.paid_at = utcnow()
    order.paid_by = actor
    _record(order, actor, "paid", "Marked paid")
    commit_and_notify(order, "paid")


def _require_not_cancelled(item: OrderItem, action: str) -> None:
    if item.status == o.CANCELLED:
        raise TransitionError(f"Item {item.number} is cancelled and cannot be {action}.")


def approve_item(item: OrderItem, actor: str) -> None:
    _require_not_cancelled(item, "approved")
    if item.approval == o.APPROVAL_APPROVED:
        raise TransitionError(f"Item {item.number} is already approved.")
    item.approval, item.approval_by, item.approval_at = o.APPROVAL_APPROVED, actor, utcnow()
    _record(item.order, actor, "approved", f"Item {item.number} approved", item)
    commit_and_notify(item.order, "approved")


def deny_item(item: OrderItem, actor: str) -> None:
    _require_not_cancelled(item, "denied")
    if item.approval == o.APPROVAL_DENIED:
        raise TransitionError(f"Item {item.number} is already denied.")
    item.approval, item.approval_by, item.approval_at = o.APPROVAL_DENIED, actor, utcnow()
    _record(item.order, actor, "denied", f"Item {item.number} denied", item)
    commit_and_notify(item.order, "denied")


def cancel_item(item: OrderItem, actor: str) -> None:
    if item.status == o.CANCELLED:
        raise TransitionError(f"Item {item.number} is already cancelled.")
    if item.status in (o.SHIPPED, o.COMPLETED):
        raise TransitionError(f"Item {item.number} is {item.status.lower()} and cannot be cancelled.")
    item.status, item.status_changed_at = o.CANCELLED, utcnow()
    _record(item.order, actor, "cancelled", f"Item {item.number} cancelled", item)
    commit_and_notify(item.order, "cancelled")


def set_item_status(item: OrderItem, status: str, actor: str) -> None:
    if status not in o.ITEM_STATUSES:
        raise TransitionError(f"Unknown item status {status!r}.")
    if status == o.CANCELLED:
        return cancel_item(item, actor)
    _require_not_cancelled(item, "changed")
    if item.status == status:
        raise TransitionError(f"Item {item.number} is already {status}.")
    previous = item.status
    item.status, item.status_changed_at = status, utcnow()
    _record(item.order, actor, "status", f"Item {item.number}: {previous} → {status}", item)
    commit_and_notify(item.order, "status")


def mark_file_ready(file: ItemFile, actor: str) -> None:
    item = file.item
    _require_not_cancelled(item, "changed")
    if file.state == o.FILE_READY:
        raise TransitionError("This file is already ready.")
    file.state, file.ready_at, file.ready_by = o.FILE_READY, utcnow(), actor
    label = "eDocBuilder file" if file.kind == o.FILE_EDOC else "Upload"
    _record(item.order, actor, "file_ready", f"{label} #{file.id} of item {item.number} ready", item)
    commit_and_notify(item.order, "file_ready")


def record_shipment(item: OrderItem, carrier: str, tracking_number: str, shipped_on: date | None,
                    actor: str) -> None:
    _require_not_cancelled(item, "shipped")
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier:
        raise TransitionError("Carrier is required.")
    if not tracking_number:
        raise TransitionError("Tracking number is required.")
    item.carrier, item.tracking_number = carrier[:100], tracking_number[:100]
    item.shipped_on = shipped_on or utcnow().date()
    if item.status != o.SHIPPED and item.status != o.COMPLETED:
        item.status, item.status_changed_at = o.SHIPPED, utcnow()
    _record(item.order, actor, "shipment",
            f"Item {item.number} shipped via {item.carrier}, tracking {item.tracking_number}", item)
    commit_and_notify(item.order, "shipment")
