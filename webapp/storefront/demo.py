"""Demo data for `flask seed-demo` / `make run`: one print company, three storefront sites.

Idempotent: every record is looked up by its natural key (slugs, emails, SKUs, names, order
numbers) and created only when missing; nothing that exists is overwritten, so a second run
changes nothing. Orders go through the importer, the same path a storefront uses.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from ..extensions import db
from ..models import Admin, Category, Company, Order, Product, ShippingMethod, Site, SiteUser
from ..models import orders as o
from .importer import import_orders

log = logging.getLogger(__name__)
from .demo_data import (ADMINS, CATALOG, COMPANY, DEMO_PASSWORD, EXTRA_UNPAID, EXTRA_UNPAID_SITES,  # noqa: F401
                        FIRST_ORDER_NUMBER, LOGIN_EMAIL, ORDER_COUNT, ORDER_SPREAD_DAYS, QUANTITY_TIERS,
                        SHIPPING_METHODS, SHIPPING_PRICE, SITES, TAX_RATE, USERS)  # CATALOG, USERS: providers' demos


def seed_demo() -> dict:
    """Create whatever part of the demo data is missing; return counts of what the demo holds."""
    company = _ensure(Company, {"slug": COMPANY["slug"]}, name=COMPANY["name"])
    sites = {spec["slug"]: _ensure(Site, {"slug": spec["slug"]}, company_id=company.id,
                                   **{k: v for k, v in spec.items() if k != "slug"}) for spec in SITES}
    _seed_admins(company, sites)
    for slug, site in sites.items():
        _seed_catalog(site, CATALOG[slug])
        _seed_users(site, USERS[slug])
        _seed_shipping_methods(site)
    db.session.commit()
    imported = _seed_orders(sites)
    log.info("demo seed: %d orders imported", imported)
    return _summary(company)


def reset_demo() -> dict:
    """Start the demo over: the demo company's orders and everything that followed them (push
    state, runs and their logs, exchanges, webhook events) are deleted, then the demo is seeded
    again. Accounts, activations, settings and the catalogue stay."""
    from ..models import (ItemPush, OrderPush, ProviderAccount, ProviderExchange, RunLogLine, SyncRun,
                          WebhookEvent)
    from ..models.orders import ItemFile, OrderEvent, OrderItem

    company = Company.query.filter_by(slug=COMPANY["slug"]).first()
    if company is not None:
        site_ids = [i for (i,) in db.session.query(Site.id).filter_by(company_id=company.id)]
        account_ids = [i for (i,) in db.session.query(ProviderAccount.id).filter_by(company_id=company.id)]
        order_ids = db.session.query(Order.id).filter(Order.site_id.in_(site_ids))
        item_ids = db.session.query(OrderItem.id).filter(OrderItem.order_id.in_(order_ids))
        push_ids = db.session.query(OrderPush.id).filter(OrderPush.order_id.in_(order_ids))
        run_ids = db.session.query(SyncRun.id).filter(SyncRun.account_id.in_(account_ids))
        # Children first: SQLite does not enforce ON DELETE CASCADE unless told to.
        for query in (ItemPush.query.filter(ItemPush.push_id.in_(push_ids)),
                      OrderPush.query.filter(OrderPush.id.in_(push_ids)),
                      OrderEvent.query.filter(OrderEvent.order_id.in_(order_ids)),
                      ItemFile.query.filter(ItemFile.item_id.in_(item_ids)),
                      OrderItem.query.filter(OrderItem.id.in_(item_ids)),
                      Order.query.filter(Order.id.in_(order_ids)),
                      RunLogLine.query.filter(RunLogLine.run_id.in_(run_ids)),
                      SyncRun.query.filter(SyncRun.id.in_(run_ids)),
                      ProviderExchange.query.filter(ProviderExchange.account_id.in_(account_ids)),
                      WebhookEvent.query.filter(WebhookEvent.account_id.in_(account_ids))):
            query.delete(synchronize_session=False)
        db.session.commit()
    return seed_demo()


def _ensure(model, keys: dict, **defaults):
    """The row with these natural keys, created (with defaults) only when it does not exist."""
    row = model.query.filter_by(**keys).first()
    if row is None:
        row = model(**keys, **defaults)
        db.session.add(row)
        db.session.flush()
    return row


def _seed_admins(company: Company, sites: dict[str, Site]) -> None:
    for email, name, is_super, slugs in ADMINS:
        admin = Admin.query.filter_by(email=email).first()
        if admin is None:
            admin = Admin(company_id=company.id, email=email, name=name, is_super=is_super)
            admin.set_password(DEMO_PASSWORD)
            db.session.add(admin)
        for slug in slugs:  # add missing access, never take any away
            if sites[slug] not in admin.sites:
                admin.sites.append(sites[slug])


def _seed_catalog(site: Site, tree: dict) -> None:
    root = Category.root_for(site)
    for top_name, children in tree.items():
        top = _ensure(Category, {"site_id": site.id, "parent_id": root.id, "name": top_name})
        for child_name, products in children.items():
            child = _ensure(Category, {"site_id": site.id, "parent_id": top.id, "name": child_name})
            for sku, name, price, active in products:
                _ensure(Product, {"site_id": site.id, "sku": sku}, name=name, price=Decimal(price),
                        active=active, category_id=child.id, source="demo",
                        description=f"{name} from the {child_name.lower()} range.")


def _seed_users(site: Site, users: list) -> None:
    for email, first, last, company, phone, _address in users:
        _ensure(SiteUser, {"site_id": site.id, "email": email}, first_name=first, last_name=last,
                company_name=company, phone=phone)


def _seed_shipping_methods(site: Site) -> None:
    for name, carrier, integrated, integration_id in SHIPPING_METHODS:
        _ensure(ShippingMethod, {"site_id": site.id, "name": name}, carrier=carrier,
                is_integrated=integrated, integration_id=integration_id)


def _summary(company: Company) -> dict:
    site_ids = [s.id for s in Site.query.filter_by(company_id=company.id)]

    def count(model) -> int:
        return model.query.filter(model.site_id.in_(site_ids)).count()

    return {
        "company": company.name,
        "sites": len(site_ids),
        "admins": Admin.query.filter_by(company_id=company.id).count(),
        "categories": count(Category),
        "products": count(Product),
        "users": count(SiteUser),
        "shipping_methods": count(ShippingMethod),
        "orders": count(Order),
        "login_email": LOGIN_EMAIL,
    }


# --------------------------------------------------------------------------- orders

def _seed_orders(sites: dict[str, Site]) -> int:
    """Import the demo orders that do not exist yet (an existing one is never re-dated)."""
    records = [_order_record(index, _Shop.load(sites[SITES[index % len(SITES)]["slug"]]))
               for index in range(ORDER_COUNT)]
    records += [_order_record(ORDER_COUNT + n, _Shop.load(sites[EXTRA_UNPAID_SITES[n % len(EXTRA_UNPAID_SITES)]]),
                              scenario=("unpaid", _unpaid), hours_ago=1 + n)
                for n in range(EXTRA_UNPAID)]
    numbers = [r["number"] for r in records]
    existing = {n for (n,) in db.session.query(Order.number).filter(Order.number.in_(numbers))}
    missing = [r for r in records if r["number"] not in existing]
    if not missing:
        return 0
    report = import_orders(missing)
    if report.rejected:  # the demo data is ours: a rejection is a bug, not bad input
        raise RuntimeError(f"demo orders rejected: {report.rejected}")
    return len(report.imported)


@dataclass
class _Shop:
    """What an order of one site may use: its active products, customers and currency."""

    slug: str
    currency: str
    products: list[tuple[str, str, Decimal]]
    users: list[tuple]

    @classmethod
    def load(cls, site: Site) -> "_Shop":
        products = [(sku, name, Decimal(price)) for children in CATALOG[site.slug].values()
                    for items in children.values() for sku, name, price, active in items if active]
        return cls(site.slug, site.currency, products, USERS[site.slug])


def _address(user: tuple, name: str | None = None, street: str | None = None) -> dict:
    email, first, last, company, phone, (street1, city, state, postal_code, country) = user
    return {"name": name or f"{first} {last}", "company": company, "street1": street or street1,
            "street2": "", "city": city, "state": state, "postal_code": postal_code, "country": country,
            "phone": phone, "email": email}


def _order_record(index: int, shop: _Shop, scenario=None, hours_ago: int | None = None) -> dict:
    """One demo order; the scenario (which eligibility case it shows) cycles with the index."""
    number = f"NW-{FIRST_ORDER_NUMBER + index}"
    scenario_name, scenario = scenario or SCENARIOS[index % len(SCENARIOS)]
    user = shop.users[index % len(shop.users)]
    if hours_ago is None:
        hours_ago = (ORDER_COUNT - index) * ORDER_SPREAD_DAYS * 24 // ORDER_COUNT
    placed_at = _now() - timedelta(hours=hours_ago)
    paid, items = scenario(_Lines(shop, index, user, placed_at))
    return {
        "number": number,
        "site": shop.slug,
        "customer_email": user[0],
        "placed_at": placed_at.isoformat().replace("+00:00", "Z"),
        "paid": paid,
        "po_number": f"PO-{4500 + index}" if shop.currency == "USD" else "",
        "notes": f"Demo order: {scenario_name.replace('_', ' ')}",
        "billing_address": _address(user),
        "totals": _totals(items, shop.currency),
        "items": items,
    }


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def _totals(items: list[dict], currency: str) -> dict:
    cents = Decimal("0.01")
    subtotal = sum((Decimal(str(i["unit_price"])) * i["quantity"] for i in items), Decimal(0))
    shipping = sum((SHIPPING_PRICE.get(i["shipping_method"], Decimal(0)) for i in items), Decimal(0))
    tax = (subtotal * TAX_RATE[currency]).quantize(cents, rounding=ROUND_HALF_UP)
    subtotal = subtotal.quantize(cents, rounding=ROUND_HALF_UP)
    return {"subtotal": float(subtotal), "shipping": float(shipping), "tax": float(tax),
            "total": float(subtotal + shipping + tax)}


class _Lines:
    """Builds item lines for one order, picking products deterministically from the site's range."""

    def __init__(self, shop: _Shop, index: int, user: tuple, placed_at: datetime) -> None:
        self.shop, self.index, self.user, self.placed_at = shop, index, user, placed_at
        self.count = 0

    def line(self, approval: str = o.APPROVAL_APPROVED, status: str = o.ORDER_RECEIVED,
             method: str | None = None, files: tuple = ((o.FILE_UPLOAD, o.FILE_READY),),
             ship_to: dict | None = None, product: tuple | None = None) -> dict:
        self.count += 1
        sku, name, price = product or self.shop.products[(self.index * 5 + self.count * 3)
                                                         % len(self.shop.products)]
        tier = next(quantities for floor, quantities in QUANTITY_TIERS if price >= floor)
        quantity = tier[(self.index + self.count) % len(tier)]
        return {
            "sku": sku, "name": name, "quantity": quantity, "unit_price": float(price),
            "approval": approval, "status": status,
            "ship_to": ship_to or _address(self.user),
            "shipping_method": method or ("UPS Ground", "FedEx 2Day")[self.index % 2],
            "requested_ship_date": (self.placed_at + timedelta(days=7)).date().isoformat(),
            "files": [{"kind": kind, "state": state,
                       "url": f"https://files.northwind-print.test/{self.shop.slug}/{self.index}-{self.count}-"
                              f"{n}.pdf"} for n, (kind, state) in enumerate(files, start=1)],
        }


