"""Preferences › Embedded Services: provider accounts, the provider catalogue, connection
tests, and the Embedded Services tabs on site settings and on products / categories / site
users / shipping methods.

Views stay thin: parse, authorize, call one use-case from ``webapp.embedded``, render.
Every provider-specific field is generated from the provider's declared schemas.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from werkzeug.routing import BuildError
from wtforms import SelectField, StringField

from ..embedded import accounts, activation, install, overview
from ..embedded.webhooks import webhook_url
from ..extensions import db
from ..models import (
    ENTITY_TYPES, Admin, Binding, Category, Product, ProviderAccount, ProviderExchange, ShippingMethod, Site,
    SiteUser, utcnow,
)
from ..providers.errors import ERROR_KINDS
from ..providers.fields import Schema
from ..providers.registry import all_providers
from . import access
from .preferences import register_section
from .provider_forms import choices, schema_form, split_errors
from .tabs import Tab, register_tab
from .params import db_int

log = logging.getLogger(__name__)

bp = Blueprint("embedded", __name__, url_prefix="/preferences/embedded")

register_section("Embedded Services", "embedded.index", visible=install.menu_visible, icon="plug")

ENTITY_MODELS = {"product": Product, "category": Category, "site_user": SiteUser, "shipping_method": ShippingMethod}
ENTITY_LABELS = {"product": "product", "category": "category", "site_user": "user",
                 "shipping_method": "shipping method"}
# Entity page endpoint and its id argument (the catalogue blueprint's URLs).
ENTITY_PAGES = {"product": ("catalog.product", "product_id"), "category": ("catalog.category", "category_id"),
                "site_user": ("catalog.user", "user_id"),
                "shipping_method": ("catalog.shipping_method", "method_id")}
BINDING_KINDS = {"product": "product", "category": "category"}
CAPABILITY_LABELS = {
    "push_orders": "Push orders", "bulk_push": "Bulk push", "status_webhook": "Status by webhook",
    "status_polling": "Status polling", "product_sync": "Product sync", "category_sync": "Category sync",
    "user_settings": "User settings", "shipping_method_mapping": "Shipping-method mapping",
    "webhook_subscribe": "Webhook subscription",
}
SCHEMA_LABELS = {"site": "Site", "product": "Product", "category": "Category", "site_user": "User",
                 "shipping_method": "Shipping method"}
POLLING_STATES = ("queued", "running")
STALE_TEST_AFTER = timedelta(seconds=60)
EXCHANGES_SHOWN = 20


# --- guards and helpers ----------------------------------------------------------------------

@bp.before_request
def _hidden_until_a_provider_is_enabled():
    # Why: the module does not exist for a company until sales/ops enable a provider; anonymous
    # visitors fall through to @login_required's redirect.
    if current_user.is_authenticated and not install.menu_visible():
        abort(404)


def _htmx() -> bool:
    """A fragment is wanted (history restores want the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _allow_loopback() -> bool:
    return bool(current_app.config.get("ALLOW_LOOPBACK_PROVIDER_URLS"))


def _account_or_404(account_id: int) -> ProviderAccount:
    """Accounts are company-wide; another company's account (or an unknown provider) is a 404."""
    account = db.session.get(ProviderAccount, account_id)
    if account is None or account.company_id != current_user.company_id or account.provider_key not in all_providers():
        abort(404)
    return account


def _usable_account_or_404(account_id: int) -> ProviderAccount:
    """For activation and entity settings: the provider must still be enabled for the install."""
    account = _account_or_404(account_id)
    if not install.is_enabled(account.provider_key):
        abort(404)
    return account


def _checked(name: str) -> bool:
    return request.form.get(name, "").strip().lower() in {"y", "on", "1", "true", "yes"}


def _active_admins():
    return (Admin.query.filter_by(company_id=current_user.company_id, active=True)
            .order_by(Admin.name, Admin.email).all())


def _display_rows(schema: Schema, values: dict, mask_all: bool = False) -> list[tuple]:
    """(field, text) pairs for read-only views; secrets masked (every value but URLs when
    ``mask_all``: an API key is for account managers only), choices shown by label."""
    shown = schema.masked(values, everything=mask_all)
    rows = []
    for f in schema:
        value = shown.get(f.name)
        if f.type == "choice" and value is not None:
            value = dict(f.choices).get(value, value)
        elif f.type == "bool":
            value = "Yes" if value else "No"
        rows.append((f, value))
    return rows


def _catalogue_entry(provider) -> dict:
    info = provider.describe()
    info["capability_labels"] = [CAPABILITY_LABELS.get(k, k.replace("_", " ").capitalize())
                                 for k, on in info["capabilities"].items() if on]
    info["setting_levels"] = [label for entity, label in SCHEMA_LABELS.items() if info.get(entity)]
    return info


# --- accounts: list and catalogue ------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    accounts_ = (ProviderAccount.query.filter_by(company_id=current_user.company_id)
                 .order_by(ProviderAccount.name).all())
    known, enabled = all_providers(), install.enabled_providers()
    glance = overview.build(current_user.company_id, current_user.visible_site_ids())
    return render_template("embedded/index.html", accounts=accounts_, known=known, enabled=enabled,
                           catalogue=[_catalogue_entry(p) for p in enabled.values()], error_kinds=ERROR_KINDS,
                           glance=glance)


