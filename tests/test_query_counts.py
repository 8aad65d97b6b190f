"""The admin pages cost a constant number of SQL statements, whatever the data size.

Each page is requested at a small size, then again after the data grew (more sites, more
orders, more items per order with products and files, order history, an Embedded Services
account live on the sites): the statement count must be identical. Speed itself is
measured by bench/admin_pages.py, not here.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from webapp.extensions import db


class StatementCounter:
    def __init__(self):
        self.count = 0
        self.active = False
        event.listen(db.engine, "before_cursor_execute", self._on)

    def _on(self, *args):
        if self.active:
            self.count += 1

    def close(self):
        event.remove(db.engine, "before_cursor_execute", self._on)

    def get(self, client, url) -> int:
        db.session.expire_all()  # as in production: nothing the test loaded is reused by the request
        self.count, self.active = 0, True
        try:
            response = client.get(url)
        finally:
            self.active = False
        assert response.status_code == 200, (url, response.status_code)
        return self.count


def _grow(factory, sites, orders_per_site: int, items: int, tag: str):
    from webapp.models import OrderEvent
    for site in sites:
        products = [factory.product(site, sku=f"{tag}-{site.id}-{n}") for n in range(items)]
        for n in range(orders_per_site):
            order = factory.order(site, number=f"{tag}-{site.id}-{n:03d}", paid=True, items=[
                {"product_id": products[line].id, "sku": products[line].sku, "approval": "approved",
                 "files": [("upload", "ready")] * (line + 1)} for line in range(items)])
            db.session.add(OrderEvent(order_id=order.id, actor="test", kind="paid", detail="Marked paid"))
    db.session.commit()


def _push_some(account, sites):
    """Pushes in every state on each site, so the column shows every kind of cell."""
    from webapp.embedded import push_summary
    from webapp.models import Order, OrderPush

    ids = []
    for site in sites:
        orders = Order.query.filter_by(site_id=site.id).order_by(Order.placed_at.desc()).limit(5).all()
        for order, state in zip(orders, ("pushed", "failed", "queued", "waiting", "pushed")):
            db.session.add(OrderPush(order_id=order.id, account_id=account.id, state=state, errors=["No."],
                                     external_status="awaiting_shipment" if state == "pushed" else None,
                                     idempotency_key=f"k{order.id}", reference=f"{order.number}-ES"))
            ids.append(order.id)
    db.session.flush()
    push_summary.refresh(ids)
    db.session.commit()


@pytest.fixture
def counter(app_ctx):
    c = StatementCounter()
    yield c
    c.close()


def test_admin_pages_cost_the_same_number_of_statements_at_two_data_sizes(factory, client, login, counter):
    from webapp.embedded import install
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import set_activation

    sites = [factory.site(), factory.site()]
    admin = factory.admin(is_super=True)
    _grow(factory, sites, orders_per_site=2, items=1, tag="S")
    install.enable_provider("shipstation")
    result = save_account(None, company_id=admin.company_id, name="ShipStation", provider_key="shipstation",
                          admin_id=admin.id, credentials={"api_key": "key1", "api_secret": "secret1",
                                                          "base_url": "http://127.0.0.1:9/shipstation"},
                          settings={})
    assert result.ok, result.errors
    # live on one site from the start: the push filter has orders (waiting) at both sizes
    assert set_activation(result.account, sites[0], enabled=True, is_live=True).ok
    login(admin)
    first_site, first_order = sites[0], "S-%d-000" % sites[0].id
    pages = {
        "orders list": "/orders",
        "orders list, page 2": "/orders?page=2",
        "orders list, filtered": f"/orders?site={first_site.slug}&status=Order+Received",
        "site orders list": f"/sites/{first_site.slug}/orders",
        # the Embedded Services column and its filter (orders.push_state)
        "orders list, push filter": "/orders?push=waiting",
        "orders list, push filter, page 2": "/orders?push=waiting&page=2",
        "site orders list, push filter": f"/sites/{first_site.slug}/orders?push=waiting",
        "dashboard": "/",
        "order detail": f"/orders/{first_order}",
        "order history": f"/orders/{first_order}/history",
        "site settings": f"/sites/{first_site.slug}/settings",
    }
    small = {name: counter.get(client, url) for name, url in pages.items()}

    more_sites = [factory.site() for _ in range(4)]
    _grow(factory, sites + more_sites, orders_per_site=15, items=3, tag="L")
    for site in sites[1:] + more_sites:
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
    _push_some(result.account, sites + more_sites)
    big_order = "L-%d-007" % sites[0].id
    pages["order detail"] = f"/orders/{big_order}"  # 3 items with products and files instead of 1
    pages["order history"] = f"/orders/{big_order}/history"
    large = {name: counter.get(client, url) for name, url in pages.items()}

    assert large == small
