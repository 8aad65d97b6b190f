from flask import Blueprint
from flask_login import login_required

bp = Blueprint("orders", __name__)


@bp.route("/orders")
@login_required
def index():
    return "orders"


@bp.route("/sites/<site_slug>/orders")
@login_required
def site_orders(site_slug):
    return "orders"


@bp.route("/orders/<order_number>")
@login_required
def detail(order_number):
    return "order"
