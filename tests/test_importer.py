"""Order import: validation, per-record transactions, re-import updates, report and CLI."""
from __future__ import annotations

import copy
import io
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.extensions import db
from webapp.models import ItemFile, Order, OrderEvent, OrderItem
from webapp.storefront.importer import COUNTRY_CODES, import_orders, import_orders_file
from webapp.storefront.orders import order_changed, set_item_status

FIXTURES = Path(__file__).parent / "fixtures" / "orders"
ADDRESS = {"name": "Ada Buyer", "street1": "1 Test St", "city": "Austin", "country": "US"}


@pytest.fixture
def shop(factory):
    """Site "shop-a" with two products, two shipping methods and one customer; "shop-b" empty."""
    site = factory.site(slug="shop-a", currency="USD")
    factory.product(site, sku="BC-100", name="Business Cards")
    factory.product(site, sku="FLY-200", name="Flyers A5")
    factory.shipping_method(site, name="UPS Ground", carrier="UPS", is_integrated=True)
    factory.shipping_method(site, name="Local Pickup")
    factory.site_user(site, email="Ada@Example.test")
    factory.site(slug="shop-b")
    return site


def record(number: str, **overrides) -> dict:
    """A valid record; overrides replace top-level keys, item=... replaces keys of the only item."""
    item = {"sku": "BC-100", "name": "Business Cards", "quantity": 250, "unit_price": 0.12,
            "approval": "approved", "status": "Order Received", "ship_to": dict(ADDRESS),
            "shipping_method": "UPS Ground", "requested_ship_date": "2026-12-01",
            "files": [{"kind": "upload", "state": "ready", "url": "https://files.example.test/a.pdf"}]}
    item.update(overrides.pop("item", {}))
    data = {"number": number, "site": "shop-a", "customer_email": "ada@example.test",
            "placed_at": "2026-11-20T10:00:00Z", "paid": True, "po_number": "", "notes": "",
            "billing_address": dict(ADDRESS), "items": [item]}
    data.update(overrides)
    return data


def order(number: str) -> Order | None:
    db.session.expire_all()
    return Order.query.filter_by(number=number).one_or_none()


def test_good_file_imports_everything(shop):
    report = import_orders_file(str(FIXTURES / "good.json"))

    assert report.imported == ["W-1001", "W-1002", "W-1003"]
    assert report.rejected == [] and report.updated == []
    first = order("W-1001")
    assert first.site_id == shop.id and first.currency == "USD"
    assert first.customer is not None and first.customer.email == "Ada@Example.test"
    assert first.placed_at == datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    assert first.paid and first.paid_by == "import" and first.paid_at is not None
    assert first.billing_address["country"] == "US"  # uppercased
    assert set(first.billing_address) >= {"street2", "phone", "email"}  # every field present
    assert (first.subtotal, first.shipping_total, first.tax_total, first.total) == (
        Decimal("80.00"), Decimal("9.50"), Decimal("6.60"), Decimal("96.10"))
    cards, flyers = first.items
    assert (cards.line_number, cards.product.sku, cards.quantity, cards.unit_price) == (
        1, "BC-100", 250, Decimal("0.1200"))
    assert cards.status == "In Production"  # matched case-insensitively, stored canonical
    assert cards.approval == "approved" and cards.approval_by == "import"
    assert cards.shipping_method.name == "UPS Ground" and cards.shipping_method_name == "UPS Ground"
    assert cards.requested_ship_date == date(2026, 12, 1)
    assert [(f.kind, f.state) for f in cards.files] == [("upload", "ready")]
    assert flyers.product.sku == "FLY-200" and flyers.ship_to["city"] == "Dallas"
    assert flyers.shipping_method.name == "Local Pickup" and flyers.requested_ship_date is None
    assert first.status == "Order Received"  # the least advanced live item

    second = order("W-1002")
    assert second.customer_id is None  # no site user with that email
    assert second.placed_at == datetime(2026, 11, 21, 7, 30, tzinfo=timezone.utc)
    assert second.status == "Awaiting Payment" and second.total is None
    assert [(f.kind, f.state) for f in second.items[0].files] == [("edoc", "pending")]

    events = OrderEvent.query.filter_by(kind="imported").all()
    assert sorted(e.order.number for e in events) == ["W-1001", "W-1002", "W-1003"]
    assert all(e.actor == "import" and e.created_at is not None for e in events)


