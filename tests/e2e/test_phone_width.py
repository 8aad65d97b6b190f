"""Every main page fits a 390 px phone screen: no horizontal overflow, the navbar collapses
behind a menu button that still reaches Preferences and Log out. Screenshots of each page at
390 px (and the dashboard at desktop width) land in tests/e2e/screenshots/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from webapp.embedded.activation import set_activation
from webapp.extensions import db

PHONE = {"width": 390, "height": 844}


def _pages(company, account, order_number: str, product_id: int) -> list[tuple[str, str]]:
    north = company["north"].slug
    return [
        ("dashboard", "/"),
        ("sites", "/sites/"),
        ("site-settings", f"/sites/{north}/settings"),
        ("site-embedded", f"/sites/{north}/settings/embedded"),
        ("orders", "/orders"),
        ("site-orders", f"/sites/{north}/orders"),
        ("order", f"/orders/{order_number}"),
        ("order-embedded", f"/orders/{order_number}/embedded"),
        ("order-history", f"/orders/{order_number}/history"),
        ("item", f"/orders/{order_number}/items/1"),
        ("products", f"/sites/{north}/products"),
        ("product-embedded", f"/sites/{north}/products/{product_id}/embedded"),
        ("categories", f"/sites/{north}/categories"),
        ("users", f"/sites/{north}/users"),
        ("preferences", "/preferences/"),
        ("embedded", "/preferences/embedded/"),
        ("account", f"/preferences/embedded/accounts/{account.id}"),
        ("account-edit", f"/preferences/embedded/accounts/{account.id}/edit"),
        ("account-new", "/preferences/embedded/accounts/new"),
    ]


def test_every_page_fits_a_phone(page, shot, log_in, company, factory, shipstation_account):
    assert set_activation(shipstation_account, company["north"], enabled=True, is_live=True).ok
    product = factory.product(company["north"], sku="BC-1", name="Business cards")
    order = factory.order(company["north"], number="N-2001", paid=False,
                          items=[{"approval": "approved", "name": "Business cards", "sku": "BC-1"}])
    order_number = order.number
    product_id = product.id
    db.session.commit()

    log_in()
    page.set_viewport_size(PHONE)
    overflowing = []
    for name, path in _pages(company, shipstation_account, order_number, product_id):
        response = page.goto(path)
        assert response is not None and response.status < 400, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            overflowing.append(f"{path}: {width}px")
        if name in ("orders", "site-orders"):  # order, status and Embedded Services, no sideways scroll
            table = page.evaluate("(b => [b.scrollWidth, b.clientWidth])(document.querySelector('.table-responsive'))")
            if table[0] > table[1]:
                overflowing.append(f"{path}: orders table {table[0]}px in a {table[1]}px box")
        shot(f"390-{name}")
    assert not overflowing, "wider than 390 px: " + ", ".join(overflowing)

    # The collapsed navbar still reaches everything.
    page.goto("/")
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Preferences")).to_be_visible()
    expect(logout).to_be_visible()
    expect(page.locator("#main-nav").get_by_text(re.compile("Dana Admin"))).to_be_visible()
    shot("390-menu-open")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    shot("desktop-dashboard")
