"""Synchronization runs against the ShipStation sandbox with real workers."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from webapp.embedded.runs import RunRefused, request_run
from webapp.extensions import db
from webapp.models import Binding, Category, OrderPush, Product, ProviderAccount, RunLogLine, Site, SyncRun, utcnow
from webapp.storefront import orders as uc


def _run(run_id) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _log(run_id) -> list[str]:
    return [line.message for line in RunLogLine.query.filter_by(run_id=run_id).order_by(RunLogLine.id)]


def _seed_products(sim):
    sim.control("POST", "products", products=[
        {"sku": "BC-1", "name": "Business Cards", "price": 19.5, "productCategory": {"categoryId": 11, "name": "Cards"}},
        {"sku": "BC-2", "name": "Premium Cards", "price": 29.5, "productCategory": {"categoryId": 11, "name": "Cards"}},
        {"sku": "FL-1", "name": "Flyer A5", "price": 9, "productCategory": {"categoryId": 12, "name": "Flyers"}},
        {"sku": "MUG", "name": "Mug", "price": 5},
    ])


def test_product_sync_follows_the_rules_and_second_run_is_unchanged(factory, make_shipstation_account, run_worker):
    site = factory.site()
    flyers = factory.category(site, name="Flyers")  # exists locally: associated, not duplicated
    existing = factory.product(site, sku="BC-2", name="Old name", price=1)
    account, sim = make_shipstation_account(site)
    _seed_products(sim)
    run = request_run(account, ["products"], "ops@example.test", site=site)
    run_worker()
    run = _run(run.id)
    assert run.state == "finished", run.error
    assert (run.created, run.updated, run.unchanged) == (3, 1, 0)
    products = {p.sku: p for p in Product.query.filter_by(site_id=site.id)}
    assert products["BC-2"].id == existing.id and products["BC-2"].name == "Premium Cards"
    assert products["BC-1"].active and products["BC-1"].source == "sync"
    assert products["BC-1"].category.name == "Cards" and products["BC-1"].category.parent.is_root
    assert products["FL-1"].category_id == flyers.id
    assert products["MUG"].category.is_root
    assert Category.query.filter_by(site_id=site.id, name="Flyers").count() == 1
    binding = Binding.query.filter_by(account_id=account.id, kind="product", local_id=products["BC-1"].id).one()
    assert binding.data["sku"] == "BC-1"  # integration data kept for the product tab
    again = request_run(account, ["products"], "ops@example.test", site=site)
    run_worker()
    again = _run(again.id)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Product.query.filter_by(site_id=site.id).count() == 4


def test_resync_skips_by_the_providers_change_stamp_and_updates_when_it_moves(factory, make_shipstation_account,
                                                                              run_worker):
    from webapp.embedded.catalog_sync import _product_payload, data_hash
    from webapp.embedded.clients import client_for

    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed_products(sim)

    def sync() -> SyncRun:
        run = request_run(account, ["products"], "ops@example.test", site=site)
        run_worker()
        run = _run(run.id)
        assert run.state == "finished", run.error
        return run

    def bindings() -> dict[str, Binding]:
        return {b.external_id: b for b in Binding.query.filter_by(account_id=account.id, kind="product")}

    sync()
    assert all(b.stamp == b.data["modifyDate"] for b in bindings().values())  # ShipStation's modifyDate
    # The stamp decides before any hash: a stored hash that no longer matches is never looked at.
    Binding.query.filter_by(account_id=account.id, kind="product").update({"data_hash": "stale"})
    db.session.commit()
    run = sync()
    assert (run.updated, run.unchanged) == (0, 4)
    # The provider changes one product: its stamp moves, it is updated (and only it).
    mug = next(b for b in bindings().values() if b.data["sku"] == "MUG")
    sim.control("PATCH", f"products/{mug.external_id}", name="Big Mug")
    run = sync()
    assert (run.created, run.updated, run.unchanged) == (0, 1, 3)
    assert db.session.get(Product, mug.local_id).name == "Big Mug"
    # Bindings kept before stamps were (stamp NULL): the hash decides, and the stamp is kept from then on.
    hashes = {r.external_id: data_hash(_product_payload(r)) for r in client_for(account).iter_products()}
    for external_id, binding in bindings().items():
        binding.stamp, binding.data_hash = None, hashes[external_id]
    db.session.commit()
    run = sync()
    assert (run.updated, run.unchanged) == (0, 4)
    assert all(b.stamp == b.data["modifyDate"] for b in bindings().values())


def test_resync_builds_no_record_for_an_unchanged_product(factory, make_shipstation_account, monkeypatch):
    from webapp.embedded.run_slices import execute_run
    from webapp.providers.shipstation import ShipStation

    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed_products(sim)
    account_id, site_id = account.id, site.id
    built = []
    real = ShipStation._remote_product

    def counting(self, raw):
        built.append(raw.get("sku"))
        return real(self, raw)
    monkeypatch.setattr(ShipStation, "_remote_product", counting)

    def sync() -> SyncRun:  # in this process (the patch above), as the worker's job would
        built.clear()
        run_id = request_run(db.session.get(ProviderAccount, account_id), ["products"], "ops@example.test",
                             site=db.session.get(Site, site_id)).id
        db.session.commit()
        while execute_run(run_id) in ("running", "waiting"):
            pass
        run = _run(run_id)
        assert run.state == "finished", run.error
        return run

    run = sync()
    assert (run.created, len(built)) == (4, 4)
    run = sync()                                    # nothing moved: nothing built, nothing written
    assert (run.updated, run.unchanged, built) == (0, 4, [])
    mug = next((b.external_id, b.local_id) for b in Binding.query.filter_by(account_id=account_id, kind="product")
               if b.data["sku"] == "MUG")
    sim.control("PATCH", f"products/{mug[0]}", name="Big Mug")
    run = sync()                                    # only the product whose stamp moved is built
    assert (run.updated, run.unchanged, built) == (1, 3, ["MUG"])
    assert db.session.get(Product, mug[1]).name == "Big Mug"


def test_lazy_catalog_page_builds_only_the_positions_asked_for():
    from webapp.providers.base import LazyCatalogPage

    made = []

    def make(raw):
        made.append(raw["id"])
        return raw["id"]
    raw = [{"id": "1", "at": "a"}, {"id": None}, {"id": "2", "at": "b"}, {"id": "3"}]
    page = LazyCatalogPage(raw, lambda r: (r["id"], r.get("at")) if r["id"] else None, make, None)
    assert (page.size, page.keys()) == (3, [("1", "a"), ("2", "b"), ("3", None)])
    assert page.build([2]) == ["3"] and made == ["3"]
    assert page.records == ["1", "2", "3"]


def test_products_created_in_admin_start_inactive_while_downloaded_start_active(factory):
    site = factory.site()
    assert factory.product(site).active is False


def test_category_sync_creates_then_updates(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed_products(sim)
    run = request_run(account, ["categories"], "ops", site=site)
    run_worker()
    assert (_run(run.id).created, _run(run.id).unchanged) == (2, 0)
    sim.control("POST", "categories/12", name="Leaflets")  # renamed in ShipStation
    run = request_run(account, ["categories"], "ops", site=site)
    run_worker()
    run = _run(run.id)
    assert (run.created, run.updated, run.unchanged) == (0, 1, 1)
    assert Category.query.filter_by(site_id=site.id, name="Leaflets").count() == 1


def test_second_run_is_refused_while_one_is_active(factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    first = request_run(account, ["products"], "ops", site=site)
    with pytest.raises(RunRefused, match=f"run #{first.id}"):
        request_run(account, ["categories"], "ops", site=site)


def test_unsupported_or_not_live_is_refused(factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site, live=False)
    with pytest.raises(RunRefused, match="not enabled and live"):
        request_run(account, ["products"], "ops", site=site)
    with pytest.raises(RunRefused, match="at least one"):
        request_run(account, ["users"], "ops", site=site)


def test_orders_sync_pushes_recent_ready_orders_in_bulk_and_logs_skips(factory, make_shipstation_account,
                                                                        run_worker):
    site = factory.site()
    ready = [factory.order(site, paid=True, items=[{"approval": "approved"}]) for _ in range(3)]
    waiting = factory.order(site, paid=False, items=[{"approval": "approved"}])
    old = factory.order(site, paid=True, items=[{"approval": "approved"}], placed_at=utcnow() - timedelta(days=45))
    account, sim = make_shipstation_account(site)  # made live after the orders existed: nothing auto-pushed
    run = request_run(account, ["orders"], "ops", site=site)
    run_worker()
    run = _run(run.id)
    assert run.state == "finished" and (run.created, run.skipped) == (3, 1)
    assert any(waiting.number in m and "not marked as paid" in m for m in _log(run.id))
    assert OrderPush.query.filter_by(order_id=old.id).count() == 0  # older than 30 days
    assert {o["orderNumber"] for o in sim.orders()} == {f"{o.number}-ES{account.id}" for o in ready}
    recorded = [r for r in requests.get(f"{sim.api}/_sim/requests").json()["requests"]
                if r["path"].endswith("/orders/createorders")]
    assert len(recorded) == 1  # one bulk request for all of them


def test_a_bulk_chunk_with_one_order_refused_keeps_the_others_pushed(factory, make_shipstation_account,
                                                                      monkeypatch):
    """The refused order's failure is recorded on push.py's path, which starts with a
    rollback: the chunk's successes are committed before it, not lost with it."""
    from webapp.embedded import order_sync
    from webapp.embedded.run_slices import execute_run
    from webapp.providers import errors as pe

    site = factory.site()
    orders = [factory.order(site, paid=True, items=[{"approval": "approved"}]) for _ in range(3)]
    account, sim = make_shipstation_account(site)
    account_id, order_ids = account.id, [o.id for o in orders]
    real_send = order_sync._send

    def second_order_refused(app_, client, chunk):
        results = real_send(app_, client, chunk)
        results[1] = pe.ProviderRejected("The address is not deliverable.")
        return results
    monkeypatch.setattr(order_sync, "_send", second_order_refused)
    run = request_run(account, ["orders"], "ops", site=site)
    db.session.commit()
    execute_run(run.id)
    db.session.remove()
    states = {push.order_id: push.state for push in OrderPush.query.filter_by(account_id=account_id)}
    assert states == {order_ids[0]: "pushed", order_ids[1]: "failed", order_ids[2]: "pushed"}
    run = _run(run.id)
    assert (run.created, run.failed) == (2, 1)
    assert any("not deliverable" in m for m in _log(run.id))


