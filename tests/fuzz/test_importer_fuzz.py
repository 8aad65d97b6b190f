"""The storefront order import under arbitrary JSON: it never raises, every record ends
imported, updated, unchanged or rejected with a reason, and a rejected record writes nothing.
Inputs are arbitrary JSON values, and valid records mutated one node at a time (the shape
that reaches the deepest checks)."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import Factory
from webapp.extensions import db
from webapp.models import Order
from webapp.storefront.importer import import_orders

from .strategies import json_values, mutate_json, scalars

FIXTURE = "tests/fixtures/orders/good.json"
KEYS = ["number", "site", "customer_email", "placed_at", "paid", "po_number", "notes", "billing_address",
        "totals", "items", "sku", "name", "quantity", "unit_price", "approval", "status", "ship_to",
        "shipping_method", "requested_ship_date", "files", "kind", "state", "url", "country", "street1", "city"]
LEAVES = st.one_of(scalars, st.sampled_from(["shop-a", "US", "us", "XX", "approved", "denied", "pending",
                                              "Cancelled", "in production", "2026-11-20T10:00:00Z", "2026-02-30",
                                              "not-an-email", "a@b.c", "edoc", "upload", "ready", "W-1001"]),
                   json_values(keys=st.sampled_from(KEYS), max_leaves=4))


@pytest.fixture
def templates(app_ctx):
    from pathlib import Path

    factory = Factory()
    for slug in ("shop-a", "shop-b"):
        factory.site(slug=slug)
    records = json.loads((Path(__file__).resolve().parents[2] / FIXTURE).read_text())
    assert records and all(isinstance(r, dict) for r in records)
    return records


@st.composite
def record_lists(draw, templates):
    records = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["template", "mutated", "mutated", "mutated", "random"]))
        if kind == "random":
            records.append(draw(json_values(keys=st.sampled_from(KEYS), max_leaves=8)))
            continue
        template = copy.deepcopy(draw(st.sampled_from(templates)))
        template["number"] = draw(st.sampled_from([template["number"], "F-1", "F-2", " F-3 "]))
        records.append(mutate_json(draw, template, LEAVES) if kind == "mutated" else template)
    return records


@given(data=st.data())
def test_import_accounts_for_every_record_and_never_raises(templates, data):
    records = data.draw(record_lists(templates))
    numbers_before = {o.number: o.updated_at for o in Order.query.all()}
    report = import_orders(records)
    outcomes = len(report.imported) + len(report.updated) + len(report.unchanged) + len(report.rejected)
    assert outcomes == len(records), (report.summary(), records)
    assert all(isinstance(reason, str) and reason.strip() for _, reason in report.rejected)
    assert db.session.execute(db.text("SELECT 1")).scalar() == 1  # the session is still usable
    db.session.expire_all()
    after = {o.number: o for o in Order.query.all()}
    for number in report.imported:
        assert number in after and number not in numbers_before
    rejected_numbers = {key for key, _ in report.rejected} - set(report.imported) - set(report.updated)
    for number in rejected_numbers & set(numbers_before):
        assert after[number].updated_at == numbers_before[number], number  # a rejected record wrote nothing


@given(value=json_values(max_leaves=10))
def test_anything_that_is_not_a_list_is_refused_with_a_reason(app_ctx, value):
    report = import_orders(value)
    if isinstance(value, list):
        assert len(report.rejected) + len(report.imported) + len(report.updated) + len(report.unchanged) == len(value)
    else:
        assert report.rejected and "expected a JSON list" in report.rejected[0][1]
