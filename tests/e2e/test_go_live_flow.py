"""Issue 13 §5, §6 and §2 in a real browser: an account's status tells one story (fix the
secret, test, and the header, panel and exchanges all follow without a reload); going live
warns until the account is verified and the store exists; the card then counts the orders
that qualified before the site went live and "Push them" pushes them in a run with logs.
Screenshots at desktop width and 390 px under tests/e2e/screenshots/."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from webapp.extensions import db

from .conftest import WAIT_MS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _both_widths(page, shot, name: str) -> None:
    shot(name)
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(f"{name}-390")
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"{name}: {width}px wide at 390 px"


def test_account_status_is_one_story(page, shot, log_in, company, shipstation_account, sim, worker):
    from webapp.embedded.accounts import save_account

    account = shipstation_account
    result = save_account(account, company_id=account.company_id, name=account.name, provider_key="shipstation",
                          admin_id=account.admin_id, credentials={**account.credentials, "api_secret": "wrong"},
                          settings={})
    assert result.ok, result.errors
    account_id = account.id
    db.session.commit()

    log_in()
    page.goto(f"/preferences/embedded/accounts/{account_id}")
    header = page.locator(f"#account-status-{account_id}")
    panel = page.locator(f"#test-panel-{account_id}")
    expect(header).to_contain_text("Not verified")
    page.get_by_role("button", name="Test connection").click()
    expect(panel).to_contain_text("Failing: Invalid credentials", timeout=WAIT_MS)
    expect(header).to_contain_text("Failing: Invalid credentials")  # no reload needed
    exchanges = page.locator(f"#account-exchanges-{account_id}")
    expect(exchanges.locator("tbody tr")).to_have_count(1)
    expect(exchanges.locator("tbody tr").first).to_contain_text("401")
    _both_widths(page, shot, "01-failing")

    # Fix the secret: right after saving, nothing on the page still says "Invalid credentials".
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("API Secret").fill(sim.api_secret)
    page.get_by_role("button", name="Save account").click()
    expect(header).to_contain_text("Not verified since the credentials changed")
    expect(panel).to_contain_text("Not verified since the credentials changed")
    expect(page.locator("main")).not_to_contain_text("Invalid credentials")
    _both_widths(page, shot, "02-credentials-changed")

    page.evaluate("window.__e2eNoReload = true")
    page.get_by_role("button", name="Test connection").click()
    expect(panel).to_contain_text("Verified.", timeout=WAIT_MS)
    expect(header).to_contain_text("Verified")
    expect(exchanges.locator("tbody tr")).to_have_count(2)  # the new exchange is listed
    expect(exchanges.locator("tbody tr").first).to_contain_text("200")
    assert page.evaluate("window.__e2eNoReload === true"), "the page was reloaded"
    _both_widths(page, shot, "03-verified")

    # The same status, the same way, in the accounts list and on the site cards.
    page.goto("/preferences/embedded/")
    row = page.locator("#accounts").get_by_role("row", name=re.compile("ShipStation Main"))
    expect(row.locator(".account-status")).to_contain_text("Verified")
    page.goto(f"/sites/{company['north'].slug}/settings/embedded")
    expect(page.locator(f"#embedded-account-{account_id} .account-status")).to_contain_text("Verified")
    _both_widths(page, shot, "04-site-card-verified")


def test_going_live_is_guarded_then_the_backlog_is_pushed(page, shot, log_in, company, factory, shipstation_account,
                                                          sim, worker):
    account_id = shipstation_account.id
    north = company["north"]
    numbers = [factory.order(north, paid=True, items=[{"approval": "approved", "name": f"Cards {i}"}]).number
               for i in range(4)]
    factory.order(north, paid=False, items=[{"approval": "approved"}])  # not eligible: unpaid
    db.session.commit()

    log_in()
    page.goto(f"/sites/{north.slug}/settings/embedded")
    card = page.locator(f"#embedded-account-{account_id}")
    card.get_by_label("Enable").check()
    card.get_by_label("IsLive").check()
    card.get_by_label("Store ID for this site").fill("999999")
    card.get_by_role("button", name="Save").click()
    warnings = card.locator(".go-live-warnings")
    expect(warnings).to_contain_text("going live needs your confirmation")
    expect(warnings).to_contain_text("never been tested")
    expect(warnings).to_contain_text("ShipStation does not know the Store ID for this site 999999")
    expect(card.get_by_text("Saved.")).to_have_count(0)
    expect(card.locator(".card-header")).to_contain_text("Disabled")
    _both_widths(page, shot, "01-go-live-warned")

    # Verify the account, pick a store ShipStation has, and it goes live at once.
    page.goto(f"/preferences/embedded/accounts/{account_id}")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(f"#test-panel-{account_id}")).to_contain_text("Verified.", timeout=WAIT_MS)
    page.goto(f"/sites/{north.slug}/settings/embedded")
    card = page.locator(f"#embedded-account-{account_id}")
    store = card.locator(f"datalist#embedded-account-{account_id}-picker-store_id option").first
    expect(store).to_have_count(1)
    card.get_by_label("Enable").check()
    card.get_by_label("IsLive").check()
    card.get_by_label("Store ID for this site").fill(store.get_attribute("value"))
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_text("Saved.")).to_be_visible()
    expect(card.locator(".card-header")).to_contain_text("Live")
    notice = card.locator(".backlog-notice")
    expect(notice).to_contain_text("4 orders of the last 30 days are eligible and not pushed to ShipStation Main")
    expect(card.locator("[data-subscription]")).to_be_visible()  # subscribing (or subscribed): said plainly
    _both_widths(page, shot, "02-live-with-backlog")

    page.evaluate("window.__e2eNoReload = true")
    notice.get_by_role("button", name="Push them").click()
    run_panel = card.locator(".run-panel")
    expect(run_panel).to_contain_text(re.compile(r"Run #\d+"))
    expect(run_panel).to_contain_text("finished", timeout=WAIT_MS)
    expect(run_panel).to_contain_text("4 created")
    expect(notice.get_by_role("button", name="Push them")).to_have_count(0)
    log = card.locator("[id^=log-]")
    expect(log).to_contain_text("qualified before", timeout=WAIT_MS)
    expect(log).to_contain_text(f"Order {numbers[0]} pushed as")
    assert page.evaluate("window.__e2eNoReload === true"), "the page was reloaded"
    page.reload()
    expect(card.locator("[data-subscription=ok]")).to_be_visible()  # the worker subscribed it on going live
    _both_widths(page, shot, "03-backlog-pushed")
    remote = requests.get(f"{sim.api}/orders", auth=(sim.api_key, sim.api_secret), params={"pageSize": 100},
                          timeout=10).json()["orders"]
    assert len(remote) == 4  # one external order each, never two
