"""PressWise ``/r/wsdl-order2.php`` operations and ``/_sim/`` hooks."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from ..base import ControlError, control_payload, install_tenant_routes, mark_created, tenant_from, tenant_record
from ..base.soap import SoapFailed, SoapService, build, child, children, elements, local, respond, text
from .state import Account, state

AUTH_FAILED = "Authentication failed: invalid user, password or authorization code."
NAMESPACE = "urn:presswise"


class Failed(SoapFailed):
    def __init__(self, code: int, message: str):
        super().__init__(message, code=code)
        self.message = message


def register(bp: Blueprint) -> None:
    Service(state).install(bp, "/r/wsdl-order2.php", auth_failures=("status", "fault"))
    install_tenant_routes(bp, lambda: state().tenants, credential_field="user", create=_create, describe=_describe,
                          stats=_stats)
    bp.add_url_rule("/_sim/orders", "sim_orders", sim_orders, methods=["GET"])
    bp.add_url_rule("/_sim/status", "sim_status", sim_status, methods=["POST"])


def _answer(op: str, code: int, message: str, data: dict | None = None) -> Response:
    node = build(f"{op}Response", NAMESPACE)
    node.append(build("return", None, {"status": {"code": code, "text": message}, **(data or {})}))
    return respond(node)


class Service(SoapService):
    """``/r/wsdl-order2.php``: ``auth/user|pass|code`` in the operation; refusals are
    ``status.code`` 101 in HTTP 200 (or a soap:Client fault with ``PRESSWISE_AUTH_FAILURE = "fault"``)."""

    auth_message = AUTH_FAILED

    def __init__(self, state_getter):
        super().__init__(state_getter)
        self.operations = OPERATIONS

    def unknown_operation(self, op: str) -> str:
        return f"Procedure '{op}' not present"

    def authenticate(self, header, operation):
        auth = child(operation, "auth")
        return self.state().authenticate(text(auth, "user"), text(auth, "pass"), text(auth, "code"))

    def argument(self, operation):
        return next((c for c in elements(operation) if local(c) != "auth"), None)

    def answer(self, op, namespace, data):
        return _answer(op, 0, "OK", data)

    def failed(self, op, namespace, exc):
        return _answer(op, exc.code, str(exc))

    def refused(self, op, namespace):
        return _answer(op, 101, AUTH_FAILED)


def _fields(node) -> dict:
    return {local(c): (c.text or "").strip() for c in elements(node) if not len(elements(c))} if node is not None else {}


def add_purchase_order(account: Account, data) -> dict:
    if data is None:
        raise Failed(2, "Missing data.")
    source = text(data, "sourceOrderID")
    if not source:
        raise Failed(2, "sourceOrderID is required.")
    if len(children(data, "shipTo")) > 1:
        raise Failed(2, "Only one shipTo block is allowed per purchase order.")
    customer = text(data, "customerID")
    if customer not in account.customers:
        raise Failed(4, f"Unknown customer ID '{customer}'.")
    items = children(data, "item")
    if not items:
        raise Failed(2, "At least one item is required.")
    lines = []
    for node in items:
        fields = _fields(node)
        if not fields.get("productID"):
            raise Failed(2, "item productID is required.")
        if not fields.get("quantity", "").isdigit() or int(fields["quantity"]) <= 0:
            raise Failed(2, f"item quantity must be a positive whole number (product {fields['productID']}).")
        fields["file"] = text(node, "fileF", "href") or (child(node, "fileF").get("href", "")
                                                          if child(node, "fileF") is not None else "")
        lines.append({**fields, "status": "AUTO New", "trackingNumber": "", "shipMethod": "", "shipDate": ""})
    existing = next((o for o in account.orders.values() if o["sourceOrderID"] == source), None)
    if existing is not None:
        state().tenants.count(account, "deduplicated")
        return {"orderID": existing["orderID"]}
    order_id = str(state().rt.ids.next("order", 30_001))
    account.orders[order_id] = {"orderID": order_id, "sourceOrderID": source, "customerID": customer,
                                "status": text(data, "initial_status") or "AUTO New", "header": _fields(data),
                                "shipTo": _fields(child(data, "shipTo")) or None, "items": lines}
    mark_created()
    return {"orderID": order_id}


def _order(account: Account, request_node) -> dict:
    order_id, source = text(request_node, "orderID"), text(request_node, "sourceOrderID")
    order = account.orders.get(order_id) if order_id else next(
        (o for o in account.orders.values() if source and o["sourceOrderID"] == source), None)
    if order is None:
        raise Failed(3, f"Order not found: {order_id or source or '(empty)'}.")
    return order


def get_order_status(account: Account, request_node) -> dict:
    order = _order(account, request_node)
    return {"order": {"orderID": order["orderID"], "sourceOrderID": order["sourceOrderID"], "status": order["status"],
                      "item": [{k: line.get(k, "") for k in ("sourceJobID", "status", "trackingNumber", "shipMethod",
                                                             "shipDate")} for line in order["items"]]}}


def create_user(account: Account, request_node) -> dict:
    if text(request_node, "customerID") not in account.customers:
        raise Failed(4, f"Unknown customer ID '{text(request_node, 'customerID')}'.")
    if not text(request_node, "user", "loginID"):
        raise Failed(2, "loginID is required.")
    account.users.append(_fields(child(request_node, "user")))
    return {"userID": str(state().rt.ids.next("user", 9_001))}


OPERATIONS = {"add_purchase_order": add_purchase_order, "get_order_status": get_order_status,
              "create_user": create_user}


# --------------------------------------------------------------------------- test hooks

def _account() -> tuple[Account, dict]:
    payload = control_payload()
    return tenant_from(state().tenants, payload, "user"), payload


def _create(tenants, payload) -> Account:
    if not all(payload.get(k) for k in ("user", "password", "code")):
        raise ControlError(400, "user, password and code are required")
    return state().add_account(str(payload["user"]), str(payload["password"]), str(payload["code"]),
                               payload.get("customers") or (), payload.get("rate_limit"), payload.get("window_seconds"))


def _describe(account: Account) -> dict:
    return {"user": account.user, "customers": sorted(account.customers)}


def _stats(account: Account) -> dict:
    sources = [o["sourceOrderID"] for o in account.orders.values()]
    return {"orders": len(account.orders), "duplicates": len(sources) - len(set(sources)),
            "deduplicated": account.counters["deduplicated"], "users": len(account.users)}


def sim_orders():
    account, _ = _account()
    return jsonify({"orders": list(account.orders.values())})


def sim_status():
    """{"user", "order_id", "status"?, "items"?: {sourceJobID: {"status", "trackingNumber", "shipMethod",
    "shipDate"}}} — e.g. "Exception: paper out" or a shipped item with tracking."""
    _, order, payload = tenant_record(state().tenants, "user")
    with state().lock:
        if payload.get("status"):
            order["status"] = str(payload["status"])
        for job, changes in (payload.get("items") or {}).items():
            line = next((line for line in order["items"] if line.get("sourceJobID") == job), None)
            if line is None:
                raise ControlError(404, f"unknown sourceJobID {job}")
            line.update({k: str(v) for k, v in changes.items()
                         if k in ("status", "trackingNumber", "shipMethod", "shipDate")})
    return jsonify(order)


