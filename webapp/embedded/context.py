"""Builds the plain OrderContext a provider receives, from the models (batch-loaded).

``ContextLoader`` loads what the contexts of many orders of one account need — products,
shipping methods, customers, sites and their per-account settings — in a fixed number of
queries (one bulk chunk or one order: the same code)."""
from __future__ import annotations

from ..extensions import db
from ..models import EntitySetting, Order, OrderPush, Product, ShippingMethod, Site, SiteActivation, SiteUser
from ..providers.files import file_ref
from . import order_rows
from .bulk_sql import any_of
from ..providers.context import (Address, CustomerContext, ItemContext, OrderContext,
                                 ShippingMethodContext)


def _settings_map(account_id: int, entity_type: str, ids) -> dict[int, dict]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(db.select(EntitySetting.entity_id, EntitySetting.values).where(
        EntitySetting.account_id == account_id, EntitySetting.entity_type == entity_type,
        any_of(EntitySetting.entity_id, ids))).all()
    return {row.entity_id: dict(row.values or {}) for row in rows}


def _by_id(model, ids) -> dict[int, object]:
    """Plain rows (order_rows): read only here; no ORM objects (nor a product's joined category)."""
    ids = {i for i in ids if i is not None}
    return {row.id: row for row in order_rows.rows_by_ids(model, "id", ids)} if ids else {}


class ContextLoader:
    """Everything the contexts of ``orders`` (with the items each would push) need, loaded
    once. Holds the loaded rows (the session's identity map alone holds them weakly)."""

    def __init__(self, account_id: int, orders_items: list[tuple[Order, list]]):
        self.account_id = account_id
        items = [item for _, its in orders_items for item in its]
        orders = [order for order, _ in orders_items]
        self.products = _by_id(Product, [i.product_id for i in items])
        self.methods = _by_id(ShippingMethod, [i.shipping_method_id for i in items])
        self.sites = _by_id(Site, [o.site_id for o in orders])
        self.customers = _by_id(SiteUser, [o.customer_id for o in orders])
        # Orders without a linked customer are matched by e-mail on their site (as placed).
        unlinked = {(o.site_id, o.customer_email) for o in orders if o.customer_id is None and o.customer_email}
        self.by_email: dict[tuple[int, str], SiteUser] = {}
        if unlinked:
            rows = order_rows.rows(SiteUser, any_of(SiteUser.site_id, {s for s, _ in unlinked})
                                   & any_of(SiteUser.email, {e for _, e in unlinked}), order_by=(SiteUser.id,))
            for user in rows:
                self.by_email.setdefault((user.site_id, user.email), user)
        users = list(self.customers.values()) + list(self.by_email.values())
        self.product_settings = _settings_map(account_id, "product", self.products)
        self.method_settings = _settings_map(account_id, "shipping_method", self.methods)
        self.user_settings = _settings_map(account_id, "site_user", [u.id for u in users])

    def customer(self, order: Order) -> SiteUser | None:
        if order.customer_id is not None:
            return self.customers.get(order.customer_id)
        return self.by_email.get((order.site_id, order.customer_email))


def item_external_number(push: OrderPush, line_number: int) -> str:
    return f"{push.reference}-{line_number}"


def build_order_context(order: Order, push: OrderPush, activation: SiteActivation, items,
                        loaded: ContextLoader | None = None) -> OrderContext:
    loaded = loaded or ContextLoader(push.account_id, [(order, items)])
    product_settings, method_settings = loaded.product_settings, loaded.method_settings
    customer = loaded.customer(order)

    def method_context(item):
        method = loaded.methods.get(item.shipping_method_id)
        if method is None:
            return ShippingMethodContext(name=item.shipping_method_name) if item.shipping_method_name else None
        return ShippingMethodContext(name=method.name, carrier=method.carrier, is_integrated=method.is_integrated,
                                     integration_id=method.integration_id,
                                     settings=method_settings.get(method.id, {}))

    def item_context(item):
        product = loaded.products.get(item.product_id)
        with_url = [f for f in item.files if f.url]
        return ItemContext(
            line_number=item.line_number, number=item.number,
            external_number=item_external_number(push, item.line_number),
            sku=item.sku, name=item.name, product_name=product.name if product else None,
            product_integration_id=product.integration_id if product else "",
            quantity=item.quantity, unit_price=item.unit_price, ship_to=Address.from_dict(item.ship_to),
            shipping_method=method_context(item), requested_ship_date=item.requested_ship_date,
            file_urls=[f.url for f in with_url], status=item.status,
            files=[file_ref(f.url, n, f.kind) for n, f in enumerate(with_url, 1)],
            product_settings=product_settings.get(item.product_id, {}),
        )

    item_contexts = [item_context(item) for item in items]
    billing = Address.from_dict(order.billing_address)
    first, _, last = (billing.name or "").partition(" ")
    customer_ctx = CustomerContext(
        email=order.customer_email or billing.email,
        first_name=customer.first_name if customer else first, last_name=customer.last_name if customer else last,
        company=customer.company_name if customer else billing.company,
        phone=customer.phone if customer else billing.phone,
        settings=loaded.user_settings.get(customer.id, {}) if customer else {}, known=customer is not None,
    )
    site = loaded.sites.get(order.site_id) or order.site
    return OrderContext(
        order_id=order.id, number=order.number, external_number=push.reference,
        idempotency_key=push.idempotency_key, site_slug=site.slug, site_name=site.name,
        site_integration_id=site.integration_id, site_mis_id=site.mis_id, site_settings=dict(activation.settings or {}),
        placed_at=order.placed_at, paid_at=order.paid_at, currency=order.currency or site.currency,
        po_number=order.po_number, notes=order.notes, billing=billing, customer=customer_ctx, items=item_contexts,
        subtotal=order.subtotal, shipping_total=order.shipping_total, tax_total=order.tax_total, total=order.total,
        existing_external_id=push.external_id, site_time_zone=site.time_zone or "UTC",
        checkpoint=dict(push.checkpoint or {}), save_checkpoint=checkpoint_saver(push.id),
    )


def checkpoint_saver(push_id: int):
    """Commits one remote id into the push's checkpoint at once (its own small transaction),
    so a crash right after a remote create never leads to creating it again."""
    def save(key: str, value) -> None:
        push = db.session.get(OrderPush, push_id)
        db.session.refresh(push, ["checkpoint"])
        push.checkpoint = {**(push.checkpoint or {}), key: value}
        db.session.commit()
    return save
