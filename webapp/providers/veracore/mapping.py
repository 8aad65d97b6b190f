"""Pure mapping between our OrderContext and VeraCore's SOAP OMS documents (no HTTP here).

One AddOrder per storefront order: items that ship to different addresses become separate
``OrderShipTo`` blocks (``Key`` 1, 2, …) and each ``OfferOrdered`` line points at its
ship-to by key — VeraCore's own multi-destination model, so nothing is split.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from lxml import etree

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError
from ..soap import find, from_dict, local, text_of

# OrdHead/Status flags, most advanced first: the first one set names the order's state.
STATUS_FLAGS = ("Canceled", "Complete", "Shipped", "Backordered", "Picked", "Processed", "Hold",
                "DeniedCredit", "Pending", "Accepted", "Unprocessed", "Unapproved")


def vc_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def split_name(name: str) -> tuple[str, str]:
    first, _, last = (name or "").strip().partition(" ")
    return first, last


def address(a: Address) -> dict:
    first, last = split_name(a.name)
    return {"FirstName": first or None, "LastName": last or None, "CompanyName": a.company or None,
            "Address1": a.street1 or None, "Address2": a.street2 or None, "City": a.city or None,
            "State": a.state or None, "PostalCode": a.postal_code or None,
            "Country": (a.country or "").upper() or None, "Phone": a.phone or None, "Email": a.email or None}


def freight_code(item: ItemContext) -> str | None:
    """The shipping method's VeraCore FreightCode: its own setting, else its Integration ID."""
    method = item.shipping_method
    if method is None:
        return None
    code = (method.settings.get("freight_code") or method.integration_id or "").strip()
    if not code:
        raise ProviderConfigError(f"Shipping method {method.name!r} has no VeraCore FreightCode: set its "
                                  f"Integration ID (or the FreightCode on its Embedded Services tab).")
    return code


def offer_id(item: ItemContext) -> str:
    offer = (item.product_settings.get("offer_id") or "").strip()
    if not offer:
        raise ProviderConfigError(f"Item {item.number}: VeraCore offer ID is required on the product's "
                                  f"Embedded Services tab.")
    return offer


def ship_to_keys(ctx: OrderContext) -> dict[tuple, int]:
    keys: dict[tuple, int] = {}
    for item in ctx.items:
        keys.setdefault((item.ship_to.key(), item.shipping_method.name if item.shipping_method else ""),
                        len(keys) + 1)
    return keys


def build_order(ctx: OrderContext, *, send_order_id: bool = True) -> dict:
    """The ``order`` argument of AddOrder as nested data (see soap.from_dict)."""
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    keys = ship_to_keys(ctx)
    first_item_of_key = {}
    for item in ctx.items:
        first_item_of_key.setdefault(keys[(item.ship_to.key(), item.shipping_method.name if item.shipping_method
                                           else "")], item)
    offers = []
    for item in ctx.items:
        key = keys[(item.ship_to.key(), item.shipping_method.name if item.shipping_method else "")]
        offers.append({"Offer": {"Header": {"ID": offer_id(item)}}, "Quantity": item.quantity,
                       "UnitPrice": money(item.unit_price), "OrderShipTo": {"Key": key},
                       "LineNumber": item.line_number, "Comments": f"{item.external_number} {item.name}"[:200]})
    ship_tos = []
    for key, item in sorted(first_item_of_key.items()):
        ship_tos.append({"Key": key, "Flag": "Other", **address(item.ship_to), "FreightCode": freight_code(item),
                         "NeededBy": item.requested_ship_date.isoformat() if item.requested_ship_date else None})
    first = ctx.items[0]
    billing = address(ctx.billing)
    return {
        "Header": {"ID": ctx.external_number if send_order_id else None, "EntryDate": vc_datetime(ctx.placed_at),
                   "Comments": ctx.notes or None, "PONumber": ctx.po_number or None,
                   "ReferenceNumber": ctx.external_number if not send_order_id else ctx.number},
        "Classification": {"Source": {"Description": ctx.site_name[:50]}},
        "Shipping": {"FreightCode": freight_code(first),
                     "FreightCodeDescription": first.shipping_method.name if first.shipping_method else None},
        "OrderedBy": {**billing, "Email": ctx.customer.email or billing["Email"]},
        "ShipTo": {"OrderShipTo": ship_tos},
        "BillTo": {"Flag": "OrderedBy"},
        "Offers": {"OfferOrdered": offers},
    }


def add_order_body(ctx: OrderContext, namespace: str, *, send_order_id: bool = True) -> etree._Element:
    body = from_dict("AddOrder", {}, namespace)
    body.append(from_dict("order", build_order(ctx, send_order_id=send_order_id), namespace))
    return body


def order_state(info: etree._Element) -> str:
    """The most advanced Status flag that is set (GetOrderInfo → OrdHead/Status)."""
    status = find(info, "OrdHead", "Status")
    if status is None:
        return ""
    flags = {local(child): (child.text or "").strip().lower() == "true" for child in status
             if isinstance(child.tag, str)}
    return next((flag for flag in STATUS_FLAGS if flags.get(flag)), "")


def packages(info: etree._Element) -> list[dict]:
    """Shipped, non-voided packages of every pick/pack order."""
    out = []
    for node in info.iter():
        if not isinstance(node.tag, str) or local(node) != "Package":
            continue
        if text_of(node, "DateVoided"):
            continue
        tracking = text_of(node, "TrackingId")
        if tracking:
            out.append({"tracking": tracking, "carrier": text_of(node, "Carrier"),
                        "service": text_of(node, "Service"), "shipped": text_of(node, "DateShipped")})
    return out
