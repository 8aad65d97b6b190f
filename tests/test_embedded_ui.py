"""Preferences › Embedded Services pages, the site and entity tabs, and the connection-test
panel (through a real RQ worker)."""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

from webapp.embedded import accounts, activation, install
from webapp.extensions import db
from webapp.models import Binding, EntitySetting, ProviderAccount, ProviderExchange, SiteActivation

SECRET = "Zx9-super-secret-api-pass"
UNREACHABLE = "http://127.0.0.1:9/shipstation"
HX = {"HX-Request": "true"}
BASE = "/preferences/embedded"


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def world(factory):
    """One company: two sites, a super-admin (the user), an admin with access to site A only."""
    site_a = factory.site(slug="alpha", name="Alpha Prints")
    site_b = factory.site(slug="bravo", name="Bravo Cards")
    boss = factory.admin(email="boss@example.test", is_super=True)
    clerk = factory.admin(email="clerk@example.test", sites=[site_a])
    return {"a": site_a, "b": site_b, "boss": boss, "clerk": clerk}


@pytest.fixture
def shipstation(app_ctx):
    install.enable_provider("shipstation")


def account_form(name="Shipping", admin=None, api_key="KEY123", api_secret=SECRET, base_url=UNREACHABLE,
                 provider="shipstation", **settings):
    data = {"name": name, "provider": provider, "admin": str(admin.id) if admin else "",
            "credentials-api_key": api_key, "credentials-api_secret": api_secret,
            "credentials-base_url": base_url}
    data.update({f"settings-{k}": v for k, v in settings.items()})
    return data


def make_account(admin, name="Shipping", **creds) -> ProviderAccount:
    result = accounts.save_account(
        None, company_id=admin.company_id, name=name, provider_key="shipstation", admin_id=admin.id,
        credentials={"api_key": "KEY123", "api_secret": SECRET, "base_url": UNREACHABLE, **creds}, settings={})
    assert result.ok, result.errors
    return result.account


def enable(account, site, live=False):
    result = activation.set_activation(account, site, enabled=True, is_live=live)
    assert result.ok, result.errors
    return result.activation


def text(response) -> str:
    return response.get_data(as_text=True)


def between(html: str, start: str, end: str) -> str:
    """The HTML from the first `start` marker to the next `end` marker (a field and its messages)."""
    i = html.index(start)
    return html[i:html.index(end, i + len(start))]


# --- menu and gating -------------------------------------------------------------------------

def test_hidden_and_404_until_a_provider_is_enabled(client, login, world):
    login(world["boss"])
    assert "Embedded Services" not in text(client.get("/preferences/"))
    for path in ("/", "/accounts/new", "/accounts/fields?provider=shipstation"):
        assert client.get(BASE + path).status_code == 404, path
    assert client.post(f"{BASE}/sites/alpha/accounts/1", data={"enabled": "y"}).status_code == 404
    settings = client.get("/sites/alpha/settings")
    assert "Embedded Services" not in text(settings)

    install.enable_provider("shipstation")
    prefs = text(client.get("/preferences/"))
    assert "Embedded Services" in prefs and f'href="{BASE}/"' in prefs
    page = client.get(BASE + "/")
    assert page.status_code == 200
    html = text(page)
    assert "No accounts yet" in html
    # The catalogue is generated from the provider declaration.
    assert "ShipStation" in html and "Push orders" in html and "Status by webhook" in html
    assert "Product sync" in html and "Settings on: Site, Product, Shipping method" in html
    assert "Embedded Services" in text(client.get("/sites/alpha/settings"))


