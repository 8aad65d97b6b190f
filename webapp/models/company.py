"""The storefront owner: company, its admins and its sites."""
from __future__ import annotations

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import UTCDateTime, utcnow

admin_sites = db.Table(
    "admin_sites",
    db.Column("admin_id", db.ForeignKey("admins.id", ondelete="CASCADE"), primary_key=True),
    db.Column("site_id", db.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Company(db.Model):
    __tablename__ = "companies"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    slug = db.Column(db.String(80), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Admin(UserMixin, db.Model):
    __tablename__ = "admins"
    id = db.Column(db.Integer, primary_key=True)
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    password_hash = db.Column(db.String(300), nullable=False)
    is_super = db.Column(db.Boolean, nullable=False, default=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    # Part of the session's user id: bumping it (logout) makes every cookie issued before unusable.
    session_version = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    company = db.relationship("Company")
    # Loaded when asked (one statement): a super admin's pages never read it, and selectin
    # loaded every site of the company with the admin on each request.
    sites = db.relationship("Site", secondary=admin_sites, lazy="select", order_by="Site.name")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:  # Flask-Login: what the session cookie names
        return f"{self.id}:{self.session_version or 0}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def can_access(self, site) -> bool:
        if site is None or site.company_id != self.company_id:
            return False
        return self.is_super or any(s.id == site.id for s in self.sites)

    def visible_sites_query(self):
        query = Site.query.filter(Site.company_id == self.company_id)
        if not self.is_super:
            query = query.filter(Site.id.in_([s.id for s in self.sites]))
        return query.order_by(Site.name)

    def visible_site_ids(self) -> list[int] | None:
        """None means every site of the company (super-admin)."""
        return None if self.is_super else [s.id for s in self.sites]


class Site(db.Model):
    __tablename__ = "sites"
    id = db.Column(db.Integer, primary_key=True)
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    slug = db.Column(db.String(80), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    domain = db.Column(db.String(253), nullable=False, default="")
    integration_id = db.Column(db.String(100), nullable=False, default="")
    mis_id = db.Column(db.String(50), nullable=False, default="")
    currency = db.Column(db.String(3), nullable=False, default="USD")
    time_zone = db.Column(db.String(64), nullable=False, default="UTC")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    company = db.relationship("Company")

    def __repr__(self) -> str:
        return f"<Site {self.slug}>"
