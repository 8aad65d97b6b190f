"""Sites, catalogue and orders pages through the Flask test client, with realistic data."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import g
from sqlalchemy import event

from webapp.blueprints import tabs
from webapp.extensions import db
from webapp.storefront import queries
from webapp.models import Category, Order, Product, ShippingMethod, Site
from webapp.storefront import catalog as catalog_uc


@pytest.fixture
def shop(factory):
    """One site with a category tree, products, a customer, shipping methods and an order
    whose items are approved / denied / cancelled, with a pending eDocBuilder file."""
    site = factory.site(slug="north", name="North Print", domain="north.example.test")
    other = factory.site(slug="south", name="South Print")
    admin = factory.admin(email="ann@example.test", sites=[site])
    cards = factory.category(site, "Business cards")
    premium = factory.category(site, "Premium", parent=cards)
    product = factory.product(site, sku="BC-100", name="Premium business cards", category=premium,
                              price=Decimal("0.0125"), active=True, source="sync")
    draft = factory.product(site, sku="FLY-A5", name="A5 flyer", category=cards)
    customer = factory.site_user(site, email="ada@acme.test", company_name="Acme Ltd")
    ground = factory.shipping_method(site, "UPS Ground", carrier="UPS", is_integrated=True,
                                     integration_id="ups_ground")
    pickup = factory.shipping_method(site, "Local pickup")
    order = factory.order(site, number="N-1001", paid=False, customer_id=customer.id, po_number="PO-77",
                          placed_at=datetime(2026, 4, 1, 9, 30, tzinfo=timezone.utc),
                          notes="Deliver before noon", total=Decimal("42.50"), items=[
                              {"sku": "BC-100", "product_id": product.id, "approval": "approved",
                               "shipping_method_id": ground.id, "shipping_method_name": ground.name,
                               "files": [("upload", "ready"), ("edoc", "pending")]},
                              {"sku": "FLY-A5", "name": "Flyers", "approval": "denied"},
                              {"sku": "X-1", "name": "Posters", "status": "Cancelled"},
                          ])
    return SimpleNamespace(site=site, other=other, admin=admin, cards=cards, premium=premium, product=product,
                           draft=draft, customer=customer, ground=ground, pickup=pickup, order=order)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _field_error(html: str) -> list[str]:
    return re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', html)


# --- every page renders ----------------------------------------------------------------------

def test_every_page_renders_for_an_admin_with_access(client, login, shop):
    login(shop.admin)
    s = shop.site.slug
    pages = {
        "/sites/": ["North Print", "north.example.test"],
        f"/sites/{s}/settings": ["Integration ID", "MIS ID", "Time zone"],
        f"/sites/{s}/settings/shipping": ["UPS Ground", "ups_ground", "Integrated", "Non-integrated"],
        f"/sites/{s}/products": ["BC-100", "Root / Business cards / Premium", "0.0125"],
        f"/sites/{s}/products/new": ["New product"],
        f"/sites/{s}/products/{shop.product.id}": ["Premium business cards", "sync"],
        f"/sites/{s}/categories": ["Root", "Business cards", "Premium", "Add category"],
        f"/sites/{s}/categories/{shop.premium.id}": ["Root / Business cards / Premium"],
        f"/sites/{s}/categories/{Category.root_for(shop.site).id}": ["keeps its name"],
        f"/sites/{s}/users": ["ada@acme.test", "Acme Ltd"],
        f"/sites/{s}/users/{shop.customer.id}": ["ada@acme.test", "N-1001"],
        f"/sites/{s}/shipping-methods": ["UPS Ground", "Local pickup"],
        f"/sites/{s}/shipping-methods/{shop.ground.id}": ["UPS Ground", "ups_ground"],
        f"/sites/{s}/orders": ["N-1001"],
        "/orders": ["N-1001", "North Print"],
        "/orders/N-1001": ["PO-77", "Deliver before noon", "Ada Buyer", "Not paid", "Mark paid",
                           f"/sites/{s}/products/{shop.product.id}", "Flyers", "Posters", "Denied", "Cancelled",
                           "eDocBuilder · pending", "Not matched", "UPS Ground"],
        "/orders/N-1001/history": ["Nothing has been changed"],
        "/orders/N-1001/items/1": ["N-1001-1", "eDocBuilder", "Mark ready", "Record shipment", "UPS"],
        "/orders/N-1001/items/3": ["cancelled: nothing more can be done"],
    }
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = _text(response)
        for snippet in expected:
            assert snippet in html, (url, snippet)
        assert "<script>" not in html  # the CSP forbids inline scripts
        # Site pages carry the site sub-navigation.
        if url.startswith(f"/sites/{s}"):
            for label in ("Settings", "Products", "Categories", "Users", "Shipping methods", "Orders"):
                assert f"</i> {label}</a>" in html, (url, label)


def test_site_root_redirects_to_settings(client, login, shop):
    login(shop.admin)
    response = client.get(f"/sites/{shop.site.slug}/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sites/{shop.site.slug}/settings")


def test_buttons_follow_item_state(client, login, shop):
    login(shop.admin)
    cancelled = _text(client.get("/orders/N-1001/items/3"))
    assert "/items/3/approve" not in cancelled and "/items/3/cancel" not in cancelled
    assert "/items/3/shipment" not in cancelled
    approved = _text(client.get("/orders/N-1001/items/1"))
    assert "/items/1/approve" not in approved and "/items/1/deny" in approved and "/items/1/cancel" in approved
    denied = _text(client.get("/orders/N-1001/items/2"))
    assert "/items/2/approve" in denied and "/items/2/deny" not in denied


def test_unknown_tab_is_404(client, login, shop):
    login(shop.admin)
    assert client.get(f"/sites/{shop.site.slug}/settings/nope").status_code == 404
    assert client.get(f"/sites/{shop.site.slug}/products/{shop.product.id}/nope").status_code == 404
    assert client.get("/orders/N-1001/nope").status_code == 404
    assert client.get("/orders/N-1001/items/1/nope").status_code == 404
    assert client.get("/orders/N-1001/items/9").status_code == 404


# --- registered tabs -------------------------------------------------------------------------

def test_registered_tabs_render_on_every_detail_page(client, login, shop, monkeypatch):
    monkeypatch.setattr(tabs, "_TABS", {})  # this test's registrations vanish afterwards
    for page in tabs.PAGES:
        tabs.register_tab(page, tabs.Tab("embedded", "Embedded Services",
                                         render=lambda obj, page=page: f"<p class='probe'>{page}:{obj.id}</p>"))
        tabs.register_tab(page, tabs.Tab("hidden", "Hidden", render=lambda obj: "never",
                                         visible=lambda obj: False))
    login(shop.admin)
    s = shop.site
    item = shop.order.items[0]
    bases = {
        "site_settings": (f"/sites/{s.slug}/settings", s.id),
        "product": (f"/sites/{s.slug}/products/{shop.product.id}", shop.product.id),
        "category": (f"/sites/{s.slug}/categories/{shop.cards.id}", shop.cards.id),
        "site_user": (f"/sites/{s.slug}/users/{shop.customer.id}", shop.customer.id),
        "shipping_method": (f"/sites/{s.slug}/shipping-methods/{shop.ground.id}", shop.ground.id),
        "order": ("/orders/N-1001", shop.order.id),
        "order_item": ("/orders/N-1001/items/1", item.id),
    }
    for page, (base, obj_id) in bases.items():
        default = _text(client.get(base))
        assert f'href="{base}/embedded"' in default, page  # the tab link is on the default tab
        assert "Hidden" not in default, page
        response = client.get(f"{base}/embedded")  # a direct load renders the whole page
        assert response.status_code == 200, page
        html = _text(response)
        assert f"<p class='probe'>{page}:{obj_id}</p>" in html, page
        assert 'class="nav-link active" href="' + f'{base}/embedded"' in html, page
        assert "<!doctype html>" in html
        assert client.get(f"{base}/hidden").status_code == 404, page


# --- site settings ---------------------------------------------------------------------------

def _settings(**overrides):
    data = {"name": "North Print", "domain": "north.example.test", "integration_id": "N-01", "mis_id": "C-778",
            "currency": "eur", "time_zone": "Europe/Paris", "active": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_site_settings_save(client, login, shop):
    login(shop.admin)
    response = client.post(f"/sites/{shop.site.slug}/settings", data=_settings())
    assert response.status_code == 302
    site = db.session.get(Site, shop.site.id)
    assert (site.integration_id, site.mis_id, site.currency, site.time_zone) == ("N-01", "C-778", "EUR", "Europe/Paris")
    assert site.active
    client.post(f"/sites/{shop.site.slug}/settings", data=_settings(active=None))
    db.session.expire_all()
    assert not db.session.get(Site, shop.site.id).active


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "This field is required."),
    ("currency", "EURO", "Use a three-letter ISO 4217 code such as USD or EUR."),
    ("domain", "https://north.example.test/shop", "Enter a host name such as shop.example.com"),
    ("time_zone", "Mars/Olympus", "Not a valid choice."),
])
def test_site_settings_reject_bad_input_with_field_message(client, login, shop, field, value, message):
    login(shop.admin)
    response = client.post(f"/sites/{shop.site.slug}/settings", data=_settings(**{field: value}))
    assert response.status_code == 400
    assert any(e.startswith(message) for e in _field_error(_text(response))), _field_error(_text(response))
    db.session.expire_all()
    assert db.session.get(Site, shop.site.id).currency == "USD"  # nothing saved


# --- products --------------------------------------------------------------------------------

def _product(shop, **overrides):
    data = {"sku": "PC-1", "name": "Postcards", "description": "Matte", "price": "12.5",
            "category_id": str(shop.cards.id), "integration_id": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_new_product_form_starts_inactive_and_creates_an_inactive_product(client, login, shop):
    login(shop.admin)
    form = _text(client.get(f"/sites/{shop.site.slug}/products/new"))
    active_box = re.search(r'<input[^>]*id="active"[^>]*>', form).group(0)
    assert "checked" not in active_box
    response = client.post(f"/sites/{shop.site.slug}/products/new", data=_product(shop))
    assert response.status_code == 302
    product = Product.query.filter_by(site_id=shop.site.id, sku="PC-1").one()
    assert product.active is False
    assert product.source == "admin"
    assert product.price == Decimal("12.5")
    assert product.category_id == shop.cards.id
    assert "stays inactive" in _text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("overrides, field_message", [
    ({"sku": "BC-100"}, "SKU BC-100 is already used by another product of this site."),
    ({"price": "-1"}, "Price cannot be negative."),
    ({"price": "abc"}, "Not a valid decimal value."),
    ({"price": "0.00001"}, "Use at most 4 decimals."),
    ({"name": ""}, "This field is required."),
])
def test_product_form_rejects_bad_input(client, login, shop, overrides, field_message):
    login(shop.admin)
    before = Product.query.count()
    response = client.post(f"/sites/{shop.site.slug}/products/new", data=_product(shop, **overrides))
    assert response.status_code == 400
    assert field_message in _field_error(_text(response))
    assert Product.query.count() == before


def test_same_sku_is_fine_on_another_site(client, login, shop, factory):
    shop.admin.sites.append(shop.other)
    db.session.commit()
    login(shop.admin)
    response = client.post(f"/sites/{shop.other.slug}/products/new",
                           data=_product(shop, sku="BC-100", category_id=str(Category.root_for(shop.other).id)))
    assert response.status_code == 302


def test_product_category_must_belong_to_the_site(client, login, shop):
    login(shop.admin)
    foreign = Category.root_for(shop.other)
    response = client.post(f"/sites/{shop.site.slug}/products/new", data=_product(shop, category_id=str(foreign.id)))
    assert response.status_code == 400
    assert "Not a valid choice." in _field_error(_text(response))


def test_edit_product(client, login, shop):
    login(shop.admin)
    url = f"/sites/{shop.site.slug}/products/{shop.draft.id}"
    response = client.post(url, data=_product(shop, sku="FLY-A5", name="A5 flyers", price="0.0125",
                                              category_id=str(shop.premium.id), active="y", integration_id="ext-9"))
    assert response.status_code == 302
    product = db.session.get(Product, shop.draft.id)
    assert (product.name, product.price, product.category_id, product.active, product.integration_id) == (
        "A5 flyers", Decimal("0.0125"), shop.premium.id, True, "ext-9")
    response = client.post(url, data=_product(shop, sku="BC-100"))  # taken by another product
    assert response.status_code == 400
    assert "SKU BC-100 is already used by another product of this site." in _field_error(_text(response))
    db.session.expire_all()
    assert db.session.get(Product, shop.draft.id).sku == "FLY-A5"


def test_products_search_and_pagination(client, login, shop, factory):
    for n in range(55):
        db.session.add(Product(site_id=shop.site.id, sku=f"ZZ-{n:03d}", name=f"Sticker {n}", category_id=shop.cards.id))
    db.session.commit()
    login(shop.admin)
    url = f"/sites/{shop.site.slug}/products"
    html = _text(client.get(url, query_string={"q": "sticker"}))
    assert "Showing 1–50 of 55" in html and "BC-100" not in html
    assert f'href="{url}?q=sticker&amp;page=2"' in html  # the search survives paging
    html = _text(client.get(url, query_string={"q": "sticker", "page": 2}))
    assert "Showing 51–55 of 55" in html
    assert "No product matches" in _text(client.get(url, query_string={"q": "100%"}))


# --- categories ------------------------------------------------------------------------------

def test_add_category_under_a_parent(client, login, shop):
    login(shop.admin)
    response = client.post(f"/sites/{shop.site.slug}/categories", data={"name": "Matte", "parent_id": shop.premium.id})
    assert response.status_code == 302
    matte = Category.query.filter_by(site_id=shop.site.id, name="Matte").one()
    assert matte.parent_id == shop.premium.id
    html = _text(client.get(f"/sites/{shop.site.slug}/categories"))
    html = html[html.index("<tbody>"):]
    assert html.index("Root") < html.index("Business cards") < html.index("Premium") < html.index("Matte")
    # Product counts per category come from one grouped query.
    assert re.search(r"Premium</a>\s*</td>\s*<td class=\"text-end\">1</td>", html)
    response = client.post(f"/sites/{shop.site.slug}/categories", data={"name": "matte", "parent_id": shop.premium.id})
    assert response.status_code == 400
    assert "Premium already has a category named matte." in _field_error(_text(response))


def test_category_cannot_become_its_own_ancestor(client, login, shop):
    login(shop.admin)
    url = f"/sites/{shop.site.slug}/categories/{shop.cards.id}"
    response = client.post(url, data={"name": "Business cards", "description": "", "parent_id": shop.premium.id})
    assert response.status_code == 400
    assert "A category cannot be moved under itself or one of its subcategories." in _field_error(_text(response))
    db.session.expire_all()
    assert db.session.get(Category, shop.cards.id).parent_id == Category.root_for(shop.site).id


def test_edit_category_moves_and_renames(client, login, shop):
    login(shop.admin)
    root = Category.root_for(shop.site)
    url = f"/sites/{shop.site.slug}/categories/{shop.premium.id}"
    response = client.post(url, data={"name": "Luxury", "description": "Thick stock", "parent_id": root.id})
    assert response.status_code == 302
    cat = db.session.get(Category, shop.premium.id)
    assert (cat.name, cat.description, cat.parent_id) == ("Luxury", "Thick stock", root.id)


def test_root_keeps_its_name_and_place(client, login, shop):
    login(shop.admin)
    root = Category.root_for(shop.site)
    response = client.post(f"/sites/{shop.site.slug}/categories/{root.id}",
                           data={"name": "Top", "description": "Everything", "parent_id": shop.cards.id})
    assert response.status_code == 302  # only the description is taken from the form
    db.session.expire_all()
    root = db.session.get(Category, root.id)
    assert (root.name, root.parent_id, root.description) == ("Root", None, "Everything")
    with pytest.raises(catalog_uc.CatalogError, match="cannot be renamed"):
        catalog_uc.update_category(root, name="Top", description="", parent_id=None)
    with pytest.raises(catalog_uc.CatalogError, match="cannot be moved"):
        catalog_uc.update_category(root, name="Root", description="", parent_id=shop.cards.id)


# --- shipping methods and users --------------------------------------------------------------

def test_edit_shipping_method(client, login, shop):
    login(shop.admin)
    url = f"/sites/{shop.site.slug}/shipping-methods/{shop.pickup.id}"
    response = client.post(url, data={"carrier": "FedEx", "is_integrated": "y", "integration_id": "fedex_2day"})
    assert response.status_code == 302
    method = db.session.get(ShippingMethod, shop.pickup.id)
    assert (method.carrier, method.is_integrated, method.integration_id, method.active) == (
        "FedEx", True, "fedex_2day", False)
    response = client.post(url, data={"carrier": "x" * 101})
    assert response.status_code == 400
    assert "Field cannot be longer than 100 characters." in _field_error(_text(response))


def test_users_search(client, login, shop, factory):
    factory.site_user(shop.site, email="bob@builder.test", first_name="Bob", last_name="Builder")
    login(shop.admin)
    html = _text(client.get(f"/sites/{shop.site.slug}/users", query_string={"q": "builder"}))
    assert "bob@builder.test" in html and "ada@acme.test" not in html


# --- orders list -----------------------------------------------------------------------------

def _orders_on_page(html: str) -> list[str]:
    return re.findall(r'<a class="fw-semibold" href="/orders/([^"]+)">', html)


@pytest.fixture
def many_orders(factory, shop):
    """40 orders on each of two sites, one a day going back from 2026-03-31."""
    shop.admin.sites.append(shop.other)
    db.session.commit()
    start = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    for n in range(40):
        for site, prefix in ((shop.site, "A"), (shop.other, "B")):
            factory.order(site, number=f"{prefix}-{n:03d}", paid=n % 2 == 0, placed_at=start - timedelta(days=n))
    return shop


def test_orders_list_filters_by_site_status_and_date(client, login, many_orders):
    login(many_orders.admin)
    for url in ("/orders", "/sites/north/orders", "/orders?site=&status=&placed_from=&placed_to="):
        html = _text(client.get(url))
        assert not _field_error(html) and "Some filters were not applied" not in html, url
    assert 'name="site"' in _text(client.get("/orders"))  # a site list has no site select
    assert 'name="site"' not in _text(client.get("/sites/north/orders"))
    everything = _orders_on_page(_text(client.get("/orders")))
    assert len(everything) == 50
    assert everything[:3] == ["N-1001", "B-000", "A-000"]  # same placed_at: newest id first

    by_site = _orders_on_page(_text(client.get("/orders", query_string={"site": "south"})))
    assert by_site and all(n.startswith("B-") for n in by_site)

    unpaid = _orders_on_page(_text(client.get("/orders", query_string={"status": "Awaiting Payment", "site": "north"})))
    assert set(unpaid) == {"N-1001"} | {f"A-{n:03d}" for n in range(1, 40, 2)}

    ranged = _orders_on_page(_text(client.get("/orders", query_string={
        "placed_from": "2026-03-20", "placed_to": "2026-03-22", "site": "north"})))
    assert ranged == ["A-009", "A-010", "A-011"]  # both ends included, newest first

    one_site = _orders_on_page(_text(client.get("/sites/north/orders", query_string={"placed_to": "2026-03-01"})))
    assert one_site and all(n.startswith("A-") for n in one_site)


def test_orders_list_paginates_and_keeps_filters(client, login, many_orders):
    login(many_orders.admin)
    first = _text(client.get("/orders", query_string={"site": "north"}))
    assert "Showing 1–41 of 41" in first  # one page: 40 + N-1001
    html = _text(client.get("/orders"))
    assert "Showing 1–50 of 81" in html and "Page 1 of 2" in html
    html = _text(client.get("/orders", query_string={"status": "Awaiting Approval", "page": 2}))
    assert "Showing 1–40 of 40" in html  # a page past the end shows the last page
    page1 = _text(client.get("/orders", query_string={"placed_from": "2026-01-01", "status": ""}))
    last_on_page1 = Order.query.filter_by(number=_orders_on_page(page1)[-1]).one()
    assert f'href="/orders?placed_from=2026-01-01&amp;page=2&amp;after={last_on_page1.id}"' in page1
    page2 = _text(client.get("/orders", query_string={"placed_from": "2026-01-01", "page": 2}))
    assert 'value="2026-01-01"' in page2  # the filter form keeps its values
    seen = _orders_on_page(page1) + _orders_on_page(page2)
    assert len(seen) == len(set(seen)) == 81


def test_orders_list_count_stops_at_the_cap_and_keeps_paging(client, login, many_orders, monkeypatch):
    """Large results count up to a cap ("more than N") and still page on; a page past the
    cap counts as far as that page, so it is never reported empty or clamped back."""
    monkeypatch.setattr(queries, "COUNT_CAP", 60)
    login(many_orders.admin)
    first = _text(client.get("/orders", query_string={"placed_from": "2026-01-01"}))  # 81 match
    words = re.sub(r"<[^>]+>", "", first)
    assert "Showing 1–50 of more than 60 orders" in words and "Page 1 of more than 2" in words
    assert 'href="/orders?placed_from=2026-01-01&amp;page=2&amp;after=' in first  # Next stays enabled
    second = _text(client.get("/orders", query_string={"placed_from": "2026-01-01", "page": 2}))
    assert "Showing 51–81 of 81" in second and "Page 2 of 2" in second  # counted to page 2: exact
    seen = _orders_on_page(first) + _orders_on_page(second)
    assert len(seen) == len(set(seen)) == 81
    small = _text(client.get("/orders", query_string={"site": "north"}))
    assert "Showing 1–41 of 41" in small and "more than" not in small


@pytest.mark.parametrize("filters", [{}, {"status": "Awaiting Payment"}, {"site_id": "north"}])
def test_orders_keyset_next_and_previous_give_the_offset_pages(many_orders, filters):
    """Next / Previous by keyset (after / before an order) return exactly the numbered pages,
    ties on placed_at included; an anchor that no longer exists falls back to the page number."""
    sites = [many_orders.site.id, many_orders.other.id]
    if "site_id" in filters:
        filters = {"site_id": many_orders.site.id}
    tied = many_orders.order.placed_at  # several orders on one timestamp: id breaks the tie
    for n in range(3):
        Order.query.filter_by(number=f"B-{n:03d}").one().placed_at = tied
    db.session.commit()

    def numbers(page):
        return [o.number for o in page.items]

    f = queries.OrderFilter(site_ids=sites, **filters)
    by_offset = [queries.orders_page(f, n, per_page=7) for n in range(1, 20)]
    pages = by_offset[0].pages
    assert pages >= 3
    page = by_offset[0]
    for n in range(2, pages + 1):  # Next, Next, … to the end
        page = queries.orders_page(f, n, per_page=7, seek=queries.Seek("after", page.items[-1].id))
        assert numbers(page) == numbers(by_offset[n - 1]) and page.page == n
    for n in range(pages - 1, 0, -1):  # … and Previous back to the start
        page = queries.orders_page(f, n, per_page=7, seek=queries.Seek("before", page.items[0].id))
        assert numbers(page) == numbers(by_offset[n - 1]) and page.page == n
    gone = queries.orders_page(f, 2, per_page=7, seek=queries.Seek("after", 10**9))
    assert numbers(gone) == numbers(by_offset[1])


def test_a_keyset_anchor_outside_the_admins_scope_is_ignored(many_orders):
    """?after= is an id from the URL: an order of a site the admin may not see never anchors
    the page (its timestamp would show through which rows follow); the page number decides."""
    mine = queries.OrderFilter(site_ids=[many_orders.site.id])
    foreign = Order.query.filter_by(site_id=many_orders.other.id).order_by(Order.placed_at).first()
    by_offset = queries.orders_page(mine, 2, per_page=7)
    probed = queries.orders_page(mine, 2, per_page=7, seek=queries.Seek("after", foreign.id))
    assert [o.number for o in probed.items] == [o.number for o in by_offset.items]


def test_orders_keyset_page_past_the_count_cap_is_not_clamped(many_orders, monkeypatch):
    """A keyset page counts only to the cap, not to the page: the page keeps its number and
    the total says "more than" at least what has been shown."""
    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    f = queries.OrderFilter(site_ids=[many_orders.site.id, many_orders.other.id], placed_from=date(2026, 1, 1))
    page4 = queries.orders_page(f, 4, per_page=5)  # by offset: counted to page 4 (20 of 81)
    page5 = queries.orders_page(f, 5, per_page=5, seek=queries.Seek("after", page4.items[-1].id))
    assert [o.number for o in page5.items] == [o.number for o in queries.orders_page(f, 5, per_page=5).items]
    assert (page5.page, page5.capped, page5.total, page5.last_index) == (5, True, 25, 25)


def test_orders_list_next_link_continues_by_keyset(client, login, many_orders):
    login(many_orders.admin)
    first = _text(client.get("/orders"))
    next_href = re.search(r'<a class="page-link" href="([^"]+)">Next</a>', first).group(1).replace("&amp;", "&")
    assert "after=" in next_href
    second = _text(client.get(next_href))
    assert _orders_on_page(second) == _orders_on_page(_text(client.get("/orders?page=2")))
    assert "Showing 51–81 of 81" in second
    back = re.search(r'<a class="page-link" href="([^"]+)">Previous</a>', second).group(1)
    assert "before=" not in back  # back to page 1: the plain first page


def test_orders_list_of_every_site_pages_by_day_counts_without_a_site_test(many_orders):
    """When the scope is every site the total comes from order_days (exact, no COUNT) and a
    page starts at its day: the same rows as counting and filtering give, on every page."""
    every = [s.id for s in Site.query]
    for page in range(1, 6):
        by_days = queries.orders_page(queries.OrderFilter(site_ids=every), page, per_page=20)
        counted = queries.orders_page(queries.OrderFilter(site_ids=every, placed_from=date(2000, 1, 1)), page,
                                      per_page=20)
        assert by_days.total == counted.total == 81
        assert [o.number for o in by_days.items] == [o.number for o in counted.items], page


def test_orders_list_scope_shortcut_only_when_the_admin_sees_every_site(factory, many_orders):
    """The rows query skips the per-row site check only when the scope is every site; a
    scope of several sites but not all still leaves the other sites' orders out."""
    third = factory.site(slug="west")
    factory.order(third, number="W-001", placed_at=datetime(2026, 4, 2, tzinfo=timezone.utc))
    two = [many_orders.site.id, many_orders.other.id]
    page = queries.orders_page(queries.OrderFilter(site_ids=two), 1, per_page=100)
    assert page.total == 81 and "W-001" not in [o.number for o in page.items]
    page = queries.orders_page(queries.OrderFilter(site_ids=two + [third.id]), 1, per_page=100)
    assert [o.number for o in page.items][0] == "W-001" and len(page.items) == 82


