"""tFLOW simulator state: one isolated "instance" per API user, tokens, the job state machine."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


from ..base import SimRuntime, Tenant, Tenants, dispatch, get_runtime

KEY = "tflow"
DEMO_KEY, DEMO_SECRET = "demo-tflow-key", "demo-tflow-secret"
WORKFLOWS = {2, 4, 5, 8, 9, 10, 20, 30}
APPROVAL = {2, 5, 8, 9, 10}            # a person approves the proof
TWO_STEP = {8, 9, 10}
NO_RELEASE = {5, 10}                   # approval ends the job's tFLOW life
AUTO_RELEASE = {4, 9, 20}              # released without anyone pressing "Send To Production"

# (state, transition) -> next state; the workflow filters some of them (see allowed()).
TRANSITIONS: dict[tuple[str, str], str] = {
    ("to_upload_first", "reject_from_upload_first"): "rejected",
    ("upload_again", "reject_from_upload_again"): "rejected",
    ("to_review", "checks_ok"): "awaiting_approval",
    ("to_review", "checks_ok_to_step_1"): "awaiting_approval",
    ("to_review", "checks_ok_and_release"): "released",
    ("to_review", "checks_error"): "on_hold",
    ("to_review", "place_on_hold"): "on_hold",
    ("on_hold", "accept"): "awaiting_approval",
    ("on_hold", "reject_from_on_hold"): "rejected",
    ("on_hold", "repreflight_from_on_hold"): "to_review",
    ("awaiting_approval", "approve"): "approved",
    ("awaiting_approval", "approve_step_1"): "approved_internal",
    ("awaiting_approval", "reject"): "upload_again",
    ("awaiting_approval", "close_to_rejected"): "rejected",
    ("approved_internal", "approve_step_2"): "approved",
    ("approved_internal", "reject_from_approved_step_1"): "rejected",
    ("approved", "release"): "released",
    ("approved", "auto_release"): "released",
    ("approved", "reject_from_approved"): "rejected",
    ("released", "re_release_from_released"): "released",
}
SYSTEM_ONLY = {"auto_release", "checks_ok", "checks_error", "checks_ok_and_release", "checks_ok_to_step_1",
               "place_on_hold", "repreflight_from_on_hold"}
# Assumed post-release states (not in tFLOW's public vocabulary), reachable by the test hook only.
PRODUCTION = {"released": "printing", "printing": "shipped", "shipped": "completed"}


def allowed(job: dict, system: bool = False) -> list[str]:
    wf, state = job["workflow_id"], job["current_state_name"]
    out = []
    for (source, name), _ in TRANSITIONS.items():
        if source != state or (name in SYSTEM_ONLY and not system):
            continue
        if name in ("checks_ok", "checks_ok_to_step_1", "accept") and wf not in APPROVAL and wf != 30:
            continue
        if name == "checks_ok_to_step_1" and wf not in TWO_STEP:
            continue
        if name == "checks_ok" and wf in TWO_STEP:
            continue
        if name == "checks_ok_and_release" and wf not in (4, 20):
            continue
        if name == "approve" and wf in TWO_STEP:
            continue
        if name == "approve_step_1" and wf not in TWO_STEP:
            continue
        if name in ("release", "auto_release") and wf in NO_RELEASE:
            continue
        if name == "release" and wf in AUTO_RELEASE:
            continue
        if name == "auto_release" and wf not in AUTO_RELEASE:
            continue
        out.append(name)
    return out


def next_state(job: dict, transition: str) -> str:
    target = TRANSITIONS[(job["current_state_name"], transition)]
    if job["workflow_id"] == 30 and transition in ("checks_ok", "accept"):
        return "approved"  # no approval: checked files are approved at once
    return target


@dataclass
class Instance(Tenant):
    secret: str = ""
    token_ttl: float = 3600.0
    signature_order: str = "key_body"
    orders: dict[int, dict] = field(default_factory=dict)
    jobs: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=dict)
    clients: dict[int, dict] = field(default_factory=dict)
    webhooks: dict[str, dict] = field(default_factory=dict)
    revisions: list[dict] = field(default_factory=list)

    @property
    def client_id(self) -> str:
        return self.credential


DEMO_PRODUCTS = ("Print-ready PDF", "Large format", "Business cards 85x55", "Booklet imposition")


class TFlowState:
    def __init__(self, rt: SimRuntime, config: dict):
        self.rt = rt
        self.lock = rt.lock
        # One tFLOW instance per OAuth2 client; the client id names it in the recorder.
        self.tenants: Tenants[Instance] = Tenants(rt, Instance, default_limit=60, default_window=60,
                                                  secret_credential=False)
        self.tokens: dict[str, tuple[str, Any]] = {}   # token -> (client_id, expires at, sim clock)
        self.default_ttl = float(config.get("TFLOW_TOKEN_TTL", 3600))
        self.workflow_field = str(config.get("TFLOW_WORKFLOW_FIELD", "workflow_id"))
        self.hook_timeout = float(config.get("TFLOW_WEBHOOK_TIMEOUT", 5.0))
        for client_id, secret in (config.get("TFLOW_CLIENTS") or {}).items():
            instance = self.add_instance(client_id, secret, rate_limit=int(config.get("TFLOW_RATE_LIMIT", 60)),
                                         window_seconds=float(config.get("TFLOW_RATE_WINDOW_SECONDS", 60)))
            self.seed(instance)

    def add_instance(self, client_id: str, secret: str, *, rate_limit: int = 60, window_seconds: float = 60,
                     token_ttl: float | None = None, signature_order: str = "key_body") -> Instance:
        return self.tenants.add(client_id, secrets=(secret,), rate_limit=rate_limit, window_seconds=window_seconds,
                                secret=secret, token_ttl=self.default_ttl if token_ttl is None else token_ttl,
                                signature_order=signature_order)

    def seed(self, instance: Instance) -> None:
        with self.lock:
            if not instance.clients:
                cid = 1  # every instance has its first customer as client 1
                instance.clients[cid] = {"id": cid, "name": "Storefront customers", "tflows": []}
            if not instance.products:
                for name in DEMO_PRODUCTS:
                    pid = 101 + len(instance.products)  # per instance, like a fresh tFLOW
                    instance.products[pid] = {"id": pid, "name": name}

    # ---- tokens -----------------------------------------------------------------
    def issue_token(self, instance: Instance) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tenants.count(instance, "token_requests")
            self.tokens[token] = (instance.client_id, self.rt.clock.now() + timedelta(seconds=instance.token_ttl))
        return token

    def instance_for_token(self, token: str) -> Instance | None:
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None:
                return None
            client_id, expires = entry
            if self.rt.clock.now() >= expires:
                del self.tokens[token]
                return None
            return self.tenants.get(client_id)

    def expire_tokens(self, client_id: str) -> int:
        with self.lock:
            gone = [t for t, (c, _) in self.tokens.items() if c == client_id]
            for token in gone:
                del self.tokens[token]
            return len(gone)

    # ---- jobs -------------------------------------------------------------------
    def set_state(self, instance: Instance, job: dict, state: str) -> None:
        job["current_state_name"] = state
        job["updated_at"] = self.rt.clock.now().isoformat()  # callers deliver() once the lock is released

    def deliver(self, instance: Instance, job: dict) -> None:
        """Registered webhook for "job.<state>" → a signed JSON POST (proposed contract)."""
        event = f"job.{job['current_state_name']}"
        hook = instance.webhooks.get(event)
        if hook is None:
            return
        body = json.dumps({"event": event, "job_id": job["id"], "order_id": job["order_id"],
                           "state": job["current_state_name"], "timestamp": job["updated_at"]}).encode()
        key = hook["security_key"].encode()

        def sign(data: bytes) -> dict[str, str]:
            joined = data + key if instance.signature_order == "body_key" else key + data
            return {"X-Tflow-Signature": hashlib.sha1(joined).hexdigest()}

        dispatch(hook["url"], body, sign=sign, timeout=self.hook_timeout, log=instance.deliveries, keep_body=True,
                 info={"event": event, "job_id": job["id"]})


def state() -> TFlowState:
    return get_runtime(KEY).data
