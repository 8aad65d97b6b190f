"""Which orders failed, which are waiting and why — from the dashboard in one click: the orders
lists' Embedded Services column and filter, the dashboard counts linking to them, and the
overview tiles refreshing by themselves when a run ends. Desktop and 390 px screenshots."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from webapp.embedded import push_summary
from webapp.embedded.activation import set_activation
from webapp.extensions import db
from webapp.models import OrderPush

from .conftest import WAIT_MS

PHONE = {"width": 390, "height": 844}
READY = {"approval": "approved", "name": "Business cards", "sku": "BC-1"}


def _push_row(order, account, state: str, **kw) -> None:
    db.session.add(OrderPush(order_id=order.id, account_id=account.id, state=state, idempotency_key=f"k-{order.id}",
                             reference=f"{order.number}-ES{account.id}", **kw))
    db.session.flush()
    push_summary.refresh([order.id])
    db.session.commit()


def _no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at 390 px"


def test_dashboard_counts_lead_to_the_column_and_the_filter(page, shot, log_in, company, factory,
                                                            shipstation_account):
    north, south = company["north"], company["south"]
    ready = factory.order(north, number="N-3001", paid=True, items=[READY])
    unpaid = factory.order(north, number="N-3002", paid=False, items=[READY])
    failed = factory.order(north, number="N-3003", paid=True, items=[READY])
    pushed = factory.order(north, number="N-3004", paid=True, items=[READY])
    factory.order(south, number="S-3005", paid=True, items=[READY])  # nobody is live on South
    # Going live: North's orders now wait for the account (N-3001 qualified before: never sent).
    assert set_activation(shipstation_account, north, enabled=True, is_live=True).ok
    _push_row(failed, shipstation_account, "failed", errors=["Ship-to country ZZ is not valid."], attempts=1)
    _push_row(pushed, shipstation_account, "pushed", external_status="awaiting_shipment",
              external_number="N-3004-ES1", attempts=1)
    assert (ready.number, unpaid.number) == ("N-3001", "N-3002")

    log_in()
    counts = page.locator("#push-counts")
    expect(counts.locator('[data-count="failed"]')).to_have_text("1 failed")
    expect(counts.locator('[data-count="waiting"]')).to_have_text("2 waiting")
    shot("01-dashboard-counts")

    counts.locator('[data-count="failed"]').click()
    expect(page).to_have_url(re.compile(r"/orders\?push=failed$"))
    rows = page.locator("#orders-panel tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("N-3003")
    cell = rows.first.locator(".push-cells")
    expect(cell).to_contain_text("Failed")
    expect(cell).to_contain_text("ShipStation Main")
    expect(cell).to_contain_text("Ship-to country ZZ is not valid.")
    expect(page.get_by_label("Embedded Services")).to_have_value("failed")
    shot("02-orders-failed")

    page.go_back()
    page.locator('#push-counts [data-count="waiting"]').click()
    expect(page).to_have_url(re.compile(r"/orders\?push=waiting$"))
    expect(rows).to_have_count(2)
    waiting_unpaid = page.locator("#orders-panel tbody tr", has_text="N-3002").locator(".push-cells")
    expect(waiting_unpaid).to_contain_text("Waiting")
    expect(waiting_unpaid).to_contain_text("The order is not marked as paid.")
    waiting_ready = page.locator("#orders-panel tbody tr", has_text="N-3001").locator(".push-cells")
    expect(waiting_ready).to_contain_text("not pushed to this account yet")
    shot("03-orders-waiting")

    # The filter itself, over HTMX: pushed, with the provider's status in plain words.
    page.get_by_label("Embedded Services").select_option("pushed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"push=pushed"))
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".push-cells")).to_contain_text("Pushed")
    expect(rows.first.locator(".push-cells")).to_contain_text("Awaiting shipment")
    # The site's list has the same column and filter; South has nobody live: not pushed.
    page.goto("/sites/south/orders?push=none")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("S-3005")
    page.goto("/sites/north/orders")
    expect(rows).to_have_count(4)
    shot("04-site-orders-column")

    page.set_viewport_size(PHONE)
    for step, path in (("05-390-waiting", "/orders?push=waiting"), ("06-390-site-orders", "/sites/north/orders"),
                       ("07-390-dashboard", "/")):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        _no_overflow(page)
        shot(step)
    expect(page.locator("#push-counts")).to_be_visible()
    page.goto("/orders?push=failed")
    expect(page.locator("#orders-panel tbody tr").first.locator(".push-cells")).to_be_visible()


def test_overview_tiles_and_runs_refresh_when_a_run_ends(page, shot, log_in, company, factory, shipstation_account,
                                                         sim, worker):
    north = company["north"]
    factory.order(north, number="N-4001", paid=True, items=[READY])
    assert set_activation(shipstation_account, north, enabled=True, is_live=True).ok
    # The provider refuses the next request: the run's bulk push ends failed.
    response = requests.post(f"{sim.api}/_sim/faults", timeout=10, json={"fail_next": [
        {"status": 400, "body": {"Message": "The request is invalid.",
                                 "ExceptionMessage": "Ship-to country ZZ is not valid."}}]})
    assert response.status_code < 300, response.text

    log_in()
    page.goto("/preferences/embedded/")
    glance = page.locator("#at-a-glance")
    expect(page.locator("#recent-runs")).not_to_contain_text("Push orders")
    expect(glance.locator('[data-tile="waiting"] .tile-value')).to_have_text("1")
    expect(glance.locator('[data-tile="failed"] .tile-value')).to_have_text("0")
    shot("01-overview-before")
    page.evaluate("window.__e2eNoReload = true")

    sync = page.locator("#global-sync")
    sync.get_by_label("Orders").check()
    sync.get_by_role("button", name="Synchronize").click()
    expect(sync.locator(".run-panel")).to_contain_text(re.compile(r"Run #\d+"))
    run_id = re.search(r"Run #(\d+)", sync.locator(".run-panel").inner_text()).group(1)
    expect(sync.locator(".run-panel")).to_contain_text(re.compile("failed|partial"), timeout=WAIT_MS)
    # No reload: the run panel's last poll tells the page the run ended; the tiles and the
    # recent runs table read themselves again.
    expect(glance.locator('[data-tile="failed"] .tile-value')).to_have_text("1", timeout=WAIT_MS)
    expect(glance.locator('[data-tile="waiting"] .tile-value')).to_have_text("0")
    expect(page.locator("#recent-runs")).to_contain_text(f"#{run_id}")
    assert page.evaluate("window.__e2eNoReload === true"), "the page was reloaded"
    shot("02-overview-after-run")

    glance.locator('[data-tile="failed"]').get_by_role("link", name="See the failed orders").click()
    expect(page).to_have_url(re.compile(r"/orders\?push=failed$"))
    expect(page.locator("#orders-panel tbody tr").first).to_contain_text("N-4001")
    expect(page.locator("#orders-panel .push-cells").first).to_contain_text("The request is invalid.")
    shot("03-failed-list")
    page.set_viewport_size(PHONE)
    page.goto("/preferences/embedded/")
    page.wait_for_load_state("networkidle")
    _no_overflow(page)
    shot("04-390-overview")
