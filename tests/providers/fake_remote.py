"""The fake provider's remote: a tiny JSON API served over real HTTP for tests (not shipped).

No idempotency key (creating twice makes two orders), an OAuth2 client-credentials token
endpoint, failures reported inside HTTP 200 (``{"error": {"kind", "text"}}``), a pre-signed
upload URL on another host name, and statuses the test sets."""
from __future__ import annotations

import itertools
import threading

from flask import Flask, jsonify, request

CLIENT_ID, CLIENT_SECRET = "fake-client", "fake-client-secret-1234"


class Remote:
    def __init__(self):
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.orders: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.calls: list[tuple[str, str, dict]] = []   # (method, path, headers)
        self.uploads: dict[str, bytes] = {}
        self.other_host = ""  # the same server under another host name: "S3", a file server
        # "order" / "job" -> queued {"kind", "text"[, "after_save"]} answered inside a 200
        self.in_body_failures: dict[str, list[dict]] = {}

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.ids)}"

    def creates(self, kind: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == "POST" and p.rstrip("/").endswith(kind))


def create_app(remote: Remote) -> Flask:
    app = Flask("fake_remote")

    @app.before_request
    def record():
        remote.calls.append((request.method, request.path, dict(request.headers)))

    def authorized() -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in remote.tokens

    def failure(name):
        queued = remote.in_body_failures.get(name)
        return queued.pop(0) if queued else None

    @app.post("/api/oauth/token")
    def token():
        if request.form.get("client_id") != CLIENT_ID or request.form.get("client_secret") != CLIENT_SECRET:
            return jsonify(error="invalid_client"), 401
        value = remote.next_id("tok")
        remote.tokens.add(value)
        return jsonify(access_token=value, token_type="Bearer", expires_in=3600)

    @app.post("/api/orders")
    def create_order():
        if not authorized():
            return jsonify(message="unauthorized"), 401
        with remote.lock:
            injected = failure("order")
            if injected and not injected.get("after_save"):
                return jsonify(error=injected)
            order = {"id": remote.next_id("O"), "reference": request.get_json()["reference"], "jobs": [],
                     "status": "received"}
            remote.orders[order["id"]] = order
        if injected:  # saved, and still answered as an error (some providers do)
            return jsonify(error=injected)
        return jsonify(order=order), 201

    @app.get("/api/orders")
    def find_orders():
        if not authorized():
            return jsonify(message="unauthorized"), 401
        return jsonify(orders=[o for o in remote.orders.values() if o["reference"] == request.args.get("reference")])

    @app.get("/api/orders/<order_id>")
    def read_order(order_id):
        if not authorized():
            return jsonify(message="unauthorized"), 401
        if order_id not in remote.orders:
            return jsonify(error={"kind": "rejected", "text": f"No order {order_id}"})
        return jsonify(order=remote.orders[order_id])

    @app.post("/api/orders/<order_id>/jobs")
    def create_job(order_id):
        if not authorized():
            return jsonify(message="unauthorized"), 401
        if injected := failure("job"):
            return jsonify(error=injected)
        job = {"id": remote.next_id("J"), "line": request.get_json()["line"], "status": "received"}
        remote.orders[order_id]["jobs"].append(job)
        return jsonify(job=job), 201

    @app.post("/api/uploads")
    def upload_slot():
        if not authorized():
            return jsonify(message="unauthorized"), 401
        key = remote.next_id("F")
        return jsonify(put_url=f"{remote.other_host}/s3/{key}?X-Amz-Signature=abc", key=key)

    @app.put("/s3/<key>")
    def presigned_put(key):  # the "S3" host: takes no auth, refuses a stray Authorization
        if "Authorization" in request.headers:
            return "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>", 400
        remote.uploads[key] = request.get_data()
        return "", 200

    @app.post("/api/files")
    def multipart():
        if not authorized():
            return jsonify(message="unauthorized"), 401
        upload = request.files["file"]
        remote.uploads[upload.filename] = upload.read()
        return jsonify(name=upload.filename, role=request.form.get("role")), 201

    @app.get("/art/<name>")
    def artwork(name):  # a file server holding the storefront's artwork
        size = int(request.args.get("size", "1000"))
        return b"%PDF" + b"x" * (size - 4), 200, {"Content-Type": "application/pdf"}

    return app
