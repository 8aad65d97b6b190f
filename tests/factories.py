"""Hand-made model factories: small, explicit, no magic."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

from webapp.extensions import db
from webapp.models import Admin, Category, Company, ItemFile, Order, OrderItem, Product, ShippingMethod, Site, SiteUser

_seq = itertools.count(1)

ADDRESS = {"name": "Ada Buyer", "company": "Acme", "street1": "1 Test St", "street2": "", "city": "Austin",
           "state": "TX", "postal_code": "78701", "country": "US", "phone": "555-0100", "email": "ada@example.test"}


class Factory:
    def company(self, name: str = "Acme Print") -> Company:
        company = Company.query.first()
        if company is None:
            company = Company(name=name, slug=f"acme-{next(_seq)}")
            db.session.add(company)
            db.session.flush()
        return company

    def site(self, slug: str | None = None, **kw) -> Site:
        n = next(_seq)
        site = Site(company=self.company(), slug=slug or f"site-{n}", name=kw.pop("name", f"Site {n}"), **kw)
        db.session.add(site)
        db.session.flush()
        Category.root_for(site)
        db.session.commit()
        return site

    def admin(self, email: str | None = None, sites=(), is_super: bool = False,
              password: str = "secret-pass") -> Admin:
        n = next(_seq)
        admin = Admin(company=self.company(), email=email or f"admin{n}@example.test", name=f"Admin {n}",
                      is_super=is_super)
        admin.set_password(password)
        admin.sites.extend(sites)
        db.session.add(admin)
        db.session.commit()
        return admin

    def category(self, site: Site, name: str | None = None, parent: Category | None = None) -> Category:
        cat = Category(site_id=site.id, name=name or f"Category {next(_seq)}",
                       parent=parent or Category.root_for(site))
        db.session.add(cat)
        db.session.commit()
        return cat

    def product(self, site: Site, sku: str | None = None, **kw) -> Product:
        n = next(_seq)
        product = Product(site_id=site.id, sku=sku or f"SKU-{n}", name=kw.pop("name", f"Product {n}"),
                          category=kw.pop("category", None) or Category.root_for(site), **kw)
        db.session.add(product)
        db.session.commit()
        return product

    def site_user(self, site: Site, email: str | None = None, **kw) -> SiteUser:
        user = SiteUser(site_id=site.id, email=email or f"user{next(_seq)}@example.test",
                        first_name=kw.pop("first_name", "Ada"), last_name=kw.pop("last_name", "Buyer"), **kw)
        db.session.add(user)
        db.session.commit()
        return user

    def shipping_method(self, site: Site, name: str | None = None, **kw) -> ShippingMethod:
        method = ShippingMethod(site_id=site.id, name=name or f"Method {next(_seq)}", **kw)
        db.session.add(method)
        db.session.commit()
        return method

    def order(self, site: Site, number: str | None = None, paid: bool = False, items=None, **kw) -> Order:
        """items: list of dicts overriding item fields; a "files" key takes (kind, state) pairs."""
        order = Order(number=number or f"W-{next(_seq):05d}", site_id=site.id, paid=paid,
                      customer_email=kw.pop("customer_email", "ada@example.test"),
                      placed_at=kw.pop("placed_at", datetime.now(timezone.utc)),
                      billing_address=kw.pop("billing_address", dict(ADDRESS)), **kw)
        for line, spec in enumerate(items or [{}], start=1):
            spec = dict(spec)
            files = spec.pop("files", [])
            item = OrderItem(line_number=line, sku=spec.pop("sku", f"SKU-{line}"),
                             name=spec.pop("name", f"Item {line}"), quantity=spec.pop("quantity", 100),
                             unit_price=spec.pop("unit_price", 0.25), ship_to=spec.pop("ship_to", dict(ADDRESS)),
                             status=spec.pop("status", "Order Received"), approval=spec.pop("approval", "pending"),
                             **spec)
            for kind, state in files:
                item.files.append(ItemFile(kind=kind, state=state, url=f"https://files.example.test/{line}.pdf"))
            order.items.append(item)
        order.refresh_status()
        db.session.add(order)
        db.session.commit()
        return order
