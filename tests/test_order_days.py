"""order_days (migration 0014): orders per UTC day, kept by triggers whatever writes the
orders, and the unfiltered orders list's deep pages found through them."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, insert, select, update

from webapp.extensions import db
from webapp.models import Order, OrderDay, Site
from webapp.storefront import queries

NOON = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)


def _counted() -> dict:
    return {day: n for day, n in db.session.execute(select(OrderDay.day, OrderDay.orders)) if n}


def _actual() -> dict:
    return dict(Counter(placed.date() for placed in db.session.scalars(select(Order.placed_at))))


@pytest.fixture
def shop_sites(factory):
    return factory.site(slug="north"), factory.site(slug="south")


def test_day_counts_follow_every_way_orders_are_written(factory, shop_sites):
    north, south = shop_sites
    # the ORM, one order at a time, either side of midnight UTC
    for hours in (0, 11, 12, 13, 36, 37):
        factory.order(north, placed_at=NOON - timedelta(hours=hours))
    # one multi-row INSERT statement (a bulk import)
    db.session.execute(insert(Order), [
        {"number": f"BULK-{n}", "site_id": south.id, "placed_at": NOON - timedelta(days=n % 4),
         "customer_email": "", "billing_address": {}} for n in range(10)])
    db.session.commit()
    assert _counted() == _actual() and sum(_counted().values()) == 16

    moved = db.session.scalar(select(Order).where(Order.number == "BULK-1"))
    moved.placed_at = NOON - timedelta(days=30)  # another day
    db.session.commit()
    db.session.execute(update(Order).where(Order.number == "BULK-2").values(placed_at=NOON - timedelta(days=2, hours=1)))
    db.session.execute(update(Order).where(Order.number.like("BULK-%")).values(notes="touched"))  # no day moves
    db.session.commit()
    assert _counted() == _actual()

    db.session.execute(delete(Order).where(Order.site_id == south.id, Order.number != "BULK-1"))
    db.session.commit()
    db.session.delete(db.session.scalar(select(Order).where(Order.number == "BULK-1")))
    db.session.commit()
    assert _counted() == _actual() and sum(_counted().values()) == 6


def test_a_rolled_back_import_leaves_the_counts_as_they_were(factory, shop_sites):
    north, _ = shop_sites
    factory.order(north, placed_at=NOON)
    before = _counted()
    db.session.add(Order(number="LOST", site_id=north.id, placed_at=NOON, customer_email="", billing_address={}))
    db.session.flush()
    db.session.rollback()
    assert _counted() == before == _actual()


def test_every_site_deep_pages_are_the_rows_the_offset_walk_gives(factory, shop_sites):
    """Pages that start inside a day, on a day's first order, and span several days; orders
    with the same placed_at are ordered by id like the index."""
    north, south = shop_sites
    for n in range(60):
        site = north if n % 3 else south
        # uneven days: some empty, some with a dozen orders, ties on placed_at
        day = n // 12 * 2 + (n % 5 == 0)
        factory.order(site, number=f"O-{n:02d}", placed_at=NOON - timedelta(days=day, minutes=n % 4))
    every = [s.id for s in Site.query]
    walk = [number for (number,) in db.session.execute(
        select(Order.number).order_by(Order.placed_at.desc(), Order.id.desc()))]
    for per_page in (7, 12, 25):
        for page in range(1, 60 // per_page + 3):
            shown = queries.orders_page(queries.OrderFilter(site_ids=every), page, per_page=per_page)
            last = min(page, -(-60 // per_page))
            assert shown.total == 60 and shown.page == last
            assert [o.number for o in shown.items] == walk[(last - 1) * per_page:last * per_page], (per_page, page)


def test_day_counts_are_used_only_when_the_scope_is_every_site(factory, shop_sites):
    north, south = shop_sites
    for n in range(5):
        factory.order(north, placed_at=NOON - timedelta(days=n))
        factory.order(south, placed_at=NOON - timedelta(days=n))
    assert queries.OrderDays.of_every_site([north.id]) is None
    assert queries.OrderDays.of_every_site([north.id, south.id]).total == 10
    page = queries.orders_page(queries.OrderFilter(site_ids=[north.id]), 1, per_page=50)
    assert page.total == 5 and {o.site_id for o in page.items} == {north.id}


def test_no_orders_yet(factory, shop_sites):
    north, south = shop_sites
    days = queries.OrderDays.of_every_site([north.id, south.id])
    assert days is not None and days.total == 0
    page = queries.orders_page(queries.OrderFilter(site_ids=[north.id, south.id]), 3)
    assert page.total == 0 and page.items == [] and page.page == 1
