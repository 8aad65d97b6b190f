"""A bulk push (Synchronize "orders") costs a fixed number of SQL statements per chunk: the
chunk's pushes are queued and claimed set-based and its orders, items, files, customers,
products, shipping methods and settings are batch-loaded, so statements do not grow with
the number of orders (bench/status_sync.py measures the time and reports statements per order)."""
from __future__ import annotations

from sqlalchemy import event

from webapp.embedded.run_slices import execute_run
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import EntitySetting, ItemPush, OrderEvent, OrderPush, SyncRun


def _orders(factory, site, account, n: int) -> None:
    product = factory.product(site, sku=f"P-{site.id}", name="Cards")
    method = factory.shipping_method(site, name="Ground", integration_id="ups:ups_ground")
    customer = factory.site_user(site, email=f"known{site.id}@example.test")
    db.session.add_all([
        EntitySetting(account_id=account.id, entity_type="product", entity_id=product.id,
                      values={"shipstation_sku": "SS-1"}),
        EntitySetting(account_id=account.id, entity_type="shipping_method", entity_id=method.id,
                      values={"service": "ups:ups_ground"})])
    db.session.commit()
    for k in range(n):
        items = [{"approval": "approved", "product_id": product.id, "shipping_method_id": method.id,
                  "files": [("upload", "ready")]}, {"approval": "approved"}]
        # half the customers are linked, half matched by e-mail, some unknown
        kw = {"customer_id": customer.id} if k % 3 == 0 else {
            "customer_email": customer.email if k % 3 == 1 else f"guest{k}@example.test"}
        factory.order(site, paid=True, items=items, **kw)


def _statements_of_sync(account, site) -> int:
    run = request_run(account, ["orders"], "ops@example.test", site=site)
    db.session.commit()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        state = execute_run(run.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert state == "finished", run.error
    return len(seen), run


def test_bulk_push_statements_do_not_grow_with_the_number_of_orders(factory, make_shipstation_account):
    counts = {}
    for n in (3, 12):
        site = factory.site()
        account, sim = make_shipstation_account(site)
        _orders(factory, site, account, n)
        counts[n], run = _statements_of_sync(account, site)
        assert run.created == n
        pushes = OrderPush.query.filter_by(account_id=account.id).all()
        assert len(pushes) == n and {p.state for p in pushes} == {"pushed"} and all(p.attempts == 1 for p in pushes)
        assert ItemPush.query.filter(ItemPush.push_id.in_([p.id for p in pushes])).count() == 2 * n
        assert OrderEvent.query.filter(OrderEvent.order_id.in_([p.order_id for p in pushes]),
                                       OrderEvent.kind == "pushed").count() == n
        assert sim.stats()["orders"] == 2 * n  # every order once (its two items ship differently: two groups)
    assert counts[12] == counts[3], counts  # a fixed cost per chunk, whatever its size