def test_unknown_sku_and_shipping_method_are_kept_with_warnings(shop):
    report = import_orders_file(str(FIXTURES / "good.json"))

    item = order("W-1003").items[0]
    assert item.product_id is None and item.name == "Custom Quote Job" and item.sku == "CUSTOM-9"
    assert item.shipping_method_id is None and item.shipping_method_name == "Teleport"
    assert report.warnings == [
        ("W-1003", "item 1 SKU 'CUSTOM-9' matches no product of site 'shop-a'; kept as 'Custom Quote Job'"),
        ("W-1003", "item 1 shipping method 'Teleport' matches no shipping method of site 'shop-a'; "
                   "kept by name"),
    ]
    assert list(report.lines()) == [
        "imported W-1001",
        "imported W-1002",
        "imported W-1003",
        "warning W-1003: item 1 SKU 'CUSTOM-9' matches no product of site 'shop-a'; kept as 'Custom Quote Job'",
        "warning W-1003: item 1 shipping method 'Teleport' matches no shipping method of site 'shop-a'; "
        "kept by name",
        "3 imported, 0 updated, 0 rejected, 2 warnings",
    ]


def _without(data: dict, *path: str) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


BAD_RECORDS = [
    # (record, key in the report, the reason expected)
    ("a string", "#2", "record is not an object (got string)"),
    (_without(record("x"), "number"), "#3", "number is missing"),
    (record("   "), "#4", "number is blank"),
    (record("B-01", site="nope"), "B-01", "unknown site 'nope'"),
    (record("B-02", placed_at="20 Nov 2026"), "B-02", "placed_at '20 Nov 2026' is not an ISO-8601 date-time"),
    (_without(record("B-03"), "placed_at"), "B-03", "placed_at is missing"),
    (record("B-04", paid="yes"), "B-04", "paid must be true or false (got 'yes')"),
    (_without(record("B-05"), "paid"), "B-05", "paid must be true or false (got null)"),
    (_without(record("B-06"), "billing_address", "city"), "B-06",
     "billing_address is missing required field 'city'"),
    (record("B-07", billing_address={**ADDRESS, "name": " "}), "B-07",
     "billing_address is missing required field 'name'"),
    (record("B-08", billing_address={**ADDRESS, "country": "XX"}), "B-08",
     "billing_address country 'XX' is not an ISO 3166-1 alpha-2 code"),
    (record("B-09", billing_address={**ADDRESS, "country": "USA"}), "B-09",
     "billing_address country 'USA' is not an ISO 3166-1 alpha-2 code"),
    (record("B-10", billing_address={**ADDRESS, "country": "UK"}), "B-10",
     "billing_address country 'UK' is not an ISO 3166-1 alpha-2 code; did you mean 'GB'?"),
    (_without(record("B-11"), "billing_address"), "B-11", "billing_address is missing"),
    (record("B-12", customer_email="ada-at-example"), "B-12",
     "customer_email 'ada-at-example' is malformed: An email address must have an @-sign."),
    (record("B-13", billing_address={**ADDRESS, "email": "x@"}), "B-13",
     "billing_address email 'x@' is malformed"),
    (record("B-14", items=[]), "B-14", "no items"),
    (_without(record("B-15"), "items"), "B-15", "no items"),
    (record("B-16", item={"quantity": 0}), "B-16", "item 1 quantity must be an integer ≥ 1 (got 0)"),
    (record("B-17", item={"quantity": 2.5}), "B-17", "item 1 quantity must be an integer ≥ 1 (got 2.5)"),
    (record("B-18", item={"quantity": "3"}), "B-18", "item 1 quantity must be an integer ≥ 1 (got '3')"),
    (record("B-19", item={"unit_price": -0.01}), "B-19",
     "item 1 unit_price must be between 0 and 100,000,000 (got -0.01)"),
    (record("B-20", item={"unit_price": "0.12"}), "B-20", "item 1 unit_price must be a number (got '0.12')"),
    (record("B-21", item={"approval": "maybe"}), "B-21",
     "item 1 approval 'maybe' is not one of pending, approved, denied"),
    (record("B-22", item={"status": "Lost"}), "B-22", "item 1 status 'Lost' is not one of Order Received, "
     "In Production, Ready to Ship, Shipped, Completed, On Hold, Cancelled"),
    (record("B-23", item={"requested_ship_date": "2026-02-30"}), "B-23",
     "item 1 requested_ship_date '2026-02-30' is not a date (YYYY-MM-DD)"),
    (record("B-24", item={"files": [{"kind": "zip", "state": "ready"}]}), "B-24",
     "item 1 file 1 kind 'zip' is not one of upload, edoc"),
    (record("B-25", item={"files": [{"kind": "edoc", "state": "done"}]}), "B-25",
     "item 1 file 1 state 'done' is not one of pending, ready"),
    (record("B-26", totals={"subtotal": 10, "total": "12"}), "B-26", "totals total must be a number (got '12')"),
    (record("B-27", item={"ship_to": {**ADDRESS, "country": "Germany"}}), "B-27",
     "item 1 ship_to country 'Germany' is not an ISO 3166-1 alpha-2 code"),
    (record("B-28", item={"name": ""}), "B-28", "item 1 name is blank"),
    (record("G-1", po_number="dup"), "G-1", "number 'G-1' already appears in record #1 of this input"),
]


