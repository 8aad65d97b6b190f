"""Orders: the lists (all sites / one site), the order page, the item page and the item actions.

Every state change is one call to a use-case in storefront/orders.py with the acting admin;
a refused transition is flashed, never a 500. Actions are plain POST + redirect back.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..embedded import push_view
from ..models import orders as o
from ..storefront import orders as use_cases
from ..storefront import queries
from .access import actor, item_or_404, order_or_404, site_or_404
from .redirects import safe_next
from .forms import ItemStatusForm, OrderFilterForm, ShipmentForm
from .sites import tab_page
from .params import db_int, url_maker

bp = Blueprint("orders", __name__)

ORDER_TABS = [("items", "Items"), ("history", "History")]
ITEM_TABS = [("details", "Details")]


# --- lists -----------------------------------------------------------------------------------

@bp.route("/orders")
@login_required
def index():
    return _orders_list(site=None)


@bp.route("/sites/<site_slug>/orders")
@login_required
def site_orders(site_slug):
    return _orders_list(site=site_or_404(site_slug))


def _orders_list(site):
    """Both lists: the same filters, query and partial; a site list is scoped to that site."""
    sites = [site] if site else current_user.visible_sites_query().all()
    form = OrderFilterForm(request.args, sites=sites)
    if site:
        del form.site  # fixed by the URL
    form.validate()  # bad values get a message on their field and are left out of the filter
    chosen = site or {s.slug: s for s in sites}.get(form.valid("site"))
    filters = queries.OrderFilter(
        site_ids=[s.id for s in sites], site_id=chosen.id if chosen else None,
        status=form.valid("status"), placed_from=form.valid("placed_from"), placed_to=form.valid("placed_to"),
        push_state=form.valid("push"),
    )
    page = queries.orders_page(filters, request.args.get("page", 1, type=db_int), seek=_seek())
    push_cells = push_view.list_cells(page.items)
    # Pager links carry the filters (only the form's own fields: never url_for's _external & co).
    args = {name: request.args[name] for name in form.data if request.args.get(name)}

    def page_url(n):
        # Next / Previous continue from this page's last / first order (keyset, no OFFSET);
        # the page number stays for "Showing …" and as the fallback if that order is gone.
        if page.items and n == page.page + 1:
            return url_for(request.endpoint, **request.view_args, **args, page=n, after=page.items[-1].id)
        if page.items and n == page.page - 1 > 1:
            return url_for(request.endpoint, **request.view_args, **args, page=n, before=page.items[0].id)
        return url_for(request.endpoint, **request.view_args, **args, page=n)

    context = {"site": site, "form": form, "page": page, "page_url": page_url, "filtered": bool(args),
               "push_cells": push_cells, "order_url": url_maker("orders.detail", "order_number"),
               "site_orders_url": url_maker("orders.site_orders", "site_slug")}
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("orders/_list.html", **context)  # filter/pager swaps only the panel
    template = "orders/site_index.html" if site else "orders/index.html"
    return render_template(template, section="orders", **context)


def _seek() -> queries.Seek | None:
    """The pager's keyset continuation (?after=<order id> / ?before=<order id>), if any."""
    for direction in ("after", "before"):
        anchor = request.args.get(direction, type=db_int)
        if anchor is not None:
            return queries.Seek(direction, anchor)
    return None


# --- order page ------------------------------------------------------------------------------

@bp.route("/orders/<order_number>", defaults={"tab": "items"})
@bp.route("/orders/<order_number>/<tab>")
@login_required
def detail(order_number, tab):
    order = order_or_404(order_number)
    view = tab_page("order", ORDER_TABS, tab, order)
    if tab == "items":
        queries.preload_item_products(order)
    events = queries.order_events(order) if tab == "history" else []
    return render_template("orders/detail.html", order=order, view=view, events=events, actions=item_actions)


@bp.post("/orders/<order_number>/pay")
@login_required
def pay(order_number):
    order = order_or_404(order_number)
    _attempt(use_cases.mark_paid, order, actor(), done=f"Order {order.number} marked paid.")
    return _back(url_for(".detail", order_number=order.number))


# --- item page -------------------------------------------------------------------------------

