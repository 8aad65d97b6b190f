"""Forms generated from every declared provider schema: rendering, secrets, and messages that
come from Schema.clean (the same validation the CLI and use-cases run)."""
from __future__ import annotations

import pytest
from flask import render_template_string
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from webapp.blueprints.provider_forms import STORED_SECRET_PLACEHOLDER, schema_form
from webapp.providers.base import ENTITY_SCHEMAS
from webapp.providers.fields import FieldError
from webapp.providers.registry import all_providers

SCHEMA_ATTRS = ("credentials", "account_settings", *ENTITY_SCHEMAS.values())
STORED_SECRET = "stored-Secret-value-9f8e7d"

RENDER = '{% from "embedded/_macros.html" import schema_fields %}{{ schema_fields(form) }}'


def _declared_schemas():
    cases = []
    for key, provider in all_providers().items():
        for attr in SCHEMA_ATTRS:
            schema = getattr(provider, attr)
            if schema:
                cases.append(pytest.param(provider, attr, id=f"{key}.{attr}"))
    return cases


SCHEMAS = _declared_schemas()


def _accepts(field, value, allow_loopback=True) -> bool:
    try:
        field.clean(value, allow_loopback=allow_loopback)
    except FieldError:
        return False
    return True


def good_value(field):
    """A value the field accepts, posted as a browser would (None: none found, leave empty)."""
    if field.type == "bool":
        return "y"
    if field.type == "choice":
        return field.choices[0][0]
    if field.type == "url":
        return "https://api.example.com/v1"
    if field.type in ("int", "decimal"):
        low = field.min if field.min is not None else 1
        high = field.max if field.max is not None else low + 10
        candidates = [str(int(low)) if float(low).is_integer() else str(low), str(int(high)), "1", "0"]
    else:
        candidates = ["abc_123", "ABC123", "abc", "12345", "sample-value", "a1:b2", "ups:ups_ground"]
    return next((c for c in candidates if _accepts(field, c)), None)


def bad_values(field):
    """(posted value, allow_loopback) pairs the field must reject with its own message."""
    if field.type == "url":
        return [("ftp://x", True), ("http://example.com", False), ("http://127.0.0.1:9/x", False)]
    if field.type == "int":
        return [("12.5x", True)]
    if field.type == "decimal":
        return [("not-a-number", True)]
    if field.type == "choice":
        return [("no-such-choice", True)]
    if field.type == "bool":
        return []  # a checkbox posts on/off only
    candidates = ["bad value! ?", "x" * (field.max_length + 1)]
    return [(c, True) for c in candidates if not _accepts(field, c)][:2]


def _post(form_prefix, values: dict) -> MultiDict:
    data = MultiDict()
    for name, value in values.items():
        if value is not None:
            data.add(f"{form_prefix}-{name}", value)
    return data


def _good_post(schema) -> dict:
    out = {}
    for f in schema:
        value = good_value(f)
        if value is not None:
            out[f.name] = value
    return out


def _expected_message(field, raw, allow_loopback):
    with pytest.raises(FieldError) as info:
        field.clean(raw, allow_loopback=allow_loopback)
    return str(info.value)


@pytest.mark.parametrize("provider,attr", SCHEMAS)
def test_every_declared_field_renders(app, provider, attr):
    schema = getattr(provider, attr)
    with app.test_request_context():
        form = schema_form(schema, prefix="p")
        html = render_template_string(RENDER, form=form)
    for f in schema:
        assert f'name="p-{f.name}"' in html, f.name
        assert str(escape(f.label)) in html
        if f.help:
            assert str(escape(f.help)) in html
        if f.type == "secret":
            assert 'type="password"' in html
        if f.type == "choice":
            for value, _label in f.choices:
                assert f'value="{value}"' in html


