"""Preferences › Embedded Services (one blueprint, ``embedded``, in focused modules):

* ``accounts``    — the account list and provider catalogue, failed pushes, add / edit / delete
* ``connection``  — an account's page, its connection test and webhook subscription
* ``site_tab``    — the Embedded Services tab of site settings (Enable, IsLive, site settings)
* ``entity_tabs`` — the tabs on products, categories, site users and shipping methods

Views stay thin: parse, authorize, call one use-case from ``webapp.embedded``, render; reads
come from ``webapp.embedded.account_view`` / ``settings_view``. Every provider-specific field
is generated from the provider's declared schemas.
"""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from ...embedded import install
from ..preferences import register_section

bp = Blueprint("embedded", __name__, url_prefix="/preferences/embedded")

register_section("Embedded Services", "embedded.index", visible=install.menu_visible, icon="plug")


@bp.before_request
def _hidden_until_a_provider_is_enabled():
    # Why: the module does not exist for a company until sales/ops enable a provider; anonymous
    # visitors fall through to @login_required's redirect.
    if current_user.is_authenticated and not install.menu_visible():
        abort(404)


from . import accounts, connection, entity_tabs, site_tab  # noqa: E402,F401  (routes and tabs register on bp)
