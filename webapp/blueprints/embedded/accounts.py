"""Accounts: the list with the provider catalogue, failed pushes, add / edit / delete."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ...embedded import account_view, accounts, install, overview
from ...extensions import db
from ...models import ProviderAccount, Site
from ...providers.errors import ERROR_KINDS
from ...providers.registry import all_providers
from .. import access
from ..params import db_int
from ..provider_forms import choices, schema_form, split_errors
from . import bp
from .common import account_or_404

log = logging.getLogger(__name__)


@bp.get("/")
@login_required
def index():
    enabled = install.enabled_providers()
    return render_template("embedded/index.html", accounts=account_view.company_accounts(current_user.company_id),
                           known=all_providers(), enabled=enabled,
                           catalogue=[account_view.catalogue_entry(p) for p in enabled.values()],
                           error_kinds=ERROR_KINDS,
                           glance=overview.build(current_user.company_id, current_user.visible_site_ids()))


@bp.get("/overview")
@login_required
def overview_panel():
    """The "at a glance" section alone: the page re-reads it when a run it shows ends."""
    return render_template("embedded/_overview.html",
                           glance=overview.build(current_user.company_id, current_user.visible_site_ids()))


@bp.get("/failed")
@login_required
def failed_pushes():
    """Orders whose push failed, optionally for one account and/or one site (the overview links here)."""
    account_id, site_id = request.args.get("account", type=db_int), request.args.get("site", type=db_int)
    account = account_or_404(account_id) if account_id else None
    site = db.session.get(Site, site_id) if site_id else None
    if site_id and (site is None or not current_user.can_access(site)):
        abort(404)
    pushes = overview.failed_pushes(current_user.company_id, current_user.visible_site_ids(),
                                    account_id=account_id, site_id=site_id)
    return render_template("embedded/failed.html", pushes=pushes, account=account, site=site,
                           limit=overview.FAILED_LIMIT, error_kinds=ERROR_KINDS)


# --- add / edit ------------------------------------------------------------------------------

def _int_or_none(value):
    try:
        return db_int(value)
    except (TypeError, ValueError):
        return None


class AccountForm(FlaskForm):
    """Name / provider / admin; provider fields come from provider_forms."""

    name = StringField("Account Name", render_kw={"maxlength": 120, "autocomplete": "off"},
                       description="A name that lets you recognise this integration.")
    provider = SelectField("Provider", validate_choice=False)
    admin = SelectField("Admin User", coerce=_int_or_none, validate_choice=False,
                        description="The integration acts as this admin. It must have access to every site and "
                                    "product the account serves, or the account reports invalid credentials.")


def _provider_forms(provider, account: ProviderAccount | None, formdata=None, *, swap: bool = False):
    if provider is None:
        return None, None
    creds = schema_form(provider.credentials, prefix="credentials", formdata=formdata,
                        stored=account.credentials if account else None, keep_unposted_bools=swap)
    settings = schema_form(provider.account_settings, prefix="settings", formdata=formdata,
                           stored=account.settings if account else None, keep_unposted_bools=swap)
    return creds, settings


def _account_form_page(account: ProviderAccount | None):
    enabled = install.enabled_providers()
    form = AccountForm()
    form.provider.choices = choices([("", "Choose a provider…")] + [(k, p.name) for k, p in enabled.items()])
    form.admin.choices = choices([("", "Choose an admin…")] + [
        (a.id, f"{a.name} ({a.email})") for a in account_view.active_admins(current_user.company_id)])
    posted = request.method == "POST"
    if account is not None:
        provider_key = account.provider_key  # fixed on edit
        if not posted:
            form.name.data, form.admin.data = account.name, account.admin_id
    else:
        provider_key = form.provider.data if posted else (request.args.get("provider")
                                                          or (next(iter(enabled)) if len(enabled) == 1 else ""))
        form.provider.data = provider_key
    provider = all_providers().get(provider_key) if account is not None else enabled.get(provider_key)
    creds_form, settings_form = _provider_forms(provider, account, request.form if posted else None)

    general_errors: list[str] = []
    if posted:
        result = accounts.save_account(
            account, company_id=current_user.company_id, name=form.name.data or "", provider_key=provider_key or "",
            admin_id=form.admin.data, credentials=creds_form.raw_values() if creds_form else {},
            settings=settings_form.raw_values() if settings_form else {})
        if result.ok:
            flash(f"Account {result.account.name} saved.", "success")
            return redirect(url_for(".account", account_id=result.account.id))
        log.info("account form rejected fields=%s", sorted(result.errors))
        for key, field in (("name", form.name), ("provider", form.provider), ("admin", form.admin)):
            if key in result.errors:
                field.errors = [result.errors[key]]
        for form_, prefix in ((creds_form, "credentials"), (settings_form, "settings")):
            if form_ is not None:
                form_.apply_errors(split_errors(result.errors, prefix))
                general_errors += form_.form_errors
        general_errors += [m for k, m in result.errors.items()
                           if k not in ("name", "provider", "admin") and not k.startswith(("credentials.", "settings."))]
    return render_template("embedded/account_form.html", form=form, account=account, provider=provider,
                           creds_form=creds_form, settings_form=settings_form, general_errors=general_errors,
                           providers=enabled), (422 if posted else 200)


@bp.route("/accounts/new", methods=["GET", "POST"])
@login_required
def new_account():
    return _account_form_page(None)


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@login_required
def edit_account(account_id):
    return _account_form_page(access.managed_or_404(account_or_404(account_id)))


@bp.get("/accounts/fields")
@login_required
def provider_fields():
    """The Credentials + Settings block for the chosen provider (the Provider select swaps it
    in). Values sent along for fields with the same name are kept."""
    provider = install.enabled_providers().get(request.args.get("provider", ""))
    creds_form, settings_form = _provider_forms(provider, None, request.args, swap=True)
    return render_template("embedded/_provider_fields.html", provider=provider, creds_form=creds_form,
                           settings_form=settings_form)


@bp.post("/accounts/<int:account_id>/delete")
@login_required
def delete_account(account_id):
    account = access.managed_or_404(account_or_404(account_id))
    name = account.name
    try:
        accounts.delete_account(account)
    except accounts.AccountError as err:
        flash(str(err), "error")
        return redirect(url_for(".account", account_id=account.id))
    flash(f"Account {name} deleted.", "success")
    return redirect(url_for(".index"))
