"""Pure mapping for Midnight's XML-string documents (no HTTP here).

Each operation takes one string holding an XML document and answers one string holding a
``Result`` document (``ReturnCode`` 0 = success, ``ReturnErrors/Error`` otherwise).
One Midnight order per storefront order: Midnight orders have one ShippingAddress, so the
first item's destination is used and any other destination is written into that item's
``ItemNotes`` (multi-destination orders are rare on MIS storefronts; nothing is lost).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from lxml import etree

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError
from ..soap import from_dict

NO_CUSTOMER = "customer has no Midnight External ID (invalid customer id)"


def customer_id(ctx: OrderContext) -> str:
    value = str(ctx.customer.settings.get("external_id") or "").strip()
    if not value:
        raise ProviderConfigError(f"Order customer {ctx.customer.email}: {NO_CUSTOMER} — set it on the user's "
                                  f"Embedded Services tab.")
    return value


def money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _contact(a: Address) -> str:
    return a.name or a.company


def shipping_address(a: Address) -> dict:
    return {"ShippingAddressContact": _contact(a) or None, "ShippingAddressLine1": a.street1 or None,
            "ShippingAddressLine2": a.street2 or None, "ShippingAddressCity": a.city or None,
            "ShippingAddressState": a.state or None, "ShippingAddressZip": a.postal_code or None}


def billing_address(a: Address) -> dict:
    return {"BillingAddressContact": _contact(a) or None, "BillingAddressLine1": a.street1 or None,
            "BillingAddressLine2": a.street2 or None, "BillingAddressCity": a.city or None,
            "BillingAddressState": a.state or None, "BillingAddressZip": a.postal_code or None}


def line_ids(item: ItemContext, settings: dict) -> tuple[str, str]:
    """(service id, inventory item id) of an item; at least one is needed."""
    service = str(item.product_settings.get("service_id") or settings.get("default_service_id") or "").strip()
    inventory = str(item.product_settings.get("item_id") or "").strip()
    if not service and not inventory:
        raise ProviderConfigError(f"Item {item.number}: a Midnight service ID or inventory item ID is required on "
                                  f"the product's Embedded Services tab (or a default service ID on the account).")
    if inventory and item.product_settings.get("project_type_id"):
        raise ProviderConfigError(f"Item {item.number}: use either an inventory item ID or a project type ID, not "
                                  f"both (Midnight would deduct the inventory twice).")
    return service, inventory


def order_new(ctx: OrderContext, settings: dict) -> bytes:
    """The OrderNew document [PROPOSED root: <OrderNew><Order>…]."""
    first = ctx.items[0] if ctx.items else None
    if first is None:
        raise ProviderConfigError("The order has no item to send.")
    services, inventory = [], []
    for item in ctx.items:
        service, item_id = line_ids(item, settings)
        notes = item.name
        if item.ship_to.key() != first.ship_to.key():
            a = item.ship_to
            notes += f" — ship to {_contact(a)}, {a.street1}, {a.city} {a.state} {a.postal_code} {a.country}"
        if service:
            services.append({"SvcId": service, "SvcQuantity": item.quantity, "UnitPrice": money(item.unit_price),
                             "Taxable": "false", "Identifier": item.external_number, "ItemNotes": notes[:500],
                             "FileLocation": item.file_urls[0] if item.file_urls else None,
                             "PrintProjectTypeID": item.product_settings.get("project_type_id") or None})
        if item_id:
            inventory.append({"ItemId": item_id, "Description": item.name[:200], "QuantityNeeded": item.quantity,
                              "Notes": f"{item.external_number} {notes}"[:500]})
    by_order_no = settings.get("reference_field", "order_no") == "order_no"
    order = {
        "CustomerID": customer_id(ctx),
        "OrderDate": ctx.placed_at.strftime("%Y-%m-%d"),
        "DueDate": min((i.requested_ship_date for i in ctx.items if i.requested_ship_date), default=None),
        "UseOrderNo": "true" if by_order_no else None,
        "OrderNo": ctx.external_number if by_order_no else None,
        "ProjectName": ctx.external_number if not by_order_no else f"{ctx.site_name} {ctx.number}"[:100],
        "PresseroId": ctx.number,
        "PONum": ctx.po_number or None,
        "InvoiceComments": ctx.notes or None,
        "ShippingAddress": shipping_address(first.ship_to),
        "BillingAddress": billing_address(ctx.billing),
        "ShipToName": _contact(first.ship_to) or None,
        "ShipToMethod": first.shipping_method.name if first.shipping_method else None,
        "BillToName": _contact(ctx.billing) or None,
        "OrderPaidYN": "Y" if ctx.paid_at else "N",
        "Quantity": sum(i.quantity for i in ctx.items),
        "OrderDetail": {"Services": {"Service": services}} if services else None,
        "OrderInventory": {"Items": {"Item": inventory}} if inventory else None,
    }
    if order["DueDate"] is not None:
        order["DueDate"] = order["DueDate"].isoformat()
    return document("OrderNew", {"Order": order})


def order_list(**filters) -> bytes:
    return document("OrderList", {"InputParameter": {k: v for k, v in filters.items() if v not in (None, "")}})


def document(root: str, data: dict) -> bytes:
    return etree.tostring(from_dict(root, data), encoding="utf-8")


def midnight_datetime(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")