@pytest.mark.parametrize("provider,attr", SCHEMAS)
def test_stored_values_fill_the_form_and_secrets_never_render(app, provider, attr):
    schema = getattr(provider, attr)
    stored = _good_post(schema)
    for f in schema:
        if f.secret:
            stored[f.name] = STORED_SECRET
    values, errors = schema.clean(stored, allow_loopback=True)
    with app.test_request_context():
        form = schema_form(schema, prefix="p", stored=values)
        html = render_template_string(RENDER, form=form)
    assert STORED_SECRET not in html
    for f in schema:
        if f.secret:
            assert STORED_SECRET_PLACEHOLDER in html
            assert form[f.name].data in (None, "")
        elif f.type == "choice":
            assert form[f.name].data == values[f.name]
            assert f'value="{values[f.name]}" selected' in html or f'selected value="{values[f.name]}"' in html
        elif f.type == "bool":
            assert form[f.name].data is values[f.name]
        elif f.type == "text" and values.get(f.name):
            assert f"{escape(values[f.name])}</textarea>" in html
        elif values.get(f.name) not in (None, ""):
            assert f'value="{escape(values[f.name])}"' in html


SECRET_SCHEMAS = [c for c in SCHEMAS if getattr(*c.values).secret_names]


@pytest.mark.parametrize("provider,attr", SECRET_SCHEMAS)
def test_empty_secret_keeps_the_stored_one(app, provider, attr):
    schema = getattr(provider, attr)
    good = _good_post(schema)
    existing = {**good, **{name: STORED_SECRET for name in schema.secret_names}}
    posted = {**good, **{name: "" for name in schema.secret_names}}
    with app.test_request_context():
        form = schema_form(schema, prefix="p", stored=existing, formdata=_post("p", posted))
        values, errors = form.clean(existing=existing, allow_loopback=True)
    for name in schema.secret_names:
        assert name not in errors
        assert values[name] == STORED_SECRET
    # A new value replaces it.
    posted = {**good, **{name: "brand-new-secret" for name in schema.secret_names}}
    with app.test_request_context():
        form = schema_form(schema, prefix="p", stored=existing, formdata=_post("p", posted))
        values, _ = form.clean(existing=existing, allow_loopback=True)
    for name in schema.secret_names:
        assert values[name] == "brand-new-secret"


@pytest.mark.parametrize("provider,attr", SCHEMAS)
def test_bad_values_show_the_fields_own_message(app, provider, attr):
    schema = getattr(provider, attr)
    checked = 0
    for f in schema:
        for raw, allow_loopback in bad_values(f):
            posted = {**_good_post(schema), f.name: raw}
            with app.test_request_context():
                form = schema_form(schema, prefix="p", formdata=_post("p", posted))
                _, errors = form.clean(allow_loopback=allow_loopback)
                html = render_template_string(RENDER, form=form)
            expected = _expected_message(f, raw, allow_loopback)
            assert errors.get(f.name) == expected
            assert form[f.name].errors == [expected]
            assert str(escape(expected)) in html
            assert "is-invalid" in html
            checked += 1
    if any(f.type != "bool" for f in schema):
        assert checked, "no bad value was tried"


def test_messages_for_the_documented_bad_inputs(app):
    """The brief's examples, spelled out on ShipStation (a url, an int, a choice field)."""
    ss = all_providers()["shipstation"]
    with app.test_request_context():
        creds = schema_form(ss.credentials, prefix="credentials", formdata=MultiDict(
            {"credentials-api_key": "k", "credentials-api_secret": "s", "credentials-base_url": "ftp://x"}))
        _, errors = creds.clean(allow_loopback=False)
        assert creds["base_url"].errors == ["API URL must be a full https:// address."]

        creds = schema_form(ss.credentials, prefix="credentials", formdata=MultiDict(
            {"credentials-api_key": "k", "credentials-api_secret": "s", "credentials-base_url": "http://example.com"}))
        creds.clean(allow_loopback=False)
        assert creds["base_url"].errors == ["API URL must use https://."]

        creds = schema_form(ss.credentials, prefix="credentials", formdata=MultiDict(
            {"credentials-api_key": "k", "credentials-api_secret": "s",
             "credentials-base_url": "http://127.0.0.1:9/shipstation"}))
        _, errors = creds.clean(allow_loopback=False)
        assert "points at this machine" in creds["base_url"].errors[0]
        _, errors = creds.clean(allow_loopback=True)
        assert errors == {}

        settings = schema_form(ss.account_settings, prefix="settings", formdata=MultiDict(
            {"settings-store_id": "twelve", "settings-time_zone": "Mars/Olympus"}))
        settings.clean()
        assert settings["store_id"].errors == ["Store ID must be a whole number."]
        assert settings["time_zone"].errors[0].startswith("Default time zone: choose one of")


