"""VeraCore SOAP OMS routes: ``/pmomsws/oms.asmx`` (AddOrder, GetOrderInfo,
GetShippingActivity, GetOffers), ``/pmomsws/orderadjustment.svc/soap`` (CancelOrder)."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, request

from ..base import mark_created, parse_iso_datetime
from ..base.soap import SOAP12, SoapRequestError, build, child, children, descend, fault, local, parse_envelope, respond, text
from .state import FLAGS, Account, Order, state

AUTH_FAILED = "Authentication failed: invalid Username or Password."
WSDL = """<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="{ns}" targetNamespace="{ns}">
  <wsdl:portType name="OMSSoap">{ops}</wsdl:portType>
  <wsdl:service name="OMS"><wsdl:port name="OMSSoap" binding="tns:OMSSoap">
    <soap:address location="{url}"/></wsdl:port></wsdl:service>
</wsdl:definitions>"""
OPERATIONS = ("AddOrder", "GetOrderInfo", "GetShippingActivity", "GetOffers")


class Fault(Exception):
    def __init__(self, message: str, code: str = "Server"):
        super().__init__(message)
        self.message, self.code = message, code


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/pmomsws/oms.asmx", "oms", oms, methods=["GET", "POST"])
    bp.add_url_rule("/pmomsws/orderadjustment.svc/soap", "adjust", order_adjustment, methods=["POST"])


def oms() -> Response:
    if request.method == "GET":
        if "wsdl" in {k.lower() for k in request.args}:
            ops = "".join(f'<wsdl:operation name="{op}"/>' for op in OPERATIONS)
            return Response(WSDL.format(ns="http://omscom/", ops=ops, url=request.base_url), mimetype="text/xml")
        return Response("<html><body>OMS web service</body></html>", mimetype="text/html")
    return _soap(_dispatch_oms)


def order_adjustment() -> Response:
    return _soap(_cancel_order, auth_in_body=True)


def _soap(handler, auth_in_body: bool = False) -> Response:
    mimetype = (request.mimetype or "").lower()
    if mimetype not in ("text/xml", "application/soap+xml"):
        return Response(f"Unsupported media type {mimetype or '(none)'}: send text/xml (SOAP 1.1).", status=415,
                        mimetype="text/plain")
    soap_ns = SOAP12 if mimetype == "application/soap+xml" else None
    try:
        header, operation, env_ns = parse_envelope(request.get_data(cache=True))
        soap_ns = env_ns
        auth = _first(operation, "AuthenticationHeader") if auth_in_body else descend(header, "AuthenticationHeader")
        account = state().authenticate(text(auth, "Username"), text(auth, "Password")) if auth is not None else None
        if account is None:
            raise Fault(AUTH_FAILED)
        limited = _rate_limit(account)
        if limited is not None:
            return limited
        if not auth_in_body:
            _check_action(account, operation, env_ns)
        with state().lock:
            return respond(handler(account, operation), soap_ns)
    except SoapRequestError as exc:
        return fault("Client", str(exc), soap_ns or "http://schemas.xmlsoap.org/soap/envelope/")
    except Fault as exc:
        return fault(exc.code, exc.message, soap_ns or "http://schemas.xmlsoap.org/soap/envelope/")


def _rate_limit(account: Account) -> Response | None:
    decision = state().tenants.admit(account)
    if decision.allowed:
        return None
    return Response("Too Many Requests", status=429, mimetype="text/plain",
                    headers={"Retry-After": str(decision.reset_seconds)})


def _check_action(account: Account, operation, env_ns: str) -> None:
    """ASMX dispatches on SOAPAction (1.1): namespace + operation name."""
    namespace = etree_ns(operation)
    action = (request.headers.get("SOAPAction") or "").strip().strip('"')
    expected = f"{account.namespace}{local(operation)}"
    if env_ns != SOAP12 and action != expected:
        raise Fault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.", "Client")
    if namespace != account.namespace or local(operation) not in OPERATIONS:
        raise Fault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.", "Client")


def etree_ns(node) -> str:
    from lxml import etree

    return etree.QName(node).namespace or ""


def _first(node, name: str):
    """First descendant with this local name (CancelOrder nests its arguments)."""
    return next((n for n in node.iter() if isinstance(n.tag, str) and local(n) == name), None)


def _dispatch_oms(account: Account, operation):
    return {"AddOrder": _add_order, "GetOrderInfo": _order_info, "GetShippingActivity": _shipping_activity,
            "GetOffers": _offers}[local(operation)](account, operation)


# --------------------------------------------------------------------------- operations

ADDRESS_FIELDS = ("FirstName", "LastName", "CompanyName", "Address1", "Address2", "Address3", "City", "State",
                  "PostalCode", "Country", "Phone", "Email", "FreightCode")


def _add_order(account: Account, operation):
    order = child(operation, "order")
    if order is None:
        raise Fault("Value cannot be null. Parameter name: order", "Client")
    header = child(order, "Header")
    order_id = text(header, "ID")
    if order_id and not account.caller_ids:
        raise Fault("Order ID must be left empty: order IDs are assigned by VeraCore.")
    if order_id and order_id in account.orders:
        state().tenants.count(account, "duplicates_refused")
        raise Fault(f"Order ID '{order_id}' already exists.")
    ship_tos = {}
    for node in children(child(order, "ShipTo"), "OrderShipTo"):
        key = text(node, "Key")
        record = {name: text(node, name) for name in ADDRESS_FIELDS}
        if text(node, "Flag") == "Other":
            missing = [name for name in ("Address1", "City", "PostalCode") if not record[name]]
            if not (record["FirstName"] and record["LastName"]) and not record["CompanyName"]:
                missing.insert(0, "FirstName/LastName or CompanyName")
            if (record["Country"] or "US") == "US" and not record["State"]:
                missing.append("State")
            if missing:
                raise Fault(f"Ship-to {key or '?'}: {', '.join(missing)} required.")
        ship_tos[key] = record
    lines = children(child(order, "Offers"), "OfferOrdered")
    if not lines:
        raise Fault("The order must contain at least one OfferOrdered.")
    offers = []
    for line in lines:
        offer_id = text(line, "Offer", "Header", "ID")
        if offer_id not in account.offers:
            raise Fault(f"Offer '{offer_id}' does not exist.")
        try:
            quantity = int(text(line, "Quantity") or "0")
        except ValueError:
            quantity = 0
        if quantity <= 0:
            raise Fault(f"Quantity must be greater than zero (offer '{offer_id}').")
        key = text(line, "OrderShipTo", "Key")
        if key not in ship_tos:
            raise Fault(f"OrderShipTo Key '{key}' of offer '{offer_id}' matches no ship-to of the order.")
        offers.append({"OfferId": offer_id, "OfferDesc": account.offers[offer_id]["Description"],
                       "OrderQty": quantity, "UnitPrice": text(line, "UnitPrice") or "0", "Key": key})
    st = state()
    seq = st.rt.ids.next("order_seq", 500_001)
    final_id = order_id or f"{seq}"
    reference = order_id or text(header, "ReferenceNumber")
    account.orders[final_id] = Order(
        order_id=final_id, seq_id=seq, reference=reference,
        header={name: text(header, name) for name in ("EntryDate", "ReferenceNumber", "PONumber", "Comments")},
        ship_tos=list(ship_tos.values()), offers=offers, entered=st.rt.clock.now().isoformat(timespec="seconds"))
    mark_created()
    return build("AddOrderResponse", account.namespace, {"AddOrderResult": {"OrderID": final_id, "OrderSeqID": seq}})


def _find(account: Account, order_id: str) -> Order:
    order = account.orders.get(order_id)
    if order is None:
        raise Fault(f"Order '{order_id}' was not found.")
    return order


def _order_info(account: Account, operation):
    order = _find(account, text(operation, "orderId"))
    ship_to = order.ship_tos[0] if order.ship_tos else {}
    result = {
        "OrdHead": {"OrderId": order.order_id, "EntryDate": order.entered, "Stream": "Default",
                    "ReferenceNo": order.header["ReferenceNumber"], "PoNum": order.header["PONumber"],
                    "Status": {flag: flag in order.flags for flag in FLAGS}},
        "ShipToInfo": {k: v for k, v in ship_to.items() if k != "FreightCode"},
        "OfferInfo": [{"OfferId": o["OfferId"], "OfferDesc": o["OfferDesc"], "OrderQty": o["OrderQty"],
                       "UnitPrice": o["UnitPrice"]} for o in order.offers],
        "ShippingOrders": {"ShippingOrder": [
            {"PickPackId": p["PickPackId"], "Status": "Shipped", "DatePicked": p["DateShipped"],
             "Packages": {"Package": [{k: p[k] for k in ("TrackingId", "Carrier", "Service", "DateShipped",
                                                         "DateVoided", "Weight")}]}}
            for p in order.packages]} if order.packages else None,
    }
    return build("GetOrderInfoResponse", account.namespace, {"GetOrderInfoResult": result})


def _date_arg(operation, name: str) -> datetime:
    try:
        return parse_iso_datetime(text(operation, name))
    except ValueError:
        raise Fault(f"{name} is not a valid date.", "Client") from None


def _shipping_activity(account: Account, operation):
    start, end = _date_arg(operation, "StartDate"), _date_arg(operation, "EndDate")
    records = []
    for order in account.orders.values():
        for package in order.packages:
            shipped = parse_iso_datetime(package["DateShipped"])
            if start <= shipped <= end and not package["DateVoided"]:
                records.append({"ShipDate": package["DateShipped"], "OrderId": order.order_id,
                                "PickPackId": package["PickPackId"], "Type": "Shipped",
                                "LinesShipped": len(order.offers),
                                "PiecesShipped": sum(o["OrderQty"] for o in order.offers),
                                "NumberofPackages": 1, "TotalWeight": package["Weight"]})
    return build("GetShippingActivityResponse", account.namespace,
                 {"GetShippingActivityResult": {"ShippingActivity": records}})


def _offers(account: Account, operation):
    search = text(operation, "searchString") or "%"
    pattern = re.compile("^" + ".*".join(re.escape(part) for part in search.split("%")) + "$", re.I)
    by_id = text(operation, "searchID").lower() == "true"
    by_description = text(operation, "searchDescription").lower() == "true"
    if not by_id and not by_description:
        by_id = True
    results = []
    for offer in account.offers.values():
        if (by_id and pattern.match(offer["ID"])) or (by_description and pattern.match(offer["Description"])):
            category = offer.get("Category")
            results.append({"ID": offer["ID"], "Description": offer["Description"], "Available": offer["Available"],
                            "DefaultPrice": offer["DefaultPrice"], "Inactive": offer["Inactive"],
                            "Categories": {"Category": [category]} if category else None})
    return build("GetOffersResponse", account.namespace, {"GetOffersResult": {"GetOfferResult": results}})


def _cancel_order(account: Account, operation):
    order = _find(account, text(_first(operation, "OrderID")))
    if order.flags & {"Shipped", "Complete"}:
        raise Fault(f"Order '{order.order_id}' has shipped and cannot be canceled.")
    order.flags = {"Canceled"}
    return build("CancelOrderResponse", account.namespace,
                 {"CancelOrderResult": {"OrderID": order.order_id, "Canceled": True}})