@bp.get("/failed")
@login_required
def failed_pushes():
    """Orders whose push failed, optionally for one account and/or one site (the overview links here)."""
    account_id, site_id = request.args.get("account", type=db_int), request.args.get("site", type=db_int)
    account = _account_or_404(account_id) if account_id else None
    site = db.session.get(Site, site_id) if site_id else None
    if site_id and (site is None or not current_user.can_access(site)):
        abort(404)
    pushes = overview.failed_pushes(current_user.company_id, current_user.visible_site_ids(),
                                    account_id=account_id, site_id=site_id)
    return render_template("embedded/failed.html", pushes=pushes, account=account, site=site,
                           limit=overview.FAILED_LIMIT, error_kinds=ERROR_KINDS)


# --- accounts: add / edit --------------------------------------------------------------------

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
    form.admin.choices = choices([("", "Choose an admin…")] + [(a.id, f"{a.name} ({a.email})") for a in _active_admins()])
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
    return _account_form_page(access.managed_or_404(_account_or_404(account_id)))


@bp.get("/accounts/fields")
@login_required
def provider_fields():
    """The Credentials + Settings block for the chosen provider (the Provider select swaps it
    in). Values sent along for fields with the same name are kept."""
    provider = install.enabled_providers().get(request.args.get("provider", ""))
    creds_form, settings_form = _provider_forms(provider, None, request.args, swap=True)
    return render_template("embedded/_provider_fields.html", provider=provider, creds_form=creds_form,
                           settings_form=settings_form)


# --- account page, connection test, delete ---------------------------------------------------

def _webhook_url(account: ProviderAccount) -> str:
    # Absolute, because the admin pastes it into the provider's dashboard.
    return webhook_url(account, request.host_url)


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id):
    account = _account_or_404(account_id)
    provider = account.provider
    manager = access.can_manage(account)  # the rest see that it exists, not its traffic, key or token
    exchanges = (ProviderExchange.query.filter_by(account_id=account.id, subject_type="account")
                 .order_by(ProviderExchange.id.desc()).limit(EXCHANGES_SHOWN).all()) if manager else []
    sites = sorted((a for a in account.activations if a.enabled), key=lambda a: a.site.name.lower())
    return render_template(
        "embedded/account.html", provider=provider,
        provider_enabled=install.is_enabled(account.provider_key),
        credentials=_display_rows(provider.credentials, account.credentials, mask_all=not manager),
        settings=_display_rows(provider.account_settings, account.settings),
        sites=sites, exchanges=exchanges, webhook_url=_webhook_url(account) if manager else "", can_manage=manager,
        **_test_panel_context(account))


def _test_panel_context(account: ProviderAccount, queue_error: str = "") -> dict:
    polling = account.test_state in POLLING_STATES and not queue_error
    stale = bool(polling and account.test_started_at and utcnow() - account.test_started_at > STALE_TEST_AFTER)
    return {"account": account, "polling": polling, "stale": stale, "queue_error": queue_error,
            # Slower polls once it looks like no worker is running.
            "poll_delay": "5s" if stale else "1s",
            "error_label": ERROR_KINDS.get(account.test_code or "", ERROR_KINDS["unknown"])}


