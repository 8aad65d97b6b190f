"""Whether an order can be pushed — one function, with every reason when it cannot."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Order, OrderItem
from ..models import orders as o


@dataclass
class Eligibility:
    reasons: list[str] = field(default_factory=list)
    items: list[OrderItem] = field(default_factory=list)  # what would be pushed

    @property
    def ok(self) -> bool:
        return not self.reasons

    def __bool__(self) -> bool:
        return self.ok


def check(order: Order) -> Eligibility:
    """Paid; all items approved, or at least one approved and the rest denied; no pending
    file (upload or eDocBuilder) on a pushed item; cancelled and denied items are left out."""
    result = Eligibility()
    if not order.paid:
        result.reasons.append("The order is not marked as paid.")
    candidates = [i for i in order.items if i.status != o.CANCELLED]
    if not candidates:
        result.reasons.append("Every item is cancelled; there is nothing to push.")
        return result
    pending = [i for i in candidates if i.approval == o.APPROVAL_PENDING]
    for item in pending:
        result.reasons.append(f"Item {item.number} is waiting for approval.")
    approved = [i for i in candidates if i.approval == o.APPROVAL_APPROVED]
    if not approved and not pending:
        result.reasons.append("Every item was denied; there is nothing to push.")
    for item in approved:
        for f in item.files:
            if f.state == o.FILE_PENDING:
                label = "eDocBuilder file" if f.kind == o.FILE_EDOC else "uploaded file"
                result.reasons.append(f"Item {item.number} has a pending {label}.")
    for item in approved:
        if item.status not in o.ITEM_STATUSES:
            result.reasons.append(f"Item {item.number} has an invalid status {item.status!r}.")
    if result.ok:
        result.items = approved
    return result
