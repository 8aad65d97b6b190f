"""tFLOW API routes: OAuth token, orders, jobs (state machine), products, revisions, webhooks.

Every /api route exists under /api/v1 and /api/v2. Bodies are JSON or form-encoded with
PHP-style nested keys. Errors: {"error": ..., "messages": {field: [..]}} with a 4xx.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

from flask import Blueprint, Response, g, jsonify, request

from ..base import body_response, is_control_request, mark_created, set_credential
from .state import KEY, TRANSITIONS, WORKFLOWS, Instance, allowed, next_state, state

VERSIONS = ("v1", "v2")
JOB_FIELDS = {"name", "description", "notes", "order_id", "client_id", "product_id", "product_name", "ship_date",
              "priority", "attach_proofs", "kfpx", "assignments", "tflows", "props"}
EVENT = re.compile(r"[a-z_]+\.[a-z_]+")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class ApiError(Exception):
    def __init__(self, status: int, error: str, messages: dict | None = None):
        super().__init__(error)
        self.status, self.error, self.messages = status, error, messages


def invalid(messages: dict) -> ApiError:
    return ApiError(422, "Validation failed", {k: v if isinstance(v, list) else [v] for k, v in messages.items()})


def _listify(value):
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def unflatten(pairs) -> dict:
    """PHP-style form keys: props[quantity]=1, tflows[0][id]=8:1 → nested dicts / lists."""
    out: dict = {}
    for raw_key, value in pairs:
        head = raw_key.split("[", 1)[0]
        parts = [head] + _KEY_PART.findall(raw_key[len(head):])
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _listify(out)


def read_body() -> dict:
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return body
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return unflatten(request.form.items(multi=False))
    raise ApiError(415, f"Unsupported content type {request.mimetype or '(none)'}")


def instance() -> Instance:
    return g.tflow_instance


def _id(value, what: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise invalid({what: f"{what} must be a number."}) from None


def _lookup(collection: dict, ident, what: str) -> dict:
    try:
        found = collection.get(int(str(ident)))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ApiError(404, f"{what} not found")
    return found


# --------------------------------------------------------------------------- hooks

def install_hooks(bp: Blueprint) -> None:
    @bp.before_request
    def _authenticate():
        if is_control_request(KEY) or request.path.endswith("/oauth/access_token"):
            return None
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        st = state()
        inst = st.instance_for_token(token) if token else None
        if inst is None:
            return body_response(401, {"error": "invalid_token",
                                       "error_description": "The access token is missing, unknown or expired."})
        g.tflow_instance = inst
        decision = st.tenants.admit(inst)
        if not decision.allowed:
            return body_response(429, {"error": "Too Many Requests"}, {"Retry-After": decision.reset_seconds})
        return None

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        body = {"error": exc.error}
        if exc.messages:
            body["messages"] = exc.messages
        return jsonify(body), exc.status


# --------------------------------------------------------------------------- views

def token_view():
    st = state()
    if request.mimetype != "application/x-www-form-urlencoded":
        return jsonify({"error": "invalid_request", "error_description": "Send a form-encoded body."}), 400
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return jsonify({"error": "unsupported_grant_type"}), 400
    inst = st.tenants.get(form.get("client_id", ""))
    if inst is None or form.get("client_secret") != inst.secret:
        return jsonify({"error": "invalid_client", "error_description": "Client authentication failed"}), 401
    set_credential(inst.label, inst.secrets)  # the token call is not counted as an API request
    return jsonify({"access_token": st.issue_token(inst), "token_type": "Bearer",
                    "expires_in": int(inst.token_ttl)})


def _client_ok(inst: Instance, body: dict, errors: dict) -> int | None:
    if body.get("client_id") in (None, ""):
        return None
    try:
        client_id = int(str(body["client_id"]))
    except ValueError:
        errors["client_id"] = ["client_id must be a number."]
        return None
    if client_id not in inst.clients:
        errors["client_id"] = ["Client not found."]
    return client_id


def order_create():
    st, inst, body = state(), instance(), read_body()
    errors: dict = {}
    name = str(body.get("name") or "").strip()
    if not name:
        errors["name"] = ["The name field is required."]
    client_id = _client_ok(inst, body, errors)
    if errors:
        raise invalid(errors)
    with st.lock:
        oid = st.rt.ids.next("order", 45)
        order = {"id": oid, "name": name, "description": str(body.get("description") or ""), "client_id": client_id,
                 "created_at": st.rt.clock.now().isoformat()}
        inst.orders[oid] = order
    mark_created()
    return jsonify(order), 201


def order_get(order_id):
    return jsonify(_lookup(instance().orders, order_id, "Order"))


def order_list():
    orders = list(instance().orders.values())
    if request.args.get("name"):
        orders = [o for o in orders if o["name"] == request.args["name"]]
    return jsonify(orders)


def _ship_date(value, errors: dict) -> str | None:
    text = str(value or "").strip()
    if not text:
        errors["ship_date"] = ["The ship date field is required."]
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        errors["ship_date"] = ["The ship date is not a valid ISO-8601 date-time."]
        return None
    if parsed.tzinfo is None:
        errors["ship_date"] = ["The ship date needs a time zone offset."]
        return None
    return text


def job_create():
    st, inst, body = state(), instance(), read_body()
    wf_field = st.workflow_field
    errors: dict = {}
    for unknown in sorted(set(body) - JOB_FIELDS - {wf_field}):
        errors[unknown] = ["Unknown field."]
    order = None
    if body.get("order_id") in (None, ""):
        errors["order_id"] = ["The order id field is required."]
    else:
        try:
            order = inst.orders.get(int(str(body["order_id"])))
        except ValueError:
            pass
        if order is None:
            errors["order_id"] = ["Order not found."]
    product = None
    if body.get("product_id") not in (None, ""):
        try:
            product = inst.products.get(int(str(body["product_id"])))
        except ValueError:
            pass
        if product is None:
            errors["product_id"] = ["Product not found."]
    elif body.get("product_name") not in (None, ""):
        product = next((p for p in inst.products.values() if p["name"] == body["product_name"]), None)
        if product is None:
            errors["product_name"] = ["Product not found."]
    else:
        errors["product_id"] = ["A product (product_id or product_name) is required."]
    ship_date = _ship_date(body.get("ship_date"), errors)
    workflow = 2  # tFLOW's default: one-step approval
    if body.get(wf_field) not in (None, ""):
        try:
            workflow = int(str(body[wf_field]))
        except ValueError:
            workflow = -1
        if workflow not in WORKFLOWS:
            errors[wf_field] = [f"Unknown workflow {body[wf_field]}."]
    client_id = _client_ok(inst, body, errors)
    props = body.get("props") if isinstance(body.get("props"), dict) else {}
    if "props" in body and not isinstance(body.get("props"), dict):
        errors["props"] = ["props must be an object."]
    if errors:
        raise invalid(errors)
    with st.lock:
        jid = st.rt.ids.next("job", 123)
        count = sum(1 for j in inst.jobs.values() if j["order_id"] == order["id"]) + 1
        job = {"id": jid, "order_id": order["id"], "name": str(body.get("name") or f"TF{order['id']:06d}-{count}"),
               "description": str(body.get("description") or ""), "notes": str(body.get("notes") or ""),
               "ship_date": ship_date, "priority": body.get("priority"), "client_id": client_id or order["client_id"],
               "product_id": product["id"], "workflow_id": workflow, "current_state_name": "to_upload_first",
               "props": {k: str(v) for k, v in props.items()}, "updated_at": st.rt.clock.now().isoformat()}
        if props.get("artwork_url"):
            inst.revisions.append({"id": st.rt.ids.next("revision", 900), "job_id": jid,
                                   "url": str(props["artwork_url"])})
            job["current_state_name"] = "to_review"
        inst.jobs[jid] = job
    mark_created()
    return jsonify(job), 201


def _jobs(inst: Instance) -> list[dict]:
    jobs = list(inst.jobs.values())
    if request.args.get("order_id"):
        jobs = [j for j in jobs if str(j["order_id"]) == request.args["order_id"]]
    if request.args.get("job_name"):
        jobs = [j for j in jobs if j["name"] == request.args["job_name"]]
    return jobs


def job_list():
    return jsonify(_jobs(instance()))


def job_get(job_id):
    return jsonify(_lookup(instance().jobs, job_id, "Job"))


def job_allowed(job_id):
    return jsonify(allowed(_lookup(instance().jobs, job_id, "Job")))


def job_transition(job_id):
    st, inst = state(), instance()
    body = read_body()
    name = str(body.get("transition_name") or "")
    with st.lock:
        job = _lookup(inst.jobs, job_id, "Job")
        if not name:
            raise invalid({"transition_name": "The transition name field is required."})
        if name not in allowed(job):
            raise ApiError(409 if any(t == name for _, t in TRANSITIONS) else 422,
                           f"Transition {name} is not allowed from {job['current_state_name']}")
        st.set_state(inst, job, next_state(job, name))
        snapshot = dict(job)
    st.deliver(inst, snapshot)
    return jsonify(snapshot)


def job_revision(job_id):
    """Proposed contract: multipart/form-data with a part named "file"."""
    st, inst = state(), instance()
    job = _lookup(inst.jobs, job_id, "Job")
    if request.mimetype != "multipart/form-data" or "file" not in request.files:
        raise invalid({"file": "A file part named file is required (multipart/form-data)."})
    upload = request.files["file"]
    content = upload.read()
    if not content:
        raise invalid({"file": "The file is empty."})
    with st.lock:
        if job["current_state_name"] not in ("to_upload_first", "upload_again"):
            raise ApiError(409, f"Job {job['id']} does not expect a revision in {job['current_state_name']}")
        revision = {"id": st.rt.ids.next("revision", 900), "job_id": job["id"], "file_name": upload.filename,
                    "size": len(content)}
        inst.revisions.append(revision)
        st.set_state(inst, job, "to_review")
        snapshot = dict(job)
    mark_created()
    st.deliver(inst, snapshot)
    return jsonify(revision), 201


def product_list():
    return jsonify(list(instance().products.values()))


def webhook_create():
    st, inst, body = state(), instance(), read_body()
    errors: dict = {}
    name, url, key = str(body.get("name") or ""), str(body.get("url") or ""), str(body.get("security_key") or "")
    if not EVENT.fullmatch(name):
        errors["name"] = ["The name must be an event such as job.approved."]
    if not url.startswith(("http://", "https://")):
        errors["url"] = ["The url must be an http(s) address."]
    if errors:
        raise invalid(errors)
    with st.lock:
        if name in inst.webhooks:
            raise ApiError(409, f"Webhook {name} already exists")
        inst.webhooks[name] = {"name": name, "url": url, "security_key": key}
    return jsonify({"name": name, "url": url}), 201


def webhook_one(name):
    st, inst = state(), instance()
    with st.lock:
        hook = inst.webhooks.get(name)
        if hook is None:
            raise ApiError(404, "Webhook not found")
        if request.method == "DELETE":
            del inst.webhooks[name]
            return Response(status=204)
        if request.method == "POST":
            body = read_body()
            if body.get("url"):
                hook["url"] = str(body["url"])
            if "security_key" in body:
                hook["security_key"] = str(body["security_key"] or "")
        return jsonify({"name": hook["name"], "url": hook["url"]})


def webhook_list():
    return jsonify([{"name": h["name"], "url": h["url"]} for h in instance().webhooks.values()])


ROUTES = [
    ("/order/create", order_create, ["POST"]), ("/order/list", order_list, ["GET"]),
    ("/order/<order_id>", order_get, ["GET"]),
    ("/job/create", job_create, ["POST"]), ("/job/list", job_list, ["GET"]),
    ("/job/<job_id>", job_get, ["GET"]), ("/job/<job_id>/allowedTransitions", job_allowed, ["GET"]),
    ("/job/<job_id>/executeTransition", job_transition, ["POST"]),
    ("/job/<job_id>/revision", job_revision, ["POST"]),
    ("/product/list", product_list, ["GET"]),
    ("/webhook/create", webhook_create, ["POST"]), ("/webhook/list", webhook_list, ["GET"]),
    ("/webhook/<name>", webhook_one, ["GET", "POST", "DELETE"]),
]


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/oauth/access_token", "token", token_view, methods=["POST"])
    for version in VERSIONS:
        for path, view, methods in ROUTES:
            bp.add_url_rule(f"/api/{version}{path}", f"{version}_{view.__name__}", view, methods=methods)
