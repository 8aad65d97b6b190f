"""Values that used to crash a view (issue 11, item 9), thrown at the whole URL map: ids past 64
bits in every path, query string and form, dates past year 9998 or before 1900, deep JSON in
every webhook. Every answer is a 4xx or a page with a message, never a 500. Routes and webhook
providers are discovered, so new ones are covered without new test code."""
from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.security.conftest import PARAM, STATE_CHANGING, login_client, make_world, rule_url, rules
from tests.factories import Factory

from .test_webhooks_fuzz import HOOK_PROVIDERS, hook_accounts  # noqa: F401  (fixture)

HUGE = "99999999999999999999"          # past 64 bits
HUGE_NEG = "-99999999999999999999"
DATES = ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59-05:00", "10000-01-01", "1899-12-31"]
DEEP = "[" * 50_000 + "]" * 50_000
HOSTILE = [HUGE, HUGE_NEG, "1e309", "NaN", *DATES, DEEP[:4000], "\x00", "\u202e", "x" * 5000, "/\t/evil.example"]
# Every name a view reads from a query string or a form (plus the ones forms declare).
QUERY_NAMES = ["page", "account", "site", "provider", "q", "next", "placed_from", "placed_to", "status", "tab"]
FORM_NAMES = ["account_id", "admin", "line", "items", "panel", "next", "shipped_on", "placed_to", "placed_from",
              "requested_ship_date", "category_id", "parent_id", "price", "status", "name", "enabled", "is_live"]


@pytest.fixture
def boss(app):
    with app.app_context():
        world = make_world(Factory())
    return world, login_client(app, world.boss)


def _int_params(rule) -> list[str]:
    return [name for name, conv in rule._converters.items() if conv.__class__.__name__.endswith("IntConverter")
            or "Integer" in conv.__class__.__name__]


def _check(response, what):
    assert response.status_code < 500, (what, response.status_code)


def test_huge_ids_in_every_path_are_404(app, boss):
    world, client = boss
    checked = 0
    for rule, method in rules(app):
        for name in rule.arguments:
            if name == "tab":
                continue
            url, _ = rule_url(app, rule, world.values, {name: HUGE})
            response = client.open(url, method=method, data={})
            _check(response, (method, url))
            if name in _int_params(rule):
                assert response.status_code in (404, 405), (method, url, response.status_code)
                checked += 1
    assert checked >= 10


def test_hostile_query_strings_on_every_get_route(app, boss):
    world, client = boss
    for rule, method in rules(app, {"GET"}):
        url, _ = rule_url(app, rule, world.values)
        for value in HOSTILE:
            _check(client.get(url, query_string={name: value for name in QUERY_NAMES}), (url, value[:30]))


def test_hostile_forms_on_every_state_changing_route(app, boss, caplog):
    world, client = boss
    for rule, method in rules(app, STATE_CHANGING):
        if rule.endpoint in ("auth.logout",) or rule.endpoint.startswith("webhooks."):
            continue
        url, _ = rule_url(app, rule, world.values)
        for value in (HUGE, HUGE_NEG, "9999-12-31", "0001-01-01", DEEP[:2000]):
            data = {name: value for name in FORM_NAMES}
            with caplog.at_level(logging.ERROR):
                _check(client.open(url, method=method, data=data), (method, url, value[:30]))
    assert "unhandled error" not in caplog.text


def test_order_list_dates_past_the_calendar_get_a_message(app, boss):
    _, client = boss
    for value in ("9999-12-31", "0001-01-01"):
        for name in ("placed_to", "placed_from"):
            page = client.get("/orders", query_string={name: value})
            assert page.status_code == 200 and "Enter a date between" in page.get_data(as_text=True)


@settings(max_examples=25)
@given(st.dictionaries(st.sampled_from(QUERY_NAMES), st.one_of(
    st.sampled_from(HOSTILE), st.integers(min_value=2**31, max_value=2**200).map(str),
    st.dates().map(str), st.text(max_size=50)), max_size=6))
def test_any_mix_of_hostile_query_values(app, boss, query):
    world, client = boss
    for path in ("/orders", "/sites/theirs/orders", "/preferences/embedded/failed", "/sites/theirs/products"):
        _check(client.get(path, query_string=query), (path, query))


def _deep_bodies() -> list[bytes]:
    huge_number = b'{"resource_url": ' + b"9" * 5000 + b"}"
    return [DEEP.encode(), ("{\"a\":" * 40_000 + "1" + "}" * 40_000).encode(), huge_number,
            b'{"resource_url": "https://ssapi.shipstation.com/x", "resource_type": "SHIP_NOTIFY", "shipDate": '
            b'"9999-12-31T23:59:59-05:00", "id": 99999999999999999999999}']


@pytest.mark.parametrize("provider", HOOK_PROVIDERS, ids=[p.key for p in HOOK_PROVIDERS])
def test_deep_json_and_huge_numbers_in_every_webhook(app, hook_accounts, provider, caplog):  # noqa: F811
    from webapp.models import WebhookEvent

    hook = next(h for h in hook_accounts if h.provider.key == provider.key)
    client = app.test_client()
    for body in _deep_bodies():
        with caplog.at_level(logging.ERROR):
            response = client.post(f"/webhooks/{provider.key}/{hook.token}", data=body,
                                   content_type="application/json")
        assert response.status_code < 500, response.status_code
        if body.startswith((b"[[[", b'{"a":{')):
            assert response.status_code in (400, 401), response.status_code
    assert WebhookEvent.query.filter(WebhookEvent.payload.like("[[[%")).count() == 0
    assert "unhandled error" not in caplog.text


def test_the_route_converter_bounds_ids():
    from webapp.blueprints.params import MAX_DB_INT, db_int

    assert db_int(str(MAX_DB_INT)) == MAX_DB_INT
    for bad in (str(MAX_DB_INT + 1), HUGE, "-1"):
        with pytest.raises(ValueError):
            db_int(bad)
    assert PARAM.pattern  # the walk's own parameter pattern is importable (used above through rule_url)


def test_a_nul_in_any_query_string_or_form_is_a_400(app, boss):
    world, client = boss
    for rule, method in rules(app):
        if rule.endpoint.startswith("webhooks."):
            continue
        url, _ = rule_url(app, rule, world.values)
        response = client.open(url, method=method, query_string={"q": "a\x00b"}, data={"name": "a\x00b"})
        assert response.status_code == 400, (method, url, response.status_code)
