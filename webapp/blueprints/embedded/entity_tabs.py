"""The Embedded Services tab on products, categories, site users and shipping methods: one
card per account enabled on the object's site, with its declared settings and sync bindings."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.routing import BuildError

from ...embedded import activation, settings_view
from ...embedded.settings_view import ENTITY_LABELS
from ...models import ENTITY_TYPES, ProviderAccount
from .. import access
from ..provider_forms import schema_form
from ..tabs import Tab, register_tab
from . import bp
from .common import htmx, site_tab_url, usable_account_or_404

# Entity page endpoint and its id argument (the catalogue blueprint's URLs).
ENTITY_PAGES = {"product": ("catalog.product", "product_id"), "category": ("catalog.category", "category_id"),
                "site_user": ("catalog.user", "user_id"),
                "shipping_method": ("catalog.shipping_method", "method_id")}


def _entity_card(entity_type: str, obj, account: ProviderAccount, *, form=None, errors=None, saved=False,
                 bindings=None) -> dict:
    if form is None:
        form = schema_form(account.provider.schema_for(entity_type), prefix="entity",
                           stored=activation.entity_settings(account.id, entity_type, obj.id))
    if bindings is None:
        bindings = settings_view.bindings_for(account.id, entity_type, obj)
    return {"entity_type": entity_type, "entity_label": ENTITY_LABELS[entity_type], "obj": obj,
            "account": account, "provider": account.provider, "form": form, "errors": errors or {},
            "saved": saved, "bindings": bindings}


def _entity_tab(entity_type: str) -> Tab:
    def render(obj, **_ctx) -> str:
        cards = [_entity_card(entity_type, obj, account, bindings=bindings)
                 for account, bindings in settings_view.entity_accounts(entity_type, obj)]
        return render_template("embedded/_entity_tab.html", cards=cards, entity_label=ENTITY_LABELS[entity_type])

    return Tab("embedded", "Embedded Services", render,
               visible=lambda obj: bool(settings_view.entity_accounts(entity_type, obj)), order=50)


def _entity_page_url(entity_type: str, obj) -> str:
    endpoint, id_arg = ENTITY_PAGES[entity_type]
    try:
        return url_for(endpoint, site_slug=obj.site.slug, tab="embedded", **{id_arg: obj.id})
    except BuildError:
        return site_tab_url(obj.site)


@bp.post("/entities/<entity_type>/<int:entity_id>/accounts/<int:account_id>")
@login_required
def entity_settings(entity_type, entity_id, account_id):
    entity = settings_view.entity(entity_type, entity_id)
    if entity is None:
        abort(404)
    site = access.site_or_404(entity.site.slug)
    account = usable_account_or_404(account_id)
    if not settings_view.entity_settings_allowed(account, entity_type, site.id):
        abort(404)
    form = schema_form(account.provider.schema_for(entity_type), prefix="entity", formdata=request.form,
                       stored=activation.entity_settings(account.id, entity_type, entity.id))
    errors = activation.save_entity_settings(account, entity_type, entity.id, form.raw_values())
    if not errors:
        if not htmx():
            flash(f"{account.name} settings saved.", "success")
            return redirect(_entity_page_url(entity_type, entity))
        return render_template("embedded/_entity_card.html", **_entity_card(entity_type, entity, account, saved=True))
    form.apply_errors(errors)
    card = _entity_card(entity_type, entity, account, form=form, errors=errors)
    if htmx():
        return render_template("embedded/_entity_card.html", **card)
    return render_template("embedded/card_page.html", card_template="embedded/_entity_card.html", page="entity",
                           site=site, back_url=_entity_page_url(entity_type, entity), **card), 422


for _entity in ENTITY_TYPES:
    register_tab(_entity, _entity_tab(_entity))
