"""Every form of the admin rejects malformed and out-of-range values with a message on the
field, posted through its real route (so the use-case's own checks count too).

The forms are discovered from the code (every FlaskForm subclass in webapp.blueprints); the
bad values come from each field's type and declared validators, so a field added to a form
is checked without new test code. A form needs one entry in ROUTES (where it is posted);
a new form without one fails the discovery test."""
from __future__ import annotations

import html
import importlib
import itertools
import pkgutil
import re

import pytest
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, EmailField, IntegerField, SelectField, StringField
from wtforms.validators import Length

import webapp.blueprints
from tests.security.conftest import PASSWORD, fixture_credentials, login_client, make_world
from tests.factories import Factory

_seq = itertools.count(1)


def _all_forms() -> dict[str, type]:
    for info in pkgutil.iter_modules(webapp.blueprints.__path__):
        importlib.import_module(f"webapp.blueprints.{info.name}")
    found, todo = {}, list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("webapp."):
            found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


# Where each form is posted: (method, url template, needs a login). {slug} etc. come from CONTEXT.
ROUTES = {
    "LoginForm": ("POST", "/login", False),
    "SiteSettingsForm": ("POST", "/sites/{slug}/settings", True),
    "ProductForm": ("POST", "/sites/{slug}/products/new", True),
    "NewCategoryForm": ("POST", "/sites/{slug}/categories", True),
    "CategoryForm": ("POST", "/sites/{slug}/categories/{category_id}", True),
    "RootCategoryForm": ("POST", "/sites/{slug}/categories/{root_id}", True),
    "ShippingMethodForm": ("POST", "/sites/{slug}/shipping-methods/{method_id}", True),
    "OrderFilterForm": ("GET", "/orders", True),
    "ItemStatusForm": ("POST", "/orders/{order_number}/items/1/status", True),
    "ShipmentForm": ("POST", "/orders/{order_number}/items/1/shipment", True),
    "AccountForm": ("POST", "/preferences/embedded/accounts/new", True),
}


def _valid(name: str, ctx: dict) -> str:
    """A valid value for a field of this name (unique where the use-case wants uniqueness)."""
    n = next(_seq)
    values = {
        "email": ctx["boss"], "password": PASSWORD, "name": f"Valid name {n}", "sku": f"SKU-{n}", "price": "12.50",
        "category_id": str(ctx["root_id"]), "parent_id": str(ctx["root_id"]), "currency": "USD",
        "time_zone": "UTC", "domain": "shop.example.com", "carrier": "UPS", "tracking_number": f"1Z{n}",
        "status": "In Production", "provider": "shipstation", "admin": str(ctx["admin_id"]), "site": "",
    }
    return values.get(name, "")


def _bad_values(field) -> list[tuple[str, str]]:
    """(value, why) pairs every field of this kind must refuse."""
    bad = []
    maximum = next((v.max for v in field.validators if isinstance(v, Length) and v.max and v.max > 0), None)
    if isinstance(field, DecimalField):
        bad += [("abc", "not a number"), ("sNaN", "signalling NaN"), ("NaN", "NaN"), ("Infinity", "infinite"),
                ("-1", "negative"), ("1e999999", "too large"), ("12.345678", "too many decimals")]
    elif isinstance(field, IntegerField):
        bad += [("abc", "not a number"), ("1.5", "not whole"), ("9" * 40, "too large")]
    elif isinstance(field, DateField):
        bad += [("2026-13-45", "no such date"), ("yesterday", "not a date"), ("31/12/2026", "wrong format"),
                ("9999-12-31", "overflows the day after"), ("0001-01-01", "before 1900")]
    elif isinstance(field, EmailField) or field.name == "email":
        bad += [("not-an-email", "no @"), ("a@", "no domain"), ("x" * 250 + "@example.com", "too long")]
    elif isinstance(field, SelectField):
        if field.validate_choice or field.name in ("provider", "admin"):
            bad += [("__no_such_choice__", "not a choice"), ("9" * 20, "an id past 64 bits")]
    elif isinstance(field, StringField) and not isinstance(field, BooleanField):
        if field.name == "domain":
            bad += [("http://shop.example.com/path", "a URL, not a host"), ("bad domain!", "not a host name")]
        if field.name == "currency":
            bad += [("EURO", "not ISO 4217"), ("12", "not letters")]
    if maximum and not isinstance(field, (SelectField, DateField, DecimalField)):
        bad.append(("x" * (maximum + 1), f"longer than {maximum}"))
    return bad


@pytest.fixture
def ctx(app):
    with app.app_context():
        world = make_world(Factory())
        from webapp.models import Admin, Category, ShippingMethod, Site

        site = Site.query.filter_by(slug="theirs").one()
        root = Category.root_for(site)
        other = Category.query.filter(Category.site_id == site.id, Category.id != root.id).first()
        return {"boss": world.boss, "admin_id": Admin.query.filter_by(email=world.boss).one().id,
                "slug": site.slug, "root_id": root.id, "category_id": other.id,
                "method_id": ShippingMethod.query.filter_by(site_id=site.id).first().id,
                "order_number": world.values["order_number"]}


