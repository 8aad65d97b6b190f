"""Builds the plain OrderContext a provider receives, from the models (batch-loaded)."""
from __future__ import annotations

from ..extensions import db
from ..models import EntitySetting, Order, OrderPush, SiteActivation, SiteUser
from ..providers.files import file_ref
from ..providers.context import (Address, CustomerContext, ItemContext, OrderContext,
                                 ShippingMethodContext)


def _settings_map(account_id: int, entity_type: str, ids) -> dict[int, dict]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = EntitySetting.query.filter(EntitySetting.account_id == account_id,
                                      EntitySetting.entity_type == entity_type,
                                      EntitySetting.entity_id.in_(ids)).all()
    return {row.entity_id: dict(row.values or {}) for row in rows}


def item_external_number(push: OrderPush, line_number: int) -> str:
    return f"{push.reference}-{line_number}"


def build_order_context(order: Order, push: OrderPush, activation: SiteActivation, items) -> OrderContext:
    account_id = push.account_id
    product_settings = _settings_map(account_id, "product", [i.product_id for i in items])
    method_settings = _settings_map(account_id, "shipping_method", [i.shipping_method_id for i in items])
    customer = order.customer or SiteUser.query.filter_by(site_id=order.site_id, email=order.customer_email).first()
    user_settings = _settings_map(account_id, "site_user", [customer.id] if customer else [])

    def method_context(item):
        method = item.shipping_method
        if method is None:
            return ShippingMethodContext(name=item.shipping_method_name) if item.shipping_method_name else None
        return ShippingMethodContext(name=method.name, carrier=method.carrier, is_integrated=method.is_integrated,
                                     integration_id=method.integration_id,
                                     settings=method_settings.get(method.id, {}))

    item_contexts = [
        ItemContext(
            line_number=item.line_number, number=item.number,
            external_number=item_external_number(push, item.line_number),
            sku=item.sku, name=item.name, product_name=item.product.name if item.product else None,
            product_integration_id=item.product.integration_id if item.product else "",
            quantity=item.quantity, unit_price=item.unit_price, ship_to=Address.from_dict(item.ship_to),
            shipping_method=method_context(item), requested_ship_date=item.requested_ship_date,
            file_urls=[f.url for f in item.files if f.url], status=item.status,
            files=[file_ref(f.url, n, f.kind) for n, f in enumerate([f for f in item.files if f.url], 1)],
            product_settings=product_settings.get(item.product_id, {}),
        )
        for item in items
    ]
    billing = Address.from_dict(order.billing_address)
    first, _, last = (billing.name or "").partition(" ")
    customer_ctx = CustomerContext(
        email=order.customer_email or billing.email,
        first_name=customer.first_name if customer else first, last_name=customer.last_name if customer else last,
        company=customer.company_name if customer else billing.company,
        phone=customer.phone if customer else billing.phone,
        settings=user_settings.get(customer.id, {}) if customer else {}, known=customer is not None,
    )
    site = order.site
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
