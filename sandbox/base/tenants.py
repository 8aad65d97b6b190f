"""Per-credential tenants: each credential (API key, token, login) is its own provider
account with its own data, rate-limit window and request stats, as two real accounts would be.

A simulator subclasses `Tenant` with its state (orders, customers…), keeps a `Tenants` in its
state and calls `admit()` once a request authenticated: that tags the recorder (label and
secrets to redact), counts the request and applies the tenant's rate limit. `install_tenant_routes`
gives the control routes ``POST /_sim/accounts`` (create or update a tenant) and
``GET /_sim/stats?<credential field>=`` (base counters + the simulator's own figures).
"""
from __future__ import annotations

import hmac
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import Blueprint, jsonify

from .control import ControlError, control_payload
from .limiter import RateDecision
from .runtime import SimRuntime, set_credential

_labels = itertools.count(1)


@dataclass
class Tenant:
    credential: str                      # what requests are matched by (never shown when secret)
    label: str = ""                      # what the recorder shows for this tenant
    secrets: tuple[str, ...] = ()        # values the recorder redacts in bodies
    rate_limit: int | None = 600         # None: the provider documents no limit, none is applied
    window_seconds: float = 60.0
    counters: Counter = field(default_factory=Counter)  # requests, rate_limited + the simulator's own
    deliveries: list[dict] = field(default_factory=list)  # webhook outcomes (sandbox.base.webhooks)

    @property
    def requests(self) -> int:
        return self.counters["requests"]

    @property
    def rate_limited(self) -> int:
        return self.counters["rate_limited"]


T = TypeVar("T", bound=Tenant)


class Tenants(Generic[T]):
    """The tenants of one simulator instance, keyed by credential; guarded by the runtime lock."""

    def __init__(self, rt: SimRuntime, factory: Callable[..., T], *, default_limit: int | None = 600,
                 default_window: float = 60.0, secret_credential: bool = True):
        self.rt, self.lock, self.factory = rt, rt.lock, factory
        self.default_limit = int(default_limit) if default_limit else None
        self.default_window = float(default_window)
        self.secret_credential = secret_credential  # a token is a secret; a user name is not
        self._by_credential: dict[str, T] = {}

    def __iter__(self):
        with self.lock:
            return iter(list(self._by_credential.values()))

    def add(self, credential: str, *, secrets: tuple[str, ...] = (), rate_limit=None, window_seconds=None,
            **fields: Any) -> T:
        """Create the tenant, or update an existing one's secrets and limits (its data stays)."""
        with self.lock:
            tenant = self._by_credential.get(credential)
            if tenant is None:
                label = credential if not self.secret_credential else f"tenant-{next(_labels)}"
                tenant = self.factory(credential=credential, label=label, **fields)
                tenant.rate_limit, tenant.window_seconds = self.default_limit, self.default_window
                self._by_credential[credential] = tenant
            else:
                for name, value in fields.items():
                    setattr(tenant, name, value)
                self.rt.limiter.reset(tenant.credential)
            tenant.secrets = tuple(s for s in ((credential,) if self.secret_credential else ()) + tuple(secrets) if s)
            if rate_limit is not None:
                tenant.rate_limit = int(rate_limit)
            if window_seconds is not None:
                tenant.window_seconds = float(window_seconds)
            return tenant

    def get(self, credential: str) -> T | None:
        """Look-up for control routes (no timing concerns there)."""
        with self.lock:
            return self._by_credential.get(credential)

    def find(self, credential: str) -> T | None:
        """Look-up for API requests: compares every known credential in constant time."""
        found = None
        with self.lock:
            for known, tenant in self._by_credential.items():
                if credential and hmac.compare_digest(credential.encode(), known.encode()):
                    found = tenant
        return found

    def admit(self, tenant: T) -> RateDecision:
        """An authenticated request: tag the recorder, count it, apply the tenant's rate limit."""
        set_credential(tenant.label, tenant.secrets)
        if not tenant.rate_limit:
            decision = RateDecision(True, 0, 0, 0)
        else:
            decision = self.rt.limiter.hit(tenant.credential, tenant.rate_limit, tenant.window_seconds)
        with self.lock:
            tenant.counters["requests"] += 1
            if not decision.allowed:
                tenant.counters["rate_limited"] += 1
        return decision

    def count(self, tenant: T, name: str, n: int = 1) -> None:
        with self.lock:
            tenant.counters[name] += n

    def stats(self, tenant: T) -> dict[str, int]:
        with self.lock:
            return {"requests": 0, "rate_limited": 0, **tenant.counters}


def install_tenant_routes(bp: Blueprint, tenants: Callable[[], Tenants], *, credential_field: str,
                          create: Callable[[Tenants, Mapping[str, Any]], Tenant],
                          describe: Callable[[Tenant], dict],
                          stats: Callable[[Tenant], Mapping[str, Any]]) -> None:
    """``POST /_sim/accounts`` (``create`` validates the payload) and ``GET /_sim/stats``."""

    def sim_accounts():
        payload = control_payload()
        if not payload.get(credential_field):
            raise ControlError(400, f"{credential_field} is required")
        return jsonify(describe(create(tenants(), payload))), 201

    def sim_stats():
        registry = tenants()
        tenant = tenant_from(registry, control_payload(), credential_field)
        return jsonify({**registry.stats(tenant), **stats(tenant)})

    bp.add_url_rule("/_sim/accounts", "sim_accounts", sim_accounts, methods=["POST"])
    bp.add_url_rule("/_sim/stats", "sim_stats", sim_stats, methods=["GET"])


def tenant_from(registry: Tenants[T], payload: Mapping[str, Any], credential_field: str) -> T:
    """The tenant a control call names (ControlError 404 when unknown)."""
    tenant = registry.get(str(payload.get(credential_field) or ""))
    if tenant is None:
        raise ControlError(404, f"unknown {credential_field}")
    return tenant


def tenant_record(registry: Tenants[T], credential_field: str, collection: str = "orders",
                  id_field: str = "order_id") -> tuple[T, Any, dict]:
    """(tenant, one of its records, payload) for a control call naming both (404 when unknown)."""
    payload = control_payload()
    tenant = tenant_from(registry, payload, credential_field)
    record = getattr(tenant, collection).get(str(payload.get(id_field)))
    if record is None:
        raise ControlError(404, f"unknown {id_field}")
    return tenant, record, payload
