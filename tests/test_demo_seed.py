"""Demo seed: idempotent, covers every push-eligibility case, admins see the right sites."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from webapp.extensions import db
from webapp.models import Admin, Category, ItemFile, Order, OrderEvent, OrderItem, Product, ShippingMethod, Site
from webapp.models import orders as o
from webapp.storefront.demo import DEMO_PASSWORD, seed_demo


def _snapshot() -> dict:
    """Every row count plus the identity of every order, read straight from the database."""
    db.session.expire_all()
    return {
        "tables": {t.name: db.session.execute(db.select(db.func.count()).select_from(t)).scalar()
                   for t in db.metadata.sorted_tables},
        "orders": sorted(db.session.execute(db.select(Order.number, Order.status, Order.placed_at)).all()),
    }


@pytest.fixture
def seeded(app_ctx):
    return seed_demo()


def _orders() -> list[Order]:
    return Order.query.filter(Order.number.like("NW-%")).order_by(Order.number).all()


def _live(order: Order) -> list[OrderItem]:
    return [i for i in order.items if i.status != o.CANCELLED and i.approval != o.APPROVAL_DENIED]


def _ready_to_push(order: Order) -> bool:
    """The product rules: paid; all approved (or approved + denied); no pending file; no cancelled item."""
    approvals = {i.approval for i in order.items}
    return (order.paid
            and approvals in ({o.APPROVAL_APPROVED}, {o.APPROVAL_APPROVED, o.APPROVAL_DENIED})
            and not any(f.state == o.FILE_PENDING for i in order.items for f in i.files)
            and all(i.status in o.ITEM_STATUSES and i.status != o.CANCELLED for i in order.items))


def test_summary_counts(seeded):
    assert seeded == {
        "company": "Northwind Print Co.", "sites": 3, "admins": 3, "categories": 39, "products": 60,
        "users": 18, "shipping_methods": 12, "orders": 52, "login_email": "admin@demo.test",
    }
    assert Category.query.count() == 39 and Product.query.count() == 60


def test_seeding_twice_changes_nothing(seeded):
    before = _snapshot()

    again = seed_demo()

    assert again == seeded
    assert _snapshot() == before


def test_sites_catalogue_and_shipping(seeded):
    sites = {s.slug: s for s in Site.query.all()}
    assert {slug: s.currency for slug, s in sites.items()} == {
        "northwind-b2b": "USD", "city-council": "USD", "promo-shop": "EUR"}
    assert all(s.name and s.domain for s in sites.values())

    cards = Category.query.filter_by(site_id=sites["northwind-b2b"].id, name="Business Cards").one()
    assert cards.path() == "Root / Business Stationery / Business Cards"
    products = Product.query.all()
    assert {p.source for p in products} == {"demo"}
    assert 0 < sum(not p.active for p in products) < len(products) // 4
    assert all(p.category.parent is not None and not p.category.is_root for p in products)

    for site in sites.values():
        methods = {m.name: m for m in ShippingMethod.query.filter_by(site_id=site.id)}
        assert methods["UPS Ground"].is_integrated and methods["UPS Ground"].carrier == "UPS"
        assert methods["FedEx 2Day"].is_integrated and methods["FedEx 2Day"].carrier == "FedEx"
        assert not methods["Local Pickup"].is_integrated and not methods["Courier"].is_integrated
        assert methods["Courier"].integration_id and not methods["Local Pickup"].integration_id


def test_admins_and_their_site_access(seeded):
    sites = {s.slug: s for s in Site.query.all()}
    admins = {a.email: a for a in Admin.query.all()}
    assert set(admins) == {"admin@demo.test", "ops@demo.test", "promo@demo.test"}
    assert all(a.check_password(DEMO_PASSWORD) for a in admins.values())

    boss = admins["admin@demo.test"]
    assert boss.is_super and boss.name == "Demo Admin"
    assert all(boss.can_access(s) for s in sites.values())
    ops, promo = admins["ops@demo.test"], admins["promo@demo.test"]
    assert not ops.is_super and not promo.is_super
    assert {s.slug for s in ops.sites} == {"northwind-b2b", "city-council"}
    assert not ops.can_access(sites["promo-shop"])
    assert {s.slug for s in promo.sites} == {"promo-shop"}
    assert not promo.can_access(sites["northwind-b2b"])


def test_orders_cover_every_eligibility_case(seeded):
    orders = _orders()
    assert [x.number for x in orders][:2] == ["NW-10001", "NW-10002"] and len(orders) == 52
    now = datetime.now(timezone.utc)
    assert all(now - timedelta(days=20, hours=1) <= x.placed_at <= now for x in orders)
    assert len({x.site_id for x in orders}) == 3

    def some(predicate) -> list[Order]:
        found = [x for x in orders if predicate(x)]
        assert found, predicate.__doc__
        return found

    def files(x):
        return [f for i in x.items for f in i.files]

    def unpaid(x):
        """unpaid"""
        return not x.paid and x.status == o.ORDER_AWAITING_PAYMENT

    def pending_approval(x):
        """pending approval"""
        return x.paid and x.status == o.ORDER_AWAITING_APPROVAL

    def approved_and_denied(x):
        """one approved, the rest denied (still pushable)"""
        return {i.approval for i in x.items} == {o.APPROVAL_APPROVED, o.APPROVAL_DENIED} and _ready_to_push(x)

    def all_denied(x):
        """all denied"""
        return {i.approval for i in x.items} == {o.APPROVAL_DENIED} and x.status == o.ORDER_CANCELLED

    def pending_edoc(x):
        """pending eDocBuilder file"""
        return x.paid and any(f.kind == o.FILE_EDOC and f.state == o.FILE_PENDING for f in files(x))

    def pending_upload(x):
        """pending upload"""
        return x.paid and any(f.kind == o.FILE_UPLOAD and f.state == o.FILE_PENDING for f in files(x))

    def cancelled_among_approved(x):
        """a cancelled item among approved ones"""
        statuses = [i.status for i in x.items]
        return o.CANCELLED in statuses and len(_live(x)) >= 1 and not _ready_to_push(x)

    def fully_ready(x):
        """fully ready"""
        return _ready_to_push(x) and {i.approval for i in x.items} == {o.APPROVAL_APPROVED}

    def two_addresses(x):
        """ships to two addresses"""
        return len({json.dumps(i.ship_to, sort_keys=True) for i in x.items}) == 2

    def unknown_sku(x):
        """an item whose SKU matches no product"""
        return any(i.product_id is None and i.sku for i in x.items)

    def integrated(x):
        """integrated shipping method"""
        return any(i.shipping_method and i.shipping_method.is_integrated for i in x.items)

    def non_integrated(x):
        """non-integrated shipping method"""
        return any(i.shipping_method and not i.shipping_method.is_integrated for i in x.items)

    def shipped_or_completed(x):
        """shipped and completed items"""
        return x.status in (o.SHIPPED, o.COMPLETED)

    for case in (unpaid, pending_approval, approved_and_denied, all_denied, pending_edoc, pending_upload,
                 cancelled_among_approved, fully_ready, two_addresses, unknown_sku, integrated, non_integrated,
                 shipped_or_completed):
        some(case)
    assert {x.status for x in orders} >= {o.SHIPPED, o.COMPLETED, o.ON_HOLD, o.ORDER_AWAITING_FILES}
    assert sum(_ready_to_push(x) for x in orders) >= 10
    assert ItemFile.query.count() > 0


def test_orders_went_through_the_importer(seeded):
    events = OrderEvent.query.filter_by(kind="imported").all()
    assert len(events) == 52 and {e.actor for e in events} == {"import"}
    linked = [x for x in _orders() if x.customer is not None]
    assert len(linked) == 52 and all(x.customer.site_id == x.site_id for x in linked)


def test_seed_demo_cli(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    summary = json.loads(first.output)
    assert summary["orders"] == 52 and summary["login_email"] == "admin@demo.test"
    assert json.loads(second.output) == summary
    assert DEMO_PASSWORD not in first.output


def test_demo_has_many_unpaid_ready_orders_on_the_live_sites(seeded):
    live_sites = {s.id for s in Site.query}  # every demo site has live demo accounts
    unpaid_ready = [x for x in _orders() if x.site_id in live_sites and not x.paid
                    and all(i.approval == o.APPROVAL_APPROVED for i in x.items)
                    and not any(f.state == o.FILE_PENDING for i in x.items for f in i.files)]
    assert len(unpaid_ready) >= 12
    assert {x.site_id for x in unpaid_ready} == live_sites


def test_seed_demo_reset_starts_the_demo_over(app, seeded):
    from webapp.storefront import orders as uc

    order = Order.query.filter_by(number="NW-10041").one()
    uc.mark_paid(order, "ops@demo.test")
    assert Order.query.filter_by(number="NW-10041").one().paid
    result = app.test_cli_runner().invoke(args=["seed-demo", "--reset"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["orders"] == 52
    db.session.expire_all()
    assert not Order.query.filter_by(number="NW-10041").one().paid
    assert OrderEvent.query.filter_by(kind="paid").count() == 0
