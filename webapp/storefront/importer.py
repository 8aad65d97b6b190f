"""Import storefront orders from a JSON list (the path a storefront uses to hand us orders).

Every record is validated completely before anything is written, and each good record is
committed in its own transaction, so one bad record never costs another one. Re-importing
an order number updates that order in place (items matched by line position). After each
commit the ``order_changed`` signal is sent with reason "import", exactly as for the
admin's own state changes.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import jsonsafe
from ..extensions import db
from ..models import ItemFile, Order, OrderEvent, OrderItem, utcnow
from ..models import orders as o
from .import_checks import COUNTRY_CODES, Checker, File, Item, Record, check_record, load_sites, type_name
from .orders import _record, commit_and_notify

__all__ = ["COUNTRY_CODES", "ImportReport", "import_orders", "import_orders_file"]

log = logging.getLogger(__name__)

ACTOR = "import"


# --------------------------------------------------------------------------- the report

@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    # Re-imported with no difference: nothing written, no event, no signal.
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    _log: list[str] = field(default_factory=list, repr=False)

    def add(self, outcome: str, number: str, warnings: list[str]) -> None:
        getattr(self, outcome).append(number)
        self._log.append(f"{outcome} {number}")
        for message in warnings:
            self.warnings.append((number, message))
            self._log.append(f"warning {number}: {message}")

    def reject(self, key: str, reason: str) -> None:
        self.rejected.append((key, reason))
        self._log.append(f"rejected {key}: {reason}")

    def summary(self) -> str:
        parts = [f"{len(self.imported)} imported", f"{len(self.updated)} updated"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} unchanged")
        parts.append(f"{len(self.rejected)} rejected")
        parts.append(f"{len(self.warnings)} warning" + ("" if len(self.warnings) == 1 else "s"))
        return ", ".join(parts)

    def lines(self) -> Iterator[str]:
        """One line per record outcome and warning, in input order, then the summary."""
        yield from self._log
        yield self.summary()


# --------------------------------------------------------------------------- entry points

def import_orders_file(path: str) -> ImportReport:
    """Import a JSON file of orders; "-" reads standard input."""
    label = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return _file_rejected(label, f"cannot read file: {exc}")
    elements = jsonsafe.split_array(text)
    if elements is None:  # not a list: parsed whole for the message
        try:
            records = jsonsafe.loads(text)
        except ValueError as exc:
            return _file_rejected(label, f"not valid JSON: {exc}")
        return import_orders(records)
    return import_orders([_parse_element(element) for element in elements])


@dataclass
class _Unparsed:
    """A record whose own JSON is bad; the others are still imported."""

    reason: str


def _parse_element(text: str) -> Any:
    try:
        return jsonsafe.loads(text)
    except ValueError as exc:
        return _Unparsed(str(exc)[:200])


def import_orders(records: list) -> ImportReport:
    """Import already-parsed records (a list of order objects).

    Commits once per record, so call it with no pending changes of your own in the session.
    """
    if not isinstance(records, list):
        return _file_rejected("input", f"expected a JSON list of orders, got {type_name(records)}")
    with _no_expiry_on_commit():
        report = _Importer(records).run()
    log.info("order import: %s", report.summary())
    return report


@contextmanager
def _no_expiry_on_commit() -> Iterator[None]:
    """Each record commits on its own; expiring on every commit would reload each order (and its
    items) right after writing it, just to read its id for the signal."""
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = previous


def _file_rejected(label: str, reason: str) -> ImportReport:
    report = ImportReport()
    report.reject(label, reason)
    return report


def _existing_orders(numbers: list[str]) -> dict[str, tuple[int, int]]:
    """number → (order id, site id) for the numbers of this batch that already exist."""
    found: dict[str, tuple[int, int]] = {}
    unique = sorted(set(numbers))
    for start in range(0, len(unique), 500):  # keep IN lists small for every backend
        rows = db.session.execute(select(Order.number, Order.id, Order.site_id)
                                  .where(Order.number.in_(unique[start:start + 500])))
        found.update({number: (oid, sid) for number, oid, sid in rows})
    return found


# --------------------------------------------------------------------------- writing

class _Changes:
    """Assigns only what differs and remembers what did, for the audit event and no-op detection."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    def set(self, obj: Any, attr: str, value: Any, label: str) -> bool:
        if getattr(obj, attr) == value:
            return False
        setattr(obj, attr, value)
        self.note(label)
        return True

    def note(self, label: str) -> None:
        if label not in self.labels:
            self.labels.append(label)


def _apply_header(order: Order, record: Record, changes: _Changes) -> None:
    site = record.site
    changes.set(order, "site_id", site.id, "site")
    changes.set(order, "currency", site.currency, "currency")
    for attr in ("customer_email", "customer_id", "placed_at", "po_number", "notes", "billing_address"):
        changes.set(order, attr, getattr(record, attr), attr)
    for column, value in record.totals.items():
        changes.set(order, column, value, "totals")
    if changes.set(order, "paid", record.paid, "paid"):
        order.paid_at, order.paid_by = (utcnow(), ACTOR) if record.paid else (None, None)


def _apply_items(order: Order, record: Record, changes: _Changes) -> None:
    """Match lines by position: update the common ones, add the extra ones, drop the missing ones."""
    existing = sorted(order.items, key=lambda i: i.line_number)
    next_line = max((i.line_number for i in existing), default=0) + 1
    for position, data in enumerate(record.items):
        if position < len(existing):
            item = existing[position]
        else:
            item = OrderItem(line_number=next_line)
            next_line += 1
            order.items.append(item)
            changes.note(f"item {item.line_number} added")
        _apply_item(item, data, changes, f"item {item.line_number}")
    for item in existing[len(record.items):]:
        _remove_item(order, item)
        changes.note(f"item {item.line_number} removed")


