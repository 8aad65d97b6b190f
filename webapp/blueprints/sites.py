"""Sites list and site settings (a tabbed page: General, Shipping, plus registered tabs)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from ..models import Order, Product, SiteUser
from ..storefront import catalog, queries
from .access import site_or_404
from .forms import SiteSettingsForm, show_error
from .tabs import Tab, tabs_for

bp = Blueprint("sites", __name__, url_prefix="/sites")


# --- tabbed detail pages (shared by the sites, catalog and orders blueprints) -----------------

@dataclass
class TabPage:
    tabs: list[Tab]
    active: str
    body: Markup | None  # HTML of a registered tab; None when a built-in tab is active


def tab_page(page: str, builtin: list[tuple[str, str]], active: str, obj) -> TabPage:
    """Built-in tabs first, then the tabs other modules registered for `page`; an unknown
    or invisible tab is a 404. A registered tab's body is rendered here, so a direct load of
    its URL shows the whole page."""
    builtin_keys = {key for key, _ in builtin}
    registered = [t for t in tabs_for(page, obj) if t.key not in builtin_keys]
    tabs = [Tab(key, label, render=lambda _obj: "") for key, label in builtin] + registered
    if active in builtin_keys:
        return TabPage(tabs, active, None)
    tab = next((t for t in registered if t.key == active), None)
    if tab is None:
        abort(404)
    return TabPage(tabs, active, Markup(tab.render(obj)))


SETTINGS_TABS = [("general", "General"), ("shipping", "Shipping")]


# --- views -----------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    sites = current_user.visible_sites_query().all()
    ids = [s.id for s in sites]
    return render_template(
        "sites/index.html", sites=sites,
        product_counts=queries.count_by_site(Product, ids), order_counts=queries.count_by_site(Order, ids),
        user_counts=queries.count_by_site(SiteUser, ids),
    )


@bp.route("/<site_slug>/")
@login_required
def home(site_slug):
    site = site_or_404(site_slug)
    return redirect(url_for(".settings", site_slug=site.slug))


@bp.route("/<site_slug>/settings", defaults={"tab": "general"}, methods=["GET", "POST"])
@bp.route("/<site_slug>/settings/<tab>", methods=["GET", "POST"])
@login_required
def settings(site_slug, tab):
    site = site_or_404(site_slug)
    view = tab_page("site_settings", SETTINGS_TABS, tab, site)
    form, status = None, 200
    if tab == "general":
        form = SiteSettingsForm(obj=site)
        if form.validate_on_submit():
            try:
                catalog.update_site_settings(site, **form.values())
            except catalog.CatalogError as err:
                show_error(form, err.field, str(err))
            else:
                flash("Site settings saved.", "success")
                return redirect(url_for(".settings", site_slug=site.slug))
        if request.method == "POST":
            status = 400
    elif request.method == "POST":
        abort(405)  # only the General tab is a form here; registered tabs post to their own routes
    methods = queries.shipping_methods(site.id) if tab == "shipping" else []
    return render_template("sites/settings.html", site=site, view=view, form=form, methods=methods,
                           section="settings"), status
