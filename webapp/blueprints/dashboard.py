"""Landing page: the admin's sites and recent orders at a glance."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func

from ..extensions import db
from ..models import Order

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@login_required
def index():
    sites = current_user.visible_sites_query().all()
    site_ids = [s.id for s in sites]
    counts = dict(
        db.session.query(Order.status, func.count(Order.id))
        .filter(Order.site_id.in_(site_ids)).group_by(Order.status).all()
    ) if site_ids else {}
    # Embedded Services at a glance: the same orders.push_state the orders lists filter on.
    push_counts = dict(
        db.session.query(Order.push_state, func.count(Order.id))
        .filter(Order.site_id.in_(site_ids), Order.push_state.in_(("failed", "waiting")))
        .group_by(Order.push_state).all()
    ) if site_ids else {}
    recent = (Order.query.filter(Order.site_id.in_(site_ids)).order_by(Order.placed_at.desc(), Order.id.desc())
              .limit(10).all()) if site_ids else []
    return render_template("dashboard/index.html", sites=sites, counts=counts, recent=recent,
                           push_counts=push_counts)
