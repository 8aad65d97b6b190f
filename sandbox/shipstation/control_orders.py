"""ShipStation simulator control hooks that move an order through its life cycle: ship
(with webhook deliveries), void, set a status, fulfil. Each moves the order's ``modifyDate``
like the real system, so status polling by ``modifyDateStart`` sees it."""
from __future__ import annotations

import copy
import math
import random
from typing import Any

from flask import jsonify

from ..base import ControlError, control_payload, dispatch, sim_base_url
from .control import account_of, find_order, flag_field, int_field
from .orders import ORDER_STATUSES
from .state import (Account, ShipmentRecord, ShipStationState, format_date, parse_date,
                    state)

_rng = random.Random()


def _ship_date(st: ShipStationState, payload: dict[str, Any]) -> str:
    if not payload.get("shipDate"):
        return format_date(st.rt.clock.now())
    try:
        return parse_date(payload["shipDate"])
    except ValueError:
        raise ControlError(400, "shipDate must be yyyy-mm-dd or a date-time") from None


def tracking_number(carrier: str) -> str:
    """Carrier-looking but obviously fake numbers."""
    digits = "".join(_rng.choice("0123456789") for _ in range(22))
    if carrier == "ups":
        return "1Z999SIM03" + digits[:8]
    if carrier.startswith("fedex"):
        return digits[:12]
    if carrier in ("usps", "stamps_com", "endicia"):
        return "9400" + digits[:18]
    return "SIM" + digits[:12]


def _base() -> str:
    return sim_base_url()


def _hooks_for(acct: Account, events: tuple[str, ...], store_id: int) -> list[dict[str, Any]]:
    return [copy.deepcopy(h) for h in acct.data.webhooks.values()
            if h["Active"] and h["HookType"] in events
            and (h["StoreID"] is None or h["StoreID"] == store_id)]


def _deliver(st: ShipStationState, acct: Account, hook: dict[str, Any],
             resource_url: str) -> dict[str, Any]:
    """One unsigned POST of the thin V1 payload (ShipStation signs nothing); never raises."""
    return dispatch(hook["Url"], {"resource_url": resource_url, "resource_type": hook["HookType"]},
                    log=acct.data.deliveries, lock=st.lock, timeout=st.webhook_timeout,
                    info={"webhookId": hook["WebHookID"], "event": hook["HookType"], "resource_url": resource_url})


def _shipment_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("orderItemId", "lineItemKey", "sku", "name", "imageUrl", "weight", "quantity",
            "unitPrice", "taxAmount", "shippingAmount", "warehouseLocation", "options",
            "productId", "fulfillmentSku", "adjustment", "upc", "createDate", "modifyDate")
    return [{k: copy.deepcopy(item.get(k)) for k in keep} for item in order["items"]]


def sim_ship(order_id: int | None = None):
    """Mark an order shipped, add a shipment in a new batch and notify SHIP_NOTIFY and
    ITEM_SHIP_NOTIFY subscribers (synchronously, unsigned)."""
    p = control_payload()
    if order_id is not None:
        p["orderId"] = order_id
    st = state()
    acct = account_of(p)
    carrier = str(p.get("carrierCode") or "ups")
    service = str(p.get("serviceCode") or f"{carrier}_ground")
    ship_date = _ship_date(st, p)
    try:
        cost = float(p.get("shipmentCost") or 0.0)
    except (TypeError, ValueError):
        cost = math.nan
    if not math.isfinite(cost) or cost < 0:
        raise ControlError(400, "shipmentCost must be a non-negative number")
    with st.lock:
        order = find_order(acct, p)
        if order["orderStatus"] == "cancelled":
            raise ControlError(409, "a cancelled order cannot be shipped")
        stamp = st.now()
        batch_id, store_id = st.next_id("batch"), order["advancedOptions"]["storeId"]
        shipment = {
            "shipmentId": st.next_id("shipment"), "orderId": order["orderId"],
            "orderKey": order["orderKey"], "userId": None,
            "customerEmail": order["customerEmail"], "orderNumber": order["orderNumber"],
            "createDate": stamp, "shipDate": ship_date,
            "shipmentCost": cost, "insuranceCost": 0.0,
            "trackingNumber": str(p.get("trackingNumber") or tracking_number(carrier)),
            "isReturnLabel": False, "batchNumber": str(batch_id), "carrierCode": carrier,
            "serviceCode": service, "packageCode": order["packageCode"] or "package",
            "confirmation": order["confirmation"] or "none",
            "warehouseId": order["advancedOptions"]["warehouseId"], "voided": False,
            "voidDate": None, "marketplaceNotified": False, "notifyErrorMessage": None,
            "shipTo": copy.deepcopy(order["shipTo"]), "weight": copy.deepcopy(order["weight"]),
            "dimensions": copy.deepcopy(order["dimensions"]),
            "insuranceOptions": copy.deepcopy(order["insuranceOptions"]),
            "advancedOptions": {"billToParty": None, "billToAccount": None,
                                "billToPostalCode": None, "billToCountryCode": None,
                                "storeId": store_id},
            "shipmentItems": _shipment_items(order), "labelData": None, "formData": None,
        }
        acct.data.shipments[shipment["shipmentId"]] = ShipmentRecord(shipment, batch_id,
                                                                     store_id)
        order.update(orderStatus="shipped", shipDate=ship_date, modifyDate=stamp)
        hooks = _hooks_for(acct, ("SHIP_NOTIFY", "ITEM_SHIP_NOTIFY"), store_id)
        result = {"shipment": copy.deepcopy(shipment), "order": copy.deepcopy(order),
                  "batchId": batch_id}
    base = f"{_base()}/shipments?storeID={store_id}&batchId={batch_id}&includeShipmentItems="
    result["resource_url"] = base + "False"
    deliveries = []
    if flag_field(p, "notify"):
        for hook in hooks:
            with_items = hook["HookType"] == "ITEM_SHIP_NOTIFY"
            deliveries.append(_deliver(st, acct, hook, base + ("True" if with_items else "False")))
    result["deliveries"] = deliveries
    return jsonify(result)


