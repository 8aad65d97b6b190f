"""Test hooks of the ShipStation simulator under ``/shipstation/_sim/`` (no auth).

Every hook names its account with ``api_key`` (query string or JSON body). Hooks that
change an order (ship, void, status, fulfill) move the order's ``modifyDate`` like the
real system would, so status polling by ``modifyDateStart`` sees them.
"""
from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from flask import Blueprint, jsonify

from ..base import ControlError, control_payload
from .state import (Account, AccountData, state)

# --------------------------------------------------------------------------- helpers

def account_of(payload: dict[str, Any]) -> Account:
    api_key = payload.get("api_key")
    if not api_key:
        raise ControlError(400, "api_key is required")
    acct = state().tenants.get(str(api_key))
    if acct is None:
        raise ControlError(404, f"unknown api_key {api_key!r}")
    return acct


def int_field(payload: dict[str, Any], name: str, low: int, high: int, default: int | None = None):
    value = payload.get(name, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ControlError(400, f"{name} must be an integer between {low} and {high}")
    return number


def positive_field(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be a number") from None
    if isinstance(value, bool) or not 0 < number <= 86_400:
        raise ControlError(400, f"{name} must be > 0 and <= 86400")
    return number


def flag_field(payload: dict[str, Any], name: str, default: bool = True) -> bool:
    value = payload.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


def find_order(acct: Account, payload: dict[str, Any]) -> dict[str, Any]:
    """By orderId, orderKey or (exact, unique) orderNumber; caller holds the lock."""
    orders = acct.data.orders
    if payload.get("orderId") is not None:
        order = orders.get(int_field(payload, "orderId", 1, 2**62))
    elif payload.get("orderKey"):
        order = orders.get(acct.data.order_keys.get(str(payload["orderKey"]), -1))
    elif payload.get("orderNumber"):
        found = [o for o in orders.values() if o["orderNumber"] == str(payload["orderNumber"])]
        if len(found) > 1:
            raise ControlError(409, f"orderNumber {payload['orderNumber']!r} matches "
                                    f"{len(found)} orders; use orderId or orderKey")
        order = found[0] if found else None
    else:
        raise ControlError(400, "give orderId, orderKey or orderNumber")
    if order is None:
        raise ControlError(404, "order not found in this account")
    return order



# --------------------------------------------------------------------------- accounts/config

def sim_accounts_list():
    st = state()
    with st.lock:
        return jsonify({"accounts": [a.public() for a in st.tenants]})


def sim_accounts_add():
    p = control_payload()
    api_key, api_secret = p.get("api_key"), p.get("api_secret")
    if not isinstance(api_key, str) or not api_key or not isinstance(api_secret, str):
        raise ControlError(400, "api_key and api_secret (strings) are required")
    stores, tags = p.get("stores"), p.get("tags")
    for name, value in (("stores", stores), ("tags", tags)):
        if value is not None and not (isinstance(value, list) and value
                                      and all(isinstance(v, str) and v for v in value)):
            raise ControlError(400, f"{name} must be a non-empty list of names")
    acct, created = state().add_account(
        api_key, api_secret, rate_limit=int_field(p, "rate_limit", 1, 1_000_000),
        window_seconds=positive_field(p, "window_seconds"), stores=stores, tags=tags)
    return jsonify({"created": created, "account": acct.public()}), 201 if created else 200


def sim_config():
    """Per account: rate_limit, window_seconds. Simulator-wide: empty_401_body,
    page_size_overflow ("reject"|"clamp"), webhook_timeout."""
    p = control_payload()
    st = state()
    out: dict[str, Any] = {}
    if p.get("api_key"):
        acct = account_of(p)
        limit, window = int_field(p, "rate_limit", 1, 1_000_000), positive_field(p, "window_seconds")
        with st.lock:
            if limit is not None:
                acct.rate_limit = limit
            if window is not None:
                acct.window_seconds = window
        st.rt.limiter.reset(acct.api_key)  # a new limit starts a new window
        out["account"] = acct.public()
    if "empty_401_body" in p:
        st.empty_401_body = flag_field(p, "empty_401_body", False)
    if "page_size_overflow" in p:
        if p["page_size_overflow"] not in ("reject", "clamp"):
            raise ControlError(400, "page_size_overflow must be 'reject' or 'clamp'")
        st.page_size_overflow = p["page_size_overflow"]
    if p.get("webhook_timeout") is not None:
        st.webhook_timeout = positive_field(p, "webhook_timeout")
    out.update({"empty_401_body": st.empty_401_body,
                "page_size_overflow": st.page_size_overflow,
                "webhook_timeout": st.webhook_timeout})
    return jsonify(out)


def sim_reset():
    """Clear orders, shipments, fulfillments, products, webhooks and counters of one
    account (``{"all": true}``: of every account). Stores and tags are kept."""
    p = control_payload()
    st = state()
    targets = list(st.tenants) if p.get("all") else [account_of(p)]
    with st.lock:
        for acct in targets:
            acct.data = AccountData(stores=acct.data.stores, tags=acct.data.tags)
            acct.counters.clear()
            st.rt.limiter.reset(acct.api_key)
    return jsonify({"reset": [a.api_key for a in targets]})


def sim_stats():
    p = control_payload()
    acct = account_of(p)
    st = state()
    with st.lock:
        data = acct.data
        counts = Counter(o["orderNumber"] for o in data.orders.values())
        duplicates = {number: n for number, n in sorted(counts.items()) if n > 1}
        return jsonify({
            "api_key": acct.api_key, "orders": len(data.orders),
            "orders_by_number": duplicates, "duplicate_order_numbers": len(duplicates),
            "requests": acct.requests, "rate_limited": acct.rate_limited,
            "shipments": len(data.shipments), "fulfillments": len(data.fulfillments),
            "products": len(data.products), "webhooks": len(data.webhooks),
        })


def sim_deliveries():
    acct = account_of(control_payload())
    with state().lock:
        return jsonify({"deliveries": copy.deepcopy(acct.data.deliveries)})


def sim_add_store():
    p = control_payload()
    acct = account_of(p)
    name = p.get("storeName")
    if not isinstance(name, str) or not name:
        raise ControlError(400, "storeName is required")
    st = state()
    with st.lock:
        return jsonify(copy.deepcopy(st.add_store(acct, name))), 201


def register(bp: Blueprint) -> None:
    """Every control hook: accounts and configuration here, the order life cycle in
    control_orders, the catalogue in control_catalog."""
    from . import control_catalog, control_orders

    rules = [
        ("/_sim/accounts", sim_accounts_list, "GET"),
        ("/_sim/accounts", sim_accounts_add, "POST"),
        ("/_sim/config", sim_config, "POST"),
        ("/_sim/reset", sim_reset, "POST"),
        ("/_sim/stats", sim_stats, "GET"),
        ("/_sim/deliveries", sim_deliveries, "GET"),
        ("/_sim/stores", sim_add_store, "POST"),
        *control_orders.RULES,
        *control_catalog.RULES,
    ]
    for rule, view, method in rules:
        bp.add_url_rule(rule, endpoint=f"{view.__name__}_{method.lower()}_{rule.count('<')}",
                        view_func=view, methods=[method])