def test_anonymous_visitors_are_sent_to_login(client, shipstation):
    response = client.get(BASE + "/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- add / edit account ----------------------------------------------------------------------

def test_add_account_through_the_form_stores_credentials_encrypted(client, login, world, shipstation):
    login(world["boss"])
    new = text(client.get(BASE + "/accounts/new"))
    # Only one provider enabled: it is preselected and its fields are already there.
    assert 'name="credentials-api_secret"' in new and 'type="password"' in new
    assert 'name="csrf_token"' in new

    response = client.post(BASE + "/accounts/new", data=account_form(admin=world["clerk"], store_id="42"))
    assert response.status_code == 302, text(response)
    account = ProviderAccount.query.one()
    assert response.headers["Location"].endswith(f"{BASE}/accounts/{account.id}")
    assert account.credentials == {"api_key": "KEY123", "api_secret": SECRET, "base_url": UNREACHABLE}
    assert account.settings["store_id"] == 42
    raw = db.session.execute(db.text("select credentials from provider_accounts")).scalar_one()
    assert SECRET not in raw and "KEY123" not in raw

    page = client.get(response.headers["Location"])
    html = text(page)
    assert page.status_code == 200
    assert SECRET not in html
    assert "KEY123" in html and "••••••••" in html
    assert "Account Shipping saved." in html
    # Absolute webhook URL of this account.
    assert f"http://localhost/webhooks/shipstation/{account.webhook_token}" in html
    assert "Test connection" in html and "Delete" in html and "Edit" in html


def test_provider_select_swaps_in_the_provider_fields_keeping_typed_values(client, login, world, shipstation):
    login(world["boss"])
    new = text(client.get(BASE + "/accounts/new"))
    select = between(new, '<select', "</select>")
    assert 'name="provider"' in select
    assert f'hx-get="{BASE}/accounts/fields"' in select
    assert 'hx-target="#provider-fields"' in select and 'hx-swap="innerHTML"' in select
    assert "hx-include=" in select and "not([type=&#39;password&#39;])" in select
    # Name and admin live outside the swapped container.
    container = new[new.index('id="provider-fields"'):]
    assert 'name="name"' not in container and 'name="admin"' not in container

    response = client.get(BASE + "/accounts/fields", headers=HX, query_string={
        "provider": "shipstation", "credentials-api_key": "typed-key", "settings-store_id": "77",
        "settings-time_zone": "Europe/London"})
    html = text(response)
    assert response.status_code == 200
    assert "Credentials" in html and "Settings" in html
    assert 'name="credentials-api_key" type="text" value="typed-key"' in html
    assert 'name="credentials-api_secret"' in html
    assert 'value="https://ssapi.shipstation.com"' in html  # untouched fields get their default
    assert 'value="77"' in html
    assert 'selected value="Europe/London"' in html
    assert "<html" not in html  # a fragment

    empty = text(client.get(BASE + "/accounts/fields", headers=HX, query_string={"provider": ""}))
    assert "Choose a provider" in empty and "credentials-" not in empty
    unknown = text(client.get(BASE + "/accounts/fields", headers=HX, query_string={"provider": "nope"}))
    assert "credentials-" not in unknown


def test_edit_with_empty_secret_keeps_it_and_never_shows_it(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["clerk"])
    form = text(client.get(f"{BASE}/accounts/{account.id}/edit"))
    assert SECRET not in form
    assert "•••••••• (stored — leave empty to keep)" in form
    assert 'value="Shipping"' in form and 'value="KEY123"' in form
    assert 'name="provider"' not in form  # fixed on edit

    response = client.post(f"{BASE}/accounts/{account.id}/edit",
                           data=account_form(name="Shipping EU", admin=world["boss"], api_key="NEWKEY", api_secret=""))
    assert response.status_code == 302, text(response)
    db.session.expire_all()
    account = db.session.get(ProviderAccount, account.id)
    assert account.name == "Shipping EU" and account.admin_id == world["boss"].id
    assert account.credentials["api_key"] == "NEWKEY"
    assert account.credentials["api_secret"] == SECRET

    client.post(f"{BASE}/accounts/{account.id}/edit", data=account_form(admin=world["boss"], api_secret="rotated-1"))
    db.session.expire_all()
    assert db.session.get(ProviderAccount, account.id).credentials["api_secret"] == "rotated-1"


def test_validation_errors_show_on_their_fields_and_nothing_is_saved(client, login, world, shipstation):
    login(world["boss"])
    response = client.post(BASE + "/accounts/new", data=account_form(
        name="", admin=None, api_key="bad key!", api_secret=SECRET, base_url="ftp://x", store_id="abc",
        time_zone="Mars/Olympus"))
    assert response.status_code == 422
    html = text(response)
    assert ProviderAccount.query.count() == 0
    assert "Account Name is required." in between(html, 'name="name"', 'name="admin"')
    assert "Choose an active admin user." in between(html, 'name="admin"', 'id="provider-fields"')
    assert "API Key is not in the expected format." in between(html, 'name="credentials-api_key"',
                                                               'name="credentials-api_secret"')
    assert "API URL must be a full https:// address." in between(html, 'name="credentials-base_url"',
                                                                 'name="settings-store_id"')
    assert "Store ID must be a whole number." in between(html, 'name="settings-store_id"',
                                                         'name="settings-default_product_sku"')
    assert "Default time zone: choose one of" in between(html, 'name="settings-time_zone"', 'name="settings-order_status"')
    # What was typed stays (except the secret, which is never written back).
    assert 'value="bad key!"' in html and 'value="ftp://x"' in html
    assert SECRET not in html

    duplicate = make_account(world["boss"], name="Taken")
    response = client.post(BASE + "/accounts/new", data=account_form(name=duplicate.name, admin=world["boss"]))
    assert response.status_code == 422
    assert escape("An account named 'Taken' already exists.") in text(response)


def test_admin_without_access_to_an_active_site_is_refused_on_the_admin_field(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["boss"])
    enable(account, world["b"])
    response = client.post(f"{BASE}/accounts/{account.id}/edit",
                           data=account_form(admin=world["clerk"], api_secret=""))
    assert response.status_code == 422
    html = text(response)
    message = f"Invalid credentials: the admin user {world['clerk'].name} ({world['clerk'].email}) does not have " \
              f"access to site Bravo Cards."
    assert message in between(html, 'name="admin"', 'id="provider-fields"')
    db.session.expire_all()
    assert db.session.get(ProviderAccount, account.id).admin_id == world["boss"].id


def test_accounts_of_another_company_are_not_found(client, login, world, shipstation):
    from webapp.models import Admin, Company

    other = Company(name="Other", slug="other-co")
    db.session.add(other)
    db.session.flush()
    stranger = Admin(company=other, email="x@other.test", name="Stranger", is_super=True)
    stranger.set_password("secret-pass")
    db.session.add(stranger)
    db.session.commit()
    account = make_account(world["boss"])
    login(stranger)
    assert client.get(f"{BASE}/accounts/{account.id}").status_code == 404
    assert client.post(f"{BASE}/accounts/{account.id}/delete").status_code == 404
    assert client.post(f"{BASE}/accounts/{account.id}/test", headers=HX).status_code == 404


# --- list and delete -------------------------------------------------------------------------

def test_list_shows_accounts_with_sites_and_state(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["clerk"])
    enable(account, world["a"], live=True)
    html = text(client.get(BASE + "/"))
    accounts_table = html[html.index('id="accounts"'):]  # below the "at a glance" section
    row = between(accounts_table, f'href="{BASE}/accounts/{account.id}"', "</tr>")
    assert "ShipStation" in row and world["clerk"].name in row
    assert "Alpha Prints · live" in row
    assert "Not verified" in row and 'data-account-status="untested"' in row


def test_delete_refused_while_enabled_then_allowed(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["boss"])
    enable(account, world["a"])
    response = client.post(f"{BASE}/accounts/{account.id}/delete", follow_redirects=True)
    html = text(response)
    assert "Shipping is active on Alpha Prints. Disable it on those sites first." in html
    assert db.session.get(ProviderAccount, account.id) is not None

    client.post(f"{BASE}/sites/alpha/accounts/{account.id}", data={})  # both toggles off
    response = client.post(f"{BASE}/accounts/{account.id}/delete", follow_redirects=True)
    assert "Account Shipping deleted." in text(response)
    db.session.expire_all()
    assert ProviderAccount.query.count() == 0


# --- site settings › Embedded Services ---------------------------------------------------------

def test_site_tab_enable_and_live_toggles_persist(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["clerk"])
    tab = text(client.get("/sites/alpha/settings/embedded"))
    card = between(tab, f'id="embedded-account-{account.id}"', 'data-slot="synchronize-and-log"')
    assert 'name="enabled"' in card and 'name="is_live"' in card and 'name="site-store_id"' in card
    assert f'hx-post="{BASE}/sites/alpha/accounts/{account.id}"' in card
    assert 'data-slot="synchronize-and-log"' in tab

    # Never tested: going live warns and saves nothing until confirmed (issue 13 §6).
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", headers=HX,
                           data={"enabled": "y", "is_live": "y", "site-store_id": "9"})
    assert response.status_code == 200 and "going live needs your confirmation" in text(response)
    assert SiteActivation.query.count() == 0
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", headers=HX,
                           data={"enabled": "y", "is_live": "y", "site-store_id": "9", "confirm_live": "y"})
    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith(f'<div class="card mb-3" id="embedded-account-{account.id}"')
    assert "Saved." in html
    assert re.search(r'name="enabled" value="y" id="[^"]+" checked', html)
    assert re.search(r'name="is_live" value="y" id="[^"]+" checked', html)
    act = SiteActivation.query.one()
    assert (act.enabled, act.is_live, act.settings) == (True, True, {"store_id": 9})

    # Without htmx: redirect back to the tab, which shows the stored state.
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", data={"enabled": "y", "site-store_id": "9"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sites/alpha/settings/embedded")
    db.session.expire_all()
    act = SiteActivation.query.one()
    assert (act.enabled, act.is_live) == (True, False)
    tab = text(client.get(response.headers["Location"]))
    assert "saved for Alpha Prints" in tab
    assert re.search(r'name="enabled" value="y" id="[^"]+" checked', tab)
    assert not re.search(r'name="is_live" value="y" id="[^"]+" checked', tab)


