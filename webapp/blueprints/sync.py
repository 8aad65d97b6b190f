"""Synchronize buttons, progress panels and logs (site tab and Preferences → global)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from ..embedded import install, run_view
from ..embedded.runs import ITEM_LABELS, RunRefused, request_run, supported_items
from ..extensions import db
from ..models import ProviderAccount, SiteActivation, SyncRun
from . import access
from .access import site_or_404
from .params import db_int

bp = Blueprint("sync", __name__)


def _account_or_404(account_id: int) -> ProviderAccount:
    account = db.session.get(ProviderAccount, account_id)
    if account is None or account.company_id != current_user.company_id or not install.is_enabled(
            account.provider_key):
        abort(404)
    return account


def _run_or_404(run_id: int) -> SyncRun:
    run = db.session.get(SyncRun, run_id)
    if run is None or run.account.company_id != current_user.company_id:
        abort(404)
    if run.site is not None and not current_user.can_access(run.site):
        abort(404)
    if run.site is None:
        access.managed_or_404(run.account)  # a global run spans every site the account serves
    return run


@bp.app_template_filter("sync_item_labels")
def sync_item_labels(items) -> str:
    """["products", "status"] -> "Products, Update order status" (the labels of the Synchronize form)."""
    return ", ".join(ITEM_LABELS.get(item, item) for item in items or [])


@bp.app_template_global()
def site_sync_section(site, account):
    """The Synchronize form, the latest run's progress and the log, for one account card."""
    return Markup(render_template("embedded/_sync_section.html", site=site, account=account,
                                  items=[(i, ITEM_LABELS[i]) for i in supported_items(account)],
                                  run=run_view.latest_run(account.id, site.id),
                                  lines=run_view.log_lines(site_id=site.id, account_id=account.id, limit=30)))


@bp.post("/sites/<site_slug>/embedded/<int:account_id>/sync")
@login_required
def site_sync(site_slug, account_id):
    site = site_or_404(site_slug)
    account = _account_or_404(account_id)
    error = None
    try:
        run = request_run(account, request.form.getlist("items"), current_user.email, site=site)
    except RunRefused as exc:
        run, error = run_view.latest_run(account.id, site.id), str(exc)
    return render_template("embedded/_run_panel.html", run=run, error=error, account=account, site=site)


@bp.get("/sync/runs/<int:run_id>/panel")
@login_required
def run_panel(run_id):
    run = _run_or_404(run_id)
    html = render_template("embedded/_run_panel.html", run=run, error=None, account=run.account, site=run.site)
    # The poll that sees the end tells the log panels to refresh themselves once.
    return html, 200, ({} if run.active else {"HX-Trigger": "run-finished"})


@bp.get("/sites/<site_slug>/embedded/<int:account_id>/log")
@login_required
def site_log(site_slug, account_id):
    site = site_or_404(site_slug)
    account = _account_or_404(account_id)
    return render_template("embedded/_log_panel.html", lines=run_view.log_lines(site_id=site.id, account_id=account.id),
                           refresh_url=request.path, panel_id=f"log-{site.id}-{account.id}")


# ---- global synchronization (Preferences → Embedded Services) ----------------------------

@bp.app_template_global()
def global_sync_section():
    accounts = (ProviderAccount.query.filter_by(company_id=current_user.company_id)
                .order_by(ProviderAccount.name).all())
    accounts = [a for a in accounts if install.is_enabled(a.provider_key) and access.can_manage(a)]
    live_sites = {}
    for activation in SiteActivation.query.filter_by(enabled=True, is_live=True).all():
        live_sites.setdefault(activation.account_id, []).append(activation.site)
    return Markup(render_template("embedded/_global_sync.html", accounts=accounts, live_sites=live_sites,
                                  labels=ITEM_LABELS, supported=supported_items, latest=run_view.latest_run,
                                  lines=run_view.visible_log_lines(current_user, limit=50),
                                  site_names=_site_names()))


@bp.post("/preferences/embedded/sync")
@login_required
def global_sync():
    if not install.menu_visible():
        abort(404)
    account = access.managed_or_404(_account_or_404(request.form.get("account_id", type=db_int) or 0))
    error = None
    try:
        run = request_run(account, request.form.getlist("items"), current_user.email)
    except RunRefused as exc:
        run, error = run_view.latest_run(account.id, None), str(exc)
    return render_template("embedded/_run_panel.html", run=run, error=error, account=account, site=None)


@bp.get("/preferences/embedded/log")
@login_required
def global_log():
    if not install.menu_visible():
        abort(404)
    return render_template("embedded/_log_panel.html", lines=run_view.visible_log_lines(current_user),
                           refresh_url=request.path, panel_id="log-global", show_site=True, site_names=_site_names())


def _site_names() -> dict[int, str]:
    """Site names for the global log (its lines carry site ids), in one query."""
    return {site.id: site.name for site in current_user.visible_sites_query().all()}