# Each scenario returns (paid, items); together they cover every push-eligibility case.
def _ready(lines):
    return True, [lines.line(), lines.line(files=((o.FILE_EDOC, o.FILE_READY),))]


def _unpaid(lines):
    return False, [lines.line()]


def _pending_approval(lines):
    return True, [lines.line(), lines.line(approval=o.APPROVAL_PENDING)]


def _approved_and_denied(lines):
    return True, [lines.line(), lines.line(approval=o.APPROVAL_DENIED), lines.line(approval=o.APPROVAL_DENIED)]


def _all_denied(lines):
    return True, [lines.line(approval=o.APPROVAL_DENIED), lines.line(approval=o.APPROVAL_DENIED)]


def _pending_edoc(lines):
    return True, [lines.line(files=((o.FILE_EDOC, o.FILE_PENDING),))]


def _pending_upload(lines):
    return True, [lines.line(files=((o.FILE_UPLOAD, o.FILE_PENDING),)), lines.line()]


def _cancelled_item(lines):
    return True, [lines.line(), lines.line(status=o.CANCELLED), lines.line()]


def _two_addresses(lines):
    branch = _address(lines.user, name="Receiving Dock", street="77 Warehouse Rd")
    return True, [lines.line(method="FedEx 2Day"), lines.line(method="UPS Ground", ship_to=branch)]