def test_live_without_enable_is_refused_with_the_message(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["clerk"])
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", headers=HX, data={"is_live": "y"})
    assert response.status_code == 200
    html = text(response)
    assert "Enable the integration before making it live." in between(html, 'name="is_live"', "</form>")
    assert "Nothing was saved" in html
    assert SiteActivation.query.count() == 0

    # Without htmx the card comes back on its own page with the message (422).
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", data={"is_live": "y"})
    assert response.status_code == 422
    assert "Enable the integration before making it live." in text(response)


def test_enabling_with_an_admin_who_cannot_access_the_site_stores_nothing(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["clerk"])  # clerk: site A only
    tab = text(client.get("/sites/bravo/settings/embedded"))
    assert "has no access to this site" in tab
    response = client.post(f"{BASE}/sites/bravo/accounts/{account.id}", headers=HX,
                           data={"enabled": "y", "site-store_id": "5"})
    html = text(response)
    assert response.status_code == 200
    message = f"Invalid credentials: the admin user {world['clerk'].name} ({world['clerk'].email}) does not have " \
              f"access to site Bravo Cards."
    assert message in between(html, 'name="enabled"', 'name="is_live"')
    assert SiteActivation.query.count() == 0


def test_bad_site_setting_shows_its_message(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["boss"])
    response = client.post(f"{BASE}/sites/alpha/accounts/{account.id}", headers=HX,
                           data={"enabled": "y", "site-store_id": "0"})
    html = text(response)
    assert "Store ID for this site must be at least 1." in html
    assert 'value="0"' in html
    assert SiteActivation.query.count() == 0