def test_status_sync_updates_items_with_tracking(factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}, {"approval": "approved"}])
    uc.mark_paid(order, "ops")
    run_worker()
    push = OrderPush.query.one()
    sim.control("POST", "ship", orderId=int(push.external_id), trackingNumber="1Z999", carrierCode="ups",
                notify=False)
    run = request_run(account, ["status"], "ops", site=site)
    run_worker()
    run = _run(run.id)
    assert run.state == "finished" and run.updated == 1
    db.session.expire_all()
    for item in order.items:
        assert item.status == "Shipped" and item.tracking_number == "1Z999" and item.carrier == "ups"
    assert {ip.external_status for ip in OrderPush.query.one().items} == {"shipped"}
    again = request_run(account, ["status"], "ops", site=site)
    run_worker()
    assert (_run(again.id).updated, _run(again.id).unchanged) == (0, 1)


def test_global_sync_fans_out_with_logs_per_site(factory, make_shipstation_account, run_worker):
    a, b = factory.site(name="Alpha"), factory.site(name="Beta")
    account, sim = make_shipstation_account(a)
    from webapp.embedded.activation import set_activation
    set_activation(account, b, enabled=True, is_live=True)
    factory.order(a, paid=True, items=[{"approval": "approved"}])
    factory.order(b, paid=False, items=[{"approval": "approved"}])
    run = request_run(account, ["orders", "status"], "admin@example.test")
    run_worker()
    run = _run(run.id)
    assert run.scope == "global" and run.state == "finished" and run.created == 1 and run.skipped == 1
    site_lines = {s.id: [l.message for l in RunLogLine.query.filter_by(run_id=run.id, site_id=s.id)] for s in (a, b)}
    assert any("not marked as paid" in m for m in site_lines[b.id])
    assert not any("not marked as paid" in m for m in site_lines[a.id])


