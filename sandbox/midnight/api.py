"""Midnight ``Service1.asmx`` operations and ``/_sim/`` hooks."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime

from flask import Blueprint, jsonify
from lxml import etree

from ..base import control_payload, install_tenant_routes, mark_created, parse_iso_datetime, tenant_from, tenant_record
from ..base.soap import SoapFailed, SoapService, build, child, children, descend, elements, header_token, local, respond, text
from .state import Account, state

VERSION = "4.9.2 (simulator)"
BAD_TOKEN = "Invalid DevToken: the token is not valid or API access is not enabled for this site."
EXTENSIONS = ("jpg", "jpeg", "png", "gif", "bmp", "pdf", "eps")
PROGRESS = {"10": "Order Entered", "20": "Artwork Received", "30": "Proof Sent", "40": "Approved",
            "50": "In Production", "60": "Shipped", "70": "Invoiced"}


Failed = SoapFailed  # ReturnCode ≠ 0 with these errors


def register(bp: Blueprint) -> None:
    Service(state).install(bp, "/Service1.asmx", auth_failures=("result", "fault"))
    install_tenant_routes(bp, lambda: state().tenants, credential_field="token", create=_create, describe=_describe,
                          stats=_stats)
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


class Service(SoapService):
    """``Service1.asmx``: ``DevToken`` in the SOAP header; refusals are a Result with ReturnCode 1
    (or a soap:Server fault with ``MIDNIGHT_AUTH_FAILURE = "fault"``)."""

    auth_message = BAD_TOKEN
    auth_fault_code = "Server"

    def __init__(self, state_getter):
        super().__init__(state_getter)
        self.operations = OPERATIONS
        self.public = {"_GetWebServiceVersion": lambda op, ns: respond(build(
            "_GetWebServiceVersionResponse", ns, {"_GetWebServiceVersionResult": VERSION}))}

    def authenticate(self, header, operation):
        return self.state().tenants.find(header_token(header, "ValidationSoapHeader", "DevToken"))

    def answer(self, op, namespace, data):
        return respond(_result(op, namespace, data))

    def failed(self, op, namespace, exc):
        return respond(_result(op, namespace, errors=exc.errors))


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
    return tenant_from(state().tenants, payload, "token"), payload


def _create(tenants, payload) -> Account:
    return state().add_account(str(payload["token"]), payload.get("customers") or (),
                               payload.get("rate_limit"), payload.get("window_seconds"))


def _describe(account: Account) -> dict:
    return {"label": account.label, "customers": sorted(account.customers)}


def _stats(account: Account) -> dict:
    numbers = [o["PresseroId"] + "|" + (o["ProjectName"] or o["OrderNumber"]) for o in account.orders.values()]
    return {"orders": len(account.orders), "duplicates": len(numbers) - len(set(numbers)),
            "attachments": len(account.attachments)}


def sim_orders():
    account, _ = _account()
    return jsonify({"orders": [{**{k: v for k, v in o.items() if k != "modified"},
                                "modified": o["modified"].isoformat()} for o in account.orders.values()]})


def sim_progress():
    """{"token", "order_id", "code"?: "60", "text"?, "status"?: Open|Closed|Cancelled, "ship_date"?}."""
    _, order, payload = tenant_record(state().tenants, "token")
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
