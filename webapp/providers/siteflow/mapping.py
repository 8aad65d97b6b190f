"""Pure mapping between our OrderContext and Site Flow order JSON (no HTTP here).

One Site Flow order per storefront order: ``sourceOrderId`` is our stable reference, one
Site Flow item per order item (``sourceItemId`` = our item number), one component per
production file (``fetch: true``: Site Flow downloads the URL), and one shipment per
distinct (address, carrier) so items going to two places keep their own ``shipTo``.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..context import Address, ItemContext, OrderContext, Shipment, StatusUpdate
from ..errors import ProviderConfigError, ProviderResponseError

# Trigger events the hub's template is written for (Site Flow UI → Triggers).
TRIGGER_EVENTS = ("Order Received", "Order Print Ready", "Order Cancelled", "Order Errored",
                  "Order Submission Error", "Shipment Shipped", "Shipment Updated")


def ship_to(a: Address) -> dict:
    out = {"name": a.name or a.company or "Customer", "companyName": a.company, "address1": a.street1,
           "address2": a.street2, "town": a.city, "state": a.state, "postcode": a.postal_code,
           "isoCountry": (a.country or "").upper(), "phone": a.phone, "email": a.email}
    return {k: v for k, v in out.items() if v}


def carrier_for(item: ItemContext, non_integrated_name: str) -> dict:
    """Shipping method Integration ID = a Site Flow carrier alias, or ``code:service``.
    A method without one (non-integrated) is sent under the account's Non-Integrated
    Shipping Name, as the vendor KB describes."""
    method = item.shipping_method
    integration = ""
    if method is not None:
        integration = (method.settings.get("carrier") or method.integration_id or "").strip()
    if integration:
        code, sep, service = integration.partition(":")
        return {"code": code, "service": service} if sep and code and service else {"alias": integration}
    if non_integrated_name:
        return {"alias": non_integrated_name}
    what = f"shipping method {method.name!r}" if method else "no shipping method"
    raise ProviderConfigError(
        f"Item {item.number} has {what} without an Integration ID and the account has no Non-Integrated "
        f"Shipping Name: Site Flow needs a carrier alias (or code:service) for every shipment.")


def components(item: ItemContext) -> list[dict]:
    codes = [c.strip() for c in str(item.product_settings.get("component_codes") or "Content").split(",")
             if c.strip()] or ["Content"]
    if len(item.file_urls) > len(codes):
        raise ProviderConfigError(
            f"Item {item.number} has {len(item.file_urls)} files but its product names {len(codes)} Site Flow "
            f"component code(s) ({', '.join(codes)}); set one code per file on the product's Embedded Services tab.")
    return [{"code": code, "path": url, "fetch": True} for code, url in zip(codes, item.file_urls)]


def siteflow_sku(item: ItemContext) -> str:
    sku = str(item.product_settings.get("siteflow_sku") or "").strip()
    if not sku:
        raise ProviderConfigError(f"Item {item.number}: Site Flow SKU is required on the product's "
                                  f"Embedded Services tab.")
    return sku


def money(value) -> float | None:
    return None if value is None else float(Decimal(value).quantize(Decimal("0.01")))


def build_order(ctx: OrderContext, destination: str, non_integrated_name: str) -> dict:
    """The submission body. Raises ProviderConfigError (before any request) when a mapping is missing."""
    if not destination:
        raise ProviderConfigError("Destination (the Site Flow account that produces the order) is not set.")
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    shipments: list[dict] = []
    index_of: dict[tuple, int] = {}
    items = []
    for item in ctx.items:
        carrier = carrier_for(item, non_integrated_name)
        key = (item.ship_to.key(), tuple(sorted(carrier.items())))
        if key not in index_of:
            index_of[key] = len(shipments)
            shipment = {"shipmentIndex": len(shipments), "shipTo": ship_to(item.ship_to), "carrier": carrier}
            if item.requested_ship_date:
                shipment["shipByDate"] = item.requested_ship_date.isoformat()
            shipments.append(shipment)
        items.append({
            "sourceItemId": item.external_number, "sku": siteflow_sku(item), "quantity": item.quantity,
            "shipmentIndex": index_of[key], "description": item.product_name or item.name,
            "unitPrice": money(item.unit_price), "components": components(item),
        })
    order_data = {
        "sourceOrderId": ctx.external_number,
        "customerName": ctx.customer.company or " ".join(filter(None, [ctx.customer.first_name,
                                                                       ctx.customer.last_name])) or ctx.billing.name,
        "email": ctx.customer.email,
        "purchaseOrderNumber": ctx.po_number or None,
        "instructions": ctx.notes or None,
        "amount": money(ctx.total), "currency": ctx.currency or None,
        "tags": ["embedded-services", ctx.site_slug],
        # hubKey lets a trigger or a read of the order find our push without our database.
        "extraData": {"hubKey": ctx.idempotency_key, "storefrontOrder": ctx.number, "site": ctx.site_slug},
        "items": items,
        "shipments": shipments,
    }
    return {"destination": {"name": destination}, "orderData": {k: v for k, v in order_data.items() if v is not None}}


# ---- reading orders back ----------------------------------------------------------------

def _text(value) -> str:
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


def order_parts(order: dict) -> tuple[str, dict]:
    """(_id, orderData) of an order object; raises ValueError when it is not one."""
    if not isinstance(order, dict) or not _text(order.get("_id")):
        raise ProviderResponseError("Site Flow answered with something that is not an order (no _id).")
    data = order.get("orderData") if isinstance(order.get("orderData"), dict) else {}
    return _text(order["_id"]), data


def hub_key(order_data: dict) -> str:
    extra = order_data.get("extraData") if isinstance(order_data.get("extraData"), dict) else {}
    return _text(extra.get("hubKey"))


def status_updates(order: dict, push_key: str | None = None) -> list[StatusUpdate]:
    """The order's status for every item, then one update per shipment that has tracking,
    naming the items of that shipment (their ``sourceItemId`` is our item number)."""
    order_id, data = order_parts(order)
    key = push_key or hub_key(data)
    if not key:
        return []
    status = _text(data.get("status")).lower()
    updates = [StatusUpdate(push_key=key, external_status=status, external_order_id=order_id)]
    items = [i for i in data.get("items") or [] if isinstance(i, dict)] if isinstance(data.get("items"), list) else []
    shipments = data.get("shipments") if isinstance(data.get("shipments"), list) else []
    for shipment in shipments:
        if not isinstance(shipment, dict) or not _text(shipment.get("trackingNumber")):
            continue
        index = shipment.get("shipmentIndex", 0)
        numbers = [_text(i.get("sourceItemId")) for i in items
                   if i.get("shipmentIndex", 0) == index and _text(i.get("sourceItemId"))]
        carrier = shipment.get("carrier") if isinstance(shipment.get("carrier"), dict) else {}
        ship_date = None
        try:
            ship_date = date.fromisoformat(_text(shipment.get("shippedAt") or shipment.get("dispatchedAt"))[:10])
        except ValueError:
            pass
        updates.append(StatusUpdate(
            push_key=key, external_status=_text(shipment.get("status")).lower() or "shipped",
            external_order_id=order_id, item_numbers=numbers,
            shipment=Shipment(carrier=_text(carrier.get("code") or carrier.get("alias")),
                              service=_text(carrier.get("service")),
                              tracking_number=_text(shipment["trackingNumber"]), ship_date=ship_date)))
    return updates


def trigger_template() -> str:
    """The JSON body to paste as the trigger template in Site Flow (Handlebars). The field names
    are our contract; the ``{{…}}`` variable paths are [UNCERTAIN] (Site Flow's template context
    is not publicly documented beyond order/shipment data) — adjust them in Site Flow if needed."""
    return (
        '{"event": "{{event}}", "timestamp": "{{timestamp}}", "orderId": "{{order._id}}",\n'
        ' "sourceOrderId": "{{order.orderData.sourceOrderId}}", "hubKey": "{{order.orderData.extraData.hubKey}}",\n'
        ' "status": "{{order.orderData.status}}", "message": "{{error.message}}",\n'
        ' "shipment": {"shipmentIndex": "{{shipment.shipmentIndex}}", "trackingNumber": '
        '"{{shipment.trackingNumber}}",\n'
        '              "carrier": "{{shipment.carrier.code}}", "service": "{{shipment.carrier.service}}"}}'
    )
