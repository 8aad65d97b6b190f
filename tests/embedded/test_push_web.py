"""Order and item Embedded Services tabs in the admin."""
from __future__ import annotations

from webapp.storefront import orders as uc


def test_order_tab_goes_from_queued_polling_to_green(client, login, factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    admin = factory.admin(sites=[site])
    login(admin)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    client.post(f"/orders/{order.number}/pay")
    queued = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "Queued" in queued and 'hx-trigger="load delay:2s"' in queued
    assert client.get(f"/orders/{order.number}/items/1/embedded").status_code == 404  # not pushed yet: no item tab
    run_worker()
    panel = client.get(f"/orders/{order.number}/embedded/panel", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "push-bar-pushed" in panel and f"{order.number}-ES{account.id}" in panel
    assert "hx-trigger" not in panel  # polling stops at the terminal state
    item_tab = client.get(f"/orders/{order.number}/items/1/embedded").get_data(as_text=True)
    assert "Date pushed" in item_tab and "External ID" in item_tab
    assert sim.api_secret not in panel + item_tab


def test_red_bar_with_provider_errors_then_push_order_fixes_it(client, login, factory, make_shipstation_account,
                                                                 run_worker):
    from webapp.extensions import db

    site = factory.site()
    account, sim = make_shipstation_account(site)
    login(factory.admin(sites=[site]))
    bad = {"name": "No Country", "street1": "1 St", "city": "Austin", "country": ""}
    order = factory.order(site, paid=False, items=[{"approval": "approved", "ship_to": bad}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "push-bar-failed" in page and "The request is invalid." in page and "shipTo.country" in page
    order.items[0].ship_to = {**bad, "country": "US"}
    db.session.commit()
    response = client.post(f"/orders/{order.number}/embedded/push", data={"account_id": account.id, "panel": "order"},
                           headers={"HX-Request": "true"})
    assert "Queued" in response.get_data(as_text=True)
    run_worker()
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "push-bar-pushed" in page
    assert sim.stats()["orders"] == 1


def test_push_order_refused_with_reasons(client, login, factory, make_shipstation_account):
    site = factory.site()
    make_shipstation_account(site)
    login(factory.admin(sites=[site]))
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    response = client.post(f"/orders/{order.number}/embedded/push", follow_redirects=True)
    assert "cannot be pushed" in response.get_data(as_text=True)
    assert "not marked as paid" in response.get_data(as_text=True)


def test_each_failing_account_shows_its_own_errors(client, login, factory, make_shipstation_account, run_worker):
    from webapp.extensions import db

    site = factory.site()
    first, _ = make_shipstation_account(site, name="Warehouse East")
    second, _ = make_shipstation_account(site, name="Warehouse West")
    second.credentials = {**second.credentials, "api_secret": "wrong"}
    db.session.commit()
    login(factory.admin(sites=[site]))
    bad = {"name": "X", "street1": "1 St", "city": "Austin", "country": ""}
    order = factory.order(site, paid=False, items=[{"approval": "approved", "ship_to": bad}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    east = page[page.index('data-account="%d"' % first.id):]
    west = page[page.index('data-account="%d"' % second.id):]
    assert "shipTo.country" in east.split("</section>")[0]
    assert "shipTo.country" not in west.split("</section>")[0]
    assert page.count("push-bar-failed") == 2


def test_failed_item_has_a_tab_with_the_error_and_a_push_button(client, login, factory, make_shipstation_account,
                                                               run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    login(factory.admin(sites=[site]))
    bad = {"name": "No Country", "street1": "1 St", "city": "Austin", "country": ""}
    order = factory.order(site, paid=False, items=[{"approval": "approved", "ship_to": bad},
                                                   {"approval": "denied"}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    item_tab = client.get(f"/orders/{order.number}/items/1/embedded")
    html = item_tab.get_data(as_text=True)
    assert item_tab.status_code == 200 and "Not pushed" in html and "shipTo.country" in html
    assert 'name="line" value="1"' in html  # the manual push button
    assert client.get(f"/orders/{order.number}/items/2/embedded").status_code == 404  # denied: never pushed, no tab
    history = client.get(f"/orders/{order.number}/history").get_data(as_text=True)
    assert f"Push to {account.name} failed" in history


def test_push_results_appear_in_the_order_history(client, login, factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    login(factory.admin(sites=[site]))
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    history = client.get(f"/orders/{order.number}/history").get_data(as_text=True)
    assert f"Pushed to {account.name} as {order.number}-ES{account.id}" in history