def test_required_fields_are_marked_and_required_message_shown(app):
    ss = all_providers()["shipstation"]
    with app.test_request_context():
        form = schema_form(ss.credentials, prefix="credentials", formdata=MultiDict())
        _, errors = form.clean()
        html = render_template_string(RENDER, form=form)
    assert errors["api_key"] == "API Key is required."
    assert errors["api_secret"] == "API Secret is required."
    assert "base_url" not in errors  # has a default
    assert html.count('title="Required"') == 2


def test_stored_secret_is_no_longer_marked_required(app):
    ss = all_providers()["shipstation"]
    with app.test_request_context():
        form = schema_form(ss.credentials, prefix="credentials", stored={"api_key": "k", "api_secret": "s3cr3t!"})
        html = render_template_string(RENDER, form=form)
    assert form.is_required("api_key") and not form.is_required("api_secret")
    assert "s3cr3t!" not in html
    assert f'placeholder="{STORED_SECRET_PLACEHOLDER}"' in html


def test_every_field_type_round_trips(app):
    """Types no current provider uses yet (bool, text, decimal, optional choice) work too."""
    from webapp.providers.fields import Field, schema

    all_types = schema(
        Field("name", "Name", required=True), Field("token", "Token", type="secret"),
        Field("endpoint", "Endpoint", type="url"), Field("count", "Count", type="int", min=1, max=9),
        Field("ratio", "Ratio", type="decimal", min=0), Field("active", "Active", type="bool", default=True),
        Field("mode", "Mode", type="choice", choices=(("a", "Alpha"), ("b", "Beta"))),
        Field("notes", "Notes", type="text"),
    )
    with app.test_request_context():
        fresh = schema_form(all_types, prefix="x")
        html = render_template_string(RENDER, form=fresh)
        assert 'type="checkbox"' in html and "checked" in html  # bool default True
        assert "<textarea" in html and '<option value="">— none —</option>' in html

        posted = MultiDict({"x-name": "n", "x-token": "t0ken", "x-endpoint": "https://e.example", "x-count": "3",
                            "x-ratio": "0.25", "x-mode": "b", "x-notes": "line 1\nline 2"})  # checkbox off
        form = schema_form(all_types, prefix="x", formdata=posted)
        values, errors = form.clean()
        assert errors == {}
        assert values == {"name": "n", "token": "t0ken", "endpoint": "https://e.example", "count": 3,
                          "ratio": "0.25", "active": False, "mode": "b", "notes": "line 1\nline 2"}

        again = schema_form(all_types, prefix="x", stored=values)
        html = render_template_string(RENDER, form=again)
        assert "t0ken" not in html and STORED_SECRET_PLACEHOLDER in html
        assert 'value="0.25"' in html and "line 1\nline 2</textarea>" in html
        assert not again["active"].data

        bad = schema_form(all_types, prefix="x", formdata=MultiDict({"x-count": "99", "x-ratio": "-1", "x-mode": "z"}))
        _, errors = bad.clean()
        assert bad["count"].errors == ["Count must be at most 9."]
        assert bad["ratio"].errors == ["Ratio must be at least 0."]
        assert bad["mode"].errors == ["Mode: choose one of Alpha, Beta."]
        assert bad["name"].errors == ["Name is required."]


def test_swap_keeps_defaults_of_checkboxes_that_were_not_on_the_page(app):
    from webapp.providers.fields import Field, schema

    s = schema(Field("active", "Active", type="bool", default=True), Field("other", "Other"))
    with app.test_request_context():
        swapped = schema_form(s, prefix="x", formdata=MultiDict({"x-other": "kept"}), keep_unposted_bools=True)
        assert swapped["active"].data is True and swapped["other"].data == "kept"
        posted = schema_form(s, prefix="x", formdata=MultiDict({"x-other": "kept"}))
        assert posted["active"].data is False  # a real submit: unchecked means off