def test_every_bad_record_is_rejected_with_its_reason_and_good_ones_still_import(shop):
    records = [record("G-1")] + [bad for bad, _, _ in BAD_RECORDS] + [record("G-2")]

    report = import_orders(records)

    assert report.imported == ["G-1", "G-2"]
    reasons = dict(report.rejected)
    assert len(reasons) == len(report.rejected) == len(BAD_RECORDS)
    for _, key, reason in BAD_RECORDS:
        assert key in reasons, key
        assert reason in reasons[key], (key, reasons[key])
    assert sorted(o.number for o in Order.query.all()) == ["G-1", "G-2"]
    assert order("G-1").po_number == ""  # the duplicate did not overwrite the first
    assert "2 imported, 0 updated, 32 rejected, 0 warnings" == list(report.lines())[-1]


def test_one_record_reports_all_of_its_problems(shop):
    bad = record("B-1", paid=1, item={"quantity": -5, "approval": "ok"})

    report = import_orders([bad])

    assert report.rejected == [("B-1", "paid must be true or false (got 1); item 1 quantity must be an "
                                       "integer ≥ 1 (got -5); item 1 approval 'ok' is not one of pending, "
                                       "approved, denied")]


def test_unknown_fields_are_warned_about_not_silently_dropped(shop):
    report = import_orders([record("W-1", Paid=True, item={"qty": 3})])

    assert report.imported == ["W-1"]
    assert report.warnings == [
        ("W-1", "order field 'Paid' is not part of the format; ignored"),
        ("W-1", "item 1 field 'qty' is not part of the format; ignored"),
    ]


def test_reimport_updates_the_order_instead_of_duplicating_it(shop):
    two_lines = record("W-1", items=[record("x")["items"][0],
                                     {**record("x")["items"][0], "sku": "FLY-200", "name": "Flyers"}])
    assert import_orders([two_lines]).imported == ["W-1"]
    original = order("W-1")
    order_id, line_ids = original.id, [i.id for i in original.items]
    # Staff act on line 2 before the storefront re-sends the order without it.
    set_item_status(original.items[1], "In Production", "staff@example.test")

    # Changed quantity on line 1, line 2 gone.
    changed = copy.deepcopy(two_lines)
    changed["items"][0]["quantity"] = 500
    del changed["items"][1]
    report = import_orders([changed])

    assert report.updated == ["W-1"] and report.imported == []
    updated = order("W-1")
    assert Order.query.count() == 1 and updated.id == order_id
    assert [(i.id, i.line_number, i.quantity) for i in updated.items] == [(line_ids[0], 1, 500)]
    assert OrderItem.query.count() == 1 and ItemFile.query.count() == 1
    staff_event = OrderEvent.query.filter_by(actor="staff@example.test").one()
    assert staff_event.item_id is None  # the audit trail survives the removed line
    event = OrderEvent.query.filter_by(kind="reimported").one()
    assert event.actor == "import"
    assert event.detail == "Re-imported; changed: item 1 quantity, item 2 removed"

    # A line added at the end gets the next line number; the existing line is kept.
    changed["items"].append({**changed["items"][0], "sku": "FLY-200", "name": "Flyers", "files": []})
    assert import_orders([changed]).updated == ["W-1"]
    updated = order("W-1")
    assert [(i.line_number, i.sku) for i in updated.items] == [(1, "BC-100"), (2, "FLY-200")]
    assert updated.items[0].id == line_ids[0]
    assert Order.query.count() == 1


