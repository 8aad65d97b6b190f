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


def test_two_accounts_of_one_picker_provider_have_their_own_datalists(client, login, factory, monkeypatch):
    """Issue 12 leftover: a product page with two accounts of a provider whose product field is a
    picker: each input points at its own account's <datalist>, and no id repeats."""
    from webapp.embedded import install
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import set_activation
    from webapp.providers import registry

    from .embedded.test_core_fields_and_pickers import CoreMIS

    providers = {**registry.all_providers(), "core_mis": CoreMIS}
    monkeypatch.setattr(registry, "_discover", lambda: providers)
    install.enable_provider("core_mis")
    admin = factory.admin(is_super=True)
    site = factory.site(mis_id="12")
    accounts = [save_account(None, company_id=admin.company_id, name=name, provider_key="core_mis",
                             admin_id=admin.id, credentials={"login": "x"}, settings={}).account
                for name in ("MIS north", "MIS south")]
    for account in accounts:
        assert set_activation(account, site, enabled=True, is_live=True).ok
    product = factory.product(site, sku="PK")
    login(admin)
    html = text(client.get(f"/sites/{site.slug}/products/{product.id}/embedded"))
    duplicated = [i for i, n in _ids(html).items() if n > 1]
    assert not duplicated, duplicated
    lists = re.findall(r'<input[^>]*\blist="([^"]+)"', html)
    assert len(lists) == 2 and len(set(lists)) == 2
    for account, list_id in zip(accounts, lists):
        assert f"-{account.id}-" in list_id
        datalist = re.search(rf'<datalist id="{list_id}"[^>]*>', html).group(0)
        assert f"/accounts/{account.id}/picker/product/offer" in datalist  # each loads its own account's list
