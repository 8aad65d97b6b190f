from flask import Blueprint
from flask_login import login_required

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
@login_required
def index():
    return "sites"


@bp.route("/<site_slug>/settings")
@login_required
def settings(site_slug):
    return "settings"
