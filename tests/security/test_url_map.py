"""The URL map, walked rule by rule (a route added later is covered without new test code):
every state-changing route needs a login and a CSRF token, webhook routes are the only
CSRF-exempt ones, and every route reaching into a site is a 404 for an admin without access.

Requests run outside any shared app context on purpose (Flask-Login caches the user in g)."""
from __future__ import annotations

from urllib.parse import urlsplit

from webapp.extensions import csrf, db

from .conftest import STATE_CHANGING, login_client, open_canonical, rule_url, rules

PUBLIC = {"auth.login"}                   # the login form itself (CSRF-protected, no session needed)
SITE_SCOPED_PARAMS = {"site_slug", "order_number", "entity_id", "run_id"}


def _webhook_endpoints(app) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("webhooks.")}


def _exempt_endpoints(app) -> set[str]:
    exempt = set()
    for endpoint, view in app.view_functions.items():
        blueprint = app.blueprints.get(endpoint.rsplit(".", 1)[0]) if "." in endpoint else None
        if blueprint is not None and blueprint in csrf._exempt_blueprints:
            exempt.add(endpoint)
        elif f"{view.__module__}.{view.__name__}" in csrf._exempt_views:
            exempt.add(endpoint)
    return exempt


def _snapshot(app) -> dict:
    """Every row of every table (the proof that a refused request changed nothing)."""
    with app.app_context():
        out = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(table.select()).all()
            out[table.name] = sorted(repr(tuple(row)) for row in rows)
        db.session.remove()
        return out


def test_state_changing_routes_need_a_login(app, world):
    client = app.test_client()
    checked = 0
    for rule, method in rules(app, STATE_CHANGING):
        url, _ = rule_url(app, rule, world.values)
        response = open_canonical(client, url, method, data={})
        assert not 200 <= response.status_code < 300, (method, url, response.status_code)
        if rule.endpoint in PUBLIC or rule.endpoint in _webhook_endpoints(app):
            continue
        location = urlsplit(response.headers.get("Location", "")).path
        assert response.status_code == 401 or (response.status_code == 302 and location == "/login"), (
            method, url, response.status_code, location)
        checked += 1
    assert checked >= 25  # the walk met the real routes, not an empty map


