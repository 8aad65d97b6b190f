"""StreamLive routes (proposed contract) and control hooks."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date

from flask import Blueprint, g, jsonify, request

from ..base import (ControlError, body_response, control_payload, install_tenant_routes, is_control_request,
                    mark_created, tenant_from)
from .state import FLOW, KEY, SIDE, Account, state

MAX_LIMIT = 100


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("error"))
        self.status, self.body = status, body


def _validation(fields: dict) -> ApiError:
    return ApiError(422, {"error": "Validation failed", "fields": {k: [v] for k, v in fields.items()}})


def _account() -> Account:
    return g.sl_account


def _validate(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, {"error": "The body must be a JSON object."})
    fields: dict = {}
    if not isinstance(body.get("external_id"), str) or not body["external_id"].strip():
        fields["external_id"] = "external_id is required."
    if body.get("due_date") is not None:
        try:
            date.fromisoformat(str(body["due_date"]))
        except ValueError:
            fields["due_date"] = "due_date must be YYYY-MM-DD."
    items = body.get("items")
    if not isinstance(items, list) or not items:
        fields["items"] = "At least one item is required."
        items = []
    seen = set()
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            fields[f"items[{n}]"] = "An item must be an object."
            continue
        if not isinstance(item.get("product_code"), str) or not item["product_code"].strip():
            fields[f"items[{n}].product_code"] = "product_code is required."
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            fields[f"items[{n}].quantity"] = "quantity must be a whole number of at least 1."
        files = item.get("files")
        if not isinstance(files, list) or not files:
            fields[f"items[{n}].files"] = "At least one file is required."
        elif not all(isinstance(f, dict) and str(f.get("url") or "").startswith(("http://", "https://"))
                     for f in files):
            fields[f"items[{n}].files"] = "Every file needs an http(s) url."
        key = item.get("external_item_id")
        if key in seen:
            fields[f"items[{n}].external_item_id"] = "external_item_id must be unique in the order."
        seen.add(key)
    if fields:
        raise _validation(fields)
    return body


def _page(rows: list[dict]):
    try:
        page, limit = int(request.args.get("page", 1)), int(request.args.get("limit", MAX_LIMIT))
    except ValueError:
        raise ApiError(400, {"error": "page and limit must be whole numbers."}) from None
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, {"error": f"page must be >= 1 and limit between 1 and {MAX_LIMIT}."})
    chunk = rows[(page - 1) * limit: page * limit]
    response = jsonify(chunk)
    response.headers.update({"caldera-page": str(page), "caldera-limit": str(limit),
                             "caldera-total-results": str(len(rows))})
    links = []
    if page * limit < len(rows):
        links.append(f'<{request.base_url}?page={page + 1}&limit={limit}>; rel="next"')
    if page > 1:
        links.append(f'<{request.base_url}?page={page - 1}&limit={limit}>; rel="prev"')
    if links:
        response.headers["link"] = ", ".join(links)
    return response


def register(bp: Blueprint) -> None:
    @bp.before_request
    def _authenticate():
        if is_control_request(KEY):
            return None
        st = state()
        account = st.tenants.find(request.headers.get("X-Api-Key", ""))
        if account is None:
            return body_response(401, {"error": "Invalid or missing API key."})
        given = request.headers.get("X-Account-Id")
        if given is not None and account.account_id and given != account.account_id:
            return body_response(403, {"error": "The API key does not belong to this account."})
        g.sl_account = account
        decision = st.tenants.admit(account)
        if not decision.allowed:
            return body_response(429, {"error": "Too Many Requests"}, {"Retry-After": decision.reset_seconds})
        return None

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.body), exc.status

    @bp.post("/api/v1/orders")
    def order_create():
        if request.mimetype != "application/json":
            raise ApiError(415, {"error": "Send application/json."})
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, {"error": "The body is not valid JSON."}) from None
        body = _validate(body)
        st, account = state(), _account()
        with st.lock:
            existing = next((o for o in account.orders.values() if o["external_id"] == body["external_id"]), None)
            if existing is not None:
                state().tenants.count(account, "conflicts")
                raise ApiError(409, {"error": "An order with this external_id exists.", "id": existing["id"]})
            order_id = f"so_{st.rt.ids.next('order', 1001)}"
            account.orders[order_id] = {
                "id": order_id, "external_id": body["external_id"], "status": "received",
                "customer": body.get("customer"), "ship_to": body.get("ship_to"), "due_date": body.get("due_date"),
                "items": [{**{k: item.get(k) for k in ("external_item_id", "product_code", "quantity", "width_mm",
                                                        "height_mm", "files", "preset")},
                           "status": "received", "tracking": None} for item in body["items"]],
                "created_at": st.rt.clock.now().isoformat() + "Z"}
        mark_created()
        return jsonify({"id": order_id, "status": "received"}), 201

    @bp.get("/api/v1/orders/<order_id>")
    def order_get(order_id):
        order = _account().orders.get(order_id)
        if order is None:
            raise ApiError(404, {"error": "Order not found."})
        return jsonify(order)

    @bp.get("/api/v1/products")
    def products():
        return _page(_account().products)

    @bp.get("/api/v1/categories")
    def categories():
        return _page(_account().categories)

    # ---- control ----------------------------------------------------------------
    def _control_account(payload) -> Account:
        return tenant_from(state().tenants, payload, "api_key")

    def create(tenants, p) -> Account:
        options = {k: p[k] for k in ("account_id", "webhook_url", "webhook_secret") if k in p}
        return state().add(str(p["api_key"]), rate_limit=p.get("rate_limit"), window_seconds=p.get("window_seconds"),
                           **options)

    def stats(account: Account) -> dict:
        keys = Counter(o["external_id"] for o in account.orders.values())
        return {"conflicts": account.counters["conflicts"], "orders": len(account.orders),
                "duplicates": sum(n - 1 for n in keys.values()), "products": len(account.products)}

    install_tenant_routes(bp, lambda: state().tenants, credential_field="api_key", create=create,
                          describe=lambda account: {"api_key": account.api_key}, stats=stats)

    @bp.post("/_sim/account")
    def sim_account_update():
        p = control_payload()
        account = _control_account(p)
        for k in ("webhook_url", "webhook_secret", "account_id"):
            if k in p:
                setattr(account, k, str(p[k] or ""))
        return jsonify({"api_key": account.api_key, "webhook_url": account.webhook_url})

    @bp.get("/_sim/orders")
    def sim_orders():
        return jsonify(list(_control_account(control_payload()).orders.values()))

    @bp.post("/_sim/catalog")
    def sim_catalog():
        p = control_payload()
        account = _control_account(p)
        with state().lock:
            account.products = list(p.get("products") or account.products)
            account.categories = list(p.get("categories") or account.categories)
        return jsonify({"products": len(account.products), "categories": len(account.categories)})

    @bp.post("/_sim/orders/<order_id>/status")
    def sim_status(order_id):
        st, p = state(), control_payload()
        account = next((a for a in st.tenants if order_id in a.orders), None)
        if account is None:
            raise ControlError(404, "unknown order")
        target = str(p.get("status") or "")
        if target not in FLOW + SIDE:
            raise ControlError(400, f"status must be one of {FLOW + SIDE}")
        with st.lock:
            order = account.orders[order_id]
            items = [i for i in order["items"] if not p.get("item") or i["external_item_id"] == p["item"]]
            if not items:
                raise ControlError(404, "unknown item")
            for item in items:
                current = item["status"]
                if current in ("completed", "cancelled"):
                    raise ControlError(409, f"item {item['external_item_id']} is {current}")
                if target in FLOW and current in FLOW and FLOW.index(target) <= FLOW.index(current):
                    raise ControlError(409, f"{target} does not follow {current}")
                item["status"] = target
                if target == "shipped":
                    item["tracking"] = {"tracking_number": str(p.get("tracking_number") or f"1Z{order_id[3:]:0>10}"),
                                        "carrier": str(p.get("carrier") or "UPS")}
            statuses = {i["status"] for i in order["items"]}
            order["status"] = statuses.pop() if len(statuses) == 1 else target
            snapshot = json.loads(json.dumps(order))
        st.deliver(account, snapshot)
        return jsonify(snapshot)

    @bp.get("/_sim/deliveries")
    def sim_deliveries():
        return jsonify(_control_account(control_payload()).deliveries)
