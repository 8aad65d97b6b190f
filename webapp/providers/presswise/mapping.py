"""Pure mapping from an OrderContext to PressWise ``add_purchase_order`` data (no HTTP).

Header fields follow Aleyant's published mapping (KB a841). Multi-destination orders — a
decision, as the public contract allows one ``shipTo`` per purchase order and no item-level
address:
* "po_per_ship_to" (default): one purchase order per destination, each with its own
  ``shipTo``; the first keeps our reference as ``sourceOrderID``, the next ones
  ``<reference>-S2``, ``-S3``…; shipping and tax travel on the first one.
* "single": one purchase order without ``shipTo`` (what Pressero does); every item's
  destination is written into the order ``comments`` so production still sees it.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError

DIGITS = re.compile(r"\d+")


def money(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def customer_id(ctx: OrderContext) -> str:
    """The user's MISID overrides the site's; digits only, checked again before every push."""
    user = str(ctx.customer.settings.get("mis_id") or "").strip()
    site = str(ctx.site_settings.get("mis_id") or ctx.site_mis_id or "").strip()
    value, where = (user, f"customer {ctx.customer.email}") if user else (site, f"site {ctx.site_name}")
    if not value:
        raise ProviderConfigError(f"Site {ctx.site_name}: MISID (PressWise customer ID) is required by Smartsoft "
                                  f"Presswise (site Embedded Services tab).")
    if not DIGITS.fullmatch(value):
        raise ProviderConfigError(f"MISID of {where} must contain digits only (PressWise customer ID), not {value!r}.")
    return value


def _name(a: Address) -> tuple[str, str]:
    first, _, last = (a.name or "").strip().partition(" ")
    return first, last


def bill_to(ctx: OrderContext) -> dict:
    a = ctx.billing
    first, last = _name(a)
    return {"btFirst": first, "btLast": last, "btNameCompany": a.company, "btAttention": a.name,
            "btStreet": a.street1, "btAddress2": a.street2, "btAddress3": "", "btCity": a.city, "btState": a.state,
            "btZip": a.postal_code, "btCountry": a.country, "btTelephone": a.phone,
            "btTerms": "Prepaid" if ctx.paid_at else ""}


def ship_to(a: Address, item: ItemContext, ship_cost) -> dict:
    first, last = _name(a)
    return {"stFirst": first, "stLast": last, "stNameCompany": a.company, "stAttention": a.name,
            "stStreet": a.street1, "stAddress2": a.street2, "stAddress3": "", "stCity": a.city, "stState": a.state,
            "stZip": a.postal_code, "stCountry": a.country, "stTelephone": a.phone, "avsResidential": "N",
            "shipCost": money(ship_cost), "shipMethod": item.shipping_method.name if item.shipping_method else ""}


def product_id(item: ItemContext) -> str:
    return str(item.product_settings.get("product_id") or item.product_integration_id or item.sku or "").strip()


def line(item: ItemContext) -> dict:
    code = product_id(item)
    if not code:
        raise ProviderConfigError(f"Item {item.number}: no PressWise product ID (product tab), Integration ID or SKU.")
    return {"quantity": item.quantity, "productID": code, "productDesc": item.product_name or item.name,
            "sourceJobID": item.external_number, "numPages": 1, "customerApproval": "accepted",
            "fileF": {"href": item.file_urls[0]} if item.file_urls else None}


def pricing_note(ctx: OrderContext, items: list[ItemContext]) -> str:
    lines = [f"{i.external_number}: {i.quantity} × {money(i.unit_price)} = {money(i.unit_price * i.quantity)}"
             for i in items]
    lines.append(f"Subtotal {money(ctx.subtotal)}, shipping {money(ctx.shipping_total)}, tax {money(ctx.tax_total)}, "
                 f"total {money(ctx.total)} {ctx.currency}")
    return "Pricing: " + "; ".join(lines)


def groups(ctx: OrderContext) -> list[list[ItemContext]]:
    by_address: dict[tuple, list[ItemContext]] = {}
    for item in ctx.items:
        by_address.setdefault(item.ship_to.key(), []).append(item)
    return list(by_address.values())


def source_order_id(ctx: OrderContext, index: int) -> str:
    return source_order_id_of(ctx.external_number, index)


def purchase_orders(ctx: OrderContext, settings: dict) -> list[tuple[list[ItemContext], dict]]:
    """(items, data) per purchase order to send."""
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    customer = customer_id(ctx)
    split = settings.get("multi_destination", "po_per_ship_to") == "po_per_ship_to"
    parts = groups(ctx) if split else [ctx.items]
    orders = []
    for index, items in enumerate(parts):
        first = items[0]
        shipping = ctx.shipping_total if index == 0 else Decimal(0)
        tax = ctx.tax_total if index == 0 else Decimal(0)
        subtotal = sum((i.unit_price * i.quantity for i in items), Decimal(0)) if len(parts) > 1 else \
            (ctx.subtotal if ctx.subtotal is not None else sum((i.unit_price * i.quantity for i in items), Decimal(0)))
        comments = [ctx.notes] if ctx.notes else []
        if len(parts) > 1:
            comments.append(f"Storefront order {ctx.number}, part {index + 1} of {len(parts)}.")
        one_address = len({i.ship_to.key() for i in items}) == 1
        if not one_address:
            comments += [f"{i.external_number} ships to {i.ship_to.name}, {i.ship_to.street1}, {i.ship_to.city} "
                         f"{i.ship_to.state} {i.ship_to.postal_code} {i.ship_to.country}" for i in items]
        if settings.get("send_pricing_in_notes"):
            comments.append(pricing_note(ctx, items))
        data = {
            "customerID": customer, "customerPO": ctx.po_number, "sourceOrderID": source_order_id(ctx, index),
            "source": ctx.site_name, **bill_to(ctx), "initial_status": settings.get("initial_status") or "AUTO New",
            "shipTo": ship_to(first.ship_to, first, shipping) if one_address else None,
            "shipCost": money(shipping), "shipMethod": first.shipping_method.name if first.shipping_method else "",
            "shipCostFlag": "fixed", "subTotal": money(subtotal), "taxCost": money(tax),
            "totalCost": money(subtotal + Decimal(shipping or 0) + Decimal(tax or 0)),
            "dueDate": first.requested_ship_date.isoformat() if first.requested_ship_date else "",
            "salesDate": "auto", "isReprint": "N", "comments": "\n".join(comments),
            "item": [line(i) for i in items],
        }
        orders.append((items, data))
    return orders


def source_order_id_of(reference: str, index: int) -> str:
    """``source_order_id`` from a stored reference (status look-ups by our reference)."""
    return reference if index == 0 else f"{reference}-S{index + 1}"