def item_actions(item) -> set[str]:
    """The buttons that make sense for the item's current state (the use-cases still decide)."""
    if item.status == o.CANCELLED:
        return set()
    actions = {"status"}
    if item.approval != o.APPROVAL_APPROVED:
        actions.add("approve")
    if item.approval != o.APPROVAL_DENIED:
        actions.add("deny")
        actions.add("shipment")  # a denied item is not produced, so there is nothing to ship
    if item.status not in (o.SHIPPED, o.COMPLETED):
        actions.add("cancel")
    if any(f.state == o.FILE_PENDING for f in item.files):
        actions.add("file_ready")
    return actions


@bp.route("/orders/<order_number>/items/<int:line>", defaults={"tab": "details"})
@bp.route("/orders/<order_number>/items/<int:line>/<tab>")
@login_required
def item(order_number, line, tab):
    order = order_or_404(order_number)
    return _render_item(order, item_or_404(order, line), tab)


def _render_item(order, item, tab="details", shipment_form=None, status=200):
    view = tab_page("order_item", ITEM_TABS, tab, item)
    context = {}
    if tab == "details":
        status_form = ItemStatusForm(formdata=None, status=item.status if item.status != o.CANCELLED else None)
        context = {
            "events": queries.order_events(order, item),
            "status_form": status_form,
            "shipment_form": shipment_form or ShipmentForm(formdata=None, carrier=item.carrier or (
                item.shipping_method.carrier if item.shipping_method else "")),
            "actions": item_actions(item),
        }
    return render_template("orders/item.html", order=order, item=item, view=view, **context), status


def _item_route(order_number, line):
    order = order_or_404(order_number)
    return order, item_or_404(order, line)


@bp.post("/orders/<order_number>/items/<int:line>/approve")
@login_required
def approve(order_number, line):
    order, item = _item_route(order_number, line)
    _attempt(use_cases.approve_item, item, actor(), done=f"Item {item.number} approved.")
    return _back_to_item(item)


@bp.post("/orders/<order_number>/items/<int:line>/deny")
@login_required
def deny(order_number, line):
    order, item = _item_route(order_number, line)
    _attempt(use_cases.deny_item, item, actor(), done=f"Item {item.number} denied.")
    return _back_to_item(item)


@bp.post("/orders/<order_number>/items/<int:line>/cancel")
@login_required
def cancel(order_number, line):
    order, item = _item_route(order_number, line)
    _attempt(use_cases.cancel_item, item, actor(), done=f"Item {item.number} cancelled.")
    return _back_to_item(item)


@bp.post("/orders/<order_number>/items/<int:line>/status")
@login_required
def set_status(order_number, line):
    order, item = _item_route(order_number, line)
    form = ItemStatusForm()
    if form.validate():
        _attempt(use_cases.set_item_status, item, form.status.data, actor(),
                 done=f"Item {item.number} is now {form.status.data}.")
    else:
        flash("Choose one of the listed statuses.", "danger")
    return _back_to_item(item)


@bp.post("/orders/<order_number>/items/<int:line>/files/<int:file_id>/ready")
@login_required
def file_ready(order_number, line, file_id):
    order, item = _item_route(order_number, line)
    file = next((f for f in item.files if f.id == file_id), None)
    if file is None:
        abort(404)
    _attempt(use_cases.mark_file_ready, file, actor(), done=f"File #{file.id} of item {item.number} marked ready.")
    return _back_to_item(item)


@bp.post("/orders/<order_number>/items/<int:line>/shipment")
@login_required
def shipment(order_number, line):
    order, item = _item_route(order_number, line)
    form = ShipmentForm()
    if not form.validate():
        # Field messages only survive on a re-render, not across a redirect.
        return _render_item(order, item, shipment_form=form, status=400)
    _attempt(use_cases.record_shipment, item, form.carrier.data, form.tracking_number.data, form.shipped_on.data,
             actor(), done=f"Shipment of item {item.number} recorded.")
    return _back_to_item(item)


# --- helpers ---------------------------------------------------------------------------------

def _attempt(use_case, *args, done: str) -> bool:
    try:
        use_case(*args)
    except use_cases.TransitionError as err:
        flash(str(err), "danger")
        return False
    flash(done, "success")
    return True


def _back(default: str):
    """Redirect to the page the button was on (a local path only), else `default`."""
    return redirect(safe_next(request.form.get("next"), default))


def _back_to_item(item):
    return _back(url_for(".item", order_number=item.order.number, line=item.line_number))
