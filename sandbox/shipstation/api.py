"""ShipStation V1 order, shipment and fulfillment routes (Basic auth, rate limited)."""
from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, jsonify, request

from ..base import mark_created
from .http import (ApiError, Query, account, contains, in_range, invalid, not_found,
                   read_json_body, sort_and_page, sort_key)
from .orders import FILTER_STATUSES, OrderError, upsert_order
from .state import state

MAX_BULK_ORDERS = 100


# --------------------------------------------------------------------------- orders

def create_order():
    raw = read_json_body("order")
    st = state()
    with st.lock:
        try:
            stored = upsert_order(st, account(), raw, "order")
        except OrderError as exc:
            raise ApiError(400, exc.body()) from None
        out = copy.deepcopy(stored)
    mark_created()
    return jsonify(out)


def create_orders():
    raw = read_json_body("orders")
    if not isinstance(raw, list):
        raise invalid({"orders": ["A JSON array of orders is required."]})
    if len(raw) > MAX_BULK_ORDERS:
        raise invalid({"orders": [f"At most {MAX_BULK_ORDERS} orders can be created per "
                                  f"request; {len(raw)} were sent."]})
    st = state()
    results = []
    with st.lock:
        for index, element in enumerate(raw):
            fields = element if isinstance(element, dict) else {}
            try:
                stored = upsert_order(st, account(), element, f"orders[{index}]")
            except OrderError as exc:
                results.append({"orderId": None, "orderNumber": _plain(fields.get("orderNumber")),
                                "orderKey": _plain(fields.get("orderKey")), "success": False,
                                "errorMessage": exc.text()})
                continue
            results.append({"orderId": stored["orderId"], "orderNumber": stored["orderNumber"],
                            "orderKey": stored["orderKey"], "success": True,
                            "errorMessage": None})
    if any(r["success"] for r in results):
        mark_created()
    return jsonify({"hasErrors": not all(r["success"] for r in results), "results": results})


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


ORDER_SORT = {"OrderDate": "orderDate", "ModifyDate": "modifyDate", "CreateDate": "createDate"}


def list_orders():
    q = Query()
    number = q.text("orderNumber")
    status = q.choice("orderStatus", FILTER_STATUSES)
    store_id = q.integer("storeId")
    customer = q.text("customerName")
    keyword = q.text("itemKeyword")
    ranges = {f: q.range(f) for f in ("createDate", "modifyDate", "orderDate", "paymentDate")}
    sort_by = q.choice("sortBy", ORDER_SORT)
    descending = q.choice("sortDir", ("ASC", "DESC")) == "DESC"
    page, size = q.paging()
    q.done()

    def keep(order: dict[str, Any]) -> bool:
        if number and not order["orderNumber"].lower().startswith(number.lower()):
            return False
        if status and order["orderStatus"] != status:
            return False
        if store_id is not None and order["advancedOptions"]["storeId"] != store_id:
            return False
        if customer and not contains((order.get("billTo") or {}).get("name"), customer):
            return False
        if keyword and not any(_item_matches(item, keyword) for item in order["items"]):
            return False
        return all(in_range(order.get(f), bounds) for f, bounds in ranges.items())

    st = state()
    with st.lock:
        matches = [o for o in account().data.orders.values() if keep(o)]
        body = sort_and_page(matches, sort_key(ORDER_SORT.get(sort_by or ""), "orderId"),
                             descending, page, size, "orders")
    return jsonify(body)


def _item_matches(item: dict[str, Any], keyword: str) -> bool:
    texts = [item.get("sku"), item.get("name")]
    texts += [o.get("value") for o in item.get("options") or []]
    return any(contains(t, keyword) for t in texts)


def get_order(order_id: int):
    st = state()
    with st.lock:
        order = account().data.orders.get(order_id)
        if order is None:
            raise not_found(f"Order {order_id}")
        return jsonify(copy.deepcopy(order))


def delete_order(order_id: int):
    st = state()
    with st.lock:
        data = account().data
        order = data.orders.pop(order_id, None)
        if order is None:
            raise not_found(f"Order {order_id}")
        data.order_keys.pop(order["orderKey"], None)
    return jsonify({"success": True, "message": "The requested order has been deleted."})


# --------------------------------------------------------------------------- shipments

SHIPMENT_SORT = {"ShipDate": "shipDate", "CreateDate": "createDate"}


