"""A world with one object of every kind the routes take, and helpers to fill every rule of
the URL map with those objects. Routes added later are covered without new test code: a
parameter this file does not know gets a stand-in value."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.factories import Factory

PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
STAND_IN = "1"
PASSWORD = "secret-pass"
SECRET = "sec-fixture-Zq8v3Lw1xK"  # the credential every fixture account stores as its secret


@dataclass
class World:
    boss: str
    restricted: str
    values: dict                  # rule parameter -> value (objects on the "theirs" site)
    entity_ids: dict = field(default_factory=dict)   # entity_type -> id on "theirs"
    account_ids: list = field(default_factory=list)


def fixture_credentials(provider, base_url: str = "https://provider.example.test/api") -> dict:
    values = {}
    for f in provider.credentials:
        if f.type == "url":
            values[f.name] = base_url
        elif f.type == "secret":
            values[f.name] = SECRET
        elif f.type == "choice":
            values[f.name] = f.choices[0][0]
        elif f.type == "int":
            values[f.name] = int(f.min or 1)
        elif f.type == "bool":
            values[f.name] = False
        else:
            values[f.name] = "fixture-value"
    return values


def fixture_settings(provider) -> dict:
    """Values for the account settings a provider requires (e.g. Tharstern's customer code)."""
    return {f.name: (f.choices[0][0] if f.type == "choice" else int(f.min or 1) if f.type == "int"
                     else "fixture-setting") for f in provider.account_settings if f.required and f.default in (None, "")}


def make_world(factory: Factory) -> World:
    from webapp.embedded import install
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import set_activation
    from webapp.extensions import db
    from webapp.models import SyncRun
    from webapp.providers.registry import all_providers

    mine = factory.site(slug="mine", name="Mine")
    theirs = factory.site(slug="theirs", name="Theirs")
    restricted = factory.admin(email="restricted@example.test", sites=[mine])
    boss = factory.admin(email="boss@example.test", is_super=True)
    category = factory.category(theirs, "Their cards")
    product = factory.product(theirs, sku="THEIR-1", category=category)
    user = factory.site_user(theirs)
    method = factory.shipping_method(theirs, "Their ground")
    order = factory.order(theirs, number="T-0001", items=[{"files": [("edoc", "pending")]}, {}])
    factory.order(mine, number="M-0001")
    account_ids = []
    for provider in all_providers().values():
        install.enable_provider(provider.key)
        result = save_account(None, company_id=boss.company_id, name=f"{provider.name} fixture",
                              provider_key=provider.key, admin_id=boss.id,
                              credentials=fixture_credentials(provider), settings=fixture_settings(provider))
        assert result.ok, result.errors
        assert set_activation(result.account, theirs, enabled=True, is_live=True).ok
        account_ids.append(result.account.id)
    run = SyncRun(account_id=account_ids[0], site_id=theirs.id, scope="site", items=["orders"],
                  started_by=boss.email, state="finished")
    db.session.add(run)
    db.session.commit()
    entity_ids = {"product": product.id, "category": category.id, "site_user": user.id,
                  "shipping_method": method.id}
    values = {
        "site_slug": theirs.slug, "order_number": order.number, "line": 1,
        "file_id": order.items[0].files[0].id, "product_id": product.id, "category_id": category.id,
        "user_id": user.id, "method_id": method.id, "account_id": account_ids[0], "run_id": run.id,
        "entity_type": "product", "entity_id": product.id,
        "provider_key": next(iter(all_providers())), "token": "not-a-real-token",
    }
    return World(boss.email, restricted.email, values, entity_ids, account_ids)


@pytest.fixture
def world(app):
    with app.app_context():
        return make_world(Factory())


def default_tabs(app) -> dict:
    return {r.endpoint: r.defaults["tab"] for r in app.url_map.iter_rules() if r.defaults and "tab" in r.defaults}


def rule_url(app, rule, values: dict, overrides: dict | None = None) -> tuple[str, bool]:
    """(url, complete): ``complete`` is False when a parameter got the stand-in value."""
    rule_values = {**values, **(overrides or {})}
    if "tab" in rule.arguments and "tab" not in (overrides or {}):
        rule_values["tab"] = default_tabs(app).get(rule.endpoint, STAND_IN)
    complete = rule.arguments <= rule_values.keys()
    return PARAM.sub(lambda m: str(rule_values.get(m.group(1), STAND_IN)), rule.rule), complete


def rules(app, methods=None):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        wanted = sorted((rule.methods - {"HEAD", "OPTIONS"}) & (methods or rule.methods))
        for method in wanted:
            yield rule, method


def login_client(app, email: str, csrf: bool = False):
    """A test client logged in as ``email`` (fetching the login form's token when CSRF is on).
    Use it outside any shared app context: Flask-Login caches the user in ``g``."""
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if csrf:
        data["csrf_token"] = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def open_canonical(client, url: str, method: str, **kwargs):
    """Open ``url``, following only 307/308 (Werkzeug's canonical-URL redirects keep the method
    and body), so a 302 to the login page stays visible."""
    for _ in range(3):
        response = client.open(url, method=method, **kwargs)
        if response.status_code not in (307, 308):
            return response
        url = response.headers["Location"]
    return response
