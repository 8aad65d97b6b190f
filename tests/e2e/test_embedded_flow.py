"""The main Embedded Services flows in a real browser, against the hub over HTTP, the
ShipStation sandbox and a real worker that runs jobs by itself.

Every step asserts on what the page shows and saves a screenshot under
tests/e2e/screenshots/ (git-ignored).
"""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from webapp.embedded.activation import set_activation
from webapp.extensions import db

from .conftest import WAIT_MS


def _mark_no_reload(page) -> None:
    """Tag the loaded document; the tag survives HTMX swaps but not a reload."""
    page.evaluate("window.__e2eNoReload = true")


def _assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__e2eNoReload === true"), "the page was reloaded"


def _faults(sim, **config) -> None:
    response = requests.post(f"{sim.api}/_sim/faults", json=config, timeout=10)
    assert response.status_code < 300, response.text


def _open_site_embedded_tab(page, site_name: str) -> None:
    page.get_by_role("link", name="Sites", exact=True).click()
    page.get_by_role("link", name=site_name).first.click()
    page.get_by_role("link", name="Embedded Services").click()
    expect(page.get_by_role("heading", name=site_name)).to_be_visible()


def test_add_account_and_test_connection(page, shot, log_in, sim, worker):
    log_in()
    expect(page.get_by_role("heading", name="Welcome, Dana Admin")).to_be_visible()
    shot("01-dashboard")

    page.get_by_role("link", name="Preferences").click()
    page.get_by_role("link", name="Embedded Services").click()
    expect(page.get_by_role("heading", name="Embedded Services", level=1)).to_be_visible()
    expect(page.get_by_text("No accounts yet.")).to_be_visible()
    expect(page.locator("#at-a-glance")).to_contain_text("Nothing pushed yet")
    shot("02-overview-empty")

    page.get_by_role("link", name="Add New").click()
    expect(page.get_by_role("heading", name="New account")).to_be_visible()
    page.get_by_label("Account Name").fill("ShipStation Main")
    _mark_no_reload(page)
    provider = page.get_by_label("Provider")
    # The only enabled provider comes preselected; choosing none and then ShipStation swaps the
    # credentials block out and in over HTMX, while the typed Account Name stays.
    provider.select_option("")
    expect(page.get_by_text("Choose a provider to see the credentials it needs.")).to_be_visible()
    expect(page.get_by_label("API Key")).to_have_count(0)
    provider.select_option(label="ShipStation")
    expect(page.get_by_label("API Key")).to_be_visible()
    expect(page.locator("#provider-fields")).to_contain_text("Credentials · ShipStation")
    expect(page.get_by_label("Account Name")).to_have_value("ShipStation Main")
    _assert_not_reloaded(page)

    # Saving without credentials says what is missing and keeps what was typed.
    page.get_by_role("button", name="Save account").click()
    expect(page.get_by_text("API Key is required.")).to_be_visible()
    expect(page.get_by_text("API Secret is required.")).to_be_visible()
    expect(page.get_by_label("Account Name")).to_have_value("ShipStation Main")
    expect(page.get_by_label("API Key")).to_have_class(re.compile("is-invalid"))
    shot("03-account-form-errors")

    page.get_by_label("API Key").fill(sim.api_key)
    page.get_by_label("API Secret").fill(sim.api_secret)
    page.get_by_label("API URL").fill(sim.api)
    page.get_by_label("Admin User").select_option(label="Dana Admin (admin@e2e.test)")
    shot("04-account-form")
    page.get_by_role("button", name="Save account").click()

    expect(page.get_by_text("Account ShipStation Main saved.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("ShipStation Main"))).to_be_visible()
    expect(page.get_by_text("The connection has not been tested yet.")).to_be_visible()
    shot("05-account-saved")

    _mark_no_reload(page)
    page.get_by_role("button", name="Test connection").click()
    panel = page.locator("[id^=test-panel-]")
    expect(panel.get_by_text("Verified.")).to_be_visible(timeout=WAIT_MS)
    expect(panel).to_contain_text("Connected to ShipStation")
    expect(page.locator(".page-head .account-status")).to_contain_text("Verified")  # the header follows
    _assert_not_reloaded(page)
    expect(panel.get_by_role("button", name="Test connection")).to_be_enabled()
    shot("06-connected")

    page.get_by_role("link", name="Embedded Services").first.click()
    row = page.locator("#accounts").get_by_role("row", name=re.compile("ShipStation Main"))
    expect(row).to_contain_text("Verified")
    expect(row).to_contain_text("Not enabled on any site")
    shot("07-overview-one-account")


def test_go_live_mark_paid_and_watch_the_push(page, shot, log_in, company, factory, shipstation_account, sim,
                                              worker):
    good = factory.order(company["north"], number="N-1001", paid=False,
                         items=[{"approval": "approved", "name": "Business cards", "sku": "BC-1"},
                                {"approval": "approved", "name": "Flyers A5", "sku": "FL-5"}])
    bad = factory.order(company["north"], number="N-1002", paid=False,
                        items=[{"approval": "approved", "name": "Poster A2", "sku": "PO-2"}])
    good_number, bad_number = good.number, bad.number
    db.session.commit()

    log_in()
    _open_site_embedded_tab(page, "North Print Shop")
    card = page.locator(".card", has_text="ShipStation Main").first
    expect(card.get_by_text("Enable the integration and make it live to synchronize.")).to_be_visible()
    shot("01-site-tab-disabled")
    card.get_by_label("Enable").check()
    card.get_by_label("IsLive").check()
    card.get_by_role("button", name="Save").click()
    card = page.locator("#embedded-account-%d" % shipstation_account.id)
    # Never tested: going live asks for a confirmation first (test_go_live_flow walks the rest).
    expect(card.locator(".go-live-warnings")).to_contain_text("never been tested")
    card.get_by_role("button", name="Go live anyway").click()
    expect(card.get_by_text("Saved.")).to_be_visible()
    expect(card.locator(".card-header")).to_contain_text("Live")
    expect(card.get_by_role("button", name="Synchronize")).to_be_visible()
    shot("02-site-tab-live")

    # The sandbox answers slowly, so the tab opens while the push is still under way and
    # turns green by itself (the panel polls over HTMX; the page is never reloaded).
    _faults(sim, slow_rate=1.0, slow_seconds=4)
    page.goto(f"/orders/{good_number}")
    expect(page.get_by_text("Not paid")).to_be_visible()
    shot("03-order-unpaid")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_text(f"Order {good_number} marked paid.")).to_be_visible()
    page.get_by_role("link", name="Embedded Services").click()
    _mark_no_reload(page)
    bar = page.locator(".push-bar").first
    expect(bar).not_to_have_class(re.compile("push-bar-pushed"))
    expect(bar).to_contain_text(re.compile("Queued|Pushing|Waiting"))
    shot("04-order-pushing")
    expect(page.locator(".push-bar-pushed")).to_be_visible(timeout=WAIT_MS)
    _assert_not_reloaded(page)
    expect(page.locator(".push-bar-pushed")).to_contain_text("Pushed")
    expect(page.locator("#order-push-panel")).to_contain_text("Our reference")
    expect(page.locator("#order-push-panel")).not_to_have_attribute("hx-get", re.compile(".+"))
    shot("05-order-green")

    page.get_by_role("link", name="Items", exact=True).click()
    page.get_by_role("link", name="Flyers A5").click()
    page.get_by_role("link", name="Embedded Services").click()
    panel = page.locator("#item-push-panel")
    expect(panel).to_contain_text("ShipStation Main")
    expect(panel).to_contain_text("Date pushed")
    expect(panel).to_contain_text(re.compile(rf"{good_number}-\S*2"))  # the external item number
    shot("06-item-tab")

    # A rejected push shows red with the provider's words; Push Order resubmits it.
    _faults(sim, slow_rate=0.0, fail_next=[{"status": 400, "body": {
        "Message": "The request is invalid.",
        "ModelState": {"order.shipTo.country": ["Ship-to country 'ZZ' is not a valid country code."]}}}])
    page.goto(f"/orders/{bad_number}")
    page.get_by_role("button", name="Mark paid").click()
    page.get_by_role("link", name="Embedded Services").click()
    _mark_no_reload(page)
    expect(page.locator(".push-bar-failed")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".push-bar-failed")).to_contain_text("Not pushed")
    expect(page.locator("#order-push-panel")).to_contain_text("is not a valid country code")
    shot("07-order-red")
    page.get_by_role("button", name="Push Order").click()
    expect(page.locator("#order-push-panel")).to_contain_text(f"Order {bad_number} queued for ShipStation Main.")
    expect(page.locator(".push-bar-pushed")).to_be_visible(timeout=WAIT_MS)
    _assert_not_reloaded(page)
    shot("08-order-repushed")

    page.get_by_role("link", name="Preferences").click()
    page.get_by_role("link", name="Embedded Services").click()
    glance = page.locator("#at-a-glance")
    row = glance.get_by_role("row", name=re.compile("North Print Shop"))
    expect(row).to_contain_text("2")  # pushed
    expect(glance.locator("svg[role=img]")).to_be_visible()
    shot("09-overview-after-pushes")