def _unknown_sku(lines):
    custom = (f"CUSTOM-{lines.index:03d}", "Custom quote: die-cut presentation folder", Decimal("3.75"))
    return True, [lines.line(product=custom), lines.line()]


def _local_pickup(lines):
    return True, [lines.line(method="Local Pickup")]


def _courier(lines):
    return True, [lines.line(method="Courier"), lines.line(method="Courier", status=o.IN_PRODUCTION)]


def _shipped(lines):
    return True, [lines.line(status=o.SHIPPED), lines.line(status=o.SHIPPED)]


def _completed(lines):
    return True, [lines.line(status=o.COMPLETED)]


def _on_hold(lines):
    return True, [lines.line(status=o.ON_HOLD), lines.line()]


def _in_production(lines):
    return True, [lines.line(status=o.IN_PRODUCTION), lines.line(status=o.READY_TO_SHIP)]


SCENARIOS = (
    ("ready", _ready), ("unpaid", _unpaid), ("pending_approval", _pending_approval),
    ("approved_and_denied", _approved_and_denied), ("all_denied", _all_denied),
    ("pending_edoc", _pending_edoc), ("pending_upload", _pending_upload),
    ("cancelled_item", _cancelled_item), ("two_addresses", _two_addresses), ("unknown_sku", _unknown_sku),
    ("local_pickup", _local_pickup), ("courier", _courier), ("shipped", _shipped), ("completed", _completed),
    ("on_hold", _on_hold), ("in_production", _in_production),
)