def test_orders_list_bad_filters_show_a_message(client, login, many_orders):
    login(many_orders.admin)
    for params, message, shown in [
        ({"placed_from": "2026-13-45"}, "Enter a date as YYYY-MM-DD.", 50),
        # "to" is left out, "from" still applies: 22 days × 2 sites + N-1001 (April 1st).
        ({"placed_from": "2026-03-10", "placed_to": "2026-03-01"}, "Must be on or after the “from” date.", 45),
        ({"status": "Lost"}, "Not a valid choice.", 50),
        ({"site": "nowhere"}, "Not a valid choice.", 50),
    ]:
        response = client.get("/orders", query_string=params)
        assert response.status_code == 200, params
        html = _text(response)
        assert message in _field_error(html), params
        assert "Some filters were not applied" in html
        assert len(_orders_on_page(html)) == shown, params  # the bad filter is left out, the rest works


def test_orders_list_for_htmx_returns_the_panel_only(client, login, many_orders):
    login(many_orders.admin)
    response = client.get("/orders", query_string={"site": "north"}, headers={"HX-Request": "true"})
    html = _text(response)
    assert html.lstrip().startswith("<div id=\"orders-panel\">") and "<html" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_orders_list_query_count_does_not_grow_with_orders(app, client, login, factory, shop):
    login(shop.admin)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measure(url: str) -> int:
        # A cold request, as in production: the test shares its app context (so its session
        # and Flask-Login's cached user in g) with the requests it makes.
        db.session.remove()
        g.pop("_login_user", None)
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    site_id = shop.site.id

    def add_orders(n: int) -> None:
        site = db.session.get(Site, site_id)
        for i in range(n):
            factory.order(site, items=[{}, {"files": [("edoc", "pending")]}])

    add_orders(9)  # 10 with the shop's order
    small = {url: measure(url) for url in ("/orders", "/sites/north/orders")}
    add_orders(110)
    large = {url: measure(url) for url in ("/orders", "/sites/north/orders")}
    assert large == small, (small, large)
    assert measure("/orders?page=2") == small["/orders"]
    # login, admin sites, visible sites, count, rows, the page's live accounts, the page's pushes
    assert small["/orders"] <= 8, statements