def test_reimport_of_header_fields(shop):
    import_orders([record("W-1", paid=False)])
    assert order("W-1").status == "Awaiting Payment"

    report = import_orders([record("W-1", paid=True, po_number="PO-9", totals={"total": 30})])

    assert report.updated == ["W-1"]
    updated = order("W-1")
    assert updated.paid and updated.paid_by == "import" and updated.po_number == "PO-9"
    assert updated.total == Decimal("30.00") and updated.status == "Order Received"
    assert OrderEvent.query.filter_by(kind="reimported").one().detail == (
        "Re-imported; changed: po_number, totals, paid")


def test_identical_reimport_writes_nothing(shop):
    import_orders_file(str(FIXTURES / "good.json"))
    events = OrderEvent.query.count()
    calls = []

    with order_changed.connected_to(lambda order_id, **kw: calls.append(order_id)):
        report = import_orders_file(str(FIXTURES / "good.json"))

    assert report.unchanged == ["W-1001", "W-1002", "W-1003"] and report.updated == []
    assert list(report.lines())[-1] == "0 imported, 0 updated, 3 unchanged, 0 rejected, 2 warnings"
    assert OrderEvent.query.count() == events and calls == []
    assert Order.query.count() == 3


def test_number_existing_on_another_site_is_rejected(shop, factory):
    other_site = factory.site(slug="shop-c")
    factory.order(other_site, number="W-1001", paid=False)

    report = import_orders_file(str(FIXTURES / "good.json"))

    assert report.rejected == [("W-1001", "order W-1001 already exists on site 'shop-c'")]
    assert report.imported == ["W-1002", "W-1003"]
    kept = order("W-1001")
    assert kept.site_id == other_site.id and not kept.paid and kept.items[0].name == "Item 1"


def test_stdin_path(shop, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps([record("W-7")])))

    report = import_orders_file("-")

    assert report.imported == ["W-7"] and order("W-7") is not None


def test_unreadable_input_is_one_rejection(shop, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    report = import_orders_file(str(broken))
    assert report.rejected[0][0] == str(broken)
    assert report.rejected[0][1].startswith("not valid JSON: ")

    report = import_orders({"number": "W-1"})
    assert report.rejected == [("input", "expected a JSON list of orders, got object")]


def test_cli_exits_zero_when_everything_imported(app, shop):
    result = app.test_cli_runner().invoke(args=["orders", "import", str(FIXTURES / "good.json")])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "imported W-1001"
    assert result.output.splitlines()[-1] == "3 imported, 0 updated, 0 rejected, 2 warnings"


def test_cli_exits_one_when_a_record_was_rejected(app, shop):
    result = app.test_cli_runner().invoke(args=["orders", "import", str(FIXTURES / "mixed.json")])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "imported W-2001",
        "rejected W-2002: unknown site 'nope'",
        "rejected W-2003: item 1 quantity must be an integer ≥ 1 (got 0)",
        "1 imported, 0 updated, 2 rejected, 0 warnings",
    ]
    assert order("W-2001") is not None and order("W-2002") is None


def test_cli_reads_stdin(app, shop):
    result = app.test_cli_runner().invoke(args=["orders", "import", "-"], input=json.dumps([record("W-8")]))

    assert result.exit_code == 0, result.output
    assert "imported W-8" in result.output


