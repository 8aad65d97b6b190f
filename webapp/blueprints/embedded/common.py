"""Lookups and request helpers shared by the Embedded Services views."""
from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from ...embedded import install
from ...extensions import db
from ...models import ProviderAccount
from ...providers.registry import all_providers


def htmx() -> bool:
    """A fragment is wanted (history restores want the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def account_or_404(account_id: int) -> ProviderAccount:
    """Accounts are company-wide; another company's account (or an unknown provider) is a 404."""
    account = db.session.get(ProviderAccount, account_id)
    if account is None or account.company_id != current_user.company_id or account.provider_key not in all_providers():
        abort(404)
    return account


def usable_account_or_404(account_id: int) -> ProviderAccount:
    """For activation and entity settings: the provider must still be enabled for the install."""
    account = account_or_404(account_id)
    if not install.is_enabled(account.provider_key):
        abort(404)
    return account


def checked(name: str) -> bool:
    return request.form.get(name, "").strip().lower() in {"y", "on", "1", "true", "yes"}


def site_tab_url(site) -> str:
    try:
        return url_for("sites.settings", site_slug=site.slug, tab="embedded")
    except BuildError:  # the sites blueprint renamed its route: fall back to Preferences
        return url_for("embedded.index")
