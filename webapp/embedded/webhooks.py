"""Webhook intake: answer fast, store the event once, process it in a job exactly once."""
from __future__ import annotations

import codecs
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import noload
from werkzeug.http import parse_options_header

from ..extensions import db
from ..models import ProviderAccount, WebhookEvent, utcnow
from ..providers.base import WebhookAuthError
from ..providers.errors import ProviderError
from . import install
from .clients import client_for
from .jobs import process_webhook_job
from .status_sync import apply_updates

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
MAX_ATTEMPTS = 5


@dataclass
class Intake:
    status: int
    message: str
    event_id: int | None = None


def _account_for(provider_key: str, token: str) -> ProviderAccount | None:
    if not token or len(token) > 64:
        return None
    # noload: the intake needs the account row only, not its site activations (one query less
    # on every webhook — see bench/RESULTS.md, webhook intake).
    account = ProviderAccount.query.options(noload(ProviderAccount.activations)).filter_by(webhook_token=token).first()
    # Constant-time compare of what the lookup matched, and the provider must match the URL.
    if account is None or not hmac.compare_digest(account.webhook_token, token) or account.provider_key != provider_key:
        return None
    if not install.is_enabled(provider_key) or not account.provider.capabilities.status_webhook:
        return None
    return account


def reply(provider_key: str, intake: "Intake") -> tuple[str, str]:
    """Our answer's body and content type, in the provider's expected format."""
    from ..providers.registry import all_providers

    provider = all_providers().get(provider_key)
    if provider is None:
        return json.dumps({"status": intake.message}), "application/json"
    return provider.webhook_reply(intake.status, intake.message)


def receive(provider_key: str, token: str, headers: dict, body: bytes) -> Intake:
    account = _account_for(provider_key, token)
    if account is None:
        log.warning("webhook unknown provider=%s", provider_key)
        return Intake(404, "unknown webhook")
    client = client_for(account)
    try:
        client.verify_webhook(headers, body, account.webhook_token)
    except WebhookAuthError as exc:
        log.warning("webhook rejected account=%s reason=%s", account.id, exc)
        return Intake(401, "not authenticated")
    try:
        body = as_utf8(headers, body)
    except UnsupportedCharset as exc:
        log.warning("webhook refused account=%s reason=%s", account.id, exc)
        return Intake(415, str(exc))
    try:
        envelope = client.parse_webhook(headers, body)
    except (ValueError, RecursionError) as exc:  # RecursionError: a provider parser without a depth bound
        log.warning("webhook malformed account=%s reason=%s", account.id, exc)
        return Intake(400, f"malformed webhook: {exc}")
    event = WebhookEvent(account_id=account.id, dedupe_key=str(envelope.dedupe_key)[:128],
                         event_type=str(envelope.event_type or "")[:100],
                         payload=body.decode("utf-8", "replace").replace("\x00", "\ufffd"))  # PostgreSQL text: no NUL
    db.session.add(event)
    try:
        db.session.flush()
        event_id = event.id  # read before the commit expires it (no reload query)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("webhook duplicate account=%s key=%s", account.id, envelope.dedupe_key[:16])
        return Intake(200, "duplicate ignored")
    try:
        process_webhook_job.enqueue(event_id)
    except RedisError:
        # The event is stored (a redelivery would be a "duplicate"), so accept it: maintenance
        # queues events left "received" once the queue is back (recover_stale_events).
        log.exception("webhook stored but not queued event=%s (queue unavailable)", event_id)
    return Intake(202, "accepted", event_id)


class UnsupportedCharset(ValueError):
    pass


WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32 sent without saying so


