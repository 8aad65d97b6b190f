"""Embedded Services records: provider accounts, per-site activation, per-entity settings,
bindings (local record <-> external id) and the recorded exchanges with providers."""
from __future__ import annotations

import secrets

from ..crypto import EncryptedJSON
from ..extensions import db
from .base import UTCDateTime, utcnow

ENTITY_TYPES = ("product", "category", "site_user", "shipping_method")


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class EnabledProvider(db.Model):
    """Install-level switch (sales/ops): which providers this install may use."""

    __tablename__ = "enabled_providers"
    key = db.Column(db.String(50), primary_key=True)
    enabled_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class ProviderAccount(db.Model):
    __tablename__ = "provider_accounts"
    id = db.Column(db.Integer, primary_key=True)
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    name = db.Column(db.String(120), nullable=False)
    provider_key = db.Column(db.String(50), nullable=False, index=True)
    admin_id = db.Column(db.ForeignKey("admins.id"), nullable=False, index=True)
    credentials = db.Column(EncryptedJSON, nullable=False, default=dict)
    settings = db.Column(db.JSON, nullable=False, default=dict)
    # ok | needs_reauth | untested
    auth_state = db.Column(db.String(20), nullable=False, default="untested")
    webhook_token = db.Column(db.String(64), nullable=False, unique=True, default=new_webhook_token)
    webhook_subscription = db.Column(db.JSON, nullable=True)
    # Last "Test connection": queued | running | ok | failed
    test_state = db.Column(db.String(20), nullable=True)
    test_code = db.Column(db.String(30), nullable=True)
    test_message = db.Column(db.String(1000), nullable=True)
    test_started_at = db.Column(UTCDateTime, nullable=True)
    test_finished_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    admin = db.relationship("Admin")
    activations = db.relationship("SiteActivation", back_populates="account", cascade="all, delete-orphan",
                                  lazy="selectin")

    @property
    def provider(self):
        from ..providers.registry import get_provider_class
        return get_provider_class(self.provider_key)

    def client(self):
        """A provider instance bound to this account's credentials and settings."""
        return self.provider.for_account(self)


class SiteActivation(db.Model):
    __tablename__ = "site_activations"
    __table_args__ = (db.UniqueConstraint("account_id", "site_id"),)
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True)
    enabled = db.Column(db.Boolean, nullable=False, default=False)
    is_live = db.Column(db.Boolean, nullable=False, default=False)
    settings = db.Column(db.JSON, nullable=False, default=dict)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    account = db.relationship("ProviderAccount", back_populates="activations")
    site = db.relationship("Site")

    @property
    def active(self) -> bool:
        return self.enabled


class EntitySetting(db.Model):
    """Provider settings an admin sets on one product / category / site user / shipping method."""

    __tablename__ = "entity_settings"
    __table_args__ = (db.UniqueConstraint("account_id", "entity_type", "entity_id"),)
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    entity_type = db.Column(db.String(20), nullable=False)
    entity_id = db.Column(db.Integer, nullable=False)
    values = db.Column(db.JSON, nullable=False, default=dict)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Binding(db.Model):
    """Local record <-> external id, per account, unique both ways (the OCA binder)."""

    __tablename__ = "bindings"
    __table_args__ = (
        db.UniqueConstraint("account_id", "kind", "external_id"),
        db.UniqueConstraint("account_id", "kind", "local_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(20), nullable=False)  # product | category
    local_id = db.Column(db.Integer, nullable=False)
    external_id = db.Column(db.String(100), nullable=False)
    data = db.Column(db.JSON, nullable=False, default=dict)
    data_hash = db.Column(db.String(64), nullable=False, default="")
    synced_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class ProviderExchange(db.Model):
    """A redacted request/response with a provider, shown on order tabs and account pages."""

    __tablename__ = "provider_exchanges"
    __table_args__ = (db.Index("ix_provider_exchanges_subject", "subject_type", "subject_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    subject_type = db.Column(db.String(20), nullable=False, default="account")  # account | order | run
    subject_id = db.Column(db.Integer, nullable=True)
    method = db.Column(db.String(10), nullable=False)
    url = db.Column(db.String(2000), nullable=False)
    status = db.Column(db.Integer, nullable=True)
    duration_ms = db.Column(db.Integer, nullable=False, default=0)
    request_body = db.Column(db.Text, nullable=False, default="")
    response_body = db.Column(db.Text, nullable=False, default="")
    error = db.Column(db.String(200), nullable=False, default="")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
