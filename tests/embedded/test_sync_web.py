"""Synchronize panels: start, progress polling that stops, refusals, logs in both places."""
from __future__ import annotations

from webapp.models import SyncRun


def test_site_synchronize_progress_and_log(client, login, factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    sim.control("POST", "products", products=[{"sku": "A", "name": "A"}, {"sku": "B", "name": "B"}])
    login(factory.admin(sites=[site]))
    started = client.post(f"/sites/{site.slug}/embedded/{account.id}/sync", data={"items": ["products"]},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    run = SyncRun.query.one()
    assert f"Run #{run.id}" in started and 'hx-trigger="load delay:1s"' in started and 'role="progressbar"' in started
    refused = client.post(f"/sites/{site.slug}/embedded/{account.id}/sync", data={"items": ["products"]},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "already queued" in refused
    run_worker()
    final = client.get(f"/sync/runs/{run.id}/panel", headers={"HX-Request": "true"})
    html = final.get_data(as_text=True)
    assert "100%" in html and "2 created" in html and "hx-trigger" not in html
    assert final.headers["HX-Trigger"] == "run-finished"
    log = client.get(f"/sites/{site.slug}/embedded/{account.id}/log").get_data(as_text=True)
    assert "2 product(s) created: A, B." in log and "Refresh" in log


def test_global_synchronize_log_in_preferences_and_site(client, login, factory, make_shipstation_account,
                                                       run_worker):
    site = factory.site(name="Gamma")
    account, _ = make_shipstation_account(site)
    factory.order(site, paid=False, items=[{"approval": "approved"}])
    login(factory.admin(is_super=True))
    client.post("/preferences/embedded/sync", data={"account_id": account.id, "items": ["orders", "status"]})
    run_worker()
    run = SyncRun.query.one()
    assert run.scope == "global" and run.state == "finished"
    global_log = client.get("/preferences/embedded/log").get_data(as_text=True)
    site_log = client.get(f"/sites/{site.slug}/embedded/{account.id}/log").get_data(as_text=True)
    assert "not marked as paid" in global_log and "not marked as paid" in site_log


def test_sync_routes_are_site_scoped(client, login, factory, make_shipstation_account):
    site, other = factory.site(), factory.site()
    account, _ = make_shipstation_account(site)
    login(factory.admin(sites=[other]))
    assert client.post(f"/sites/{site.slug}/embedded/{account.id}/sync", data={"items": ["products"]}).status_code == 404
    assert client.get(f"/sites/{site.slug}/embedded/{account.id}/log").status_code == 404
    assert SyncRun.query.count() == 0