def as_utf8(headers: dict, body: bytes) -> bytes:
    """The body as UTF-8, decoded by its declared charset, or UnsupportedCharset (HTTP 415).
    Checked after the signature (computed over the bytes as sent), before anything is stored:
    an event that was accepted can always be read back."""
    mimetype, options = parse_options_header(_header(headers, "Content-Type"))
    charset = options.get("charset", "").strip()
    if charset:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            raise UnsupportedCharset(f"unknown charset {charset[:40]!r}") from None
        if codec not in ("utf-8", "ascii") and not mimetype.endswith("json"):
            # XML names its encoding in its own prolog: transcoding would contradict it.
            raise UnsupportedCharset(f"send {mimetype or 'the body'} as UTF-8")
    else:
        codec = "utf-8"
        if body.startswith(WIDE_BOMS):
            raise UnsupportedCharset("the body is not UTF-8; declare its charset")
    try:
        text = body.decode("utf-8-sig" if codec == "utf-8" else codec)
    except (UnicodeDecodeError, LookupError):
        raise UnsupportedCharset(f"the body is not valid {codec}") from None
    return text.encode("utf-8")


def _header(headers: dict, name: str) -> str:
    return next((str(v) for k, v in headers.items() if k.lower() == name.lower()), "")


def process(event_id: int) -> str:
    claimed = db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id,
                                                            WebhookEvent.state == "received")
                                 .values(state="processing", attempts=WebhookEvent.attempts + 1))
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"  # processed already (a replayed job) or being processed
    event = db.session.get(WebhookEvent, event_id)
    account = db.session.get(ProviderAccount, event.account_id)
    client = client_for(account)
    try:
        changed, unchanged = apply_updates(account, client.process_webhook(event.payload.encode()))
    except ProviderError as exc:
        db.session.rollback()
        event = db.session.get(WebhookEvent, event_id)
        if exc.transient and event.attempts < MAX_ATTEMPTS:
            event.state, event.error = "received", " ".join(exc.messages())[:1000]
            db.session.commit()
            process_webhook_job.enqueue(event_id, delay=exc.retry_after or 10 * event.attempts)
            return "retrying"
        event.state, event.error = "failed", " ".join(exc.messages())[:1000]
        db.session.commit()
        return "failed"
    except Exception as exc:  # a provider bug or an odd stored payload must not leave it "processing"
        log.exception("webhook processing crashed event=%s", event_id)
        db.session.rollback()
        event = db.session.get(WebhookEvent, event_id)
        event.state, event.error = "failed", f"Unexpected error: {type(exc).__name__}: {exc}"[:1000]
        db.session.commit()
        return "failed"
    event.state, event.processed_at, event.error = "processed", utcnow(), None
    from .accounts import record_exchanges
    record_exchanges(account.id, "account", account.id, client.exchanges)
    db.session.commit()
    log.info("webhook processed event=%s changed=%s unchanged=%s", event_id, changed, unchanged)
    return "processed"


def recover_stale_events() -> int:
    """Queue again the events left "received" whose job was lost (the queue was down at
    intake, or Redis lost a scheduled retry). Older retries wait longer before recovery;
    processing claims the event atomically, so a second job is harmless."""
    stale = timedelta(seconds=current_app.config["WEBHOOK_STALE_SECONDS"])
    now = utcnow()
    rows = (WebhookEvent.query.filter(WebhookEvent.state == "received", WebhookEvent.received_at < now - stale)
            .with_entities(WebhookEvent.id, WebhookEvent.received_at, WebhookEvent.attempts)
            .order_by(WebhookEvent.id).limit(500).all())
    ids = [row.id for row in rows if row.received_at < now - stale * (1 + row.attempts)]
    for event_id in ids:
        process_webhook_job.enqueue(event_id)
    if ids:
        log.warning("re-queued %s webhook events", len(ids))
    return len(ids)


def webhook_url(account: ProviderAccount, request_base: str = "") -> str:
    """The address a provider posts this account's webhooks to. Built from PUBLIC_URL (never
    from a request's Host header, which a client chooses) when it is set; an install without
    it (local runs, tests) falls back to the address the admin is using."""
    base = (current_app.config.get("PUBLIC_URL") or request_base or "").rstrip("/")
    return f"{base}/webhooks/{account.provider_key}/{account.webhook_token}"
