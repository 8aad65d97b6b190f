"""Provider accounts: create/edit/delete with validation, and the background connection test."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app

from ..extensions import db
from ..models import Admin, OrderPush, ProviderAccount, ProviderExchange, Site, utcnow
from ..providers import errors as pe
from ..providers.fields import SECRET_PLACEHOLDER
from ..providers.registry import all_providers
from . import account_status, install, push_summary
from .clients import client_for
from .jobs import subscribe_webhook_job, test_connection_job

log = logging.getLogger(__name__)


class AccountError(ValueError):
    pass


@dataclass
class AccountResult:
    account: ProviderAccount | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def invalid_credentials_message(admin: Admin, site: Site) -> str:
    return (f"Invalid credentials: the admin user {admin.name} ({admin.email}) does not have access to site "
            f"{site.name}. Choose an admin with access to every site this account serves.")


def admin_access_errors(admin: Admin, sites) -> list[str]:
    return [invalid_credentials_message(admin, site) for site in sites if not admin.can_access(site)]


def save_account(account: ProviderAccount | None, *, company_id: int, name: str, provider_key: str,
                 admin_id: int | None, credentials: dict, settings: dict) -> AccountResult:
    """Create (account=None) or update an account. Nothing is written when there are errors."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Account Name is required."
    elif len(name) > 120:
        errors["name"] = "Account Name must be at most 120 characters."
    elif ProviderAccount.query.filter(ProviderAccount.company_id == company_id, ProviderAccount.name == name,
                                      ProviderAccount.id != (account.id if account else None)).first():
        errors["name"] = f"An account named {name!r} already exists."

    if account is not None and provider_key != account.provider_key:
        errors["provider"] = "The provider of an existing account cannot change; create a new account instead."
    provider = all_providers().get(provider_key)
    if provider is None or not install.is_enabled(provider_key):
        errors["provider"] = "Choose a provider enabled for this install."

    admin = db.session.get(Admin, admin_id) if admin_id else None
    if admin is None or admin.company_id != company_id or not admin.active:
        errors["admin"] = "Choose an active admin user."

    allow_loopback = current_app.config["ALLOW_LOOPBACK_PROVIDER_URLS"]
    if provider is not None:
        creds, cred_errors = provider.credentials.clean(
            credentials, existing=account.credentials if account else None, allow_loopback=allow_loopback)
        sets, set_errors = provider.account_settings.clean(
            settings, existing=account.settings if account else None, allow_loopback=allow_loopback)
        address_changed = account is not None and _addresses(provider, creds, sets) != _addresses(
            provider, account.credentials, account.settings)
        if address_changed:
            creds, cred_errors, sets, set_errors = _clean_for_new_address(
                provider, account, credentials, settings, allow_loopback)
        errors.update({f"credentials.{k}": v for k, v in cred_errors.items()})
        errors.update({f"settings.{k}": v for k, v in set_errors.items()})
    if admin is not None and account is not None and "admin" not in errors:
        sites = [a.site for a in account.activations if a.enabled]
        problems = admin_access_errors(admin, sites)
        if problems:
            errors["admin"] = " ".join(problems)
    if errors:
        return AccountResult(account, errors)

    changed = account is not None and (creds != account.credentials or address_changed)
    if account is None:
        account = ProviderAccount(company_id=company_id, provider_key=provider_key, auth_state=account_status.UNTESTED)
        db.session.add(account)
    account.name, account.admin_id = name, admin.id
    account.credentials, account.settings = creds, sets
    if changed:
        account_status.credentials_changed(account)
    db.session.commit()
    log.info("account saved id=%s provider=%s", account.id, provider_key)
    return AccountResult(account)


def _addresses(provider, credentials: dict, settings: dict) -> list:
    """The account's URL values (where its credentials are sent)."""
    return [str((values or {}).get(f.name) or "").rstrip("/")
            for schema, values in ((provider.credentials, credentials), (provider.account_settings, settings))
            for f in schema if f.type == "url"]


def _clean_for_new_address(provider, account, credentials, settings, allow_loopback):
    """The address changed: a stored secret is never sent to a new address, so each one must be
    typed again (whoever edits the URL must know the secret, not just point it elsewhere)."""
    out = []
    for schema, raw, stored in ((provider.credentials, credentials, account.credentials),
                                (provider.account_settings, settings, account.settings)):
        public = {k: v for k, v in (stored or {}).items() if k not in schema.secret_names}
        values, errors = schema.clean(raw, existing=public, allow_loopback=allow_loopback)
        for f in schema:
            typed = str(raw.get(f.name) or "").strip() not in ("", SECRET_PLACEHOLDER)
            if f.secret and (stored or {}).get(f.name) and not typed:
                errors[f.name] = (f"Type the {f.label} again: the address changed, and a stored secret is never "
                                  f"sent to a new address.")
        out += [values, errors]
    return tuple(out)


