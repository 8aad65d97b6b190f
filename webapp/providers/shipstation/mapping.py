"""Pure mapping from an OrderContext to ShipStation V1 order payloads (no HTTP here).

Items that ship to different addresses (or by different methods) cannot share one
ShipStation order — an order has a single shipTo — so they become separate orders, each
with its own deterministic orderKey, all carrying the storefront order number.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError

SS_DATETIME = "%Y-%m-%d %H:%M:%S"
MAX_ORDER_NUMBER = 50


def ss_datetime(value: datetime | None, tz_name: str) -> str | None:
    """ShipStation V1 reads request date-times as local wall time of the account's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(tz_name)).strftime(SS_DATETIME)


def address(a: Address, *, residential: bool | None = None) -> dict:
    out = {
        "name": a.name or a.company or "Customer", "company": a.company or None,
        "street1": a.street1 or None, "street2": a.street2 or None, "street3": None,
        "city": a.city or None, "state": a.state or None, "postalCode": a.postal_code or None,
        "country": (a.country or "").upper() or None, "phone": a.phone or None,
    }
    if residential is not None:
        out["residential"] = residential
    return out


def money(value) -> float | None:
    return None if value is None else float(Decimal(value).quantize(Decimal("0.01")))


def service_for(item: ItemContext) -> tuple[str | None, str | None, str | None]:
    """(requestedShippingService, carrierCode, serviceCode) from the item's shipping method."""
    method = item.shipping_method
    if method is None:
        return None, None, None
    integration = (method.settings.get("service") or method.integration_id or "").strip()
    if not integration:
        if not method.is_integrated:
            raise ProviderConfigError(
                f"Shipping method {method.name!r} is not integrated and has no Integration ID; ShipStation cannot "
                f"accept non-integrated shipping methods. Set its Integration ID (carrier_code:service_code).")
        return method.name, None, None
    carrier, _, service = integration.partition(":")
    return method.name, (carrier or None), (service or None)


def product_line(item: ItemContext, settings: dict) -> dict:
    """The KB's three-level product resolution: linked product → Default Product → by name."""
    linked_sku = (item.product_settings.get("shipstation_sku") or "").strip()
    use_item_name = settings.get("product_name_source") == "item_name"
    name = item.name if use_item_name or not item.product_name else item.product_name
    line = {
        "lineItemKey": item.external_number,
        "sku": linked_sku or (settings.get("default_product_sku") or "").strip() or item.sku or None,
        "name": name,
        "quantity": item.quantity,
        "unitPrice": money(item.unit_price),
        "options": [{"name": f"Production file {i}", "value": url} for i, url in enumerate(item.file_urls, 1)],
    }
    product_id = item.product_settings.get("shipstation_product_id")
    if product_id:
        line["productId"] = int(product_id)
    return line


def group_items(ctx: OrderContext) -> list[list[ItemContext]]:
    groups: dict[tuple, list[ItemContext]] = {}
    for item in ctx.items:
        method = item.shipping_method.name if item.shipping_method else ""
        groups.setdefault((item.ship_to.key(), method), []).append(item)
    return list(groups.values())


def order_key(ctx: OrderContext, group_index: int) -> str:
    # "|" never appears in our keys, so the split suffix cannot be confused with an order number.
    return ctx.idempotency_key if group_index == 0 else f"{ctx.idempotency_key}|s{group_index + 1}"


def order_number(ctx: OrderContext, group_index: int, group_count: int) -> str:
    number = ctx.external_number if group_count == 1 else f"{ctx.external_number}-S{group_index + 1}"
    if len(number) > MAX_ORDER_NUMBER:
        raise ProviderConfigError(f"Order number {number!r} is longer than ShipStation's {MAX_ORDER_NUMBER} characters.")
    return number


def build_orders(ctx: OrderContext, settings: dict, site_settings: dict) -> list[tuple[list[ItemContext], dict]]:
    """One (items, payload) per shipment group."""
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    tz_name = settings.get("time_zone") or "America/Los_Angeles"
    store_id = site_settings.get("store_id") or settings.get("store_id")
    groups = group_items(ctx)
    orders = []
    for index, items in enumerate(groups):
        requested, carrier, service = service_for(items[0])
        payload = {
            "orderNumber": order_number(ctx, index, len(groups)),
            "orderKey": order_key(ctx, index),
            "orderDate": ss_datetime(ctx.placed_at, tz_name),
            "paymentDate": ss_datetime(ctx.paid_at, tz_name),
            "shipByDate": min((i.requested_ship_date for i in items if i.requested_ship_date), default=None),
            "orderStatus": settings.get("order_status") or "awaiting_shipment",
            "customerUsername": ctx.customer.email or None,
            "customerEmail": ctx.customer.email or None,
            "billTo": address(ctx.billing),
            "shipTo": address(items[0].ship_to, residential=not bool(items[0].ship_to.company)),
            "items": [product_line(item, settings) for item in items],
            "amountPaid": money(ctx.total) if index == 0 and ctx.paid_at else None,
            "taxAmount": money(ctx.tax_total) if index == 0 else None,
            "shippingAmount": money(ctx.shipping_total) if index == 0 else None,
            "customerNotes": ctx.notes or None,
            "internalNotes": f"Storefront order {ctx.number} ({ctx.site_name})"
                             + (f", part {index + 1} of {len(groups)}" if len(groups) > 1 else ""),
            "requestedShippingService": requested,
            "carrierCode": carrier,
            "serviceCode": service,
            "advancedOptions": {
                "storeId": int(store_id) if store_id else None,
                "customField1": ctx.number,
                "customField2": ctx.po_number or None,
                "customField3": ctx.site_slug,
                "source": "embedded-services",
            },
        }
        if payload["shipByDate"] is not None:
            payload["shipByDate"] = payload["shipByDate"].isoformat()
        orders.append((items, payload))
    return orders
