"""Orders as the storefront sends them, with the state that decides whether they can be pushed."""
from __future__ import annotations

from ..extensions import db
from .base import UTCDateTime, utcnow

# The default item workflow, in production order.
ORDER_RECEIVED = "Order Received"
IN_PRODUCTION = "In Production"
READY_TO_SHIP = "Ready to Ship"
SHIPPED = "Shipped"
COMPLETED = "Completed"
ON_HOLD = "On Hold"
CANCELLED = "Cancelled"
ITEM_STATUSES = (ORDER_RECEIVED, IN_PRODUCTION, READY_TO_SHIP, SHIPPED, COMPLETED, ON_HOLD, CANCELLED)

APPROVAL_PENDING, APPROVAL_APPROVED, APPROVAL_DENIED = "pending", "approved", "denied"
APPROVALS = (APPROVAL_PENDING, APPROVAL_APPROVED, APPROVAL_DENIED)

FILE_UPLOAD, FILE_EDOC = "upload", "edoc"
FILE_KINDS = (FILE_UPLOAD, FILE_EDOC)
FILE_PENDING, FILE_READY = "pending", "ready"
FILE_STATES = (FILE_PENDING, FILE_READY)

# Order-level summary shown in lists and used by the status filter.
ORDER_AWAITING_PAYMENT = "Awaiting Payment"
ORDER_AWAITING_APPROVAL = "Awaiting Approval"
ORDER_AWAITING_FILES = "Awaiting Files"
ORDER_CANCELLED = "Cancelled"
ORDER_STATUSES = (ORDER_AWAITING_PAYMENT, ORDER_AWAITING_APPROVAL, ORDER_AWAITING_FILES) + tuple(
    s for s in ITEM_STATUSES
)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        db.Index("ix_orders_site_placed", "site_id", "placed_at"),
        # The lists' ordered scans end with site_id so the site scope is checked in the index
        # (no table row is read for an order of a site the page does not show).
        db.Index("ix_orders_status_placed_id_site", "status", "placed_at", "id", "site_id"),
        db.Index("ix_orders_placed_id_site", "placed_at", "id", "site_id"),
        # One site + a status: the count and the page are one index range (migration 0013).
        db.Index("ix_orders_site_status_placed_id", "site_id", "status", "placed_at", "id"),
        # The Embedded Services filter (?push=failed…) of both lists, ordered like the others.
        db.Index("ix_orders_push_placed_id_site", "push_state", "placed_at", "id", "site_id"),
        db.Index("ix_orders_site_push_placed", "site_id", "push_state", "placed_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(50), nullable=False, unique=True)
    site_id = db.Column(db.ForeignKey("sites.id"), nullable=False)
    customer_id = db.Column(db.ForeignKey("site_users.id"), nullable=True, index=True)
    customer_email = db.Column(db.String(254), nullable=False, default="")
    placed_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    paid = db.Column(db.Boolean, nullable=False, default=False)
    paid_at = db.Column(UTCDateTime, nullable=True)
    paid_by = db.Column(db.String(254), nullable=True)
    po_number = db.Column(db.String(100), nullable=False, default="")
    notes = db.Column(db.Text, nullable=False, default="")
    billing_address = db.Column(db.JSON, nullable=False, default=dict)
    currency = db.Column(db.String(3), nullable=False, default="USD")
    subtotal = db.Column(db.Numeric(12, 2), nullable=True)
    shipping_total = db.Column(db.Numeric(12, 2), nullable=True)
    tax_total = db.Column(db.Numeric(12, 2), nullable=True)
    total = db.Column(db.Numeric(12, 2), nullable=True)
    status = db.Column(db.String(40), nullable=False, default=ORDER_AWAITING_PAYMENT)
    # Worst Embedded Services state over its pushes (embedded/push_summary.py keeps it).
    push_state = db.Column(db.String(10), nullable=False, default="none", server_default="none")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    site = db.relationship("Site")
    customer = db.relationship("SiteUser")
    items = db.relationship(
        "OrderItem", back_populates="order", order_by="OrderItem.line_number",
        cascade="all, delete-orphan", lazy="selectin",
    )

    def refresh_status(self) -> None:
        """Recompute the denormalised summary status (indexed for the orders list filter)."""
        self.status = summary_status(self.paid, self.items)

    @property
    def computed_total(self):
        return sum((i.quantity * (i.unit_price or 0) for i in self.items), 0)


def summary_status(paid: bool, items) -> str:
    """An order's summary status from its items (objects with status, approval and files with
    a state): ORM rows, or the plain rows a set-based status sync works on."""
    live = [i for i in items if i.status != CANCELLED and i.approval != APPROVAL_DENIED]
    if not live:
        return ORDER_CANCELLED
    if not paid:
        return ORDER_AWAITING_PAYMENT
    if any(i.approval == APPROVAL_PENDING for i in live):
        return ORDER_AWAITING_APPROVAL
    if any(f.state == FILE_PENDING for i in live for f in i.files):
        return ORDER_AWAITING_FILES
    if any(i.status == ON_HOLD for i in live):
        return ON_HOLD
    rank = {status: n for n, status in enumerate(ITEM_STATUSES)}
    return min(live, key=lambda i: rank.get(i.status, 0)).status or ORDER_RECEIVED


class OrderDay(db.Model):
    """Orders placed per UTC day, kept by database triggers on orders (migration 0014), never
    written by the application: the unfiltered orders list finds where a deep page starts by
    adding up days, and shows an exact total, without walking the orders index."""

    __tablename__ = "order_days"
    day = db.Column(db.Date, primary_key=True)
    orders = db.Column(db.Integer, nullable=False)


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (db.UniqueConstraint("order_id", "line_number"),)
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    line_number = db.Column(db.Integer, nullable=False)
    product_id = db.Column(db.ForeignKey("products.id"), nullable=True, index=True)
    sku = db.Column(db.String(100), nullable=False, default="")
    name = db.Column(db.String(300), nullable=False)
    quantity = db.Column(db.Integer, nullable=False)
    unit_price = db.Column(db.Numeric(12, 4), nullable=False, default=0)
    approval = db.Column(db.String(10), nullable=False, default=APPROVAL_PENDING)
    approval_by = db.Column(db.String(254), nullable=True)
    approval_at = db.Column(UTCDateTime, nullable=True)
    status = db.Column(db.String(40), nullable=False, default=ORDER_RECEIVED)
    status_changed_at = db.Column(UTCDateTime, nullable=True)
    ship_to = db.Column(db.JSON, nullable=False, default=dict)
    shipping_method_id = db.Column(db.ForeignKey("shipping_methods.id"), nullable=True)
    shipping_method_name = db.Column(db.String(200), nullable=False, default="")
    requested_ship_date = db.Column(db.Date, nullable=True)
    carrier = db.Column(db.String(100), nullable=False, default="")
    tracking_number = db.Column(db.String(100), nullable=False, default="")
    shipped_on = db.Column(db.Date, nullable=True)

    order = db.relationship("Order", back_populates="items")
    product = db.relationship("Product")
    shipping_method = db.relationship("ShippingMethod")
    files = db.relationship(
        "ItemFile", back_populates="item", cascade="all, delete-orphan", lazy="selectin",
        order_by="ItemFile.id",
    )

    @property
    def number(self) -> str:
        """Storefront item number staff recognise: order number + line."""
        return f"{self.order.number}-{self.line_number}"


class ItemFile(db.Model):
    __tablename__ = "item_files"
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.ForeignKey("order_items.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(10), nullable=False, default=FILE_UPLOAD)
    state = db.Column(db.String(10), nullable=False, default=FILE_PENDING)
    url = db.Column(db.String(2000), nullable=False, default="")
    ready_at = db.Column(UTCDateTime, nullable=True)
    ready_by = db.Column(db.String(254), nullable=True)

    item = db.relationship("OrderItem", back_populates="files")


class OrderEvent(db.Model):
    """Audit trail: who changed what on an order, and when."""

    __tablename__ = "order_events"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    item_id = db.Column(db.ForeignKey("order_items.id", ondelete="CASCADE"), nullable=True)
    actor = db.Column(db.String(254), nullable=False)
    kind = db.Column(db.String(40), nullable=False)
    detail = db.Column(db.String(1000), nullable=False, default="")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    order = db.relationship("Order")
    item = db.relationship("OrderItem")
