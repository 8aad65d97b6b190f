"""Site Flow API routes: auth (both HMAC schemes), rate limit, orders, catalogue, files."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timezone

from flask import Blueprint, Response, g, request

from ..base import body_response, is_control_request, mark_created, sim_base_url, sim_path
from . import orders
from .state import KEY, Account, new_id, state

_ALGORITHMS = {"SHA256": hashlib.sha256, "SHA1": hashlib.sha1}


class ApiError(Exception):
    def __init__(self, status: int, message: str, name: str = "Error", validations: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.name, self.validations = status, message, name, validations

    def response(self) -> Response:
        error = {"message": self.message, "name": self.name, "code": self.status}
        if self.validations:
            error["validations"] = self.validations
        return body_response(self.status, {"success": False, "error": error})


def account() -> Account:
    return g.sf_account


def authenticate() -> Account:
    """Native ``x-oneflow-*`` (path = the request path, incl. /api, no query) or PrintOS gateway
    ``x-hp-hmac-*`` (path below the mount — the gateway's /siteflow service prefix left out — no
    separator before the date)."""
    st = state()
    native = request.headers.get("x-oneflow-authorization")
    gateway = request.headers.get("x-hp-hmac-authentication")
    if native:
        date = request.headers.get("x-oneflow-date")
        algorithm = (request.headers.get("x-oneflow-algorithm") or "SHA1").upper()
        if algorithm not in _ALGORITHMS or (st.sha256_only and algorithm != "SHA256"):
            raise ApiError(401, f"Unsupported algorithm {algorithm}.", "Unauthorized")
        message = f"{request.method.upper()} {request.path} {date}"
        credential = native
    elif gateway:
        date = request.headers.get("x-hp-hmac-date")
        algorithm = (request.headers.get("x-hp-hmac-algorithm") or "SHA256").upper()
        if algorithm != "SHA256":
            raise ApiError(401, "HMAC must be SHA256.", "Unauthorized")
        if not date or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z", date):
            raise ApiError(401, "x-hp-hmac-date is missing or malformed.", "Unauthorized")
        message = f"{request.method.upper()} {sim_path()}{date}"
        credential = gateway
    else:
        raise ApiError(401, "Missing authorization headers.", "Unauthorized")
    if not date:
        raise ApiError(401, "Missing x-oneflow-date header.", "Unauthorized")
    if st.max_skew is not None:
        try:
            sent = datetime.fromisoformat(date.replace("Z", "+00:00"))
            if abs((datetime.now(timezone.utc) - sent).total_seconds()) > float(st.max_skew):
                raise ApiError(401, "Request date is too far from the server time.", "Unauthorized")
        except ValueError:
            raise ApiError(401, "Request date is not a timestamp.", "Unauthorized") from None
    token, _, signature = credential.partition(":")
    with st.lock:
        acct = st.tenants.get(token)
    if acct is None:
        raise ApiError(401, "Invalid access token.", "Unauthorized")
    expected = hmac.new(acct.secret.encode(), message.encode(), _ALGORITHMS[algorithm]).hexdigest()
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise ApiError(401, "Invalid signature.", "Unauthorized")
    return acct


def install_hooks(bp: Blueprint) -> None:
    @bp.before_request
    def _authenticate_and_limit():
        if is_control_request(KEY):
            return None
        acct = authenticate()
        g.sf_account = acct
        decision = state().tenants.admit(acct)
        g.sf_rate = decision
        if not decision.allowed:
            return ApiError(429, "Rate limit exceeded: 3000 requests per minute.", "TooManyRequests").response()
        return None

    @bp.after_request
    def _rate_headers(response: Response) -> Response:
        decision = g.get("sf_rate")
        if decision is not None:
            response.headers["x-ratelimit-limit"] = str(decision.limit)
            response.headers["x-ratelimit-remaining"] = str(decision.remaining)
            response.headers["x-ratelimit-reset"] = str(decision.reset_seconds)
        return response

    bp.register_error_handler(ApiError, lambda exc: exc.response())


def _json_body():
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON.", "BadRequest") from None


def _order(order_id: str) -> dict:
    with state().lock:
        order = account().orders.get(order_id)
    if order is None:
        raise ApiError(404, f"Order {order_id} not found.", "NotFound")
    return order


def register(bp: Blueprint) -> None:
    @bp.post("/api/order")
    def submit():
        """Synchronous submission: validated inline; 201 with the order, or 400 with the reasons."""
        body = _json_body()
        acct = account()
        errors = orders.validate(acct, body)
        if errors:
            raise ApiError(400, "Order validation failed.", "ValidationError", errors)
        with state().lock:
            source = body["orderData"]["sourceOrderId"]
            if source in acct.by_source:
                state().tenants.count(acct, "duplicate_rejections")
                raise ApiError(400, f"An order with sourceOrderId '{source}' already exists.", "DuplicateOrder")
            order = orders.store(acct, body)
        mark_created()
        return body_response(201, {"success": True, "order": order})

    @bp.post("/orders/api/order")
    def submit_async():
        """The orders host: acknowledges every payload; problems arrive as "Order Submission Error"."""
        raw = request.get_data(cache=True)
        acct = account()
        ack = {"_id": new_id(), "url": f"{sim_base_url()}/api/order", "timestamp":
               datetime.now(timezone.utc).isoformat(), "sourceAccountId": acct.token}
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            body = None
        errors = orders.validate(acct, body)
        source = body.get("orderData", {}).get("sourceOrderId") if isinstance(body, dict) and isinstance(
            body.get("orderData"), dict) else None
        with state().lock:
            if not errors and source in acct.by_source:
                state().tenants.count(acct, "duplicate_rejections")
                errors = {"orderData.sourceOrderId": f"An order with sourceOrderId '{source}' already exists."}
            if not errors:
                orders.store(acct, body, order_id=ack["_id"])
            else:
                acct.submission_errors.append({"_id": ack["_id"], "errors": errors})
        mark_created()
        if errors:
            order_data = body.get("orderData") if isinstance(body, dict) and isinstance(body.get("orderData"), dict) else {}
            orders.fire(acct, "Order Submission Error", {"_id": ack["_id"], "orderData": order_data},
                        error="; ".join(f"{k}: {v}" for k, v in errors.items()))
        return body_response(200, ack)

    @bp.post("/api/order/validate")
    def validate():
        errors = orders.validate(account(), _json_body())
        if errors:
            raise ApiError(400, "Order validation failed.", "ValidationError", errors)
        return body_response(200, {"success": True})

    @bp.get("/api/order")
    def list_orders():
        try:
            page = int(request.args.get("page", 1))
            size = int(request.args.get("pagesize", 20))
        except ValueError:
            raise ApiError(400, "page and pagesize must be integers.", "BadRequest") from None
        if page < 1 or not 1 <= size <= 100:
            raise ApiError(400, "page must be ≥ 1 and pagesize between 1 and 100.", "BadRequest")
        source = request.args.get("sourceOrderId")
        with state().lock:
            rows = [o for o in account().orders.values() if source is None or o["orderData"]["sourceOrderId"] == source]
        window = rows[(page - 1) * size: page * size]
        return body_response(200, {"data": window, "count": len(rows), "page": page, "pagesize": size})

    @bp.get("/api/order/<order_id>")
    def get_order(order_id):
        return body_response(200, _order(order_id))

    @bp.put("/api/order/<order_id>/cancel")
    def cancel_by_id(order_id):
        return _cancel(_order(order_id))

    @bp.put("/api/order/<source_account>/<source_order_id>/cancel")
    def cancel_by_source(source_account, source_order_id):
        acct = account()
        order_id = acct.by_source.get(source_order_id) if source_account in (acct.token, acct.name) else None
        if order_id is None:
            raise ApiError(404, f"Order {source_order_id} not found.", "NotFound")
        return _cancel(_order(order_id))

    def _cancel(order: dict):
        if order["orderData"]["status"] in ("shipped", "cancelled"):
            raise ApiError(400, f"Order is {order['orderData']['status']} and cannot be cancelled.", "BadRequest")
        orders.advance(account(), order, "cancelled")
        return body_response(200, {"success": True, "order": order})

    @bp.get("/api/sku")
    def skus():
        return body_response(200, {"data": list(account().skus.values())})

    @bp.get("/api/product")
    def products():
        return body_response(200, {"data": [{"_id": s["_id"], "productCode": s["productCode"],
                                             "description": s["description"], "components": s["components"]}
                                            for s in account().skus.values()]})

    @bp.get("/api/file/getpreupload")
    def preupload():
        mime = request.args.get("mimeType")
        if not mime:
            raise ApiError(400, "mimeType is required.", "BadRequest")
        file_id = new_id()
        base = f"{sim_base_url()}/_sim/files/{file_id}"
        return body_response(200, {"url": base, "path": base, "mimeType": mime})

    @bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "DELETE"])
    def unknown(anything):
        raise ApiError(404, f"Cannot {request.method} /{anything}", "NotFound")
