"""Lookups that enforce site scoping: anything on a site the admin cannot access is a 404
(not a 403), so the admin cannot even learn that it exists."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..extensions import db
from ..models import Order, OrderItem, Site


def site_or_404(site_slug: str) -> Site:
    site = Site.query.filter_by(slug=site_slug).first()
    if site is None or not current_user.can_access(site):
        abort(404)
    return site


def order_or_404(order_number: str) -> Order:
    order = Order.query.filter_by(number=order_number).first()
    if order is None or not current_user.can_access(order.site):
        abort(404)
    return order


def item_or_404(order: Order, line: int) -> OrderItem:
    item = next((i for i in order.items if i.line_number == line), None)
    if item is None:
        abort(404)
    return item


def owned_or_404(model, object_id: int, site: Site):
    obj = db.session.get(model, object_id)
    if obj is None or obj.site_id != site.id:
        abort(404)
    return obj


def actor() -> str:
    """How the current admin appears in audit records."""
    return current_user.email


def managed_or_404(account):
    """An account the current admin may manage (embedded.account_access): else a 404."""
    from ..embedded.account_access import can_manage

    if account is None or not can_manage(current_user, account):
        abort(404)
    return account


def can_manage(account) -> bool:
    from ..embedded.account_access import can_manage as rule

    return rule(current_user, account)
