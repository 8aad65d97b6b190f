"""Site scoping: anything belonging to a site the admin cannot access is a 404 on every route,
GET and POST alike. The routes are walked from app.url_map, so a route added later is
covered without editing this test.

The requests run outside the test's app context on purpose: Flask-Login caches the user in
`g`, which a shared app context would leak from one test client to the other."""
from __future__ import annotations

import re

import pytest

from .factories import Factory

SCOPED_PARAMS = ("site_slug", "order_number")
PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# A parameter this test cannot make a real object for (another module's route, e.g. an
# integration account id) gets this stand-in: the route must still 404 for an admin
# without access, but the super-admin cross-check is skipped for it.
STAND_IN = "1"
# The super-admin cross-check covers the storefront pages; other modules' routes may answer
# 404 on purpose (e.g. a feature not switched on for this install).
CROSS_CHECKED = ("sites.", "catalog.", "orders.")


@pytest.fixture
def world(app):
    with app.app_context():
        return _make_world(Factory())


def _make_world(factory):
    mine = factory.site(slug="mine", name="Mine")
    theirs = factory.site(slug="theirs", name="Theirs")
    restricted = factory.admin(email="restricted@example.test", sites=[mine])
    boss = factory.admin(email="boss@example.test", is_super=True)
    category = factory.category(theirs, "Their cards")
    order = factory.order(theirs, number="T-0001", items=[{"files": [("edoc", "pending")]}, {}])
    factory.order(mine, number="M-0001")
    values = {
        "site_slug": theirs.slug,
        "product_id": factory.product(theirs, sku="THEIR-1", category=category).id,
        "category_id": category.id,
        "user_id": factory.site_user(theirs).id,
        "method_id": factory.shipping_method(theirs, "Their ground").id,
        "order_number": order.number,
        "line": 1,
        "file_id": order.items[0].files[0].id,
    }
    return {"restricted": restricted.email, "boss": boss.email, "values": values}


def _client_for(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": "secret-pass"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


def _scoped_requests(app, values: dict) -> list[tuple[str, str, bool]]:
    """(method, url, cross_check) for every rule that reaches into a site, with that site's
    objects; `cross_check` says whether a super-admin must get a non-404 answer."""
    default_tabs = {r.endpoint: r.defaults["tab"] for r in app.url_map.iter_rules()
                    if r.defaults and "tab" in r.defaults}
    requests = []
    for rule in app.url_map.iter_rules():
        if not any(p in rule.arguments for p in SCOPED_PARAMS):
            continue
        rule_values = dict(values)
        if "tab" in rule.arguments:
            assert rule.endpoint in default_tabs, f"{rule.rule}: a tab route needs a default tab"
            rule_values["tab"] = default_tabs[rule.endpoint]
        complete = rule.arguments <= rule_values.keys() and rule.endpoint.startswith(CROSS_CHECKED)
        url = PARAM.sub(lambda m: str(rule_values.get(m.group(1), STAND_IN)), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((method, url, complete))
    return requests


def test_every_site_route_is_404_for_an_admin_without_access(app, world):
    requests = _scoped_requests(app, world["values"])
    # Guard against a vacuous pass: the walk must meet the routes of every area.
    urls = {url for _, url, _ in requests}
    for expected in ("/sites/theirs/settings", "/sites/theirs/products", "/sites/theirs/orders",
                     "/orders/T-0001", "/orders/T-0001/pay", "/orders/T-0001/items/1/shipment",
                     f"/orders/T-0001/items/1/files/{world['values']['file_id']}/ready"):
        assert expected in urls, expected
    assert sum(1 for m, _, _ in requests if m == "POST") >= 12

    restricted = _client_for(app, world["restricted"])
    for method, url, _ in requests:
        # Follow redirects: /settings/general first redirects (308) to its canonical /settings.
        response = restricted.open(url, method=method, data={}, follow_redirects=True)
        assert response.status_code == 404, (method, url, response.status_code)

    # The same requests work for a super-admin, so the 404s above are about access only.
    boss = _client_for(app, world["boss"])
    checked = [(method, url) for method, url, cross_check in requests if cross_check]
    assert len(checked) >= 25
    for method, url in checked:
        response = boss.open(url, method=method, data={}, follow_redirects=True)
        assert response.status_code != 404 and response.status_code < 500, (method, url, response.status_code)


def test_site_routes_need_a_login(app, world, client):
    for method, url, _ in _scoped_requests(app, world["values"]):
        response = client.open(url, method=method, follow_redirects=True)
        assert response.request.path == "/login" and "Please log in" in response.get_data(as_text=True), (
            method, url)


def test_lists_never_show_other_sites(app, world):
    restricted = _client_for(app, world["restricted"])
    for url in ("/orders", "/", "/sites/", "/orders?status=Awaiting+Payment"):
        html = restricted.get(url).get_data(as_text=True)
        assert "T-0001" not in html and "Theirs" not in html, url
    assert "M-0001" in restricted.get("/orders").get_data(as_text=True)
    assert "M-0001" in restricted.get("/").get_data(as_text=True)
    # Asking for the other site in the filter is refused, not obeyed.
    html = restricted.get("/orders?site=theirs").get_data(as_text=True)
    assert "Not a valid choice." in html and "T-0001" not in html
    boss = _client_for(app, world["boss"])
    assert "T-0001" in boss.get("/orders").get_data(as_text=True)
