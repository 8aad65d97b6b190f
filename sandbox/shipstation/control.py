"""Test hooks of the ShipStation simulator under ``/shipstation/_sim/`` (no auth).

Every hook names its account with ``api_key`` (query string or JSON body). Hooks that
change an order (ship, void, status, fulfill) move the order's ``modifyDate`` like the
real system would, so status polling by ``modifyDateStart`` sees them.
"""
from __future__ import annotations

import copy
import math
import random
from collections import Counter
from typing import Any

from flask import Blueprint, jsonify

from ..base import ControlError, control_payload, dispatch, sim_base_url
from .catalog import build_product
from .http import ApiError
from .orders import ORDER_STATUSES
from .state import (Account, AccountData, ShipmentRecord, ShipStationState, format_date, parse_date,
                    state)

MAX_GENERATED_PRODUCTS = 200_000
_rng = random.Random()


# --------------------------------------------------------------------------- helpers

def _account(payload: dict[str, Any]) -> Account:
    api_key = payload.get("api_key")
    if not api_key:
        raise ControlError(400, "api_key is required")
    acct = state().tenants.get(str(api_key))
    if acct is None:
        raise ControlError(404, f"unknown api_key {api_key!r}")
    return acct


def _int(payload: dict[str, Any], name: str, low: int, high: int, default: int | None = None):
    value = payload.get(name, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ControlError(400, f"{name} must be an integer between {low} and {high}")
    return number


def _positive(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be a number") from None
    if isinstance(value, bool) or not 0 < number <= 86_400:
        raise ControlError(400, f"{name} must be > 0 and <= 86400")
    return number


def _flag(payload: dict[str, Any], name: str, default: bool = True) -> bool:
    value = payload.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


def _find_order(acct: Account, payload: dict[str, Any]) -> dict[str, Any]:
    """By orderId, orderKey or (exact, unique) orderNumber; caller holds the lock."""
    orders = acct.data.orders
    if payload.get("orderId") is not None:
        order = orders.get(_int(payload, "orderId", 1, 2**62))
    elif payload.get("orderKey"):
        order = orders.get(acct.data.order_keys.get(str(payload["orderKey"]), -1))
    elif payload.get("orderNumber"):
        found = [o for o in orders.values() if o["orderNumber"] == str(payload["orderNumber"])]
        if len(found) > 1:
            raise ControlError(409, f"orderNumber {payload['orderNumber']!r} matches "
                                    f"{len(found)} orders; use orderId or orderKey")
        order = found[0] if found else None
    else:
        raise ControlError(400, "give orderId, orderKey or orderNumber")
    if order is None:
        raise ControlError(404, "order not found in this account")
    return order


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


# --------------------------------------------------------------------------- accounts/config

def sim_accounts_list():
    st = state()
    with st.lock:
        return jsonify({"accounts": [a.public() for a in st.tenants]})


def sim_accounts_add():
    p = control_payload()
    api_key, api_secret = p.get("api_key"), p.get("api_secret")
    if not isinstance(api_key, str) or not api_key or not isinstance(api_secret, str):
        raise ControlError(400, "api_key and api_secret (strings) are required")
    stores, tags = p.get("stores"), p.get("tags")
    for name, value in (("stores", stores), ("tags", tags)):
        if value is not None and not (isinstance(value, list) and value
                                      and all(isinstance(v, str) and v for v in value)):
            raise ControlError(400, f"{name} must be a non-empty list of names")
    acct, created = state().add_account(
        api_key, api_secret, rate_limit=_int(p, "rate_limit", 1, 1_000_000),
        window_seconds=_positive(p, "window_seconds"), stores=stores, tags=tags)
    return jsonify({"created": created, "account": acct.public()}), 201 if created else 200


def sim_config():
    """Per account: rate_limit, window_seconds. Simulator-wide: empty_401_body,
    page_size_overflow ("reject"|"clamp"), webhook_timeout."""
    p = control_payload()
    st = state()
    out: dict[str, Any] = {}
    if p.get("api_key"):
        acct = _account(p)
        limit, window = _int(p, "rate_limit", 1, 1_000_000), _positive(p, "window_seconds")
        with st.lock:
            if limit is not None:
                acct.rate_limit = limit
            if window is not None:
                acct.window_seconds = window
        st.rt.limiter.reset(acct.api_key)  # a new limit starts a new window
        out["account"] = acct.public()
    if "empty_401_body" in p:
        st.empty_401_body = _flag(p, "empty_401_body", False)
    if "page_size_overflow" in p:
        if p["page_size_overflow"] not in ("reject", "clamp"):
            raise ControlError(400, "page_size_overflow must be 'reject' or 'clamp'")
        st.page_size_overflow = p["page_size_overflow"]
    if p.get("webhook_timeout") is not None:
        st.webhook_timeout = _positive(p, "webhook_timeout")
    out.update({"empty_401_body": st.empty_401_body,
                "page_size_overflow": st.page_size_overflow,
                "webhook_timeout": st.webhook_timeout})
    return jsonify(out)


def sim_reset():
    """Clear orders, shipments, fulfillments, products, webhooks and counters of one
    account (``{"all": true}``: of every account). Stores and tags are kept."""
    p = control_payload()
    st = state()
    targets = list(st.tenants) if p.get("all") else [_account(p)]
    with st.lock:
        for acct in targets:
            acct.data = AccountData(stores=acct.data.stores, tags=acct.data.tags)
            acct.counters.clear()
            st.rt.limiter.reset(acct.api_key)
    return jsonify({"reset": [a.api_key for a in targets]})


def sim_stats():
    p = control_payload()
    acct = _account(p)
    st = state()
    with st.lock:
        data = acct.data
        counts = Counter(o["orderNumber"] for o in data.orders.values())
        duplicates = {number: n for number, n in sorted(counts.items()) if n > 1}
        return jsonify({
            "api_key": acct.api_key, "orders": len(data.orders),
            "orders_by_number": duplicates, "duplicate_order_numbers": len(duplicates),
            "requests": acct.requests, "rate_limited": acct.rate_limited,
            "shipments": len(data.shipments), "fulfillments": len(data.fulfillments),
            "products": len(data.products), "webhooks": len(data.webhooks),
        })


def sim_deliveries():
    acct = _account(control_payload())
    with state().lock:
        return jsonify({"deliveries": copy.deepcopy(acct.data.deliveries)})


def sim_add_store():
    p = control_payload()
    acct = _account(p)
    name = p.get("storeName")
    if not isinstance(name, str) or not name:
        raise ControlError(400, "storeName is required")
    st = state()
    with st.lock:
        return jsonify(copy.deepcopy(st.add_store(acct, name))), 201


# --------------------------------------------------------------------------- order life cycle

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
    acct = _account(p)
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
        order = _find_order(acct, p)
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
    if _flag(p, "notify"):
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
    acct = _account(p)
    with st.lock:
        records = acct.data.shipments
        if p.get("shipmentId") is not None:
            record = records.get(_int(p, "shipmentId", 1, 2**62))
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
    acct = _account(p)
    with st.lock:
        order = _find_order(acct, p)
        order.update(orderStatus=status, modifyDate=st.now())
        return jsonify(copy.deepcopy(order))


def sim_fulfill():
    """A fulfillment provider shipped the order: adds a fulfillment (not a shipment),
    marks the order shipped and notifies FULFILLMENT_SHIPPED subscribers with a
    resource_url of ``/fulfillments?orderId=<id>`` (simulator choice: the real URL shape
    is not documented)."""
    p = control_payload()
    st = state()
    acct = _account(p)
    carrier = str(p.get("carrierCode") or "ups")
    ship_date = _ship_date(st, p)
    with st.lock:
        order = _find_order(acct, p)
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
    result["deliveries"] = [_deliver(st, acct, h, url) for h in hooks] if _flag(
        p, "notify") else []
    return jsonify(result)


# --------------------------------------------------------------------------- products

def _generate(st: ShipStationState, acct: Account, p: dict[str, Any]) -> list[int]:
    count = _int(p, "generate", 1, MAX_GENERATED_PRODUCTS)
    n_categories = _int(p, "categories", 0, 10_000, default=10)
    inactive_every = _int(p, "inactive_every", 0, 1_000_000, default=0)
    uncategorized_every = _int(p, "uncategorized_every", 0, 1_000_000, default=0)
    prefix = str(p.get("sku_prefix") or "SIM-")
    stamp = st.now()
    categories = []
    for n in range(1, n_categories + 1):
        cat_id = st.next_id("category")
        acct.data.categories[cat_id] = f"Category {n:03d}"
        categories.append({"categoryId": cat_id, "name": f"Category {n:03d}"})
    ids = []
    for i in range(1, count + 1):
        product_id = st.next_id("product")
        category = None
        if categories and not (uncategorized_every and i % uncategorized_every == 0):
            category = dict(categories[(i - 1) % len(categories)])
        acct.data.products[product_id] = {
            "productId": product_id, "sku": f"{prefix}{i:06d}", "name": f"Sandbox product {i}",
            "price": round(5 + (i % 50) * 1.25, 2), "defaultCost": None, "length": None,
            "width": None, "height": None, "weightOz": float(i % 32 + 1),
            "internalNotes": None, "fulfillmentSku": None, "createDate": stamp,
            "modifyDate": stamp, "active": not (inactive_every and i % inactive_every == 0),
            "aliases": None, "productCategory": category, "productType": None,
            "warehouseLocation": None, "defaultCarrierCode": None, "defaultServiceCode": None,
            "defaultPackageCode": None, "defaultIntlCarrierCode": None,
            "defaultIntlServiceCode": None, "defaultIntlPackageCode": None,
            "defaultConfirmation": None, "defaultIntlConfirmation": None,
            "customsDescription": None, "customsValue": None, "customsTariffNo": None,
            "customsCountryCode": None, "noCustoms": None, "tags": [], "upc": None,
            "thumbnailUrl": None,
        }
        ids.append(product_id)
    return ids


def sim_products_create():
    """``{"api_key", "products": [...]}`` (categories may be given by name) or
    ``{"api_key", "generate": N, "categories": C, "inactive_every": k,
    "uncategorized_every": k, "sku_prefix": "SIM-"}`` for a large catalogue."""
    p = control_payload()
    st = state()
    acct = _account(p)
    with st.lock:
        if p.get("generate") is not None:
            ids = _generate(st, acct, p)
        elif isinstance(p.get("products"), list):
            try:  # validate every product before storing any
                built = [build_product(st, acct, raw, path=f"products[{i}]", existing=None,
                                       create_categories=True, defaults={"active": True})
                         for i, raw in enumerate(p["products"])]
            except ApiError as exc:
                return jsonify({"error": "invalid product", "details": exc.body}), 400
            for product in built:
                acct.data.products[product["productId"]] = product
            ids = [product["productId"] for product in built]
        else:
            raise ControlError(400, "give products (a list) or generate (a count)")
        categories = [{"categoryId": k, "name": v} for k, v in acct.data.categories.items()]
    return jsonify({"created": len(ids), "productIds": ids, "categories": categories}), 201


def sim_product_patch(product_id: int):
    p = control_payload()
    st = state()
    acct = _account(p)
    changes = {k: v for k, v in p.items() if k != "api_key"}
    with st.lock:
        existing = acct.data.products.get(product_id)
        if existing is None:
            raise ControlError(404, "product not found in this account")
        try:
            product = build_product(st, acct, {**existing, **changes}, path="product",
                                    existing=existing, create_categories=True)
        except ApiError as exc:
            return jsonify({"error": "invalid product", "details": exc.body}), 400
        acct.data.products[product_id] = product
        return jsonify(copy.deepcopy(product))


def sim_category_rename(category_id: int):
    """``{"api_key", "name"}`` — rename a category as a user would in ShipStation's UI; every
    product in it shows the new name."""
    p = control_payload()
    st, acct = state(), _account(p)
    name = str(p.get("name") or "").strip()
    if not name:
        raise ControlError(400, "name is required")
    with st.lock:
        if category_id not in acct.data.categories:
            raise ControlError(404, f"no category {category_id}")
        acct.data.categories[category_id] = name
        for product in acct.data.products.values():
            category = product.get("productCategory")
            if isinstance(category, dict) and category.get("categoryId") == category_id:
                product["productCategory"] = {"categoryId": category_id, "name": name}
                product["modifyDate"] = st.now()
    return jsonify({"categoryId": category_id, "name": name})


def register(bp: Blueprint) -> None:
    rules = [
        ("/_sim/accounts", sim_accounts_list, "GET"),
        ("/_sim/accounts", sim_accounts_add, "POST"),
        ("/_sim/config", sim_config, "POST"),
        ("/_sim/reset", sim_reset, "POST"),
        ("/_sim/stats", sim_stats, "GET"),
        ("/_sim/deliveries", sim_deliveries, "GET"),
        ("/_sim/stores", sim_add_store, "POST"),
        ("/_sim/ship", sim_ship, "POST"),
        ("/_sim/ship/<int:order_id>", sim_ship, "POST"),
        ("/_sim/void", sim_void, "POST"),
        ("/_sim/status", sim_status, "POST"),
        ("/_sim/fulfill", sim_fulfill, "POST"),
        ("/_sim/products", sim_products_create, "POST"),
        ("/_sim/products/<int:product_id>", sim_product_patch, "PATCH"),
        ("/_sim/categories/<int:category_id>", sim_category_rename, "POST"),
    ]
    for rule, view, method in rules:
        bp.add_url_rule(rule, endpoint=f"{view.__name__}_{method.lower()}_{rule.count('<')}",
                        view_func=view, methods=[method])