def test_state_changing_routes_need_a_csrf_token(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = login_client(app, world.boss, csrf=True)
    before = _snapshot(app)
    checked = 0
    for rule, method in rules(app, STATE_CHANGING):
        if rule.endpoint in _webhook_endpoints(app):
            continue
        url, _ = rule_url(app, rule, world.values)
        for headers in ({}, {"HX-Request": "true"}):
            response = open_canonical(client, url, method, data={"name": "changed"}, headers=headers)
            assert response.status_code == 400, (method, url, headers, response.status_code)
            if headers:
                assert response.headers.get("HX-Refresh") == "true"  # htmx reloads for a fresh token
            else:
                assert "security token" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 25
    assert _snapshot(app) == before, "a request without a CSRF token changed the database"
    assert client.get("/").status_code == 200  # still logged in: even /logout was refused


def test_webhook_routes_are_the_only_csrf_exempt_ones(app, world, monkeypatch):
    webhooks = _webhook_endpoints(app)
    assert webhooks, "the webhook blueprint must be registered"
    assert _exempt_endpoints(app) == webhooks
    assert all(r.methods & STATE_CHANGING for r in app.url_map.iter_rules() if r.endpoint in webhooks)
    # And they still authenticate by themselves: an unknown token is a 404, not a CSRF 400.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = app.test_client()
    for rule, method in rules(app, STATE_CHANGING):
        if rule.endpoint in webhooks:
            url, _ = rule_url(app, rule, world.values)
            assert client.open(url, method=method, json={"x": 1}).status_code == 404


def _account_with_settings_for(app, account_ids, entity_type):
    from webapp.models import ProviderAccount

    with app.app_context():
        for account_id in account_ids:
            if db.session.get(ProviderAccount, account_id).provider.schema_for(entity_type):
                return account_id
    return None


def test_every_site_scoped_route_is_404_for_an_admin_without_access(app, world):
    from webapp.models import ENTITY_TYPES

    restricted = login_client(app, world.restricted)
    boss = login_client(app, world.boss)
    checked, cross_checked = [], 0
    for rule, method in rules(app):
        if not rule.arguments & SITE_SCOPED_PARAMS:
            continue
        variants = [({}, True)]
        if "entity_type" in rule.arguments:  # one object of every entity kind, on their site, with
            variants = []                    # an account whose provider has settings for that kind
            for kind in ENTITY_TYPES:
                account_id = _account_with_settings_for(app, world.account_ids, kind)
                variants.append(({"entity_type": kind, "entity_id": world.entity_ids[kind],
                                  "account_id": account_id or world.account_ids[0]}, account_id is not None))
        for overrides, meaningful in variants:
            url, complete = rule_url(app, rule, world.values, overrides)
            complete = complete and meaningful
            response = restricted.open(url, method=method, data={}, follow_redirects=True)
            assert response.status_code == 404, (method, url, response.status_code)
            checked.append((method, url))
            if complete:
                ok = boss.open(url, method=method, data={}, follow_redirects=True)
                assert ok.status_code != 404 and ok.status_code < 500, (method, url, ok.status_code)
                cross_checked += 1
    urls = {url for _, url in checked}
    for expected in ("/sites/theirs/orders", "/orders/T-0001", f"/sync/runs/{world.values['run_id']}/panel"):
        assert expected in urls, expected
    assert any("/entities/" in url for url in urls)
    assert cross_checked >= 25


ACCOUNT_VIEW = {"embedded.account"}  # seen by every admin of the company, without what only managers see
FORM_ACCOUNT_ROUTES = {"sync.global_sync"}  # the account id travels in the form
# Using an account on one's own sites (the import writes only to the admin's visible sites).
OWN_SITES_USE = {"embedded_mapping.import_map"}


def test_account_run_and_exchange_routes_refuse_a_one_site_admin(app, world):
    """Walk every route taking an account or a run as the admin of "mine", against the accounts
    live on "theirs", a global run of theirs and an account-level exchange carrying a customer's
    name: a 404, except the account page, which shows none of the key, token or exchange."""
    from webapp.models import ProviderAccount, ProviderExchange, SyncRun

    from .conftest import SECRET

    marker = "Customer-Of-Theirs-8817"
    with app.app_context():
        run = SyncRun(account_id=world.account_ids[0], site_id=None, scope="global", items=["orders"],
                      started_by=world.boss, state="finished")
        db.session.add(run)
        db.session.add(ProviderExchange(account_id=world.account_ids[0], subject_type="account",
                                        subject_id=world.account_ids[0], method="GET", url="https://x.test/s",
                                        status=200, response_body=f'{{"name": "{marker}"}}'))
        db.session.commit()
        global_run = run.id
        tokens = [db.session.get(ProviderAccount, i).webhook_token for i in world.account_ids]
    restricted = login_client(app, world.restricted)
    checked = 0
    for rule, method in rules(app):
        if not (rule.arguments & {"account_id", "run_id"} or rule.endpoint in FORM_ACCOUNT_ROUTES):
            continue
        for account_id in world.account_ids:
            variants = [{"account_id": account_id}]
            if "run_id" in rule.arguments:
                variants.append({"run_id": global_run})
            for overrides in variants:
                url, _ = rule_url(app, rule, world.values, overrides)
                response = open_canonical(restricted, url, method, data={"account_id": account_id, "items": "orders"})
                if rule.endpoint in ACCOUNT_VIEW:
                    text = response.get_data(as_text=True)
                    assert response.status_code == 200, (url, response.status_code)
                    for leak in (marker, SECRET, "fixture-value", *tokens):
                        assert leak not in text, (url, leak)
                elif rule.endpoint in OWN_SITES_USE:
                    assert response.status_code < 500, (method, url, response.status_code)
                else:
                    assert response.status_code == 404, (method, url, response.status_code)
                checked += 1
    assert checked >= 10
    text = restricted.get("/preferences/embedded/log").get_data(as_text=True) + restricted.get(
        "/preferences/embedded/").get_data(as_text=True)
    assert marker not in text and not any(token in text for token in tokens)