def list_shipments():
    q = Query()
    order_id = q.integer("orderId")
    number = q.text("orderNumber")
    batch_id = q.integer("batchId")
    store_id = q.integer("storeId")
    exact = {name: q.text(name) for name in ("trackingNumber", "carrierCode", "serviceCode")}
    recipient = q.text("recipientName")
    country = q.text("recipientCountryCode")
    ranges = {"createDate": q.range("createDate"), "shipDate": q.range("shipDate", "date"),
              "voidDate": q.range("voidDate")}
    with_items = q.flag("includeShipmentItems")
    sort_by = q.choice("sortBy", SHIPMENT_SORT)
    descending = q.choice("sortDir", ("ASC", "DESC")) == "DESC"
    page, size = q.paging()
    q.done()

    def keep(record) -> bool:
        s = record.data
        if order_id is not None and s["orderId"] != order_id:
            return False
        if number and (s["orderNumber"] or "").lower() != number.lower():
            return False
        if batch_id is not None and record.batch_id != batch_id:
            return False
        if store_id is not None and record.store_id != store_id:
            return False
        if any(v is not None and s.get(k) != v for k, v in exact.items()):
            return False
        ship_to = s.get("shipTo") or {}
        if recipient and not contains(ship_to.get("name"), recipient):
            return False
        if country and (ship_to.get("country") or "").upper() != country.upper():
            return False
        return all(in_range(s.get(f), bounds) for f, bounds in ranges.items())

    def render(shipment: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(shipment)
        if not with_items:
            out["shipmentItems"] = None
        return out

    st = state()
    with st.lock:
        matches = [r.data for r in account().data.shipments.values() if keep(r)]
        body = sort_and_page(matches, sort_key(SHIPMENT_SORT.get(sort_by or ""), "shipmentId"),
                             descending, page, size, "shipments", render)
    return jsonify(body)


def list_fulfillments():
    q = Query()
    fulfillment_id = q.integer("fulfillmentId")
    order_id = q.integer("orderId")
    number = q.text("orderNumber")
    tracking = q.text("trackingNumber")
    recipient = q.text("recipientName")
    ranges = {"createDate": q.range("createDate"), "shipDate": q.range("shipDate", "date")}
    sort_by = q.choice("sortBy", SHIPMENT_SORT)
    descending = q.choice("sortDir", ("ASC", "DESC")) == "DESC"
    page, size = q.paging()
    q.done()

    def keep(f: dict[str, Any]) -> bool:
        if fulfillment_id is not None and f["fulfillmentId"] != fulfillment_id:
            return False
        if order_id is not None and f["orderId"] != order_id:
            return False
        if number and (f["orderNumber"] or "").lower() != number.lower():
            return False
        if tracking and f["trackingNumber"] != tracking:
            return False
        if recipient and not contains((f.get("shipTo") or {}).get("name"), recipient):
            return False
        return all(in_range(f.get(k), bounds) for k, bounds in ranges.items())

    st = state()
    with st.lock:
        matches = [f for f in account().data.fulfillments.values() if keep(f)]
        body = sort_and_page(matches, sort_key(SHIPMENT_SORT.get(sort_by or ""),
                                               "fulfillmentId"),
                             descending, page, size, "fulfillments")
    return jsonify(body)


def unknown_route(rest: str):
    """ASP.NET answers unknown paths with 404 and a Message (after auth, like any route)."""
    raise ApiError(404, {"Message": "No HTTP resource was found that matches the request URI "
                                    f"'{request.url}'."})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/orders/createorder", view_func=create_order, methods=["POST"])
    bp.add_url_rule("/orders/createorders", view_func=create_orders, methods=["POST"])
    bp.add_url_rule("/orders", view_func=list_orders, methods=["GET"])
    bp.add_url_rule("/orders/<int:order_id>", view_func=get_order, methods=["GET"])
    bp.add_url_rule("/orders/<int:order_id>", view_func=delete_order, methods=["DELETE"])
    bp.add_url_rule("/shipments", view_func=list_shipments, methods=["GET"])
    bp.add_url_rule("/fulfillments", view_func=list_fulfillments, methods=["GET"])


def register_fallback(bp: Blueprint) -> None:
    bp.add_url_rule("/<path:rest>", view_func=unknown_route,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
