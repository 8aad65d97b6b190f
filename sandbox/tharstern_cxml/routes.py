"""Routes of the Tharstern cXML simulator: the supplier endpoint and its control routes."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, jsonify, request
from lxml import etree

from ..base.xml_bodies import cxml_response
from ..base import ControlError, control_payload, mark_created, tenant_from
from .state import COUNTS, Sender, state

# The project's unmodified copy, read by path: the sandbox never imports the hub's code.
DTD_DIR = Path(__file__).resolve().parents[2] / "webapp" / "providers" / "tharstern_cxml" / "dtd"
DOCTYPE_URL = re.compile(r"^http://xml\.cxml\.org/schemas/cXML/(?P<version>[\d.]+)/(?P<file>cXML|Fulfill)\.dtd$")
TZ_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
XML_TYPES = ("text/xml", "application/xml")


class CxmlAnswer(Exception):
    def __init__(self, code: int, text: str, detail: str = ""):
        super().__init__(f"{code} {text}")
        self.code, self.text, self.detail = code, text, detail


@lru_cache(maxsize=1)
def cxml_dtd() -> etree.DTD:
    with open(DTD_DIR / "cXML-1.2.063.dtd", "rb") as handle:
        return etree.DTD(handle)


def reply(code: int, text: str, detail: str = "", extra: etree._Element | None = None) -> Response:
    return cxml_response(code, text, message=detail, extra=extra, dtd_version="1.2.063")


def _parse(raw: bytes) -> etree._Element:
    if request.mimetype not in XML_TYPES:
        raise CxmlAnswer(400, "Bad Request", f"Content-Type must be text/xml, not {request.mimetype or 'none'}.")
    if re.search(rb"<!ENTITY", raw, re.I):
        raise CxmlAnswer(400, "Bad Request", "Documents declaring entities are refused.")
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise CxmlAnswer(400, "Bad Request", f"Not well-formed XML: {exc}") from None
    url = root.getroottree().docinfo.system_url or ""
    match = DOCTYPE_URL.match(url)
    if match is None:
        raise CxmlAnswer(400, "Bad Request", f"DOCTYPE must name the cXML DTD, got {url or 'none'!r}.")
    if match["file"] != "cXML":
        raise CxmlAnswer(400, "Bad Request", "Fulfill documents are not accepted by the order endpoint.")
    dtd = cxml_dtd()  # only 1.2.063 is kept: every version is validated against it
    if not dtd.validate(root):
        first = dtd.error_log.filter_from_errors()[0]
        raise CxmlAnswer(400, "Bad Request", f"DTD validation failed (line {first.line}): {first.message}")
    return root


def _authenticate(root) -> Sender:
    st = state()
    credential = root.find("Header/Sender/Credential")
    identity = (credential.findtext("Identity") or "").strip()
    sender = st.tenants.get(identity)
    secret = credential.findtext("SharedSecret")
    if sender is None or credential.get("domain") != sender.domain or secret is None \
            or not secrets.compare_digest(secret.encode(), sender.shared_secret.encode()):
        raise CxmlAnswer(401, "Unauthorized", "Sender credential (domain, identity or SharedSecret) not accepted.")
    st.tenants.admit(sender)  # counted, named in the recorder, its SharedSecret redacted
    to_identities = [(c.findtext("Identity") or "").strip() for c in root.findall("Header/To/Credential")]
    if st.supplier_identity not in to_identities:
        raise CxmlAnswer(401, "Unauthorized", f"To identity {', '.join(to_identities)!r} is not this supplier.")
    return sender


def _order(sender: Sender, root, payload_id: str) -> tuple[int, str, str]:
    header = root.find("Request/OrderRequest/OrderRequestHeader")
    order_id, kind = header.get("orderID", "").strip(), header.get("type", "new")
    if not order_id:
        raise CxmlAnswer(400, "Bad Request", "orderID is empty.")
    if not TZ_DATETIME.match(header.get("orderDate", "")):
        raise CxmlAnswer(400, "Bad Request", "orderDate must be an ISO-8601 date-time with a time zone.")
    codes = {header.find("BillTo/Address").get("addressID") or ""}
    codes |= {(e.text or "").strip() for e in header.findall("Extrinsic[@name='CustomerCode']")}
    codes.discard("")
    if not codes:
        raise CxmlAnswer(400, "Bad Request", "No customer code (BillTo addressID or Extrinsic CustomerCode).")
    unknown = sorted(codes - sender.customers)
    if unknown:
        raise CxmlAnswer(400, "Bad Request", f"Unknown customer code {unknown[0]}.")
    lines = []
    for n, item in enumerate(root.findall("Request/OrderRequest/ItemOut"), 1):
        part = (item.findtext("ItemID/SupplierPartID") or "").strip()
        try:
            quantity = float(item.get("quantity", ""))
        except ValueError:
            quantity = 0
        if quantity <= 0:
            raise CxmlAnswer(400, "Bad Request", f"Line {item.get('lineNumber') or n}: quantity must be positive.")
        if part not in sender.products:
            raise CxmlAnswer(400, "Bad Request", f"Line {item.get('lineNumber') or n}: unknown SupplierPartID {part!r}.")
        lines.append({"line": item.get("lineNumber"), "part": part, "quantity": quantity,
                      "aux": item.findtext("ItemID/SupplierPartAuxiliaryID")})
    existing = sender.orders.get(order_id)
    if kind == "new":
        if existing is not None:
            raise CxmlAnswer(409, "Conflict", f"Order {order_id} already exists; send type=\"update\".")
    else:
        reference = header.find("DocumentReference")
        ref = reference.get("payloadID") if reference is not None else None
        previous = sender.payloads.get(ref or "")
        if previous is None or previous.get("order_id") != order_id or existing is None:
            raise CxmlAnswer(400, "Bad Request", f"type=\"{kind}\" must reference a payloadID previously sent "
                                                 f"for order {order_id}.")
    record = {"order_id": order_id, "payload_id": payload_id, "type": kind, "lines": lines,
              "customer": sorted(codes)[0], "total": header.findtext("Total/Money"),
              "deployment_mode": root.find("Request").get("deploymentMode", "production")}
    if kind == "delete":
        sender.orders.pop(order_id, None)
    else:
        sender.orders[order_id] = {**record, "version": (existing or {}).get("version", 0) + 1}
    sender.counters["orders" if kind == "new" else "updates"] += 1
    if sender.accept_pending:
        return 201, "Accepted", "Order received; confirmation will follow."
    return 200, "OK", ""


def receive():
    raw = request.get_data(cache=True)
    st = state()
    sender = None
    try:
        root = _parse(raw)
        sender = _authenticate(root)
        with st.rt.lock:
            payload_id = root.get("payloadID")
            if not TZ_DATETIME.match(root.get("timestamp", "")):
                raise CxmlAnswer(400, "Bad Request", "timestamp must be an ISO-8601 date-time with a time zone.")
            seen = sender.payloads.get(payload_id)
            if seen is not None:
                sender.counters["replays"] += 1
                if sender.replay_mode == "accept":
                    return reply(seen["code"], seen["text"], seen["detail"])
                raise CxmlAnswer(409, "Conflict", f"Duplicate payloadID {payload_id}.")
            if sender.next_status:
                code, text = sender.next_status.pop(0)
                if code < 500:  # a scripted 5xx stands for "not processed": the same payload may come again
                    sender.payloads[payload_id] = {"order_id": None, "code": code, "text": text, "detail": ""}
                raise CxmlAnswer(code, text, "Scripted answer.")
            request_node = root.find("Request")[0]
            if request_node.tag == "ProfileRequest":
                profile = etree.Element("ProfileResponse", effectiveDate=datetime.now(timezone.utc).isoformat(
                    timespec="seconds"))
                etree.SubElement(profile, "Transaction", requestName="OrderRequest").append(
                    etree.Element("URL"))
                profile[0][0].text = request.base_url
                return reply(200, "OK", extra=profile)
            if request_node.tag != "OrderRequest":
                raise CxmlAnswer(450, "Not Implemented", f"{request_node.tag} is not supported here.")
            try:
                code, text, detail = _order(sender, root, payload_id)
            except CxmlAnswer as answer:
                sender.counters["rejected"] += 1
                sender.payloads[payload_id] = {"order_id": None, "code": answer.code, "text": answer.text,
                                               "detail": answer.detail}
                raise
            order_id = root.find("Request/OrderRequest/OrderRequestHeader").get("orderID")
            sender.payloads[payload_id] = {"order_id": order_id, "code": code, "text": text, "detail": detail}
            mark_created()
            return reply(code, text, detail)
    except CxmlAnswer as answer:
        return reply(answer.code, answer.text, answer.detail)


def _sender(identity) -> Sender:
    return tenant_from(state().tenants, {"identity": identity}, "identity")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/TharsternAPI/cxml", "receive", receive, methods=["POST"])

    @bp.post("/_sim/senders")
    def sim_add_sender():
        p = control_payload()
        if not p.get("identity") or not p.get("shared_secret"):
            raise ControlError(400, "identity and shared_secret are required")
        sender = state().add(str(p["identity"]), str(p["shared_secret"]), domain=str(p.get("domain") or "NetworkId"),
                             products=set(p.get("products") or ()), customers=set(p.get("customers") or ()),
                             accept_pending=bool(p.get("accept_pending")),
                             replay_mode=str(p.get("replay_mode") or state().replay_mode))
        return jsonify({"identity": sender.identity, "supplier_identity": state().supplier_identity}), 201

    @bp.post("/_sim/next_status")
    def sim_next_status():
        p = control_payload()
        sender = _sender(p.get("identity"))
        sender.next_status.append((int(p.get("code", 500)), str(p.get("text") or "Scripted")))
        return jsonify({"queued": len(sender.next_status)})

    @bp.get("/_sim/orders")
    def sim_orders():
        sender = _sender(request.args.get("identity"))
        return jsonify({"orders": list(sender.orders.values()), "payloads": sender.payloads})

    @bp.get("/_sim/stats")
    def sim_stats():
        sender = _sender(request.args.get("identity"))
        return jsonify({**dict.fromkeys(COUNTS, 0), **state().tenants.stats(sender), "held_orders": len(sender.orders), "replay_mode": sender.replay_mode})
