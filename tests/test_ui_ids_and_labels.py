"""Ids stay unique when several accounts' forms share a page (each label focuses its own
field), and icon-only buttons have an accessible name."""
from __future__ import annotations

import re
from collections import Counter

from .test_embedded_ui import enable, make_account, shipstation, text, world  # noqa: F401


def _ids(html: str) -> Counter:
    return Counter(re.findall(r'\bid="([^"]+)"', html))


def test_two_accounts_on_one_site_have_distinct_field_ids(client, login, world, shipstation):  # noqa: F811
    login(world["boss"])
    first, second = make_account(world["boss"], name="Main"), make_account(world["boss"], name="Backup")
    enable(first, world["a"]), enable(second, world["a"])
    html = text(client.get("/sites/alpha/settings/embedded"))
    duplicated = [i for i, n in _ids(html).items() if n > 1]
    assert not duplicated, duplicated
    for label_for in re.findall(r'<label[^>]*\bfor="([^"]+)"', html):
        assert f'id="{label_for}"' in html, label_for  # every label points at a field that exists
    assert f'id="embedded-account-{first.id}-site-store_id"' in html
    assert f'id="embedded-account-{second.id}-site-store_id"' in html


def test_icon_only_search_button_has_a_name(client, login, world):  # noqa: F811
    login(world["boss"])
    html = text(client.get("/sites/alpha/products"))
    button = re.search(r'<button[^>]*>\s*<i class="bi bi-search"[^>]*></i>\s*</button>', html).group(0)
    assert 'aria-label="Search"' in button


def test_provider_values_are_humanized():
    from webapp.filters import humanize

    assert humanize(True) == "Yes" and humanize(False) == "No" and humanize(None) == "—"
    assert humanize("awaiting_shipment") == "Awaiting shipment"
    assert humanize("awaitingShipment") == "Awaiting shipment"
    assert humanize("ups") == "UPS" and humanize("fedex") == "FedEx"
    assert humanize("productCategory") == "Product category"
    # Ids, numbers and sentences are shown as they are.
    assert humanize("SS-BC-STD") == "SS-BC-STD" and humanize(12.5) == "12.5"
    assert humanize("Printed and boxed.") == "Printed and boxed."
    assert humanize("bc1") == "bc1" and humanize("A4") == "A4" and humanize("AWAITING_SHIPMENT") == "Awaiting shipment"
