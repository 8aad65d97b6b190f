"""Per-site catalogue: a category tree under one Root, products, site users, shipping methods."""
from __future__ import annotations

from ..extensions import db
from .base import UTCDateTime, utcnow


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (db.UniqueConstraint("site_id", "parent_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    parent_id = db.Column(db.ForeignKey("categories.id"), nullable=True, index=True)
    name = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    is_root = db.Column(db.Boolean, nullable=False, default=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    site = db.relationship("Site")
    parent = db.relationship("Category", remote_side=[id], backref="children")

    ROOT_NAME = "Root"

    @classmethod
    def root_for(cls, site) -> "Category":
        """The site's Root category, created on first use."""
        root = cls.query.filter_by(site_id=site.id, is_root=True).first()
        if root is None:
            root = cls(site_id=site.id, name=cls.ROOT_NAME, is_root=True)
            db.session.add(root)
            db.session.flush()
        return root

    def path(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (db.UniqueConstraint("site_id", "sku"),)
    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    category_id = db.Column(db.ForeignKey("categories.id"), nullable=False, index=True)
    sku = db.Column(db.String(100), nullable=False)
    name = db.Column(db.String(300), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    price = db.Column(db.Numeric(12, 4), nullable=False, default=0)
    # Products created in the admin start inactive; downloaded ones start active (sync sets it).
    active = db.Column(db.Boolean, nullable=False, default=False)
    integration_id = db.Column(db.String(100), nullable=False, default="")
    source = db.Column(db.String(20), nullable=False, default="admin")  # admin | sync | demo
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    site = db.relationship("Site")
    category = db.relationship("Category", lazy="joined")


class SiteUser(db.Model):
    """A storefront customer of one site (not an admin)."""

    __tablename__ = "site_users"
    __table_args__ = (db.UniqueConstraint("site_id", "email"),)
    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False)
    first_name = db.Column(db.String(100), nullable=False, default="")
    last_name = db.Column(db.String(100), nullable=False, default="")
    company_name = db.Column(db.String(200), nullable=False, default="")
    phone = db.Column(db.String(50), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    site = db.relationship("Site")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class ShippingMethod(db.Model):
    __tablename__ = "shipping_methods"
    __table_args__ = (db.UniqueConstraint("site_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    carrier = db.Column(db.String(100), nullable=False, default="")
    # Integrated = rated live by a carrier account; non-integrated = flat/manual methods.
    is_integrated = db.Column(db.Boolean, nullable=False, default=False)
    integration_id = db.Column(db.String(100), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)

    site = db.relationship("Site")
