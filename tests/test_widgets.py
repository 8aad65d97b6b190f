"""Rendering shortcuts of the lists give exactly the markup of the slow path: FastSelect what
wtforms' Select renders, url_maker what url_for builds."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms import SelectField as PlainSelectField
from wtforms.widgets import Select

from flask import url_for

from webapp.blueprints.forms import OrderFilterForm, SelectField
from webapp.blueprints.params import url_maker
from webapp.blueprints.widgets import FastSelect

TRICKY = [("", "Any"), ("a&b", "A & B"), ('q"uote', "<b>bold</b>"), ("x'y", ""), ("ünï", "Ünï")]


def _both(choices, data, **field_kw):
    class Fast(Form):
        f = SelectField("F", choices=choices, **field_kw)

    class Plain(Form):
        f = PlainSelectField("F", choices=choices, **field_kw)

    fast, plain = Fast(MultiDict(data)), Plain(MultiDict(data))
    return fast.f, plain.f


@pytest.mark.parametrize("data", [{}, {"f": "a&b"}, {"f": 'q"uote'}, {"f": "missing"}])
def test_same_markup_as_wtforms_for_strings_and_escaping(data):
    fast, plain = _both(TRICKY, data)
    assert isinstance(fast.widget, FastSelect)
    assert str(fast()) == str(plain())
    assert str(fast(class_="form-select", required=True)) == str(plain(class_="form-select", required=True))
    assert 'value="a&amp;b"' in str(fast()) and "&lt;b&gt;bold&lt;/b&gt;" in str(fast())


def test_same_markup_for_int_and_bool_values_and_dict_choices():
    fast, plain = _both([(1, "One"), (2, "Two & more")], {"f": "2"}, coerce=int)
    assert str(fast()) == str(plain()) and "selected" in str(fast())
    fast, plain = _both([(True, "Yes"), (False, "No")], {})
    assert str(fast()) == str(plain())
    fast, plain = _both({"": "Any status", "Shipped": "Shipped"}, {"f": "Shipped"})
    assert str(fast()) == str(plain())


def test_groups_and_per_option_attributes_fall_back_to_wtforms():
    fast, plain = _both({"Cards": [("a", "A")], "Flyers": [("b", "B")]}, {"f": "b"})
    assert "<optgroup" in str(fast()) and str(fast()) == str(plain())
    fast, plain = _both([("a", "A", {"disabled": True}), ("b", "B")], {})
    assert "disabled" in str(fast()) and str(fast()) == str(plain())


def test_orders_filter_form_renders_as_before(app_ctx):
    class Site:
        def __init__(self, slug, name):
            self.slug, self.name = slug, name

    sites = [Site(f"s-{n}", f"Site & {n}") for n in range(5)]
    form = OrderFilterForm(MultiDict({"site": "s-3", "status": "Shipped", "push": "failed"}), sites=sites)
    for name in ("site", "status", "push"):
        field = form[name]
        assert str(field()) == str(Select()(field)), name


@pytest.mark.parametrize("value", ["W-0000001", "a b", "x/y", "q?x=1#f", "ünï€", "100%", "a+b&c;d=e@f", "..", "'\"<>"])
def test_url_maker_builds_what_url_for_builds(app, value):
    with app.test_request_context("/", base_url="http://hub.example/prefix"):
        assert url_maker("orders.detail", "order_number")(value) == url_for("orders.detail", order_number=value)
        assert url_maker("orders.site_orders", "site_slug")(value) == url_for("orders.site_orders", site_slug=value)
