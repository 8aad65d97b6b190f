"""Test hooks of the tFLOW simulator (no auth, never recorded), under /tflow/_sim/.

* ``POST /_sim/clients`` {client_id, client_secret, rate_limit?, window_seconds?, token_ttl?,
  signature_order? ("key_body" | "body_key")} — a new isolated instance / API user;
  ``POST /_sim/clients/<client_id>`` changes token_ttl / signature_order.
* ``POST /_sim/expire_tokens`` {client_id} — every token of that user becomes unknown (401).
* ``GET /_sim/stats?client_id=`` — counters, orders, jobs, duplicates, revisions, webhooks.
* ``GET /_sim/orders?client_id=`` — orders with their jobs.
* ``POST /_sim/jobs/<id>/advance`` {transition} (any transition allowed now, system ones
  included: "checks_ok", "checks_error", …) or {state: "printing" | "shipped" | "completed",
  tracking_number?, carrier?} (assumed post-release states) — fires registered webhooks.
* ``POST /_sim/products`` {client_id, names: [...]}; ``GET /_sim/deliveries?client_id=``;
  ``GET /_sim/revisions?client_id=``.
"""
from __future__ import annotations

from collections import Counter

from flask import Blueprint, jsonify

from ..base import ControlError, control_payload, tenant_from
from .state import PRODUCTION, TRANSITIONS, Instance, allowed, next_state, state


def _instance(payload: dict) -> Instance:
    return tenant_from(state().tenants, payload, "client_id")


def register(bp: Blueprint) -> None:
    @bp.post("/_sim/clients")
    def sim_client_add():
        p = control_payload()
        if not p.get("client_id") or not p.get("client_secret"):
            raise ControlError(400, "client_id and client_secret are required")
        st = state()
        inst = st.add_instance(str(p["client_id"]), str(p["client_secret"]),
                               rate_limit=int(p.get("rate_limit", 60)),
                               window_seconds=float(p.get("window_seconds", 60)),
                               token_ttl=float(p["token_ttl"]) if "token_ttl" in p else None,
                               signature_order=str(p.get("signature_order") or "key_body"))
        st.seed(inst)
        return jsonify({"client_id": inst.client_id, "clients": list(inst.clients),
                        "products": list(inst.products.values())}), 201

    @bp.post("/_sim/clients/<client_id>")
    def sim_client_update(client_id):
        p = control_payload()
        inst = _instance({"client_id": client_id})
        if "token_ttl" in p:
            inst.token_ttl = float(p["token_ttl"])
        if "signature_order" in p:
            if p["signature_order"] not in ("key_body", "body_key"):
                raise ControlError(400, "signature_order must be key_body or body_key")
            inst.signature_order = p["signature_order"]
        return jsonify({"client_id": inst.client_id, "token_ttl": inst.token_ttl,
                        "signature_order": inst.signature_order})

    @bp.post("/_sim/expire_tokens")
    def sim_expire():
        return jsonify({"expired": state().expire_tokens(_instance(control_payload()).client_id)})

    @bp.get("/_sim/stats")
    def sim_stats():
        st, inst = state(), _instance(control_payload())
        with st.lock:
            names = Counter(o["name"] for o in inst.orders.values())
            job_keys = Counter((j["order_id"], j["name"]) for j in inst.jobs.values())
            return jsonify({**st.tenants.stats(inst), "token_requests": inst.counters["token_requests"], "orders": len(inst.orders), "jobs": len(inst.jobs),
                            "duplicate_orders": sum(n - 1 for n in names.values()),
                            "duplicate_jobs": sum(n - 1 for n in job_keys.values()),
                            "revisions": len(inst.revisions), "webhooks": sorted(inst.webhooks)})

    @bp.get("/_sim/orders")
    def sim_orders():
        st, inst = state(), _instance(control_payload())
        with st.lock:
            return jsonify([{**o, "jobs": [j for j in inst.jobs.values() if j["order_id"] == o["id"]]}
                            for o in inst.orders.values()])

    @bp.post("/_sim/jobs/<int:job_id>/advance")
    def sim_advance(job_id):
        st, p = state(), control_payload()
        with st.lock:
            found = [(i, i.jobs[job_id]) for i in st.tenants if job_id in i.jobs]
            if not found:
                raise ControlError(404, "unknown job")
            inst, job = found[0]
            if p.get("transition"):
                name = str(p["transition"])
                if (job["current_state_name"], name) not in TRANSITIONS or name not in allowed(job, system=True):
                    raise ControlError(409, f"{name} is not allowed from {job['current_state_name']}")
                st.set_state(inst, job, next_state(job, name))
            elif p.get("state"):
                target = str(p["state"])
                if PRODUCTION.get(job["current_state_name"]) != target:
                    raise ControlError(409, f"{target} does not follow {job['current_state_name']}")
                for key in ("tracking_number", "carrier"):
                    if p.get(key):
                        job["props"][key] = str(p[key])
                st.set_state(inst, job, target)
            else:
                raise ControlError(400, "give a transition or a state")
            snapshot = dict(job)
        st.deliver(inst, snapshot)
        return jsonify(snapshot)

    @bp.post("/_sim/products")
    def sim_products():
        st, p = state(), control_payload()
        inst = _instance(p)
        with st.lock:
            for name in p.get("names") or []:
                pid = 101 + len(inst.products)
                inst.products[pid] = {"id": pid, "name": str(name)}
            return jsonify(list(inst.products.values()))

    @bp.get("/_sim/deliveries")
    def sim_deliveries():
        return jsonify(_instance(control_payload()).deliveries)

    @bp.get("/_sim/revisions")
    def sim_revisions():
        return jsonify(_instance(control_payload()).revisions)