def test_site_tab_lists_only_accounts_of_enabled_providers(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["boss"])
    assert f'id="embedded-account-{account.id}"' in text(client.get("/sites/alpha/settings/embedded"))
    # Disabling the provider (while another stays on) hides its accounts.
    from webapp.models import EnabledProvider
    db.session.delete(db.session.get(EnabledProvider, "shipstation"))
    db.session.commit()
    assert client.get("/sites/alpha/settings/embedded").status_code == 404
    assert client.post(f"{BASE}/sites/alpha/accounts/{account.id}", data={"enabled": "y"}).status_code == 404


# --- entity tabs -----------------------------------------------------------------------------

def test_product_tab_only_when_an_account_is_enabled_on_the_site(client, login, world, shipstation, factory):
    login(world["boss"])
    product = factory.product(world["a"], sku="CARD-1")
    account = make_account(world["boss"])
    product_url = f"/sites/alpha/products/{product.id}"
    assert "Embedded Services" not in text(client.get(product_url))
    assert client.get(product_url + "/embedded").status_code == 404

    enable(account, world["b"])  # another site: still no tab here
    assert "Embedded Services" not in text(client.get(product_url))

    enable(account, world["a"])
    assert "Embedded Services" in text(client.get(product_url))
    tab = text(client.get(product_url + "/embedded"))
    assert "Linked ShipStation product (SKU)" in tab and 'name="entity-shipstation_sku"' in tab

    save = f"{BASE}/entities/product/{product.id}/accounts/{account.id}"
    response = client.post(save, headers=HX, data={"entity-shipstation_sku": "SS-CARD",
                                                   "entity-shipstation_product_id": "abc"})
    html = text(response)
    assert response.status_code == 200
    assert "ShipStation product ID must be a whole number." in html
    assert 'value="SS-CARD"' in html
    assert EntitySetting.query.count() == 0

    response = client.post(save, headers=HX, data={"entity-shipstation_sku": "SS-CARD",
                                                   "entity-shipstation_product_id": "12"})
    assert "Saved." in text(response)
    assert activation.entity_settings(account.id, "product", product.id) == {
        "shipstation_sku": "SS-CARD", "shipstation_product_id": 12}
    assert 'value="SS-CARD"' in text(client.get(product_url + "/embedded"))

    response = client.post(save, data={"entity-shipstation_sku": "SS-2"})
    assert response.status_code == 302 and response.headers["Location"].endswith(product_url + "/embedded")