def test_synchronize_products_and_read_the_logs(page, shot, log_in, company, shipstation_account, sim, worker):
    result = set_activation(shipstation_account, company["north"], enabled=True, is_live=True)
    assert result.ok, result.errors
    sim.control("products", generate=300, categories=5)

    log_in()
    _open_site_embedded_tab(page, "North Print Shop")
    card = page.locator("#embedded-account-%d" % shipstation_account.id)
    expect(card.get_by_text("No synchronization has run yet.")).to_be_visible()
    _mark_no_reload(page)
    card.get_by_label("Products").check()
    card.get_by_role("button", name="Synchronize").click()
    run_panel = card.locator(".run-panel")
    expect(run_panel).to_contain_text(re.compile(r"Run #\d+"))
    shot("01-sync-started")
    bar = run_panel.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
    expect(run_panel).to_contain_text("finished")
    expect(run_panel).to_contain_text("300 created")
    expect(bar.locator(".progress-bar")).to_have_class(re.compile("bg-success"))
    # The final panel carries no trigger: polling stopped.
    expect(run_panel).not_to_have_attribute("hx-get", re.compile(".+"))
    _assert_not_reloaded(page)

    log = card.locator(".log-panel")
    expect(log.locator("tr").first).to_be_visible()  # refreshed by itself when the run ended
    log.get_by_role("button", name="Refresh").click()
    # one line per page of created products, naming them (warnings would stay one per product)
    expect(log).to_contain_text(re.compile(r"\d+ product\(s\) created: SIM-"))
    shot("02-sync-finished-log")

    page.get_by_role("link", name="Preferences").click()
    page.get_by_role("link", name="Embedded Services").click()
    global_log = page.locator("#log-global")
    global_log.get_by_role("button", name="Refresh").click()
    expect(global_log).to_contain_text("created")
    expect(global_log).to_contain_text("North Print Shop")
    runs = page.locator("#recent-runs")
    expect(runs).to_contain_text("Products")
    expect(runs).to_contain_text("300 created")
    expect(runs).to_contain_text("admin@e2e.test")
    shot("03-preferences-global-log")

    page.goto("/sites/north/products")
    page.locator("table a").first.click()
    page.get_by_role("link", name="Embedded Services").click()
    tab = page.locator("main")
    expect(tab).to_contain_text("ShipStation Main")
    expect(tab).to_contain_text("Integration data")
    expect(tab).to_contain_text("SIM-")
    shot("04-product-tab")