def _form_data(app, cls, ctx, override: dict) -> dict:
    fields = [f.name for f in _bound_fields(app, cls)]
    data = {name: _valid(name, ctx) for name in fields if name != "csrf_token"}
    if cls.__name__ == "AccountForm":
        from webapp.providers.registry import get_provider_class

        creds = fixture_credentials(get_provider_class("shipstation"), base_url="https://ssapi.example.test")
        data.update({f"credentials-{k}": v for k, v in creds.items()})
    data.update(override)
    return {k: v for k, v in data.items() if v != ""}


def _simple(cls) -> bool:
    import inspect

    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name not in ("self", "args", "kwargs") and p.default is inspect.Parameter.empty
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return not params


def _bound_fields(app, cls):
    with app.test_request_context():
        if _simple(cls):
            return list(cls()._fields.values())
        return list(cls(None, sites=[])._fields.values())


def _post(client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url, query_string=data, follow_redirects=True)
    return client.open(url, method=method, data=data, follow_redirects=True)


def _field_error(page: str, name: str) -> str | None:
    """The message shown with field ``name``: the input is marked invalid and a feedback
    message follows it (or, for an action that redirects, a flashed danger alert)."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if tag:
        after = page[tag.end():]
        nxt = re.search(r'<(?:input|select|textarea)\b[^>]*\bname="', after)
        block = after[:nxt.start()] if nxt else after
        message = re.search(r'class="invalid-feedback[^"]*">(.*?)</div>', block, re.S)
        if message and message.group(1).strip():
            return html.unescape(message.group(1).strip())
    return None


def test_every_form_is_known():
    forms = _all_forms()
    assert {"LoginForm", "ProductForm", "ShipmentForm", "AccountForm"} <= set(forms)
    missing = sorted(set(forms) - set(ROUTES))
    assert not missing, f"add the route where these forms are posted to ROUTES: {missing}"


def _cases():
    forms = _all_forms()
    return [(name, forms[name]) for name in sorted(ROUTES) if name in forms]


@pytest.mark.parametrize("form_name,cls", _cases(), ids=[n for n, _ in _cases()])
def test_bad_values_get_a_message_on_their_field(app, ctx, form_name, cls):
    method, template, needs_login = ROUTES[form_name]
    url = template.format(**ctx)
    fields = [f for f in _bound_fields(app, cls) if f.name != "csrf_token"]
    checked = []
    for field in fields:
        for value, why in _bad_values(field):
            client = login_client(app, ctx["boss"]) if needs_login else app.test_client()
            response = _post(client, method, url, _form_data(app, cls, ctx, {field.name: value}))
            page = response.get_data(as_text=True)
            assert response.status_code < 500, (form_name, field.name, value, response.status_code)
            message = _field_error(page, field.name)
            flashed = re.search(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', page, re.S)
            if form_name == "ItemStatusForm" and flashed:  # a one-select action: refused with a flash
                message = flashed.group(1).strip()
            assert message, f"{form_name}.{field.name} = {value[:40]!r} ({why}): no message on the field " \
                            f"(HTTP {response.status_code})"
            checked.append((field.name, why))
    if form_name not in ("RootCategoryForm",):
        assert checked, f"{form_name}: nothing to check?"


# --- the forms generated from provider schemas (account, site and entity settings tabs) ------

def _schema_cases():
    from webapp.providers.base import ENTITY_SCHEMAS
    from webapp.providers.registry import all_providers

    for provider in all_providers().values():
        for schema_name in ("credentials", "account_settings", *ENTITY_SCHEMAS.values()):
            for f in getattr(provider, schema_name):
                yield provider, schema_name, f


def _schema_bad_values(f) -> list[str]:
    bad = []
    if f.type == "int":
        bad += ["abc", "1.5", "1e3"]
        bad += [str(int(f.min) - 1)] if f.min is not None else []
        bad += [str(int(f.max) + 1)] if f.max is not None else []
    elif f.type == "decimal":
        bad += ["abc", "NaN", "Infinity", "sNaN"]
        bad += [str(f.min - 1)] if f.min is not None else []
    elif f.type == "url":
        bad += ["not a url", "ftp://x.example.com", "http://provider.example.com"]
    elif f.type == "choice":
        bad += ["__no_such_choice__"]
    elif f.type == "bool":
        bad += ["maybe"]
    if f.regex:
        bad += ["!! not the expected format !!"]
    if f.type in ("string", "secret", "url", "text", "int", "decimal"):
        bad += ["7" * (f.max_length + 1)]
    return bad


SCHEMA_CASES = list(_schema_cases())


@pytest.mark.parametrize("provider,schema_name,field", SCHEMA_CASES,
                         ids=[f"{p.key}.{s}.{f.name}" for p, s, f in SCHEMA_CASES])
def test_declared_provider_fields_refuse_bad_values_with_a_field_message(provider, schema_name, field):
    from webapp.blueprints.provider_forms import schema_form

    schema = getattr(provider, schema_name)
    for value in _schema_bad_values(field):
        values, errors = schema.clean({field.name: value}, allow_loopback=False)
        assert field.name in errors and errors[field.name].strip(), (field.name, value, values.get(field.name))
        form = schema_form(schema, prefix="x")
        form.apply_errors(errors)
        assert form[field.name].errors == [errors[field.name]]  # shown on the field itself
