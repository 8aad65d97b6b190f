"""Midnight ``Service1.asmx`` operations and ``/_sim/`` hooks."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime

from flask import Blueprint, Response, jsonify, request
from lxml import etree

from ..base import ControlError, control_payload, mark_created, parse_iso_datetime, set_credential
from ..base.soap import (SoapRequestError, build, child, children, descend, elements, fault, local, parse_envelope,
                    respond, text)
from .state import Account, state

VERSION = "4.9.2 (simulator)"
BAD_TOKEN = "Invalid DevToken: the token is not valid or API access is not enabled for this site."
EXTENSIONS = ("jpg", "jpeg", "png", "gif", "bmp", "pdf", "eps")
PROGRESS = {"10": "Order Entered", "20": "Artwork Received", "30": "Proof Sent", "40": "Approved",
            "50": "In Production", "60": "Shipped", "70": "Invoiced"}


class Failed(Exception):
    """ReturnCode ≠ 0 with these errors."""

    def __init__(self, *errors: str):
        super().__init__("; ".join(errors))
        self.errors = errors


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/Service1.asmx", "service", service, methods=["POST"])
    bp.add_url_rule("/_sim/accounts", "sim_accounts", sim_accounts, methods=["POST"])
    bp.add_url_rule("/_sim/config", "sim_config", sim_config, methods=["POST"])
    bp.add_url_rule("/_sim/stats", "sim_stats", sim_stats, methods=["GET"])
    bp.add_url_rule("/_sim/orders", "sim_orders", sim_orders, methods=["GET"])
    bp.add_url_rule("/_sim/progress", "sim_progress", sim_progress, methods=["POST"])


def _document(operation, name: str) -> etree._Element:
    raw = text(operation, name)
    if not raw:
        raise Failed(f"{name} is empty.")
    if "<!ENTITY" in raw or "<!DOCTYPE" in raw:
        raise Failed("DTDs are not allowed.")
    try:
        return etree.fromstring(raw.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise Failed(f"{name} is not well-formed XML: {exc.msg}") from None


def _result(op: str, namespace: str, data: dict | None = None, errors=()) -> etree._Element:
    result = build("Result", None, {"ReturnCode": 1 if errors else 0,
                                    "ReturnErrors": {"Error": list(errors)} if errors else None, **(data or {})})
    return build(f"{op}Response", namespace, {f"{op}Result": etree.tostring(result, encoding="unicode")})


def service() -> Response:
    st = state()
    try:
        header, operation, soap_ns = parse_envelope(request.get_data(cache=True))
    except SoapRequestError as exc:
        return fault("Client", str(exc))
    op, namespace = local(operation), etree.QName(operation).namespace
    if op == "_GetWebServiceVersion":
        return respond(build("_GetWebServiceVersionResponse", namespace, {"_GetWebServiceVersionResult": VERSION}))
    handler = OPERATIONS.get(op)
    if handler is None:
        return fault("Client", f"Server did not recognize the value of HTTP Header SOAPAction: {op}.")
    account = st.authenticate(text(descend(header, "ValidationSoapHeader", "DevToken")) if header is not None else "")
    if account is None:
        if st.auth_failure == "fault":
            return fault("Server", BAD_TOKEN)
        return respond(_result(op, namespace, errors=[BAD_TOKEN]))
    set_credential(account.label)
    decision = st.rt.limiter.hit(account.token, account.rate_limit, account.window_seconds)
    with st.lock:
        account.requests += 1
        account.rate_limited += 0 if decision.allowed else 1
    if not decision.allowed:
        return Response("Too Many Requests", status=429, headers={"Retry-After": str(decision.reset_seconds)})
    try:
        with st.lock:
            data = handler(account, operation)
    except Failed as exc:
        return respond(_result(op, namespace, errors=exc.errors))
    return respond(_result(op, namespace, data))


def _now() -> datetime:
    return state().rt.clock.now()


def _public(order: dict) -> dict:
    return {k: order[k] for k in ("OrderID", "OrderNumber", "CustomerID", "CustomerName", "ProjectName",
                                  "PurchaseOrderNumber", "OrderStatus", "OrderProgressCode", "OrderProgressText",
                                  "OrderDate", "DueDate", "ShipDate", "QuantityExpected", "PresseroId")}


def order_new(account: Account, operation) -> dict:
    document = _document(operation, "sXML")
    order = child(document, "Order") if local(document) == "OrderNew" else None
    if order is None:
        raise Failed("OrderNew/Order element not found.")
    customer = text(order, "CustomerID")
    if customer not in account.customers:
        raise Failed(f"invalid customer id ({customer or 'empty'}).")
    services = children(descend(order, "OrderDetail", "Services"), "Service")
    items = children(descend(order, "OrderInventory", "Items"), "Item")
    if not services and not items:
        raise Failed("An order needs at least one service or inventory item.")
    for node in services:
        if not text(node, "SvcId").isdigit() or not text(node, "SvcQuantity").isdigit():
            raise Failed("Service SvcId and SvcQuantity must be whole numbers.")
    for node in items:
        if not text(node, "ItemId").isdigit() or not text(node, "QuantityNeeded").isdigit():
            raise Failed("Inventory ItemId and QuantityNeeded must be whole numbers.")
    st = state()
    order_id = str(st.rt.ids.next("order", 80_001))
    number = str(st.rt.ids.next("order_number", 24_001))
    if text(order, "UseOrderNo").lower() in ("true", "1", "y"):
        number = text(order, "OrderNo")
        if not number:
            raise Failed("UseOrderNo is set but OrderNo is empty.")
        if any(o["OrderNumber"] == number for o in account.orders.values()):
            raise Failed(f"Order number {number} already exists.")
    now = _now()
    account.orders[order_id] = {
        "OrderID": order_id, "OrderNumber": number, "CustomerID": customer, "CustomerName": f"Customer {customer}",
        "ProjectName": text(order, "ProjectName"), "PurchaseOrderNumber": text(order, "PONum"),
        "PresseroId": text(order, "PresseroId"), "OrderStatus": "Open", "OrderProgressCode": "10",
        "OrderProgressText": PROGRESS["10"], "OrderDate": text(order, "OrderDate") or now.date().isoformat(),
        "DueDate": text(order, "DueDate"), "ShipDate": "", "QuantityExpected": text(order, "Quantity"),
        "modified": now, "services": [{e_.tag: e_.text for e_ in elements(s)} for s in services],
        "items": [{e_.tag: e_.text for e_ in elements(i)} for i in items],
        "shipping": {local(e_): e_.text for e_ in elements(child(order, "ShippingAddress"))}
        if child(order, "ShippingAddress") is not None else {}, "shipments": [],
    }
    mark_created()
    return {"Orders": {"Order": {"OrderId": order_id, "OrderNumber": number}}}


def _date(value: str, name: str) -> datetime:
    try:
        return parse_iso_datetime(value)
    except ValueError:
        raise Failed(f"{name} is not a valid date.") from None


def order_list(account: Account, operation) -> dict:
    params = child(_document(operation, "inputXML"), "InputParameter")
    if params is None:
        raise Failed("OrderList/InputParameter element not found.")
    found = list(account.orders.values())
    if text(params, "OrderNumber"):
        found = [o for o in found if o["OrderNumber"] == text(params, "OrderNumber")]
    if text(params, "CustomerID"):
        found = [o for o in found if o["CustomerID"] == text(params, "CustomerID")]
    if text(params, "OpenOrdersOnly").lower() in ("true", "1", "y"):
        found = [o for o in found if o["OrderStatus"] == "Open"]
    if text(params, "Ordermodifieddate"):
        since = _date(text(params, "Ordermodifieddate"), "Ordermodifieddate")
        found = [o for o in found if o["modified"] >= since]
    for name, keep in (("OrderDateFrom", lambda o, d: _date(o["OrderDate"], "OrderDate") >= d),
                       ("OrderDateTo", lambda o, d: _date(o["OrderDate"], "OrderDate") <= d)):
        if text(params, name):
            bound = _date(text(params, name), name)
            found = [o for o in found if keep(o, bound)]
    return {"Orders": {"Order": [_public(o) for o in found]}}


def order_shipment_new(account: Account, operation) -> dict:
    doc = _document(operation, "inputXML")
    order = account.orders.get(text(doc, "OrderID"))
    if order is None:
        raise Failed(f"Order {text(doc, 'OrderID') or '(empty)'} not found.")
    try:
        shipped = datetime.strptime(text(doc, "ShippedDate"), "%m/%d/%Y")
    except ValueError:
        raise Failed("ShippedDate must be MM/DD/YYYY.") from None
    order["shipments"].append({"TrackingNo": text(doc, "TrackingNo"), "Carrier": text(doc, "Carrier"),
                               "ShippedDate": shipped.date().isoformat()})
    order["ShipDate"], order["modified"] = shipped.date().isoformat(), _now()
    return {"Shipments": {"Shipment": {"OrderID": order["OrderID"], "TrackingNo": text(doc, "TrackingNo")}}}


def djb_status_update(account: Account, operation) -> dict:
    doc = _document(operation, "inputXML")
    detail, status = text(doc, "DJBDetailID"), text(doc, "DJBStatusID")
    if not detail.isdigit() or not status.isdigit():
        raise Failed("DJBDetailID and DJBStatusID must be whole numbers.")
    account.djb_updates.append({"DJBDetailID": detail, "DJBStatusID": status})
    return {}


def order_add_attachment(account: Account, operation) -> dict:
    if text(operation, "orderId") not in account.orders:
        raise Failed(f"Order {text(operation, 'orderId') or '(empty)'} not found.")
    name = text(operation, "fileName")
    if name.rsplit(".", 1)[-1].lower() not in EXTENSIONS or "." not in name:
        raise Failed(f"File type not allowed: {name or '(no name)'}. Allowed: {', '.join(EXTENSIONS)}.")
    try:
        content = base64.b64decode(text(operation, "fileContent"), validate=True)
    except (binascii.Error, ValueError):
        raise Failed("fileContent is not valid base64.") from None
    if not content:
        raise Failed("fileContent is empty.")
    account.attachments.append({"orderId": text(operation, "orderId"), "fileName": name, "bytes": len(content)})
    return {"Attachment": {"FileName": name}}


OPERATIONS = {"OrderNew": order_new, "OrderList": order_list, "OrderShipmentNew": order_shipment_new,
              "DJBStatusUpdate": djb_status_update, "OrderAddAttachment": order_add_attachment}


# --------------------------------------------------------------------------- test hooks

def _account() -> tuple[Account, dict]:
    payload = control_payload()
    account = state().accounts.get(str(payload.get("token") or ""))
    if account is None:
        raise ControlError(404, "unknown token")
    return account, payload


def sim_accounts():
    payload = control_payload()
    if not payload.get("token"):
        raise ControlError(400, "token is required")
    account = state().add_account(str(payload["token"]), payload.get("customers") or (),
                                  payload.get("rate_limit"), payload.get("window_seconds"))
    return jsonify({"label": account.label, "customers": sorted(account.customers)}), 201


def sim_config():
    payload = control_payload()
    if payload.get("auth_failure") not in ("result", "fault"):
        raise ControlError(400, "auth_failure must be result or fault")
    state().auth_failure = payload["auth_failure"]
    return jsonify({"auth_failure": state().auth_failure})


def sim_stats():
    account, _ = _account()
    numbers = [o["PresseroId"] + "|" + (o["ProjectName"] or o["OrderNumber"]) for o in account.orders.values()]
    return jsonify({"orders": len(account.orders), "duplicates": len(numbers) - len(set(numbers)),
                    "requests": account.requests, "rate_limited": account.rate_limited,
                    "attachments": len(account.attachments)})


def sim_orders():
    account, _ = _account()
    return jsonify({"orders": [{**{k: v for k, v in o.items() if k != "modified"},
                                "modified": o["modified"].isoformat()} for o in account.orders.values()]})


def sim_progress():
    """{"token", "order_id", "code"?: "60", "text"?, "status"?: Open|Closed|Cancelled, "ship_date"?}."""
    account, payload = _account()
    order = account.orders.get(str(payload.get("order_id")))
    if order is None:
        raise ControlError(404, "unknown order_id")
    with state().lock:
        if payload.get("code"):
            order["OrderProgressCode"] = str(payload["code"])
            order["OrderProgressText"] = str(payload.get("text") or PROGRESS.get(str(payload["code"]), ""))
        if payload.get("status"):
            order["OrderStatus"] = str(payload["status"])
        if payload.get("ship_date"):
            order["ShipDate"] = str(payload["ship_date"])
        order["modified"] = _now()
    return jsonify(_public(order))
