"""An account's page, its connection test (queued, polled over HTMX) and its webhook subscription."""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from redis.exceptions import RedisError

from ...embedded import account_status, account_view, accounts, install
from ...embedded.webhooks import webhook_url
from ...models import ProviderAccount
from .. import access
from . import bp
from .common import account_or_404, htmx, usable_account_or_404

log = logging.getLogger(__name__)


@bp.app_template_global("account_status_info")
def account_status_info(account: ProviderAccount) -> account_status.Status:
    return account_status.describe(account)


def _webhook_url(account: ProviderAccount) -> str:
    # Absolute, because the admin pastes it into the provider's dashboard.
    return webhook_url(account, request.host_url)


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id):
    account = account_or_404(account_id)
    provider = account.provider
    manager = access.can_manage(account)  # the rest see that it exists, not its traffic, key or token
    return render_template(
        "embedded/account.html", provider=provider,
        provider_enabled=install.is_enabled(account.provider_key),
        credentials=account_view.display_rows(provider.credentials, account.credentials, mask_all=not manager),
        settings=account_view.display_rows(provider.account_settings, account.settings),
        sites=account_view.enabled_sites(account),
        exchanges=account_view.recent_exchanges(account) if manager else [],
        webhook_url=_webhook_url(account) if manager else "", can_manage=manager,
        **account_view.test_panel(account))


@bp.post("/accounts/<int:account_id>/webhook")
@login_required
def subscribe_webhook(account_id):
    account = access.managed_or_404(usable_account_or_404(account_id))
    try:
        accounts.request_webhook_subscription(account, _webhook_url(account))
        flash(f"Subscribing the webhook at {account.provider.name}; this page shows the result in a moment.", "info")
    except accounts.AccountError as exc:
        flash(str(exc), "warning")
    except RedisError:
        flash("The background queue is unavailable; try again shortly.", "danger")
    return redirect(url_for(".account", account_id=account.id))


@bp.post("/accounts/<int:account_id>/test")
@login_required
def test_connection(account_id):
    account = access.managed_or_404(account_or_404(account_id))
    queue_error = ""
    try:
        accounts.request_connection_test(account)
    except RedisError:
        log.exception("could not queue connection test account=%s", account.id)
        queue_error = "The background queue is not reachable, so the test could not start. Try again shortly."
    if not htmx():
        flash(queue_error or "Connection test started.", "error" if queue_error else "info")
        return redirect(url_for(".account", account_id=account.id))
    return render_template("embedded/_test_panel.html", **account_view.test_panel(account, queue_error))


@bp.get("/accounts/<int:account_id>/test")
@login_required
def test_panel(account_id):
    account = access.managed_or_404(account_or_404(account_id))
    if not htmx():
        return redirect(url_for(".account", account_id=account.id))
    panel = account_view.test_panel(account)
    if not panel["polling"]:  # the poll that sees the end: the header status and exchanges follow (oob)
        panel.update(oob=True, exchanges=account_view.recent_exchanges(account))
    return render_template("embedded/_test_panel.html", **panel)
