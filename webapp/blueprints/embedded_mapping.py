"""Mapping helpers: bulk product mapping from the account page (a CSV of sku + the
provider's product settings; embedded.settings_ops saves good rows and reports each bad
one), and the options of picker fields (embedded.pickers) as <datalist> options."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..embedded import install
from ..embedded.pickers import picker_options
from ..embedded.settings_ops import import_product_map
from ..extensions import db
from ..models import ProviderAccount

bp = Blueprint("embedded_mapping", __name__, url_prefix="/preferences/embedded")


def _account_or_404(account_id: int) -> ProviderAccount:
    account = db.session.get(ProviderAccount, account_id)
    if account is None or account.company_id != current_user.company_id or not install.is_enabled(account.provider_key):
        abort(404)
    return account


@bp.get("/accounts/<int:account_id>/picker/<entity_type>/<field_name>")
@login_required
def picker(account_id, entity_type, field_name):
    account = _account_or_404(account_id)
    try:
        result = picker_options(account, entity_type, field_name)
    except KeyError:
        abort(404)
    return render_template("embedded/_picker_options.html", result=result)


@bp.post("/accounts/<int:account_id>/product-map")
@login_required
def import_map(account_id):
    account = _account_or_404(account_id)
    if not account.provider.product_settings:
        abort(404)
    upload = request.files.get("csv_file")
    if upload is None or not upload.filename:
        report, status = None, 422
    else:
        report = import_product_map(account, upload.read(), current_user.visible_site_ids())
        status = 200 if report.ok else 422
    return render_template("embedded/product_map_result.html", account=account, provider=account.provider,
                           report=report), status