def test_order_changed_fires_once_per_order_after_commit(shop):
    seen = []

    def receiver(order_id, reason):
        # A separate connection only sees committed rows.
        with db.engine.connect() as conn:
            row = conn.execute(db.select(Order.number, Order.status).where(Order.id == order_id)).one_or_none()
        seen.append((row, reason))

    with order_changed.connected_to(receiver):
        import_orders_file(str(FIXTURES / "good.json"))

    assert seen == [(("W-1001", "Order Received"), "import"), (("W-1002", "Awaiting Payment"), "import"),
                    (("W-1003", "Order Received"), "import")]

    seen.clear()
    with order_changed.connected_to(receiver):
        import_orders([record("W-1003", site="shop-a", paid=False)])
    assert seen == [(("W-1003", "Awaiting Payment"), "import")]


def test_country_list_is_complete():
    tzdata = pytest.importorskip("tzdata")
    table = Path(tzdata.__file__).parent / "zoneinfo" / "iso3166.tab"
    codes = {line.split("\t")[0] for line in table.read_text().splitlines() if line and not line.startswith("#")}
    assert COUNTRY_CODES == codes


def test_bad_reimport_leaves_the_existing_order_untouched(shop):
    import_orders([record("W-1", paid=False)])
    before = order("W-1")
    snapshot = (before.paid, before.updated_at, [(i.quantity, i.approval) for i in before.items])

    report = import_orders([record("W-1", paid=True, item={"quantity": 0})])

    assert report.rejected == [("W-1", "item 1 quantity must be an integer ≥ 1 (got 0)")]
    after = order("W-1")
    assert (after.paid, after.updated_at, [(i.quantity, i.approval) for i in after.items]) == snapshot
    assert OrderEvent.query.count() == 1


def test_reimported_approval_and_file_state_are_attributed_to_the_import(shop):
    import_orders([record("W-1", item={"approval": "pending", "files": [{"kind": "edoc", "state": "pending"}]})])
    assert order("W-1").status == "Awaiting Approval"

    import_orders([record("W-1", item={"approval": "APPROVED", "files": [{"kind": "edoc", "state": "ready"}]})])

    item = order("W-1").items[0]
    assert (item.approval, item.approval_by) == ("approved", "import") and item.approval_at is not None
    assert (item.files[0].state, item.files[0].ready_by) == ("ready", "import")
    assert order("W-1").status == "Order Received"


# --- hostile records (issue 11, item 10): each is that record's error, the rest still import ----

def test_hostile_records_are_rejected_one_by_one_and_the_file_goes_on(shop, tmp_path):
    good = [json.dumps(record(f"H-{n}")) for n in range(1, 4)]
    deep = "[" * 100_000 + "]" * 100_000
    hostile = [
        json.dumps(record("H-OVER", placed_at="9999-12-31T23:59:59-05:00")),
        json.dumps(record("H-OLD", placed_at="0001-01-01T00:00:00+05:00")),
        json.dumps(record("H-SLASH/1")),
        json.dumps(record("H-BACK\\1")),
        '{"number": "H-DIGITS", "site": "shop-a", "totals": {"total": ' + "9" * 5000 + "}}",
        '{"number": "H-DEEP", "notes": ' + deep + "}",
        deep,
    ]
    path = tmp_path / "hostile.json"
    path.write_text("[" + ", ".join([good[0], *hostile[:4], good[1], *hostile[4:], good[2]]) + "]")
    report = import_orders_file(str(path))
    assert sorted(report.imported) == ["H-1", "H-2", "H-3"]
    reasons = dict(report.rejected)
    assert len(report.rejected) == len(hostile), report.rejected
    assert "out of range" in reasons["H-OVER"] and "out of range" in reasons["H-OLD"]
    assert "'/'" in reasons["H-SLASH/1"] and "H-BACK\\1" in reasons
    assert all("not valid JSON" in reasons[key] for key in ("#7", "#8", "#9")), reasons
    assert order("H-SLASH/1") is None and order("H-3") is not None


def test_a_file_that_is_not_a_list_is_still_one_clear_rejection(shop, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a": ' * 50_000 + "1" + "}" * 50_000)
    report = import_orders_file(str(path))
    assert len(report.rejected) == 1 and "not valid JSON" in report.rejected[0][1]
