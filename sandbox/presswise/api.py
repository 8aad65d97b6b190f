"""PressWise ``/r/wsdl-order2.php`` operations and ``/_sim/`` hooks."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from ..base import ControlError, control_payload, mark_created, set_credential
from ..base.soap import SoapRequestError, build, child, children, elements, fault, local, parse_envelope, respond, text
from .state import Account, state

AUTH_FAILED = "Authentication failed: invalid user, password or authorization code."
NAMESPACE = "urn:presswise"


class Failed(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/r/wsdl-order2.php", "service", service, methods=["POST"])
    bp.add_url_rule("/_sim/accounts", "sim_accounts", sim_accounts, methods=["POST"])
    bp.add_url_rule("/_sim/config", "sim_config", sim_config, methods=["POST"])
    bp.add_url_rule("/_sim/stats", "sim_stats", sim_stats, methods=["GET"])
    bp.add_url_rule("/_sim/orders", "sim_orders", sim_orders, methods=["GET"])
    bp.add_url_rule("/_sim/status", "sim_status", sim_status, methods=["POST"])


def _answer(op: str, code: int, message: str, data: dict | None = None) -> Response:
    node = build(f"{op}Response", NAMESPACE)
    node.append(build("return", None, {"status": {"code": code, "text": message}, **(data or {})}))
    return respond(node)


def service() -> Response:
    st = state()
    try:
        _, operation, _ = parse_envelope(request.get_data(cache=True))
    except SoapRequestError as exc:
        return fault("Client", str(exc))
    op = local(operation)
    handler = OPERATIONS.get(op)
    if handler is None:
        return fault("Client", f"Procedure '{op}' not present")
    auth = child(operation, "auth")
    account = st.authenticate(text(auth, "user"), text(auth, "pass"), text(auth, "code"))
    if account is None:
        if st.auth_failure == "fault":
            return fault("Client", AUTH_FAILED)
        return _answer(op, 101, AUTH_FAILED)
    set_credential(account.user)
    decision = st.rt.limiter.hit(account.user, account.rate_limit, account.window_seconds)
    with st.lock:
        account.requests += 1
        account.rate_limited += 0 if decision.allowed else 1
    if not decision.allowed:
        return Response("Too Many Requests", status=429, headers={"Retry-After": str(decision.reset_seconds)})
    argument = next((c for c in elements(operation) if local(c) != "auth"), None)
    try:
        with st.lock:
            return _answer(op, 0, "OK", handler(account, argument))
    except Failed as exc:
        return _answer(op, exc.code, exc.message)


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
        account.deduplicated += 1
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
    account = state().accounts.get(str(payload.get("user") or ""))
    if account is None:
        raise ControlError(404, "unknown user")
    return account, payload


def sim_accounts():
    payload = control_payload()
    if not all(payload.get(k) for k in ("user", "password", "code")):
        raise ControlError(400, "user, password and code are required")
    account = state().add_account(str(payload["user"]), str(payload["password"]), str(payload["code"]),
                                  payload.get("customers") or (), payload.get("rate_limit"),
                                  payload.get("window_seconds"))
    return jsonify({"user": account.user, "customers": sorted(account.customers)}), 201


def sim_config():
    payload = control_payload()
    if payload.get("auth_failure") not in ("status", "fault"):
        raise ControlError(400, "auth_failure must be status or fault")
    state().auth_failure = payload["auth_failure"]
    return jsonify({"auth_failure": state().auth_failure})


def sim_stats():
    account, _ = _account()
    sources = [o["sourceOrderID"] for o in account.orders.values()]
    return jsonify({"orders": len(account.orders), "duplicates": len(sources) - len(set(sources)),
                    "deduplicated": account.deduplicated, "requests": account.requests,
                    "rate_limited": account.rate_limited, "users": len(account.users)})


def sim_orders():
    account, _ = _account()
    return jsonify({"orders": list(account.orders.values())})


def sim_status():
    """{"user", "order_id", "status"?, "items"?: {sourceJobID: {"status", "trackingNumber", "shipMethod",
    "shipDate"}}} — e.g. "Exception: paper out" or a shipped item with tracking."""
    account, payload = _account()
    order = account.orders.get(str(payload.get("order_id")))
    if order is None:
        raise ControlError(404, "unknown order_id")
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