def _apply_item(item: OrderItem, data: Item, changes: _Changes, label: str) -> None:
    for attr in ("sku", "name", "quantity", "unit_price", "ship_to", "requested_ship_date",
                 "product_id", "shipping_method_id"):
        changes.set(item, attr, getattr(data, attr), f"{label} {attr}")
    changes.set(item, "shipping_method_name", data.shipping_method, f"{label} shipping_method")
    if changes.set(item, "approval", data.approval, f"{label} approval"):
        pending = data.approval == o.APPROVAL_PENDING
        item.approval_by, item.approval_at = (None, None) if pending else (ACTOR, utcnow())
    if changes.set(item, "status", data.status, f"{label} status") and item.id is not None:
        item.status_changed_at = utcnow()
    _apply_files(item, data.files, changes, label)


def _apply_files(item: OrderItem, files: list[File], changes: _Changes, label: str) -> None:
    existing = list(item.files)
    for position, data in enumerate(files):
        if position < len(existing):
            file = existing[position]
        else:
            file = ItemFile()
            item.files.append(file)
        file_label = f"{label} files"
        changes.set(file, "kind", data.kind, file_label)
        changes.set(file, "url", data.url, file_label)
        if changes.set(file, "state", data.state, file_label):
            file.ready_at, file.ready_by = (utcnow(), ACTOR) if data.state == o.FILE_READY else (None, None)
    for file in existing[len(files):]:
        item.files.remove(file)
        changes.note(f"{label} files")


def _remove_item(order: Order, item: OrderItem) -> None:
    # Keep the audit trail of a dropped line: detach its events instead of cascading them away.
    if item.id is not None:
        db.session.execute(db.update(OrderEvent).where(OrderEvent.item_id == item.id).values(item_id=None))
    order.items.remove(item)


def _create(record: Record) -> Order:
    order = Order(number=record.number)
    _apply_header(order, record, _Changes())
    _apply_items(order, record, _Changes())
    db.session.add(order)
    _record(order, ACTOR, "imported", f"Imported with {len(record.items)} item(s)")
    commit_and_notify(order, "import")
    return order


def _lock(order_id: int) -> Order | None:
    """Fresh state, and the row locked so a concurrent import of the same number waits for us."""
    return db.session.get(Order, order_id, with_for_update=True, populate_existing=True)


def _update(order: Order, record: Record) -> bool:
    """Returns False when the order already matched the record (nothing written)."""
    changes = _Changes()
    _apply_header(order, record, changes)
    _apply_items(order, record, changes)
    if not changes.labels:
        db.session.rollback()  # release the row lock
        return False
    _record(order, ACTOR, "reimported", "Re-imported; changed: " + ", ".join(changes.labels))
    commit_and_notify(order, "import")
    return True


# --------------------------------------------------------------------------- the run

class _Importer:
    def __init__(self, records: list) -> None:
        self.records = records
        self.report = ImportReport()
        self.sites = load_sites()
        self.existing = _existing_orders([r["number"].strip() for r in records if _has_number(r)])
        self.seen: dict[str, int] = {}  # number → index of its first record in this batch

    def run(self) -> ImportReport:
        for index, raw in enumerate(self.records, start=1):
            self._import_one(index, raw)
        return self.report

    def _import_one(self, index: int, raw: Any) -> None:
        key = raw["number"].strip() if _has_number(raw) else f"#{index}"
        if isinstance(raw, _Unparsed):
            return self.report.reject(key, f"record is not valid JSON: {raw.reason}")
        if not isinstance(raw, dict):
            return self.report.reject(key, f"record is not an object (got {type_name(raw)})")
        record, check = check_record(raw, self.sites)
        self._check_identity(record, index, check)
        if check.errors:
            return self.report.reject(key, "; ".join(check.errors))
        try:
            outcome = self._save(record)
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("order import: %s failed to save", record.number, exc_info=True)
            return self.report.reject(key, _database_reason(exc))
        self.report.add(outcome, record.number, check.warnings)

    def _check_identity(self, record: Record, index: int, check: Checker) -> None:
        """A number is one order: once per file, and never moved to another site."""
        if not record.number:
            return
        first = self.seen.setdefault(record.number, index)
        if first != index:
            check.error(f"number {record.number!r} already appears in record #{first} of this input")
        existing = self.existing.get(record.number)
        if existing and record.site and existing[1] != record.site.id:
            check.error(f"order {record.number} already exists on site {self._slug(existing[1])!r}")

    def _save(self, record: Record) -> str:
        existing = self.existing.get(record.number)
        order = _lock(existing[0]) if existing else None
        if order is None:  # new, or deleted since the batch started
            _create(record)
            return "imported"
        return "updated" if _update(order, record) else "unchanged"

    def _slug(self, site_id: int) -> str:
        return next((s.slug for s in self.sites.values() if s.id == site_id), str(site_id))


def _database_reason(exc: SQLAlchemyError) -> str:
    if isinstance(exc, IntegrityError):
        return "the database refused it (the number was probably created meanwhile); import it again"
    return f"database error: {type(exc).__name__}"


def _has_number(raw: Any) -> bool:
    return isinstance(raw, dict) and isinstance(raw.get("number"), str) and bool(raw["number"].strip())

