"""Site settings › Embedded Services: one card per account (Enable, IsLive, site settings),
going live guarded (go_live warnings need a confirmation), the webhook subscription asked for
when it goes live, and the backlog of orders that qualified before it went live."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_login import current_user, login_required
from redis.exceptions import RedisError

from ...embedded import accounts, activation, go_live, install, run_view, settings_view
from ...embedded.runs import RunRefused
from ...embedded.webhooks import webhook_url
from ...models import ProviderAccount
from .. import access
from ..provider_forms import schema_form, split_errors
from ..tabs import Tab, register_tab
from . import bp
from .common import checked, htmx, site_tab_url, usable_account_or_404


def _site_card(site, account: ProviderAccount, *, form=None, enabled=None, is_live=None, errors=None,
               saved: bool = False, warnings=None, notice: str = "") -> dict:
    """Context of one account card on the site tab; posted state wins over stored state."""
    act = activation.activation_for(account, site)
    if form is None:
        form = schema_form(account.provider.site_settings, prefix="site", stored=act.settings if act else None)
    live = bool(act and act.enabled and act.is_live)
    return {
        "site": site, "account": account, "provider": account.provider, "activation": act, "form": form,
        "enabled": (act.enabled if act else False) if enabled is None else enabled,
        "is_live": (act.is_live if act else False) if is_live is None else is_live,
        "errors": errors or {}, "saved": saved, "admin_can_access": account.admin.can_access(site),
        "warnings": warnings or [], "notice": notice, "can_manage": access.can_manage(account),
        "subscription": go_live.subscription_state(account) if live else None,
        **(_backlog(site, account) if live else {"backlog": 0, "backlog_run": None}),
    }


def _backlog(site, account: ProviderAccount) -> dict:
    run = go_live.active_backlog_run(account, site)
    count = 0 if run else go_live.backlog_count(account, site, cap=go_live.BACKLOG_SHOWN + 1)
    return {"backlog": min(count, go_live.BACKLOG_SHOWN), "backlog_more": count > go_live.BACKLOG_SHOWN,
            "backlog_run": run, "backlog_days": go_live.BACKLOG_DAYS}


def render_site_tab(site, **_ctx) -> str:
    return render_template("embedded/_site_tab.html", site=site,
                           cards=[_site_card(site, a) for a in settings_view.site_accounts(site)])


def _card(site, account, status: int = 200, **ctx):
    card = _site_card(site, account, **ctx)
    if htmx():
        return render_template("embedded/_site_card.html", **card)  # 200: htmx swaps it in place
    return render_template("embedded/card_page.html", card_template="embedded/_site_card.html", page="site",
                           back_url=site_tab_url(site), **card), status


@bp.post("/sites/<site_slug>/accounts/<int:account_id>")
@login_required
def site_activation(site_slug, account_id):
    site = access.site_or_404(site_slug)
    account = usable_account_or_404(account_id)
    act = activation.activation_for(account, site)
    form = schema_form(account.provider.site_settings, prefix="site", stored=act.settings if act else None,
                       formdata=request.form)
    enabled, is_live = checked("enabled"), checked("is_live")
    result = activation.set_activation(account, site, enabled=enabled, is_live=is_live,
                                       settings=form.raw_values(), guarded=not checked("confirm_live"))
    if result.ok:
        if result.went_live and access.can_manage(account):
            go_live.subscribe_on_going_live(account, webhook_url(account, request.host_url))
        if not htmx():
            flash(f"{account.name} saved for {site.name}.", "success")
            return redirect(site_tab_url(site))
        return render_template("embedded/_site_card.html", **_site_card(site, account, saved=True))
    form.apply_errors(split_errors(result.errors, "settings"))
    return _card(site, account, 422, form=form, enabled=enabled, is_live=is_live, errors=result.errors,
                 warnings=result.warnings)


@bp.post("/sites/<site_slug>/accounts/<int:account_id>/subscribe")
@login_required
def site_subscribe(site_slug, account_id):
    site = access.site_or_404(site_slug)
    account = access.managed_or_404(usable_account_or_404(account_id))
    notice = ""
    try:
        accounts.request_webhook_subscription(account, webhook_url(account, request.host_url))
    except accounts.AccountError as exc:
        notice = str(exc)
    except RedisError:
        notice = "The background queue is unavailable; try again shortly."
    if not htmx():
        flash(notice or f"Subscribing the webhook at {account.provider.name}.", "warning" if notice else "info")
        return redirect(site_tab_url(site))
    return render_template("embedded/_site_card.html", **_site_card(site, account, notice=notice))


@bp.post("/sites/<site_slug>/accounts/<int:account_id>/push-backlog")
@login_required
def push_backlog(site_slug, account_id):
    """"Push them": a site run pushing the orders that qualified before the site went live.
    Answers the run panel (which polls) and, out of band, the card's backlog notice."""
    site = access.site_or_404(site_slug)
    account = usable_account_or_404(account_id)
    error = None
    try:
        run = go_live.request_backlog_run(account, site, current_user.email)
    except RunRefused as exc:
        run, error = run_view.latest_run(account.id, site.id), str(exc)
    if not htmx():
        flash(error or f"Run #{run.id} is pushing them; follow it below.", "warning" if error else "info")
        return redirect(site_tab_url(site))
    return render_template("embedded/_backlog_push.html", run=run, error=error, account=account, site=site,
                           **_backlog(site, account))


@bp.get("/sites/<site_slug>/accounts/<int:account_id>/backlog")
@login_required
def backlog_notice(site_slug, account_id):
    site = access.site_or_404(site_slug)
    account = usable_account_or_404(account_id)
    act = activation.activation_for(account, site)
    live = bool(act and act.enabled and act.is_live)
    return render_template("embedded/_backlog_notice.html", account=account, site=site,
                           **(_backlog(site, account) if live else {"backlog": 0, "backlog_run": None}))


register_tab("site_settings", Tab("embedded", "Embedded Services", render_site_tab,
                                  visible=lambda site: install.menu_visible(), order=50))