@bp.post("/accounts/<int:account_id>/webhook")
@login_required
def subscribe_webhook(account_id):
    account = access.managed_or_404(_usable_account_or_404(account_id))
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
    account = access.managed_or_404(_account_or_404(account_id))
    queue_error = ""
    try:
        accounts.request_connection_test(account)
    except RedisError:
        log.exception("could not queue connection test account=%s", account.id)
        queue_error = "The background queue is not reachable, so the test could not start. Try again shortly."
    if not _htmx():
        flash(queue_error or "Connection test started.", "error" if queue_error else "info")
        return redirect(url_for(".account", account_id=account.id))
    return render_template("embedded/_test_panel.html", **_test_panel_context(account, queue_error))


@bp.get("/accounts/<int:account_id>/test")
@login_required
def test_panel(account_id):
    account = access.managed_or_404(_account_or_404(account_id))
    if not _htmx():
        return redirect(url_for(".account", account_id=account.id))
    return render_template("embedded/_test_panel.html", **_test_panel_context(account))


@bp.post("/accounts/<int:account_id>/delete")
@login_required
def delete_account(account_id):
    account = access.managed_or_404(_account_or_404(account_id))
    name = account.name
    try:
        accounts.delete_account(account)
    except accounts.AccountError as err:
        flash(str(err), "error")
        return redirect(url_for(".account", account_id=account.id))
    flash(f"Account {name} deleted.", "success")
    return redirect(url_for(".index"))


# --- site settings › Embedded Services -------------------------------------------------------

def _site_card(site, account: ProviderAccount, *, form=None, enabled=None, is_live=None, errors=None,
               saved: bool = False) -> dict:
    """Context of one account card on the site tab; posted state wins over stored state."""
    act = activation.activation_for(account, site)
    if form is None:
        form = schema_form(account.provider.site_settings, prefix="site", stored=act.settings if act else None)
    errors = errors or {}
    return {
        "site": site, "account": account, "provider": account.provider, "activation": act, "form": form,
        "enabled": (act.enabled if act else False) if enabled is None else enabled,
        "is_live": (act.is_live if act else False) if is_live is None else is_live,
        "errors": errors, "saved": saved, "admin_can_access": account.admin.can_access(site),
    }


def _site_accounts(site) -> list[ProviderAccount]:
    enabled = set(install.enabled_provider_keys())
    return [a for a in ProviderAccount.query.filter_by(company_id=site.company_id)
            .order_by(ProviderAccount.name).all() if a.provider_key in enabled]


def render_site_tab(site, **_ctx) -> str:
    return render_template("embedded/_site_tab.html", site=site,
                           cards=[_site_card(site, a) for a in _site_accounts(site)])


def _site_tab_url(site) -> str:
    try:
        return url_for("sites.settings", site_slug=site.slug, tab="embedded")
    except BuildError:  # the sites blueprint renamed its route: fall back to Preferences
        return url_for(".index")


@bp.post("/sites/<site_slug>/accounts/<int:account_id>")
@login_required
def site_activation(site_slug, account_id):
    site = access.site_or_404(site_slug)
    account = _usable_account_or_404(account_id)
    act = activation.activation_for(account, site)
    form = schema_form(account.provider.site_settings, prefix="site", stored=act.settings if act else None,
                       formdata=request.form)
    enabled, is_live = _checked("enabled"), _checked("is_live")
    result = activation.set_activation(account, site, enabled=enabled, is_live=is_live,
                                       settings=form.raw_values())
    if result.ok:
        if not _htmx():
            flash(f"{account.name} saved for {site.name}.", "success")
            return redirect(_site_tab_url(site))
        return render_template("embedded/_site_card.html", **_site_card(site, account, saved=True))
    form.apply_errors(split_errors(result.errors, "settings"))
    card = _site_card(site, account, form=form, enabled=enabled, is_live=is_live, errors=result.errors)
    if _htmx():
        return render_template("embedded/_site_card.html", **card)  # 200: htmx swaps it in place
    return render_template("embedded/card_page.html", card_template="embedded/_site_card.html", page="site",
                           back_url=_site_tab_url(site), **card), 422


