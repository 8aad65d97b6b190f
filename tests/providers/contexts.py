"""OrderContext builders for provider tests (no database needed)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from webapp.providers.context import (Address, CustomerContext, ItemContext, OrderContext,
                                      ShippingMethodContext)

SHIP_TO = Address(name="Ada Buyer", company="", street1="1 Test St", city="Austin", state="TX",
                  postal_code="78701", country="US", phone="555-0100", email="ada@example.test")
OFFICE = Address(name="Bob Office", company="Acme", street1="9 Main St", city="Dallas", state="TX",
                 postal_code="75201", country="US")


def item(line: int = 1, **kw) -> ItemContext:
    defaults = dict(
        line_number=line, number=f"W-1001-{line}", external_number=f"W-1001-{line}", sku=f"BC-{line}",
        name=f"Business cards {line}", product_name=f"Premium cards {line}", product_integration_id="",
        quantity=250, unit_price=Decimal("0.12"), ship_to=SHIP_TO,
        shipping_method=ShippingMethodContext(name="UPS Ground", carrier="UPS", is_integrated=True,
                                              integration_id="ups:ups_ground"),
        requested_ship_date=date(2026, 12, 1), file_urls=[f"https://files.example.test/{line}.pdf"],
    )
    defaults.update(kw)
    return ItemContext(**defaults)


def order(items=None, **kw) -> OrderContext:
    defaults = dict(
        order_id=1, number="W-1001", external_number="W-1001", idempotency_key="hub-1-W-1001",
        site_slug="b2b", site_name="B2B Shop", site_integration_id="", site_mis_id="", site_settings={},
        placed_at=datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc),
        paid_at=datetime(2026, 11, 20, 18, 5, tzinfo=timezone.utc), currency="USD", po_number="PO-7",
        notes="Rush please", billing=OFFICE, customer=CustomerContext(email="ada@example.test", first_name="Ada"),
        items=items if items is not None else [item(1)], subtotal=Decimal("30"), shipping_total=Decimal("5"),
        tax_total=Decimal("2.5"), total=Decimal("37.5"),
    )
    defaults.update(kw)
    return OrderContext(**defaults)
