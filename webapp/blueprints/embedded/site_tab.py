"""Site settings › Embedded Services: one card per account (Enable, IsLive, site settings)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_login import login_required

from ...embedded import activation, install, settings_view
from ...models import ProviderAccount
from .. import access
from ..provider_forms import schema_form, split_errors
from ..tabs import Tab, register_tab
from . import bp
from .common import checked, htmx, site_tab_url, usable_account_or_404


def _site_card(site, account: ProviderAccount, *, form=None, enabled=None, is_live=None, errors=None,
               saved: bool = False) -> dict:
    """Context of one account card on the site tab; posted state wins over stored state."""
    act = activation.activation_for(account, site)
    if form is None:
        form = schema_form(account.provider.site_settings, prefix="site", stored=act.settings if act else None)
    return {
        "site": site, "account": account, "provider": account.provider, "activation": act, "form": form,
        "enabled": (act.enabled if act else False) if enabled is None else enabled,
        "is_live": (act.is_live if act else False) if is_live is None else is_live,
        "errors": errors or {}, "saved": saved, "admin_can_access": account.admin.can_access(site),
    }


def render_site_tab(site, **_ctx) -> str:
    return render_template("embedded/_site_tab.html", site=site,
                           cards=[_site_card(site, a) for a in settings_view.site_accounts(site)])


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
                                       settings=form.raw_values())
    if result.ok:
        if not htmx():
            flash(f"{account.name} saved for {site.name}.", "success")
            return redirect(site_tab_url(site))
        return render_template("embedded/_site_card.html", **_site_card(site, account, saved=True))
    form.apply_errors(split_errors(result.errors, "settings"))
    card = _site_card(site, account, form=form, enabled=enabled, is_live=is_live, errors=result.errors)
    if htmx():
        return render_template("embedded/_site_card.html", **card)  # 200: htmx swaps it in place
    return render_template("embedded/card_page.html", card_template="embedded/_site_card.html", page="site",
                           back_url=site_tab_url(site), **card), 422


register_tab("site_settings", Tab("embedded", "Embedded Services", render_site_tab,
                                  visible=lambda site: install.menu_visible(), order=50))