def sim_void():
    """Void a shipment (by shipmentId or trackingNumber); an order left without a live
    shipment goes back to awaiting_shipment, as after voiding a label."""
    p = control_payload()
    st = state()
    acct = account_of(p)
    with st.lock:
        records = acct.data.shipments
        if p.get("shipmentId") is not None:
            record = records.get(int_field(p, "shipmentId", 1, 2**62))
        elif p.get("trackingNumber"):
            record = next((r for r in records.values()
                           if r.data["trackingNumber"] == str(p["trackingNumber"])), None)
        else:
            raise ControlError(400, "give shipmentId or trackingNumber")
        if record is None:
            raise ControlError(404, "shipment not found in this account")
        if record.data["voided"]:
            raise ControlError(409, "shipment is already voided")
        stamp = st.now()
        record.data.update(voided=True, voidDate=stamp)
        order = acct.data.orders.get(record.data["orderId"])
        live = [r for r in records.values()
                if r.data["orderId"] == record.data["orderId"] and not r.data["voided"]]
        if order is not None and order["orderStatus"] == "shipped" and not live:
            order.update(orderStatus="awaiting_shipment", shipDate=None, modifyDate=stamp)
        return jsonify({"shipment": copy.deepcopy(record.data),
                        "order": copy.deepcopy(order)})


def sim_status():
    p = control_payload()
    status = p.get("orderStatus")
    if status not in ORDER_STATUSES:
        raise ControlError(400, f"orderStatus must be one of {', '.join(ORDER_STATUSES)}")
    st = state()
    acct = account_of(p)
    with st.lock:
        order = find_order(acct, p)
        order.update(orderStatus=status, modifyDate=st.now())
        return jsonify(copy.deepcopy(order))


def sim_fulfill():
    """A fulfillment provider shipped the order: adds a fulfillment (not a shipment),
    marks the order shipped and notifies FULFILLMENT_SHIPPED subscribers with a
    resource_url of ``/fulfillments?orderId=<id>`` (simulator choice: the real URL shape
    is not documented)."""
    p = control_payload()
    st = state()
    acct = account_of(p)
    carrier = str(p.get("carrierCode") or "ups")
    ship_date = _ship_date(st, p)
    with st.lock:
        order = find_order(acct, p)
        if order["orderStatus"] == "cancelled":
            raise ControlError(409, "a cancelled order cannot be fulfilled")
        stamp = st.now()
        fulfillment = {
            "fulfillmentId": st.next_id("fulfillment"), "orderId": order["orderId"],
            "orderNumber": order["orderNumber"], "userId": None,
            "customerEmail": order["customerEmail"],
            "trackingNumber": str(p.get("trackingNumber") or tracking_number(carrier)),
            "createDate": stamp, "shipDate": ship_date, "voidDate": None,
            "deliveryDate": None, "carrierCode": carrier, "sellerFillProviderId": 1,
            "sellerFillProviderName": "Sandbox Fulfillment",
            "fulfillmentProviderCode": "sandbox",
            "fulfillmentServiceCode": str(p.get("serviceCode") or "standard"),
            "fulfillmentFee": 0.0, "voidRequested": False, "voided": False,
            "marketplaceNotified": False, "notifyErrorMessage": None,
            "shipTo": copy.deepcopy(order["shipTo"]),
        }
        acct.data.fulfillments[fulfillment["fulfillmentId"]] = fulfillment
        order.update(orderStatus="shipped", shipDate=ship_date, modifyDate=stamp)
        hooks = _hooks_for(acct, ("FULFILLMENT_SHIPPED",), order["advancedOptions"]["storeId"])
        result = {"fulfillment": copy.deepcopy(fulfillment), "order": copy.deepcopy(order)}
    url = f"{_base()}/fulfillments?orderId={result['order']['orderId']}"
    result["deliveries"] = [_deliver(st, acct, h, url) for h in hooks] if flag_field(
        p, "notify") else []
    return jsonify(result)


RULES = [
    ("/_sim/ship", sim_ship, "POST"),
    ("/_sim/ship/<int:order_id>", sim_ship, "POST"),
    ("/_sim/void", sim_void, "POST"),
    ("/_sim/status", sim_status, "POST"),
    ("/_sim/fulfill", sim_fulfill, "POST"),
]
