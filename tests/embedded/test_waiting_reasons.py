"""While an order waits, its tab and `status --json` say why — before anyone clicks Push Order."""
from __future__ import annotations

import json

from webapp.embedded.activation import set_activation
from webapp.embedded.push_view import ELIGIBLE_NOT_PUSHED


def test_waiting_tab_and_status_json_show_the_reasons(app, client, login, factory, make_shipstation_account):
    site = factory.site()
    make_shipstation_account(site)
    login(factory.admin(sites=[site]))
    order = factory.order(site, paid=True, items=[{"approval": "approved", "files": [("edoc", "pending")]}])
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "Waiting because" in page and "pending eDocBuilder" in page
    report = json.loads(app.test_cli_runner().invoke(args=["embedded", "status", order.number, "--json"]).output)
    [entry] = report["accounts"]
    assert entry["state"] == "waiting" and any("pending eDocBuilder" in r for r in entry["reasons"])


def test_order_eligible_before_the_site_went_live_says_so(app, client, login, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    login(factory.admin(sites=[site]))
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])  # qualifies; nobody is live
    assert set_activation(account, site, enabled=True, is_live=True).ok
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert ELIGIBLE_NOT_PUSHED.split(":")[0] in page
    report = json.loads(app.test_cli_runner().invoke(args=["embedded", "status", order.number, "--json"]).output)
    assert report["accounts"][0]["reasons"] == [ELIGIBLE_NOT_PUSHED] and sim.stats()["orders"] == 0