def test_shipping_method_tab_saves_the_service(client, login, world, shipstation, factory):
    login(world["boss"])
    method = factory.shipping_method(world["a"], name="Ground")
    account = make_account(world["boss"])
    url = f"/sites/alpha/shipping-methods/{method.id}"
    assert "Embedded Services" not in text(client.get(url))
    enable(account, world["a"])
    tab = text(client.get(url + "/embedded"))
    assert "ShipStation service" in tab

    save = f"{BASE}/entities/shipping_method/{method.id}/accounts/{account.id}"
    html = text(client.post(save, headers=HX, data={"entity-service": "UPS Ground!"}))
    assert "ShipStation service is not in the expected format." in html
    assert EntitySetting.query.count() == 0
    assert "Saved." in text(client.post(save, headers=HX, data={"entity-service": "ups:ups_ground"}))
    assert activation.entity_settings(account.id, "shipping_method", method.id) == {"service": "ups:ups_ground"}


def test_category_tab_shows_synchronized_integration_data(client, login, world, shipstation, factory):
    """ShipStation declares no category settings: the tab appears only to show sync data."""
    login(world["boss"])
    category = factory.category(world["a"], name="Cards")
    account = make_account(world["boss"])
    enable(account, world["a"])
    url = f"/sites/alpha/categories/{category.id}"
    assert "Embedded Services" not in text(client.get(url))
    db.session.add(Binding(account_id=account.id, kind="category", local_id=category.id, external_id="77",
                           data={"categoryId": 77, "name": "Business cards"}))
    db.session.commit()
    tab = text(client.get(url + "/embedded"))
    assert "Integration data" in tab and "Business cards" in tab and "77" in tab
    # Nothing to save for a category.
    assert client.post(f"{BASE}/entities/category/{category.id}/accounts/{account.id}",
                       data={}).status_code == 404


def test_site_user_has_no_tab_without_declared_user_settings(client, login, world, shipstation, factory):
    login(world["boss"])
    user = factory.site_user(world["a"])
    enable(make_account(world["boss"]), world["a"])
    assert "Embedded Services" not in text(client.get(f"/sites/alpha/users/{user.id}"))


def test_admin_without_site_access_gets_404_on_activation_and_entity_routes(client, login, world, shipstation,
                                                                              factory):
    account = make_account(world["boss"])
    enable(account, world["b"])
    product = factory.product(world["b"])
    method = factory.shipping_method(world["b"])
    login(world["clerk"])  # access to Alpha only
    assert client.post(f"{BASE}/sites/bravo/accounts/{account.id}", data={"enabled": "y"}).status_code == 404
    assert client.post(f"{BASE}/entities/product/{product.id}/accounts/{account.id}",
                       data={"entity-shipstation_sku": "X"}).status_code == 404
    assert client.post(f"{BASE}/entities/shipping_method/{method.id}/accounts/{account.id}",
                       data={"entity-service": "ups:x"}).status_code == 404
    assert client.post(f"{BASE}/entities/nonsense/1/accounts/{account.id}").status_code == 404
    assert EntitySetting.query.count() == 0
    # Their own site works.
    assert client.post(f"{BASE}/sites/alpha/accounts/{account.id}", headers=HX,
                       data={"enabled": "y"}).status_code == 200


