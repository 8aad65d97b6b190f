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
    # The account's one status (webapp.embedded.account_status): ok | failing | untested | changed
    # (not verified since its credentials or address changed); set by every connection test and
    # real call outcome, with the reason (auth_code = error kind, auth_message) and when.
    auth_state = db.Column(db.String(20), nullable=False, default="untested")
    auth_code = db.Column(db.String(30), nullable=True)
    auth_message = db.Column(db.String(1000), nullable=True)
    auth_at = db.Column(UTCDateTime, nullable=True)
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
    """Local record <-> external id, per (account, site), unique both ways (the OCA binder).
    One account live on two sites links one external product to one local copy per site."""

    __tablename__ = "bindings"
    __table_args__ = (
        db.UniqueConstraint("account_id", "site_id", "kind", "external_id"),
        db.UniqueConstraint("account_id", "kind", "local_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False)
    # The local record's site. NULL only for a binding kept from before 0007 whose record was deleted.
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=True)
    kind = db.Column(db.String(20), nullable=False)  # product | category
    local_id = db.Column(db.Integer, nullable=False)
    external_id = db.Column(db.String(100), nullable=False)
    data = db.Column(db.JSON, nullable=False, default=dict)
    data_hash = db.Column(db.String(64), nullable=False, default="")
    # The provider's change stamp (ShipStation modifyDate) when it gives one: a re-sync skips a
    # record whose stamp is unchanged without hashing it. NULL: compare data_hash.
    stamp = db.Column(db.String(100), nullable=True)
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


# ---- order push ---------------------------------------------------------------------
PUSH_WAITING, PUSH_QUEUED, PUSH_PUSHING, PUSH_PUSHED, PUSH_FAILED = "waiting", "queued", "pushing", "pushed", "failed"
PUSH_STATES = (PUSH_WAITING, PUSH_QUEUED, PUSH_PUSHING, PUSH_PUSHED, PUSH_FAILED)


class OrderPush(db.Model):
    """One per (order, account): where this order stands with that provider account."""

    __tablename__ = "order_pushes"
    __table_args__ = (
        db.UniqueConstraint("order_id", "account_id"),
        db.Index("ix_order_pushes_account_state", "account_id", "state"),
        db.Index("ix_order_pushes_state_lease", "state", "lease_until"),
        db.Index("ix_order_pushes_account_key", "account_id", "idempotency_key"),  # status updates by key
    )
    id = db.Column(db.Integer, primary_key=True)
    # no index of its own: the unique (order_id, account_id) serves lookups by order
    order_id = db.Column(db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PUSH_WAITING)
    reasons = db.Column(db.JSON, nullable=False, default=list)      # why it is waiting
    errors = db.Column(db.JSON, nullable=False, default=list)       # the provider's words, line by line
    error_kind = db.Column(db.String(30), nullable=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    # Stable across retries: the provider idempotency key / lookup reference and our numbers.
    idempotency_key = db.Column(db.String(120), nullable=False)
    reference = db.Column(db.String(120), nullable=False)             # the number we ask for / look up by
    external_number = db.Column(db.String(200), nullable=True)       # the number the provider shows
    external_id = db.Column(db.String(200), nullable=True)
    external_status = db.Column(db.String(100), nullable=True)
    pushed_at = db.Column(UTCDateTime, nullable=True)
    queued_at = db.Column(UTCDateTime, nullable=True)
    next_attempt_at = db.Column(UTCDateTime, nullable=True)
    lease_until = db.Column(UTCDateTime, nullable=True)             # a worker holds it until then
    ambiguous = db.Column(db.Boolean, nullable=False, default=False)  # last attempt may have reached the provider
    # Remote ids of a multi-call push, committed the moment each exists (folder id, order id,
    # job id per line…), read back by the provider on a retry so nothing is created twice.
    checkpoint = db.Column(db.JSON, nullable=False, default=dict)
    status_synced_at = db.Column(UTCDateTime, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    order = db.relationship("Order")
    account = db.relationship("ProviderAccount")
    items = db.relationship("ItemPush", back_populates="push", cascade="all, delete-orphan", lazy="selectin")


class ItemPush(db.Model):
    """One per (order item, account): the item's identity and status in the external system."""

    __tablename__ = "item_pushes"
    __table_args__ = (db.UniqueConstraint("push_id", "item_id"),)
    id = db.Column(db.Integer, primary_key=True)
    # no index of its own: the unique (push_id, item_id) serves lookups by push
    push_id = db.Column(db.ForeignKey("order_pushes.id", ondelete="CASCADE"), nullable=False)
    item_id = db.Column(db.ForeignKey("order_items.id", ondelete="CASCADE"), nullable=False, index=True)
    external_number = db.Column(db.String(120), nullable=False)
    external_id = db.Column(db.String(200), nullable=True)
    external_order_id = db.Column(db.String(100), nullable=True)  # the provider order holding this line
    external_status = db.Column(db.String(100), nullable=True)
    pushed_at = db.Column(UTCDateTime, nullable=True)
    status_synced_at = db.Column(UTCDateTime, nullable=True)

    push = db.relationship("OrderPush", back_populates="items")
    item = db.relationship("OrderItem")


# ---- synchronization runs -------------------------------------------------------------
RUN_QUEUED, RUN_RUNNING, RUN_FINISHED, RUN_FAILED = "queued", "running", "finished", "failed"
# waiting: paused for a rate limit, its next slice scheduled at resume_at.
# partial: ended with some records processed and some not (failed records or a stage that stopped).
RUN_WAITING, RUN_PARTIAL = "waiting", "partial"
RUN_STATES = (RUN_QUEUED, RUN_RUNNING, RUN_WAITING, RUN_FINISHED, RUN_PARTIAL, RUN_FAILED)
RUN_ACTIVE_STATES = (RUN_QUEUED, RUN_RUNNING, RUN_WAITING)
SYNC_ITEMS = ("orders", "status", "products", "categories")


class SyncRun(db.Model):
    """A Synchronize click (site) or a global synchronization, with counters and a log."""

    __tablename__ = "sync_runs"
    __table_args__ = (db.Index("ix_sync_runs_account_site", "account_id", "site_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    site_id = db.Column(db.ForeignKey("sites.id", ondelete="CASCADE"), nullable=True)  # NULL = global
    scope = db.Column(db.String(10), nullable=False, default="site")  # site | global
    items = db.Column(db.JSON, nullable=False, default=list)
    started_by = db.Column(db.String(254), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=RUN_QUEUED)
    # Set while queued/running, NULL after: the unique constraint allows one active run per
    # (account, scope) on every backend (NULLs never collide).
    active_key = db.Column(db.String(60), nullable=True, unique=True)
    created = db.Column(db.Integer, nullable=False, default=0)
    updated = db.Column(db.Integer, nullable=False, default=0)
    unchanged = db.Column(db.Integer, nullable=False, default=0)
    skipped = db.Column(db.Integer, nullable=False, default=0)
    failed = db.Column(db.Integer, nullable=False, default=0)
    # The current stage's records: done <= total; total 0 = not known (indeterminate).
    progress_done = db.Column(db.Integer, nullable=False, default=0)
    progress_total = db.Column(db.Integer, nullable=False, default=0)
    progress_percent = db.Column(db.Integer, nullable=False, default=0)  # whole run, weighted stages, monotonic
    stage = db.Column(db.String(100), nullable=False, default="")
    # Where the run resumes: its plan of (site, item) stages, the current one and its cursor.
    checkpoint = db.Column(db.JSON, nullable=False, default=dict)
    slice_no = db.Column(db.Integer, nullable=False, default=0)  # the slice job allowed to run next
    pauses = db.Column(db.Integer, nullable=False, default=0)    # rate-limit pauses so far
    resume_at = db.Column(UTCDateTime, nullable=True)            # set while waiting
    error = db.Column(db.String(1000), nullable=True)
    queued_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    started_at = db.Column(UTCDateTime, nullable=True)
    finished_at = db.Column(UTCDateTime, nullable=True)
    heartbeat_at = db.Column(UTCDateTime, nullable=True)

    account = db.relationship("ProviderAccount")
    site = db.relationship("Site")

    @property
    def active(self) -> bool:
        return self.state in RUN_ACTIVE_STATES

    @property
    def percent(self) -> int:
        if self.state == RUN_FINISHED:
            return 100
        return max(0, min(100 if not self.active else 99, self.progress_percent or 0))

    @property
    def waiting_message(self) -> str:
        """What a paused run tells the admin (UTC, as every time in the admin)."""
        if self.state != RUN_WAITING or self.resume_at is None:
            return ""
        return f"waiting for the rate limit, resumes at {self.resume_at.strftime('%H:%M:%S')} UTC"


class RunLogLine(db.Model):
    __tablename__ = "run_log_lines"
    __table_args__ = (db.Index("ix_run_log_lines_run", "run_id", "id"),
                      db.Index("ix_run_log_lines_site", "site_id", "id"))
    id = db.Column(db.Integer, primary_key=True)
    run_id = db.Column(db.ForeignKey("sync_runs.id", ondelete="CASCADE"), nullable=False)
    site_id = db.Column(db.Integer, nullable=True)
    level = db.Column(db.String(10), nullable=False, default="info")  # info | warning | error
    message = db.Column(db.String(1000), nullable=False)
    order_id = db.Column(db.Integer, nullable=True)
    product_id = db.Column(db.Integer, nullable=True)
    category_id = db.Column(db.Integer, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class WebhookEvent(db.Model):
    """A received provider webhook, stored before it is processed (exactly once)."""

    __tablename__ = "webhook_events"
    __table_args__ = (db.UniqueConstraint("account_id", "dedupe_key"),
                      db.Index("ix_webhook_events_state_id", "state", "id"))  # batch claims: oldest received first
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.ForeignKey("provider_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    dedupe_key = db.Column(db.String(128), nullable=False)
    event_type = db.Column(db.String(100), nullable=False, default="")
    payload = db.Column(db.Text, nullable=False)
    # received -> processing (claimed) -> processed | failed; a transient failure goes back to received
    state = db.Column(db.String(10), nullable=False, default="received")
    error = db.Column(db.String(1000), nullable=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    processed_at = db.Column(UTCDateTime, nullable=True)
    # received: not to be claimed before (a retry's backoff); processing: the claim's lease end
    # (past it, the worker is presumed dead and the event is received again).
    due_at = db.Column(UTCDateTime, nullable=True)
