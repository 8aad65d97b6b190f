"""Order and item → Embedded Services tabs: push state per account, live refresh, Push Order."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from ..embedded import push as push_uc
from ..embedded import push_view
from ..embedded.push_release import ReleaseRefused, release_stuck_push
from ..models import OrderPush
from . import access
from .access import item_or_404, order_or_404
from .tabs import Tab, register_tab
from .params import db_int

bp = Blueprint("order_push", __name__)


def _order_panel(order) -> str:
    rows = push_view.order_pushes(order)
    return render_template("embedded/_order_push_panel.html", order=order, rows=rows,
                           polling=push_view.any_active(rows), can_manage=access.can_manage)


def _item_panel(item) -> str:
    return render_template("embedded/_item_push_panel.html", item=item, order=item.order,
                           rows=push_view.item_rows(item))


register_tab("order", Tab("embedded", "Embedded Services", lambda order: Markup(_order_panel(order)),
                          visible=push_view.order_tab_visible, order=90))
register_tab("order_item", Tab("embedded", "Embedded Services", lambda item: Markup(_item_panel(item)),
                               visible=push_view.item_tab_visible, order=90))


@bp.get("/orders/<order_number>/embedded/panel")
@login_required
def order_panel(order_number):
    return _order_panel(order_or_404(order_number))


@bp.post("/orders/<order_number>/embedded/push")
@login_required
def push(order_number):
    order = order_or_404(order_number)
    account_id = request.form.get("account_id", type=db_int)
    try:
        outcome = push_uc.request_push(order, account_id)
        queued = [r.account.name for r in outcome if r.queued and r.message != push_uc.QUEUE_DOWN]
        delayed = [r.account.name for r in outcome if r.queued and r.message == push_uc.QUEUE_DOWN]
        busy = [f"{r.account.name} ({r.message})" for r in outcome if not r.queued]
        if queued:
            flash(f"Order {order.number} queued for {', '.join(queued)}.", "success")
        if delayed:
            flash(f"Order {order.number} for {', '.join(delayed)}: {push_uc.QUEUE_DOWN}.", "warning")
        if busy:
            flash(f"Left alone: {', '.join(busy)}.", "info")
    except push_uc.NotEligible as exc:
        flash("This order cannot be pushed: " + " ".join(exc.reasons), "danger")
    if request.headers.get("HX-Request") and request.form.get("panel") == "order":
        return _order_panel(order)
    line = request.form.get("line", type=db_int)
    if line:
        item = item_or_404(order, line)
        return redirect(url_for("orders.item", order_number=order.number, line=item.line_number, tab="embedded"))
    return redirect(url_for("orders.detail", order_number=order.number, tab="embedded"))


@bp.post("/orders/<order_number>/embedded/release")
@login_required
def release(order_number):
    """An account manager releases a push stuck in "pushing" (to failed, logged in History)."""
    order = order_or_404(order_number)
    push = OrderPush.query.filter_by(order_id=order.id, account_id=request.form.get("account_id", type=db_int)).first()
    try:
        release_stuck_push(push, current_user)
        flash(f"Push to {push.account.name} released: it is marked failed; push it again when ready.", "warning")
    except ReleaseRefused as exc:
        flash(str(exc), "info")
    if request.headers.get("HX-Request"):
        return _order_panel(order)
    return redirect(url_for("orders.detail", order_number=order.number, tab="embedded"))
