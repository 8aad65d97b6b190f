"""Catalog sync on its database: a sync that fills the tables keeps their planner statistics
fresh (PostgreSQL), and a re-sync with nothing moved at the provider writes no product or
binding row (a moved stamp rewrites that one only)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import Binding, Product, ProviderAccount, Site, SyncRun


def test_a_sync_that_fills_the_tables_analyzes_them_on_postgresql(factory, make_shipstation_account,
                                                                   monkeypatch):
    """Planner statistics follow the sync's bulk inserts (catalog_sync._statistics_due): without them the
    per-page lookups read every binding of the account."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's; SQLite plans these lookups by its unique indexes")
    from webapp.embedded import catalog_sync
    from webapp.embedded.run_slices import execute_run

    monkeypatch.setattr(catalog_sync, "MIN_ROWS_TO_ANALYZE", 1)  # three products, as 500 would be
    db.session.execute(text("ANALYZE bindings, products"))  # a known start: what the tables hold now
    db.session.commit()
    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed(sim)
    run_id = request_run(account, ["products"], "ops@example.test", site=site).id
    db.session.commit()
    while execute_run(run_id) in ("running", "waiting"):
        pass
    db.session.expire_all()
    assert db.session.get(SyncRun, run_id).state == "finished"
    for table in ("bindings", "products"):  # ANALYZE sets reltuples to the rows it counted
        reltuples, rows = db.session.execute(text(
            f"SELECT (SELECT reltuples FROM pg_class WHERE relname = '{table}'), (SELECT count(*) FROM {table})")).one()
        assert rows >= 3 and reltuples == rows, table


def _seed(sim):
    sim.control("POST", "products", products=[
        {"sku": "BC-1", "name": "Business Cards", "price": 19.5, "productCategory": {"categoryId": 11, "name": "Cards"}},
        {"sku": "FL-1", "name": "Flyer A5", "price": 9, "productCategory": {"categoryId": 12, "name": "Flyers"}},
        {"sku": "MUG", "name": "Mug", "price": 5},
    ])


def test_unchanged_resync_writes_no_row_and_a_moved_stamp_rewrites_only_its_product(factory,
                                                                                   make_shipstation_account):
    from webapp.embedded.run_slices import execute_run

    site = factory.site()
    account, sim = make_shipstation_account(site)
    _seed(sim)
    account_id, site_id = account.id, site.id
    writes: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if head.startswith(("INSERT INTO PRODUCTS", "UPDATE PRODUCTS", "INSERT INTO BINDINGS", "UPDATE BINDINGS")):
            writes.append(head.split("(")[0].split(" SET")[0])

    def sync() -> SyncRun:
        writes.clear()
        run_id = request_run(db.session.get(ProviderAccount, account_id), ["products"], "ops@example.test",
                             site=db.session.get(Site, site_id)).id
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", spy)
        try:
            while execute_run(run_id) in ("running", "waiting"):
                pass
        finally:
            event.remove(db.engine, "before_cursor_execute", spy)
        db.session.expire_all()
        run = db.session.get(SyncRun, run_id)
        assert run.state == "finished", run.error
        return run

    def bindings() -> dict[str, tuple]:
        return {b.data["sku"]: (b.stamp, b.synced_at, b.local_id)
                for b in Binding.query.filter_by(account_id=account_id, site_id=site_id, kind="product")}

    run = sync()
    assert run.created == 3 and writes  # the first sync does write
    first = bindings()
    assert all(stamp for stamp, _, _ in first.values())  # the first sync keeps every change stamp
    run = sync()
    assert (run.updated, run.unchanged, writes) == (0, 3, [])
    assert bindings() == first
    mug = next(b.external_id for b in Binding.query.filter_by(account_id=account_id, kind="product")
               if b.data["sku"] == "MUG")
    sim.control("PATCH", f"products/{mug}", name="Big Mug")
    run = sync()
    assert (run.updated, run.unchanged) == (1, 2)
    assert writes and all(w.startswith(("UPDATE PRODUCTS", "UPDATE BINDINGS")) for w in writes)
    after = bindings()
    assert {sku for sku in after if after[sku] != first[sku]} == {"MUG"}
    assert after["MUG"][0] != first["MUG"][0]  # the new stamp is kept
    assert db.session.get(Product, first["MUG"][2]).name == "Big Mug"