def test_cli_sync_and_run(app, factory, make_shipstation_account, run_worker):
    import json
    site = factory.site(slug="cli-sync")
    account, sim = make_shipstation_account(site)
    _seed_products(sim)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["embedded", "sync", "--site", "cli-sync", "--items", "products,categories"])
    assert out.exit_code == 0, out.output
    run_id = int(out.output.strip())
    run_worker()
    report = json.loads(runner.invoke(args=["embedded", "run", str(run_id), "--json"]).output)
    assert report["state"] == "finished" and report["created"] == 6  # 2 categories + 4 products


def test_pages_read_ahead_still_count_in_the_provider_http_metrics(factory, make_shipstation_account):
    """Product pages are fetched by the sync's read-ahead thread: their answers must reach the
    provider HTTP metrics like any other request (the thread had no app context: dropped)."""
    from webapp.embedded.run_slices import execute_run
    from webapp.models import ProviderExchange
    from webapp.ops import counters

    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed_products(sim)
    before = counters.read(counters.HTTP_RESPONSES).get("shipstation|200", 0)
    run_id = request_run(account, ["products"], "ops@example.test", site=site).id
    db.session.commit()
    while execute_run(run_id) in ("running", "waiting"):
        pass
    assert _run(run_id).state == "finished"
    pages = ProviderExchange.query.filter_by(subject_type="run", subject_id=run_id, status=200).count()
    assert pages >= 1
    assert counters.read(counters.HTTP_RESPONSES).get("shipstation|200", 0) - before == pages