def test_every_post_form_carries_the_csrf_token(app, client, login, shop, monkeypatch):
    login(shop.admin)  # the login fixture posts without a token, so log in first
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    s = shop.site.slug
    for url in (f"/sites/{s}/settings", f"/sites/{s}/products/new", f"/sites/{s}/products/{shop.product.id}",
                f"/sites/{s}/categories", f"/sites/{s}/categories/{shop.cards.id}",
                f"/sites/{s}/shipping-methods/{shop.ground.id}", "/orders/N-1001", "/orders/N-1001/items/1"):
        html = _text(client.get(url))
        forms = re.findall(r'<form method="post".*?</form>', html, flags=re.S)
        assert len(forms) >= 2, url  # logout + the page's own
        for form in forms:
            assert 'name="csrf_token"' in form, (url, form[:200])
    response = client.post(f"/sites/{s}/settings", data=_settings(name="Hijacked"))
    assert response.status_code == 400
    assert db.session.get(Site, shop.site.id).name == "North Print"


def test_pager_links_ignore_unknown_query_parameters(client, login, shop):
    login(shop.admin)
    response = client.get("/sites/north/orders", query_string={"site_slug": "x", "_external": "1", "status": "",
                                                                "site": "south"})
    assert response.status_code == 200
    html = _text(response)
    assert "Some filters were not applied" not in html  # the site of a site list comes from the URL
    assert _orders_on_page(html) == ["N-1001"]
