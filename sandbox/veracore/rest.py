"""VeraCore REST "Public API" (providers-part1.md §4.2, simulator must §4.3 item 5): login with
an expiring token, bearer checks, orders by status, packages, inventory. The hub itself uses
the SOAP service; this is here so the simulator covers the tenant's documented surface."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, jsonify, request

from ..base import set_credential
from .state import Account, state

PREFIXES = ("/VeraCore/Public.Api/api", "/veracore/public.api/api")
STATUSES = {"Unprocessed": {"Unprocessed"}, "Processed": {"Processed", "Picked"}, "PartiallyShipped": set(),
            "Complete": {"Complete", "Shipped"}, "Cancelled": {"Canceled"}}


def register(bp: Blueprint) -> None:
    for n, prefix in enumerate(PREFIXES):  # clients use both spellings of the (case-insensitive) path
        bp.add_url_rule(f"{prefix}/login", f"rest_login_{n}", login, methods=["POST"])
        bp.add_url_rule(f"{prefix}/orders", f"rest_orders_{n}", orders, methods=["GET"])
        bp.add_url_rule(f"{prefix}/GetPackages", f"rest_packages_{n}", packages, methods=["GET"])
        bp.add_url_rule(f"{prefix}/GetInventory", f"rest_inventory_{n}", inventory, methods=["GET"])


def login():
    body = request.get_json(silent=True) or {}
    st = state()
    account = st.authenticate(str(body.get("userName") or ""), str(body.get("password") or ""))
    if account is None or str(body.get("systemId") or "") != account.system_id:
        error = "Invalid Requested System" if account is not None else "Invalid user name or password"
        return jsonify({"Token": None, "UtcExpirationDate": None, "Error": error}), 403
    token = secrets.token_urlsafe(24)
    expires = st.rt.clock.now() + timedelta(seconds=account.token_seconds)
    with st.lock:
        st.tokens[token] = (account.username, expires)
    return jsonify({"Token": token, "UtcExpirationDate": expires.isoformat() + "Z", "Error": None})


def _bearer() -> Account | tuple:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    st = state()
    if scheme.lower() != "bearer" or not token:
        return jsonify({"Error": "Authorization has been denied for this request."}), 401
    username, expires = st.tokens.get(token, (None, None))
    if username is None or expires <= st.rt.clock.now():
        return jsonify({"Error": "Token is invalid or expired."}), 401
    account = st.tenants.get(username)
    set_credential(account.label, account.secrets)
    return account


def orders():
    account = _bearer()
    if not isinstance(account, Account):
        return account
    status = request.args.get("request.status", "All")
    if status != "All" and status not in STATUSES:
        return jsonify({"Error": f"Unknown status {status}."}), 400
    wanted = [o for o in account.orders.values() if status == "All" or o.flags & STATUSES[status]]
    return jsonify({"Orders": [{"ID": o.order_id, "ReferenceNumber": o.header["ReferenceNumber"],
                                "PurchaseOrder": o.header["PONumber"], "Comments": o.header["Comments"],
                                "CurrentOrderStatus": sorted(o.flags)[0]} for o in wanted]})


def packages():
    account = _bearer()
    if not isinstance(account, Account):
        return account
    ids = [i for i in request.args.get("request.ordersIds", "").split(",") if i]
    units = [{"OrderId": o.order_id, "Shipping": {"FreightCarrier": p["Carrier"], "TrackingLink": p["TrackingId"]}}
             for i in ids if (o := account.orders.get(i)) for p in o.packages]
    return jsonify({"ShippingUnits": units})


def inventory():
    account = _bearer()
    if not isinstance(account, Account):
        return account
    ids = [i for i in request.args.get("offerIds", "").split(",") if i]
    return jsonify({"Inventory": [{"OfferId": i, "Available": account.offers[i]["Available"]}
                                  for i in ids if i in account.offers]})
