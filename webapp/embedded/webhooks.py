"""Webhook intake: answer fast, store the event once, process it in a job exactly once."""
from __future__ import annotations

import codecs
import hmac
import json
import logging
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import Text, bindparam, cast, select, text, type_coerce
from sqlalchemy.orm import noload
from werkzeug.http import parse_options_header

from ..extensions import db
from ..models import ProviderAccount, utcnow
from ..models.base import UTCDateTime
from ..ops.counters import WEBHOOKS as WEBHOOK_METRIC
from ..ops.counters import record_webhook
from ..providers.base import WebhookAuthError
from ..providers.registry import all_providers
from . import install
from .clients import client_for

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024


@dataclass
class Intake:
    status: int
    message: str
    event_id: int | None = None


def _account_row(conn, token: str):
    """(id, provider_key, webhook_token, credentials as stored, settings) of the account the URL
    names: one narrow row, no ORM object, no decryption (see bench/RESULTS.md, webhook intake)."""
    if not token or len(token) > 64:
        return None
    return conn.execute(_ACCOUNT_BY_TOKEN, {"token": token}).first()


_ACCOUNT_BY_TOKEN = (select(ProviderAccount.id, ProviderAccount.provider_key, ProviderAccount.webhook_token,
                            type_coerce(ProviderAccount.credentials, Text).label("sealed"), ProviderAccount.settings,
                            cast(ProviderAccount.settings, Text).label("settings_raw"))
                     .where(ProviderAccount.webhook_token == bindparam("token")))

# What this process's last lookups found, for a few seconds (app.extensions, per pid):
# (provider, token) -> (row, client, until). Never trusted alone — the INSERT stores the event only while the account still has this
# token, these credentials and these settings (see _INSERT_ONCE); when it stores nothing, the
# entry is dropped and the request takes the full path (lookup, verify, insert) again.
RECENT_SECONDS = 5.0


def _intake_client(row):
    """The account's client for verify/parse, kept per process while its stored credentials and
    settings are unchanged (building one decrypts the credentials and sets up an HTTP session:
    most of an intake's CPU before). Only used to verify and parse — it never sends a request."""
    cache = current_app.extensions.setdefault("webhook_intake_clients", {})
    key = (os.getpid(), row.id, row.provider_key, row.sealed, json.dumps(row.settings, sort_keys=True, default=str))
    client = cache.get(key)
    if client is None:
        account = db.session.get(ProviderAccount, row.id, options=[noload(ProviderAccount.activations)])
        if account is None:
            return None
        if len(cache) >= 256:  # bounded: stale versions of edited accounts fall out
            cache.clear()
        client = cache[key] = client_for(account)
    return client


def _intake_for(conn, provider_key: str, token: str):
    row = _account_row(conn, token)
    # Constant-time compare of what the lookup matched, and the provider must match the URL.
    if row is None or not hmac.compare_digest(row.webhook_token, token) or row.provider_key != provider_key:
        return None, None
    provider = all_providers().get(provider_key)
    if provider is None or not provider.capabilities.status_webhook or not install.is_enabled(provider_key):
        return None, None
    client = _intake_client(row)
    return (row, client) if client is not None else (None, None)


def reply(provider_key: str, intake: "Intake") -> tuple[str, str]:
    """Our answer's body and content type, in the provider's expected format."""
    provider = all_providers().get(provider_key)
    if provider is None:
        return json.dumps({"status": intake.message}), "application/json"
    return provider.webhook_reply(intake.status, intake.message)


def receive(provider_key: str, token: str, headers: dict, body: bytes) -> Intake:
    """Only what must happen before answering: find the account, verify, store once, signal a
    drain (and count the outcome: same Redis round trip). Processing — fetching the resource,
    applying it — is a batch job's (webhook_processing)."""
    intake = _receive(provider_key, token, headers, body)
    # The metric label is a known provider key, never whatever the URL said (bounded series).
    label = provider_key if provider_key in all_providers() else "unknown"
    try:
        if intake.status == 202 and signal_drain(metric=(label, "202")):
            return intake
    except RedisError:
        # The event is stored (a redelivery would be a "duplicate"), so accept it: maintenance
        # queues events left "received" once the queue is back (recover_stale_events).
        log.exception("webhook stored but not queued event=%s (queue unavailable)", intake.event_id)
    if intake.status != 202:
        record_webhook(label, str(intake.status))
    return intake


def _receive(provider_key: str, token: str, headers: dict, body: bytes) -> Intake:
    # Core on one pooled connection, not the ORM session: the session's per-statement machinery
    # was the largest CPU share of an intake (bench/RESULTS.md, webhook intake). Autocommit: the
    # one INSERT is its own transaction, committed (and on PostgreSQL flushed to the WAL, as
    # durable as before) when it returns — one round trip instead of BEGIN, INSERT, COMMIT.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return _receive_on(conn, provider_key, token, headers, body)


