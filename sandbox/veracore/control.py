"""VeraCore simulator test hooks under ``/veracore/_sim/`` (no auth): accounts, offers, moving
an order through the warehouse (Processed → Picked → Shipped/Complete, Hold, Canceled) and
shipping it with a tracking id."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..base import ControlError, control_payload, install_tenant_routes, tenant_from
from .state import FLAGS, Account, state


def _account(payload) -> Account:
    return tenant_from(state().tenants, payload, "username")


def _create(tenants, payload) -> Account:
    payload = dict(payload)
    if not payload.get("password"):
        raise ControlError(400, "username and password are required")
    return state().add_account(str(payload.pop("username")), str(payload.pop("password")), **payload)


def _stats(account: Account) -> dict:
    references = [o.reference for o in account.orders.values()]
    return {"orders": len(account.orders), "offers": len(account.offers),
            "duplicate_references": len(references) - len(set(references)),
            "duplicates_refused": account.counters["duplicates_refused"]}


def register(bp: Blueprint) -> None:
    install_tenant_routes(bp, lambda: state().tenants, credential_field="username", create=_create, stats=_stats,
                          describe=lambda account: {"username": account.username, "namespace": account.namespace,
                                                    "caller_ids": account.caller_ids, "offers": len(account.offers)})

    @bp.post("/_sim/offers")
    def sim_offers():
        payload = control_payload()
        account = _account(payload)
        with state().lock:
            added = [state().add_offer(account, offer) for offer in payload.get("offers") or []]
        return jsonify({"added": len(added), "offers": len(account.offers)})

    @bp.get("/_sim/orders")
    def sim_orders():
        account = _account(control_payload())
        return jsonify({"orders": [{"order_id": o.order_id, "reference": o.reference, "flags": sorted(o.flags),
                                    "header": o.header, "ship_tos": o.ship_tos, "offers": o.offers,
                                    "packages": o.packages} for o in account.orders.values()]})

    @bp.post("/_sim/advance")
    def sim_advance():
        """{"username", "order_id", "status": one of the OrdHead/Status flags}."""
        payload = control_payload()
        account = _account(payload)
        order = account.orders.get(str(payload.get("order_id")))
        status = str(payload.get("status") or "")
        if order is None or status not in FLAGS:
            raise ControlError(400, f"need a known order_id and a status in {FLAGS}")
        with state().lock:
            order.flags = {status} | ({"Shipped"} if status == "Complete" else set())
        return jsonify({"order_id": order.order_id, "flags": sorted(order.flags)})

    @bp.post("/_sim/ship")
    def sim_ship():
        """{"username", "order_id", "tracking_id"?, "carrier"?, "service"?, "voided"?}: one package."""
        payload = control_payload()
        account = _account(payload)
        order = account.orders.get(str(payload.get("order_id")))
        if order is None:
            raise ControlError(404, "unknown order_id")
        st = state()
        with st.lock:
            pick_pack = st.rt.ids.next("pickpack", 70_001)
            package = {"PickPackId": pick_pack, "TrackingId": str(payload.get("tracking_id") or f"1Z{pick_pack:012d}"),
                       "Carrier": str(payload.get("carrier") or "UPS"), "Service": str(payload.get("service") or "Ground"),
                       "DateShipped": st.rt.clock.now().isoformat(timespec="seconds"),
                       "DateVoided": st.rt.clock.now().isoformat(timespec="seconds") if payload.get("voided") else "",
                       "Weight": "1.2"}
            order.packages.append(package)
            if not payload.get("voided"):
                order.flags = {"Shipped"}
        return jsonify({"order_id": order.order_id, "package": package})
