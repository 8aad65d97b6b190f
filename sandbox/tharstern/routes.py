"""Routes of the Tharstern REST simulator (under ``/tharstern/TharsternAPI/api/``) and its controls."""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from typing import Any

from flask import Blueprint, Response, g, request

from ..base import (ControlError, body_response, control_payload, is_control_request, mark_created, set_credential,
                    tenant_from)
from .state import COUNTS, KEY, ZERO_GUID, Tenant, state

API = "/TharsternAPI/api"
GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
DENIED = "Authorization has been denied for this request."


class ApiError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(str(body))
        self.status, self.body = status, body


def ok(details: Any) -> Response:
    return body_response(200, {"Status": {"Success": True}, "Details": details})


def listing(items: list) -> Response:
    return ok({"Items": items, "TotalItemCount": len(items)})


def invalid(model_state: dict[str, list[str]]) -> ApiError:
    return ApiError(400, {"Message": "The request is invalid.", "ModelState": model_state})


def tenant() -> Tenant:
    return g.tharstern_tenant


def _authenticate() -> Response | None:
    if is_control_request(KEY) or request.path.endswith("/Authentication/GenerateAPIToken"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    login = None
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        login = state().tokens.get(decoded.split(":", 1)[0])  # "token" (PHP client) or "token:" (C# client)
    account = state().tenants.get(login) if login is not None else None
    if account is None:
        return body_response(401, {"Message": DENIED})
    g.tharstern_tenant = account
    state().tenants.admit(account)  # counted; no limit (none documented)
    return None


def _json_body(param: str) -> Any:
    raw = request.get_data(cache=True)
    if request.mimetype != "application/json":
        raise ApiError(415, {"Message": f"The request entity's media type '{request.mimetype or '(none)'}' is not "
                                        "supported for this resource."})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid({param: ["The request body is not valid JSON."]}) from None


def generate_token():
    st = state()
    login, password = request.args.get("email", ""), request.args.get("password", "")
    application_id = request.args.get("applicationId", "").strip()
    account = st.tenants.get(login)
    if account is None or not application_id or not hmac.compare_digest(password.encode(), account.password.encode()):
        if account is not None and not account.zero_guid_on_failure:
            return body_response(200, {"Status": {"Success": False, "Message": "Invalid login details."},
                                       "Details": {"Token": None}})
        return ok({"Token": ZERO_GUID})  # what the public clients guard against
    set_credential(account.label, account.secrets)
    with st.rt.lock:
        account.counters["tokens"] += 1
        return ok({"Token": st.issue_token(login)})


def _int_list(text: str, name: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise invalid({name: [f"The value '{text}' is not valid."]}) from None


def products():
    t = tenant()
    items = list(t.products.values())
    code = request.args.get("productCode")
    if code:
        items = [p for p in items if p["Code"].lower() == code.lower()]
    customer = request.args.get("customerCode")
    if customer and customer not in t.customers:
        return listing([])
    total = len(items)
    page, size = request.args.get("pageNumber", type=int), request.args.get("pageSize", type=int)
    if page and size:
        items = items[(page - 1) * size: page * size]
    return ok({"Items": items, "TotalItemCount": total})


def product_types():
    return listing([{"ID": request.args.get("id", type=int) or 11, "Name": "Stock item"}])


def customers():
    code = request.args.get("customerCode")
    items = [c for c in tenant().customers.values() if not code or c["Code"] == code]
    return listing(items)


def _check_order(t: Tenant, index: int, order: Any) -> tuple[dict | None, str]:
    """(order record, "") or (None, reason) — business rejections travel as ID 0 + StatusDetails."""
    customer = (order.get("InvoiceCustomer") or {}).get("Code") if isinstance(order.get("InvoiceCustomer"), dict) else None
    if customer not in t.customers:
        return None, f"Invoice customer '{customer}' does not exist."
    lines = []
    for n, item in enumerate(order.get("Items") or []):
        if not isinstance(item, dict) or item.get("StockItemID") not in t.products:
            return None, f"Item {n + 1}: stock item {item.get('StockItemID') if isinstance(item, dict) else '?'} does not exist."
        quantity = item.get("Quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) or quantity <= 0:
            return None, f"Item {n + 1}: Quantity must be greater than zero."
        lines.append({"StockItemID": item["StockItemID"], "Quantity": quantity, "Ref1": item.get("Ref1"),
                      "Ref2": item.get("Ref2"), "JobNo": None, "Status": "Order Received"})
    if not lines:
        return None, "The order has no items."
    return {"InvoiceCustomer": {"Code": customer}, "OrderDate": order.get("OrderDate"),
            "RequiredDate": order.get("RequiredDate"), "Ref1": order.get("Ref1"), "Ref2": order.get("Ref2"),
            "Items": lines, "Status": "Order Received"}, ""


def submit_orders():
    body = _json_body("orders")
    if not isinstance(body, dict) or not isinstance(body.get("Orders"), list) or not body["Orders"]:
        raise invalid({"orders.Orders": ["The Orders field is required."]})
    errors = {}
    for i, order in enumerate(body["Orders"]):
        if not isinstance(order, dict):
            errors[f"orders.Orders[{i}]"] = ["An order must be an object."]
        elif not GUID.match(str(order.get("UniqueSubmitOrderID") or "")):
            errors[f"orders.Orders[{i}].UniqueSubmitOrderID"] = ["A GUID is required."]
    if errors:
        raise invalid(errors)
    st, t = state(), tenant()
    answers = []
    with st.rt.lock:
        for order in body["Orders"]:
            submit_id = str(order["UniqueSubmitOrderID"]).strip("{}").lower()
            if submit_id in t.by_submit_id:
                t.counters["replays"] += 1
                existing = t.orders[t.by_submit_id[submit_id]]
                answers.append({"ID": existing["ID"], "OrderNo": existing["OrderNo"],
                                "StatusDetails": "Order already submitted."})
                continue
            record, reason = _check_order(t, len(answers), order)
            if record is None:
                t.counters["rejected"] += 1
                answers.append({"ID": 0, "StatusDetails": reason})
                continue
            order_id = st.next_id("order")
            record.update(ID=order_id, OrderNo=f"SO{order_id}", UniqueSubmitOrderID=submit_id)
            t.orders[order_id], t.by_submit_id[submit_id] = record, order_id
            t.counters["orders"] += 1
            answers.append({"ID": order_id, "OrderNo": record["OrderNo"], "StatusDetails": "Order Received"})
    mark_created()
    return ok({"Orders": answers})


def read_orders():
    t = tenant()
    ids = set(_int_list(request.args.get("orderIDs", ""), "orderIDs"))
    numbers = {n for n in request.args.get("orderNOs", "").split(",") if n}
    items = [o for o in t.orders.values() if (not ids and not numbers) or o["ID"] in ids or o["OrderNo"] in numbers]
    return listing(items)


def submit_asset():
    body = _json_body("asset")
    errors = {}
    if not isinstance(body, dict):
        raise invalid({"asset": ["An object is required."]})
    if body.get("OrderId") not in tenant().orders:
        errors["asset.OrderId"] = ["Unknown order."]
    if not str(body.get("Filename") or "").strip():
        errors["asset.Filename"] = ["The Filename field is required."]
    try:
        content = base64.b64decode(str(body.get("Content_Base64") or ""), validate=True)
    except binascii.Error:
        content = None
        errors["asset.Content_Base64"] = ["Not valid base64."]
    if errors:
        raise invalid(errors)
    asset = {"ID": state().next_id("asset"), "OrderId": body["OrderId"], "Filename": body["Filename"],
             "Size": len(content)}
    tenant().assets.append(asset)
    return ok({"Asset": asset})


def read_jobs():
    t = tenant()
    job_id, job_no = request.args.get("id", type=int), request.args.get("jobNo")
    return listing([j for j in t.jobs.values() if (job_id and j["ID"] == job_id) or (job_no and j["JobNo"] == job_no)])


def est_example(product_type_id: int):
    return ok({"Title": "", "Ref1": "", "ProductTypeId": product_type_id, "Customer": {"Code": ""},
               "RequiredDateTime": None, "JobType": 0, "FinishedSize": {"Code": ""}, "Parts": [], "Processes": []})


def create_estimate():
    body = _json_body("estRequest")
    errors = {}
    if not isinstance(body, dict) or not body.get("ProductTypeId"):
        errors["estRequest.ProductTypeId"] = ["The ProductTypeId field is required."]
    elif (body.get("Customer") or {}).get("Code") not in tenant().customers:
        errors["estRequest.Customer.Code"] = ["Unknown customer."]
    if errors:
        raise invalid(errors)
    estimate_id = state().next_id("estimate")
    tenant().estimates[estimate_id] = {"ID": estimate_id, "EstimateRef": f"E{estimate_id}", **body}
    return ok({"Estimate": {"ID": estimate_id}, "EstimateRef": f"E{estimate_id}"})


def job_from_estimate():
    body = _json_body("request")
    if not isinstance(body, dict) or body.get("EstimateID") not in tenant().estimates:
        raise invalid({"request.EstimateID": ["Unknown estimate."]})
    job_id = state().next_id("job")
    job = {"ID": job_id, "JobNo": f"J{job_id}", "Status": "Order Received", "Despatch": None,
           "EstimateID": body["EstimateID"]}
    tenant().jobs[job_id] = job
    return ok({"JobNo": job["JobNo"], "ID": job_id})


# --------------------------------------------------------------------------- control

def _control_tenant(p: dict) -> Tenant:
    return tenant_from(state().tenants, p, "login")


def register(bp: Blueprint) -> None:
    bp.before_request(_authenticate)

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return body_response(exc.status, exc.body)

    for rule, view, methods in (
        ("Authentication/GenerateAPIToken", generate_token, ["GET"]), ("products", products, ["GET"]),
        ("producttypes", product_types, ["GET"]), ("customers", customers, ["GET"]),
        ("orders/submit", submit_orders, ["POST"]), ("orders", read_orders, ["GET"]),
        ("orders/submitorderasset", submit_asset, ["POST"]), ("jobs", read_jobs, ["GET"]),
        ("EstRequest/<int:product_type_id>/Example", est_example, ["GET"]), ("estrequest", create_estimate, ["POST"]),
        ("job/createfromestimate", job_from_estimate, ["POST"]),
    ):
        bp.add_url_rule(f"{API}/{rule}", view.__name__, view, methods=methods)

    @bp.post("/_sim/accounts")
    def sim_add_account():
        p = control_payload()
        if not p.get("login") or not p.get("password"):
            raise ControlError(400, "login and password are required")
        st = state()
        t = st.add_tenant(str(p["login"]), str(p["password"]), customers=p.get("customers") or (),
                          zero_guid_on_failure=p.get("zero_guid_on_failure", True) is not False)
        for product in p.get("products") or ():
            st.add_product(t, product["Code"], product.get("Name") or product["Code"], product.get("Price", 1),
                           product.get("StockLevel", 0))
        return {"login": t.login, "products": list(t.products.values())}, 201

    @bp.post("/_sim/products")
    def sim_update_product():
        """{"login", "code", "Price"?, "StockLevel"?, "Name"?}: change a product as Tharstern staff would."""
        p = control_payload()
        t = _control_tenant(p)
        product = next((x for x in t.products.values() if x["Code"] == p.get("code")), None)
        if product is None:
            raise ControlError(404, "unknown product code")
        product.update({k: p[k] for k in ("Price", "StockLevel", "Name", "Description") if k in p})
        return product

    @bp.post("/_sim/order_status")
    def sim_order_status():
        """{"login", "order_id", "status"?, "job_status"?, "despatch": {"Carrier", "TrackingNo", "DespatchDate"}?}:
        sets the order's status; with job_status every line gets a job (created once) in that status."""
        p = control_payload()
        t = _control_tenant(p)
        order = t.orders.get(int(p.get("order_id") or 0))
        if order is None:
            raise ControlError(404, "unknown order")
        with state().rt.lock:
            if p.get("status"):
                order["Status"] = str(p["status"])
            if p.get("job_status"):
                for line in order["Items"]:
                    if not line["JobNo"]:
                        job_id = state().next_id("job")
                        line["JobNo"] = f"J{job_id}"
                        t.jobs[job_id] = {"ID": job_id, "JobNo": line["JobNo"], "Status": "", "Despatch": None}
                    job = next(j for j in t.jobs.values() if j["JobNo"] == line["JobNo"])
                    job["Status"] = line["Status"] = str(p["job_status"])
                    if isinstance(p.get("despatch"), dict):
                        job["Despatch"] = p["despatch"]
        return order

    @bp.post("/_sim/revoke_tokens")
    def sim_revoke_tokens():
        st = state()
        count = len(st.tokens)
        st.tokens.clear()
        return {"revoked": count}

    @bp.get("/_sim/stats")
    def sim_stats():
        t = _control_tenant(dict(request.args))
        return {**dict.fromkeys(COUNTS, 0), **state().tenants.stats(t), "held_orders": len(t.orders),
                "assets": len(t.assets)}

    @bp.get("/_sim/orders")
    def sim_orders():
        t = _control_tenant(dict(request.args))
        return {"orders": list(t.orders.values()), "assets": t.assets}
