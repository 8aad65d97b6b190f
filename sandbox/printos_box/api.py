"""PrintOS Box API routes and control routes."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from datetime import datetime, timezone

from flask import Blueprint, Response, g, jsonify, request

from ..base import (ControlError, body_response, control_payload, is_control_request, sim_base_url, sim_path,
                      install_tenant_routes, mark_created)
from .state import FLOWS, KEY, SUBSTRATES, Account, new_id, state

_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z")


class ApiError(Exception):
    def __init__(self, status: int, message: str, error: str = "BadRequest"):
        super().__init__(message)
        self.status, self.message, self.error = status, message, error

    def response(self) -> Response:
        return body_response(self.status, {"error": self.error, "message": self.message})


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def authenticate() -> Account:
    st = state()

    def refuse(message: str) -> ApiError:
        return ApiError(st.auth_failure_status, message, "Not Authorized")

    header = request.headers.get("x-hp-hmac-authentication")
    date = request.headers.get("x-hp-hmac-date")
    algorithm = request.headers.get("x-hp-hmac-algorithm")
    if not header or ":" not in header:
        raise refuse("Missing x-hp-hmac-authentication.")
    if not date or not _DATE.fullmatch(date):
        raise refuse("x-hp-hmac-date is missing or not an ISO-8601 UTC timestamp ending in Z.")
    if algorithm is None and st.require_algorithm:
        raise refuse("x-hp-hmac-algorithm is required (SHA256).")
    if algorithm is not None and algorithm.upper() != "SHA256":
        raise refuse("HMAC SHA1 is no longer supported; sign with SHA256.")
    key, _, signature = header.partition(":")
    with st.lock:
        account = st.tenants.get(key)
    if account is None:
        raise refuse("Unknown key.")
    path = sim_path()  # the gateway's /box service prefix is left out of the signature
    expected = hmac.new(account.secret.encode(), f"{request.method.upper()} {path}{date}".encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise refuse("Invalid signature.")
    return account


def install_hooks(bp: Blueprint) -> None:
    @bp.before_request
    def _authenticate():
        if is_control_request(KEY) or sim_path().startswith("/uploads/"):
            return None
        account = authenticate()
        g.box_account = account
        decision = state().tenants.admit(account)
        if not decision.allowed:
            return body_response(429, {"error": "TooManyRequests", "message": "Too many requests."},
                                 {"Retry-After": str(decision.reset_seconds)})
        return None

    bp.register_error_handler(ApiError, lambda exc: exc.response())


def _body() -> dict:
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _folder_view(folder: dict) -> dict:
    return copy.deepcopy(folder)


def add_file(account: Account, spec: dict) -> dict:
    if not _text(spec.get("folderId")):
        raise ApiError(400, "folderId is required.")
    folder = account.folders.get(spec["folderId"])
    if folder is None:
        raise ApiError(404, f"Folder {spec['folderId']} not found.", "NotFound")
    if not _text(spec.get("url")):
        raise ApiError(400, "url is required.")
    copies = spec.get("copies", 1)
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 1:
        raise ApiError(400, "copies must be a positive integer.")
    if spec.get("substrate") is not None and spec["substrate"] not in SUBSTRATES:
        raise ApiError(400, f"Unknown substrate {spec['substrate']!r}.")
    if spec.get("flow") is not None and spec["flow"] not in {f["name"] for f in FLOWS}:
        raise ApiError(400, f"Unknown flow {spec['flow']!r}.")
    file_id = new_id()
    version = {"revision": 1, "status": "pending", "pageCount": 0, "preflight": {"fixups": []}}
    record = {"_id": file_id, "folderId": folder["_id"], "name": spec.get("name") or spec["url"].rsplit("/", 1)[-1],
              "sourceUrl": spec["url"], "lastAction": "Preflighting",
              "printInstructions": {"copies": copies, "notes": spec.get("notes") or "",
                                    **({"substrate": spec["substrate"]} if spec.get("substrate") else {}),
                                    **({"flow": spec["flow"]} if spec.get("flow") else {})},
              "currentRevision": 1, "currentVersion": version, "versions": [version], "created": _stamp()}
    account.files[file_id] = record
    folder["fileCount"] += 1
    return record


def register(bp: Blueprint) -> None:
    @bp.post("/api/partner/folder")
    def create_folder():
        body = _body()
        if not _text(body.get("name")):
            raise ApiError(400, "name is required.")
        account = g.box_account
        files = body.get("files") or []
        if not isinstance(files, list):
            raise ApiError(400, "files must be an array.")
        with state().lock:
            folder = {"_id": new_id(), "name": body["name"], "from": body.get("from"), "to": body.get("to"),
                      "status": "ready", "preflightStatus": "pending", "fileCount": 0, "totalSize": 0,
                      "organizationId": f"org-{account.key}", "createdFrom": "api", "created": _stamp()}
            account.folders[folder["_id"]] = folder
            for spec in files:
                add_file(account, {**(spec if isinstance(spec, dict) else {}), "folderId": folder["_id"]})
        mark_created()
        return body_response(200, _folder_view(folder))

    @bp.get("/api/partner/folder/<folder_id>")
    def get_folder(folder_id):
        folder = g.box_account.folders.get(folder_id)
        if folder is None:
            raise ApiError(404, f"Folder {folder_id} not found.", "NotFound")
        return body_response(200, _folder_view(folder))

    @bp.post("/api/partner/file")
    def create_file():
        body = _body()
        with state().lock:
            record = add_file(g.box_account, body)
        mark_created()
        return body_response(200, copy.deepcopy(record))

    @bp.get("/api/partner/file/uploadurls")
    def upload_urls():
        mime = request.args.get("mimeType")
        if not mime:
            raise ApiError(400, "mimeType is required.")
        upload_id = new_id()
        base = f"{sim_base_url()}/uploads/{upload_id}"
        return body_response(200, {"uploadUrl": base, "fetchUrl": base, "mimeType": mime})

    @bp.get("/api/partner/file/<file_id>")
    def get_file(file_id):
        record = g.box_account.files.get(file_id)
        if record is None:
            raise ApiError(404, f"File {file_id} not found.", "NotFound")
        return body_response(200, copy.deepcopy(record))

    @bp.get("/api/partner/substrate")
    def substrates():
        return body_response(200, list(SUBSTRATES))

    @bp.get("/api/partner/flow")
    def flows():
        return body_response(200, {"items": copy.deepcopy(FLOWS)})

    @bp.put("/uploads/<upload_id>")
    def upload(upload_id):
        state().uploads[upload_id] = request.get_data()
        return "", 200

    @bp.get("/uploads/<upload_id>")
    def fetch_upload(upload_id):
        if upload_id not in state().uploads:
            raise ApiError(404, "No such upload.", "NotFound")
        return state().uploads[upload_id], 200, {"Content-Type": "application/pdf"}

    @bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "DELETE"])
    def unknown(anything):
        raise ApiError(404, f"Cannot {request.method} /{anything}", "NotFound")


def register_control(bp: Blueprint) -> None:
    """``POST _sim/accounts {key, secret}``, ``GET _sim/stats?key=``,
    ``POST _sim/folders/<id>/advance {status?, preflightStatus?}``,
    ``POST _sim/files/<id>/advance {status?, lastAction?}``."""

    def create(tenants, p) -> Account:
        if not p.get("secret"):
            raise ControlError(400, "key and secret are required")
        return state().add_account(str(p["key"]), str(p["secret"]))

    def stats(account: Account) -> dict:
        names = [f["name"] for f in account.folders.values()]
        return {"folders": len(account.folders), "files": len(account.files), "folder_names": names,
                "duplicates": len(names) - len(set(names)),
                "file_urls": [f["sourceUrl"] for f in account.files.values()]}

    install_tenant_routes(bp, lambda: state().tenants, credential_field="key", create=create, stats=stats,
                          describe=lambda account: {"key": account.key})

    def find(kind: str, record_id: str) -> dict:
        for account in state().tenants:
            record = getattr(account, kind).get(record_id)
            if record is not None:
                return record
        raise ControlError(404, f"unknown {kind[:-1]} {record_id!r}")

    @bp.post("/_sim/folders/<folder_id>/advance")
    def sim_folder(folder_id):
        p, folder = control_payload(), find("folders", folder_id)
        folder.update({k: str(p[k]) for k in ("status", "preflightStatus") if k in p})
        return jsonify(folder)

    @bp.post("/_sim/files/<file_id>/advance")
    def sim_file(file_id):
        p, record = control_payload(), find("files", file_id)
        if "status" in p:
            record["currentVersion"]["status"] = str(p["status"])
        if "lastAction" in p:
            record["lastAction"] = str(p["lastAction"])
        return jsonify(record)