# --- entity tabs (product, category, site user, shipping method) ------------------------------

def _entity_cards(entity_type: str, obj) -> list[dict]:
    """One card per account enabled on the object's site whose provider declares settings for
    this entity (or holds integration data for it, from a sync)."""
    enabled = set(install.enabled_provider_keys())
    kind = BINDING_KINDS.get(entity_type)
    cards = []
    for account in activation.enabled_accounts_for_site(obj.site_id):
        if account.provider_key not in enabled:
            continue
        schema = account.provider.schema_for(entity_type)
        bindings = (Binding.query.filter_by(account_id=account.id, kind=kind, local_id=obj.id)
                    .order_by(Binding.id).all() if kind else [])
        if not schema and not bindings:
            continue
        cards.append(_entity_card(entity_type, obj, account, bindings=bindings))
    return cards


def _entity_card(entity_type: str, obj, account: ProviderAccount, *, form=None, errors=None, saved=False,
                 bindings=None) -> dict:
    if form is None:
        form = schema_form(account.provider.schema_for(entity_type), prefix="entity",
                           stored=activation.entity_settings(account.id, entity_type, obj.id))
    if bindings is None:
        kind = BINDING_KINDS.get(entity_type)
        bindings = (Binding.query.filter_by(account_id=account.id, kind=kind, local_id=obj.id)
                    .order_by(Binding.id).all() if kind else [])
    return {"entity_type": entity_type, "entity_label": ENTITY_LABELS[entity_type], "obj": obj,
            "account": account, "provider": account.provider, "form": form, "errors": errors or {},
            "saved": saved, "bindings": bindings}


def _entity_tab(entity_type: str) -> Tab:
    def render(obj, **_ctx) -> str:
        return render_template("embedded/_entity_tab.html", cards=_entity_cards(entity_type, obj),
                               entity_label=ENTITY_LABELS[entity_type])

    return Tab("embedded", "Embedded Services", render, visible=lambda obj: bool(_entity_cards(entity_type, obj)),
               order=50)


def _entity_page_url(entity_type: str, obj) -> str:
    endpoint, id_arg = ENTITY_PAGES[entity_type]
    try:
        return url_for(endpoint, site_slug=obj.site.slug, tab="embedded", **{id_arg: obj.id})
    except BuildError:
        return _site_tab_url(obj.site)


@bp.post("/entities/<entity_type>/<int:entity_id>/accounts/<int:account_id>")
@login_required
def entity_settings(entity_type, entity_id, account_id):
    model = ENTITY_MODELS.get(entity_type)
    entity = db.session.get(model, entity_id) if model else None
    if entity is None:
        abort(404)
    site = access.site_or_404(entity.site.slug)
    account = _usable_account_or_404(account_id)
    schema = account.provider.schema_for(entity_type)
    # Settings only exist while the account is enabled on the entity's site.
    if not schema or account.id not in {a.id for a in activation.enabled_accounts_for_site(site.id)}:
        abort(404)
    form = schema_form(schema, prefix="entity", formdata=request.form,
                       stored=activation.entity_settings(account.id, entity_type, entity.id))
    errors = activation.save_entity_settings(account, entity_type, entity.id, form.raw_values())
    if not errors:
        if not _htmx():
            flash(f"{account.name} settings saved.", "success")
            return redirect(_entity_page_url(entity_type, entity))
        return render_template("embedded/_entity_card.html", **_entity_card(entity_type, entity, account, saved=True))
    form.apply_errors(errors)
    card = _entity_card(entity_type, entity, account, form=form, errors=errors)
    if _htmx():
        return render_template("embedded/_entity_card.html", **card)
    return render_template("embedded/card_page.html", card_template="embedded/_entity_card.html", page="entity",
                           site=site, back_url=_entity_page_url(entity_type, entity), **card), 422


# --- tab registrations -----------------------------------------------------------------------

register_tab("site_settings", Tab("embedded", "Embedded Services", render_site_tab,
                                  visible=lambda site: install.menu_visible(), order=50))
for _entity in ENTITY_TYPES:
    register_tab(_entity, _entity_tab(_entity))
