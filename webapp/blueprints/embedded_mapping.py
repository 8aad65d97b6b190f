"""Bulk product mapping from the account page: upload a CSV (sku + the provider's product
settings); the use-case (embedded.settings_ops) saves good rows and reports each bad one."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..embedded import install
from ..embedded.settings_ops import import_product_map
from ..extensions import db
from ..models import ProviderAccount

bp = Blueprint("embedded_mapping", __name__, url_prefix="/preferences/embedded")


@bp.post("/accounts/<int:account_id>/product-map")
@login_required
def import_map(account_id):
    account = db.session.get(ProviderAccount, account_id)
    if (account is None or account.company_id != current_user.company_id
            or not install.is_enabled(account.provider_key) or not account.provider.product_settings):
        abort(404)
    upload = request.files.get("csv_file")
    if upload is None or not upload.filename:
        report, status = None, 422
    else:
        report = import_product_map(account, upload.read(), current_user.visible_site_ids())
        status = 200 if report.ok else 422
    return render_template("embedded/product_map_result.html", account=account, provider=account.provider,
                           report=report), status