def delete_account(account: ProviderAccount) -> None:
    active = [a.site.name for a in account.activations if a.enabled]
    if active:
        raise AccountError(
            f"{account.name} is active on {', '.join(sorted(active))}. Disable it on those sites first.")
    pushed = [i for (i,) in db.session.query(OrderPush.order_id).filter(OrderPush.account_id == account.id)]
    db.session.delete(account)
    db.session.flush()
    push_summary.refresh(pushed)  # its pushes are gone with it
    db.session.commit()


# ---- connection test ---------------------------------------------------------------

def request_connection_test(account: ProviderAccount) -> None:
    """Queue the test; the panel polls the account row for the result."""
    account.test_state, account.test_code, account.test_message = "queued", None, None
    account.test_started_at, account.test_finished_at = utcnow(), None
    db.session.commit()
    try:
        test_connection_job.enqueue(account.id)
    except Exception:  # the queue is down: end the test visibly instead of polling forever
        log.exception("could not queue connection test account=%s", account.id)
        account.test_state, account.test_code = "failed", "unknown"
        account.test_message = "The background queue is unavailable; the test could not start. Try again shortly."
        account.test_finished_at = utcnow()
        db.session.commit()
        raise


def run_connection_test(account_id: int) -> None:
    account = db.session.get(ProviderAccount, account_id)
    if account is None:
        return
    account.test_state = "running"
    db.session.commit()
    client = client_for(account)
    try:
        message = client.test_connection()
        account.test_state, account.test_code, account.test_message = "ok", "ok", message
    except pe.ProviderError as exc:
        code = exc.kind if exc.kind in ("invalid_credentials", "cannot_connect", "rate_limited") else "unknown"
        account.test_state, account.test_code = "failed", code
        account.test_message = " ".join(exc.messages())[:1000]
    except Exception as exc:  # a provider bug must still end the test visibly
        log.exception("connection test crashed account=%s", account_id)
        account.test_state, account.test_code = "failed", "unknown"
        account.test_message = f"Unexpected error: {type(exc).__name__}"
    account.test_finished_at = utcnow()
    account_status.test_finished(account, account.test_state == "ok", account.test_code, account.test_message)
    record_exchanges(account.id, "account", account.id, client.exchanges)
    db.session.commit()


def record_exchanges(account_id: int, subject_type: str, subject_id: int | None, exchanges) -> None:
    for x in exchanges:
        db.session.add(ProviderExchange(
            account_id=account_id, subject_type=subject_type, subject_id=subject_id, method=x.method,
            url=x.url[:2000], status=x.status, duration_ms=x.duration_ms, request_body=x.request_body,
            response_body=x.response_body, error=x.error[:200], created_at=x.at))


# ---- webhook subscription ------------------------------------------------------------

def request_webhook_subscription(account: ProviderAccount, target_url: str) -> None:
    if not account.provider.capabilities.webhook_subscribe:
        raise AccountError(f"{account.provider.name} webhooks cannot be subscribed through its API.")
    account.webhook_subscription = {"state": "queued", "target_url": target_url, "at": utcnow().isoformat()}
    db.session.commit()
    # Only the id travels through Redis: the target URL carries the account's secret token.
    subscribe_webhook_job.enqueue(account.id)


def run_webhook_subscription(account_id: int) -> None:
    account = db.session.get(ProviderAccount, account_id)
    if account is None or not account.webhook_subscription:
        return
    target_url = account.webhook_subscription["target_url"]
    client = client_for(account)
    try:
        result = client.subscribe_webhook(target_url)
        account.webhook_subscription = {"state": "ok", "at": utcnow().isoformat(), **result}
    except pe.ProviderError as exc:
        account.webhook_subscription = {"state": "failed", "at": utcnow().isoformat(), "target_url": target_url,
                                        "kind": exc.kind, "message": " ".join(exc.messages())[:500]}
        account_status.call_failed(account, exc, "Webhook subscription")
    record_exchanges(account.id, "account", account.id, client.exchanges)
    db.session.commit()
    if account.webhook_subscription["state"] == "ok":
        account_status.call_succeeded(client)