# --- connection test -------------------------------------------------------------------------

def test_connection_test_panel_polls_until_the_worker_reports(client, login, world, shipstation, run_worker):
    login(world["boss"])
    account = make_account(world["boss"], base_url=UNREACHABLE)
    page = text(client.get(f"{BASE}/accounts/{account.id}"))
    assert "has not been tested yet" in page and "hx-trigger" not in between(page, 'id="test-panel-', "</form>")

    response = client.post(f"{BASE}/accounts/{account.id}/test", headers=HX)
    assert response.status_code == 200
    panel = text(response)
    assert panel.lstrip().startswith(f'<div id="test-panel-{account.id}"')
    assert f'hx-get="{BASE}/accounts/{account.id}/test"' in panel
    assert 'hx-trigger="load delay:1s"' in panel and 'hx-swap="outerHTML"' in panel
    assert "Connection test queued" in panel
    # Still queued on the next poll (no worker yet): keeps polling.
    assert 'hx-trigger="load delay:1s"' in text(client.get(f"{BASE}/accounts/{account.id}/test", headers=HX))

    run_worker()
    db.session.expire_all()  # the test shares one session with the requests; the worker wrote the row

    final = text(client.get(f"{BASE}/accounts/{account.id}/test", headers=HX))
    assert "Cannot connect" in final
    assert "Could not connect to 127.0.0.1:9." in final
    assert "hx-trigger" not in final and "hx-get" not in final
    page = text(client.get(f"{BASE}/accounts/{account.id}"))
    assert "Cannot connect" in page
    exchanges = between(page, "Recent exchanges", "</table>")
    assert "GET" in exchanges and "127.0.0.1:9/shipstation/stores" in exchanges and "connection error" in exchanges
    assert SECRET not in page
    assert ProviderExchange.query.filter_by(subject_type="account").count() == 1


def test_connection_test_without_htmx_redirects_to_the_account(client, login, world, shipstation):
    login(world["boss"])
    account = make_account(world["boss"])
    response = client.post(f"{BASE}/accounts/{account.id}/test")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/accounts/{account.id}")
    db.session.expire_all()
    assert db.session.get(ProviderAccount, account.id).test_state == "queued"


@pytest.mark.parametrize("code,label", [("invalid_credentials", "Invalid credentials"),
                                        ("rate_limited", "Rate limited"), ("unknown", "Unknown error")])
def test_failed_test_shows_the_fixed_error_kind(client, login, world, shipstation, code, label):
    login(world["boss"])
    account = make_account(world["boss"])
    account.test_state, account.test_code, account.test_message = "failed", code, "provider said no"
    accounts.account_status.test_finished(account, False, code, "provider said no")
    db.session.commit()
    html = text(client.get(f"{BASE}/accounts/{account.id}/test", headers=HX))
    assert label in html and "provider said no" in html and "hx-trigger" not in html


# --- CSRF ------------------------------------------------------------------------------------

def test_posts_need_the_csrf_token(app, world, shipstation, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = app.test_client()
    login_page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                      login_page)
    token = next(g for g in token.groups() if g)
    client.post("/login", data={"email": "boss@example.test", "password": "secret-pass", "csrf_token": token})
    account = make_account(world["boss"])
    url = f"{BASE}/sites/alpha/accounts/{account.id}"
    assert client.post(url, headers=HX, data={"enabled": "y"}).status_code == 400
    assert SiteActivation.query.count() == 0
    # htmx sends the body's hx-headers token.
    page = text(client.get("/sites/alpha/settings/embedded"))
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    assert client.post(url, headers={**HX, "X-CSRFToken": header_token}, data={"enabled": "y"}).status_code == 200
    assert SiteActivation.query.one().enabled
