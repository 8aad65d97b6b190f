"""Paging a long orders list: a count that stops at its cap ("more than N"), and Next /
Previous that continue from the last order shown (keyset) and land on the same orders as the
numbered pages. Desktop and 390 px screenshots."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from webapp.storefront import queries

PHONE = {"width": 390, "height": 844}


def test_capped_count_and_keyset_next_previous(page, shot, log_in, company, factory, monkeypatch):
    north = company["north"]
    now = datetime.now(timezone.utc)
    # 130 orders, newest first N-5130 … N-5001 (a minute apart; two share a minute: a tie on placed_at).
    for n in range(1, 131):
        factory.order(north, number=f"N-{5000 + n}", paid=True, items=[{"approval": "approved"}],
                      placed_at=now - timedelta(minutes=131 - n if n != 130 else 2))
    monkeypatch.setattr(queries, "COUNT_CAP", 60)  # counting stops here, as it does at 10,000

    log_in()
    page.goto("/sites/north/orders")
    rows = page.locator("#orders-panel tbody tr")
    expect(rows).to_have_count(50)
    footer = page.locator("#orders-panel")
    expect(footer).to_contain_text("Showing 1–50 of more than 60 orders")
    expect(footer).to_contain_text("Page 1 of more than 2")
    first_page = [rows.nth(i).locator("td").first.inner_text().strip() for i in (0, 49)]
    shot("01-capped-count")

    page.get_by_role("link", name=re.compile("Next")).first.click()
    expect(page).to_have_url(re.compile(r"after=\d+"))
    expect(rows).to_have_count(50)
    second = [rows.nth(i).locator("td").first.inner_text().strip() for i in range(50)]
    page.get_by_role("link", name=re.compile("Next")).first.click()
    expect(rows).to_have_count(30)
    third = [rows.nth(i).locator("td").first.inner_text().strip() for i in range(30)]
    shot("02-keyset-last-page")

    # The keyset pages hold exactly what the numbered pages hold, in the same order.
    page.goto("/sites/north/orders?page=2")
    expect(rows).to_have_count(50)
    assert [rows.nth(i).locator("td").first.inner_text().strip() for i in range(50)] == second
    page.goto("/sites/north/orders?page=3")
    assert [rows.nth(i).locator("td").first.inner_text().strip() for i in range(30)] == third
    assert len(set(second) | set(third) | set(first_page)) == 82 and "N-5001" in third[-1]

    # Previous from the last page, by keyset, is page 2 again.
    page.get_by_role("link", name=re.compile("Previous")).first.click()
    expect(page).to_have_url(re.compile(r"before=\d+"))
    expect(rows).to_have_count(50)
    assert [rows.nth(i).locator("td").first.inner_text().strip() for i in range(50)] == second

    page.set_viewport_size(PHONE)
    page.goto("/sites/north/orders")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the list is {width}px wide at 390 px"
    expect(footer).to_contain_text("more than 60 orders")
    shot("03-390-capped-count")
