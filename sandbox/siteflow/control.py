"""Site Flow simulator control routes (no auth; tests and the demo only), under ``/siteflow/_sim/``:

* ``POST accounts`` ``{token, secret, destinations?, skus?, rate_limit?, window_seconds?}``
* ``GET stats?token=`` — orders, duplicates, submission errors, requests, rate_limited
* ``POST triggers`` ``{token, url, headers, template, events?}`` / ``DELETE triggers?token=``
* ``POST orders/<id>/advance`` ``{status, shipment?: {shipmentIndex, trackingNumber}}`` → fires triggers
* ``GET deliveries?token=`` — trigger deliveries and their answers
* ``PUT``/``GET files/<id>`` — the pre-signed upload target of ``getpreupload``
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..base import ControlError, control_payload, install_tenant_routes, tenant_from
from . import orders
from .state import Trigger, state


def _account(payload: dict):
    return tenant_from(state().tenants, {**request.args, **payload}, "token")


def _find_order(order_id: str):
    for account in state().tenants:
        if order_id in account.orders:
            return account, account.orders[order_id]
    raise ControlError(404, f"unknown order {order_id!r}")


def _create(tenants, p):
    if not p.get("secret"):
        raise ControlError(400, "token and secret are required")
    return state().add_account(str(p["token"]), str(p["secret"]), destinations=p.get("destinations"),
                               skus=p.get("skus"), rate_limit=p.get("rate_limit"), window_seconds=p.get("window_seconds"))


def _stats(account) -> dict:
    sources = [o["orderData"]["sourceOrderId"] for o in account.orders.values()]
    return {"orders": len(account.orders), "duplicates": len(sources) - len(set(sources)),
            "duplicate_rejections": account.counters["duplicate_rejections"],
            "submission_errors": len(account.submission_errors), "triggers": len(account.triggers),
            "source_order_ids": sources}


def register(bp: Blueprint) -> None:
    install_tenant_routes(bp, lambda: state().tenants, credential_field="token", create=_create, stats=_stats,
                          describe=lambda account: {"token": account.token, "destinations": account.destinations,
                                                    "skus": list(account.skus)})

    @bp.post("/_sim/triggers")
    def sim_add_trigger():
        p = control_payload()
        account = _account(p)
        if not isinstance(p.get("url"), str) or not isinstance(p.get("template"), str):
            raise ControlError(400, "url and template are required")
        headers = p.get("headers") or {}
        if not isinstance(headers, dict):
            raise ControlError(400, "headers must be an object")
        account.triggers.append(Trigger(url=p["url"], headers={str(k): str(v) for k, v in headers.items()},
                                        template=p["template"], events=list(p.get("events") or [])))
        return jsonify({"triggers": len(account.triggers)}), 201

    @bp.delete("/_sim/triggers")
    def sim_clear_triggers():
        account = _account({})
        account.triggers.clear()
        return jsonify({"triggers": 0})

    @bp.post("/_sim/orders/<order_id>/advance")
    def sim_advance(order_id):
        p = control_payload()
        account, order = _find_order(order_id)
        try:
            fired = orders.advance(account, order, str(p.get("status") or ""), p.get("shipment"))
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        return jsonify({"order": order, "fired": fired})

    @bp.get("/_sim/deliveries")
    def sim_deliveries():
        return jsonify({"deliveries": _account({}).deliveries})

    @bp.put("/_sim/files/<file_id>")
    def sim_upload(file_id):
        state().files[file_id] = request.get_data()
        return "", 200

    @bp.get("/_sim/files/<file_id>")
    def sim_download(file_id):
        if file_id not in state().files:
            raise ControlError(404, "no such file")
        return state().files[file_id], 200, {"Content-Type": "application/pdf"}
