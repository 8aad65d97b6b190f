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


def _statements_of_sync(account, site, kind: str = "before_cursor_execute") -> int:
    """Statements (or, with kind="commit", commits) of one synchronization of orders."""
    run = request_run(account, ["orders"], "ops@example.test", site=site)
    db.session.commit()
    seen = []

    def count(*args):
        seen.append(args)
    event.listen(db.engine, kind, count)
    try:
        state = execute_run(run.id)
    finally:
        event.remove(db.engine, kind, count)
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


def test_one_push_reads_nothing_again_after_its_commits(factory, make_shipstation_account):
    """A single push (the job a waiting order runs between sync slices) loads its account with
    the push, builds the order-state summary once per process and reads nothing back after a
    commit: 19 statements on this order (25 before: account and activations loaded twice, the
    push reloaded for a log line). The History line still names the account."""
    from webapp.embedded import push as push_uc
    from webapp.models import Site

    site = factory.site()
    account, sim = make_shipstation_account(site)
    product = factory.product(site, sku="P-1", name="Cards")
    db.session.add(EntitySetting(account_id=account.id, entity_type="product", entity_id=product.id,
                                 values={"shipstation_sku": "SS-1"}))
    db.session.commit()
    account_name, product_id, site_id = account.name, product.id, site.id
    counts = []
    for _ in range(2):  # the second push: the account is verified, nothing is written for it
        order = factory.order(db.session.get(Site, site_id), paid=True,
                              items=[{"approval": "approved", "product_id": product_id}])
        push_uc.queue_automatic_pushes(order.id)
        push_id = OrderPush.query.filter_by(order_id=order.id).one().id
        db.session.remove()
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert push_uc.run_push(push_id) == "pushed"
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(seen))
        db.session.remove()
        push = db.session.get(OrderPush, push_id)
        assert push.state == "pushed" and push.order.push_state == "pushed"
        assert OrderEvent.query.filter_by(order_id=push.order_id, kind="pushed").one().detail.startswith(
            f"Pushed to {account_name} as ")
    assert counts[1] <= 19, counts
    assert len(sim.orders()) == 2


def test_a_bulk_chunk_costs_two_commits(factory, make_shipstation_account, monkeypatch):
    """One commit claims the chunk before its request; one records its answer together with
    the run's report and checkpoint (a lost recording leaves claimed pushes, re-queued when
    their lease ends, as after a crash during the request)."""
    from webapp.embedded import order_sync

    monkeypatch.setattr(order_sync, "CHUNK", 2)
    commits = {}
    for n in (2, 6):
        site = factory.site()
        account, sim = make_shipstation_account(site)
        for _ in range(n):
            factory.order(site, paid=True, items=[{"approval": "approved"}])
        commits[n], run = _statements_of_sync(account, site, kind="commit")
        assert run.created == n and len(sim.orders()) == n
    assert commits[6] - commits[2] == 2 * 2, commits  # two chunks more, two commits each