def _receive_on(conn, provider_key: str, token: str, headers: dict, body: bytes, fresh: bool = False) -> Intake:
    remembered = current_app.extensions.setdefault("webhook_intake_recent", {})
    key = (os.getpid(), provider_key, token)
    recent = None if fresh else remembered.get(key)
    if recent is not None and recent[2] > time.monotonic() and install.is_enabled(provider_key):
        row, client, _ = recent
    else:
        row, client = _intake_for(conn, provider_key, token)
        recent = None
        if row is not None:
            if len(remembered) >= 256:  # bounded: unknown tokens are never remembered
                remembered.clear()
            remembered[key] = (row, client, time.monotonic() + RECENT_SECONDS)
    if row is None:
        log.warning("webhook unknown provider=%s", provider_key)
        return Intake(404, "unknown webhook")
    raw_body = body
    try:
        client.verify_webhook(headers, body, row.webhook_token)
    except WebhookAuthError as exc:
        log.warning("webhook rejected account=%s reason=%s", row.id, exc)
        return Intake(401, "not authenticated")
    try:
        body = as_utf8(headers, body)
    except UnsupportedCharset as exc:
        log.warning("webhook refused account=%s reason=%s", row.id, exc)
        return Intake(415, str(exc))
    try:
        envelope = client.parse_webhook(headers, body)
    except (ValueError, RecursionError) as exc:  # RecursionError: a provider parser without a depth bound
        log.warning("webhook malformed account=%s reason=%s", row.id, exc)
        return Intake(400, f"malformed webhook: {exc}")
    event_id = _store_once(conn, row, envelope, body)
    if event_id is None and recent is not None:
        # Stored nothing on what this process remembered: a duplicate, or the account changed
        # (token rotated, credentials or settings edited) — look it up again and verify anew.
        remembered.pop(key, None)
        return _receive_on(conn, provider_key, token, headers, raw_body, fresh=True)
    if event_id is None:
        log.info("webhook duplicate account=%s key=%s", row.id, envelope.dedupe_key[:16])
        return Intake(200, "duplicate ignored")
    return Intake(202, "accepted", event_id)


def _store_once(conn, row, envelope, body: bytes) -> int | None:
    """INSERT … SELECT … ON CONFLICT (account, provider's event key) DO NOTHING RETURNING id: the
    new event's id, or None for a redelivery or an account that no longer matches ``row`` (its
    token, sealed credentials or settings changed) — one statement, no exception path, its own
    transaction (``conn`` is in autocommit; the commit() below is for a caller's connection that
    is not)."""
    with _SQLITE_WRITER if conn.dialect.name == "sqlite" else nullcontext():
        return _insert_and_commit(conn, row, envelope, body)


# SQLite has one writer at a time, and a connection that finds the write lock taken polls for it
# with growing sleeps (1, 2, 5, 10 … 100 ms: its busy handler): with gunicorn threads, a request
# slept up to ~390 ms for a lock held well under 1 ms at a time (bench/webhook_probe.py). Threads
# of one process queue here instead and take the lock the moment it is free; only the other
# processes' writers still meet the busy handler. PostgreSQL writers do not block each other.
_SQLITE_WRITER = threading.Lock()


def _insert_and_commit(conn, row, envelope, body: bytes) -> int | None:
    event_id = conn.execute(_INSERT_ONCE, {
        "account_id": row.id, "token": row.webhook_token, "sealed": row.sealed, "settings_raw": row.settings_raw,
        "dedupe_key": str(envelope.dedupe_key)[:128],
        "event_type": str(envelope.event_type or "")[:100],
        "payload": body.decode("utf-8", "replace").replace("\x00", "\ufffd"),  # PostgreSQL text: no NUL
        "received_at": utcnow(),
    }).scalar()
    conn.commit()
    return event_id


# The same SQL on SQLite (≥ 3.35) and PostgreSQL. Plain text, so nothing is compiled per request
# (the dialects' ORM insert().on_conflict_do_nothing() was compiled again on every webhook).
# The SELECT re-checks, in the same statement, that the account still is what verified the
# request (SQLite needs the WHERE before ON CONFLICT anyway).
_INSERT_ONCE = text(
    "INSERT INTO webhook_events (account_id, dedupe_key, event_type, payload, state, attempts, received_at) "
    "SELECT id, :dedupe_key, :event_type, :payload, 'received', 0, :received_at FROM provider_accounts "
    "WHERE id = :account_id AND webhook_token = :token AND credentials = :sealed "
    "AND CAST(settings AS TEXT) = :settings_raw "
    "ON CONFLICT (account_id, dedupe_key) DO NOTHING RETURNING id"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


# ---- the drain signal: one job drains many events -------------------------------------------
# "A drain job is queued and has not started looking yet." Intake sets it (SET NX, one round trip)
# and queues a drain job only when it was not set; a drain job clears it *before* it claims, so an
# event committed while the flag was set is seen by the job that clears it next.
DRAIN_FLAG = "webhooks:drain-queued"
DRAIN_FLAG_TTL = 60  # a lost job (Redis restarted) stops blocking new ones after this


def signal_drain(metric: tuple[str, str] | None = None) -> bool:
    """Make sure a drain job will look at the events stored so far; True once Redis answered.
    ``metric`` (provider, outcome) is counted in the same round trip (intake's only one)."""
    from ..queue import get_redis
    from .jobs import drain_webhooks_job

    pipe = get_redis().pipeline(transaction=False)
    pipe.set(DRAIN_FLAG, b"1", nx=True, ex=DRAIN_FLAG_TTL)
    if metric:
        pipe.hincrby(WEBHOOK_METRIC, "|".join(metric), 1)
    if pipe.execute()[0]:
        drain_webhooks_job.enqueue()
    return True


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
    """Process one stored event now (the per-event job; tests). Same claim and batch path."""
    from .webhook_processing import process_one

    return process_one(event_id)


def recover_stale_events() -> int:
    from .webhook_processing import recover_stale

    return recover_stale()


def webhook_url(account: ProviderAccount, request_base: str = "") -> str:
    """The address a provider posts this account's webhooks to. Built from PUBLIC_URL (never
    from a request's Host header, which a client chooses) when it is set; an install without
    it (local runs, tests) falls back to the address the admin is using."""
    base = (current_app.config.get("PUBLIC_URL") or request_base or "").rstrip("/")
    return f"{base}/webhooks/{account.provider_key}/{account.webhook_token}"
