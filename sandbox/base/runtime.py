"""What one simulator is (`SimulatorSpec`), what one running instance owns (`SimRuntime`) and
where it is mounted.

A runtime lives in ``app.extensions["sandbox"][<key>]``. The same runtime may be mounted in
several Flask apps — the index app (every simulator under its ``url_prefix``, for humans and
old URLs) and the simulator's own app (at its provider's real paths, on a port of its own) —
so both see one world of accounts and orders. Views ask `mount_prefix()` / `sim_path()` for
the path relative to the mount (what a provider signs), never a hard-coded prefix.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, g, request

from .clock import IdSequence, SimClock
from .faults import FaultInjector
from .limiter import FixedWindowRateLimiter
from .recorder import DEFAULT_REDACTED_HEADERS, DEFAULT_SECRET_FIELDS, RequestRecorder

EXTENSION_KEY = "sandbox"
MOUNTS_KEY = "sandbox_mounts"


@dataclass(frozen=True)
class SimulatorSpec:
    """What the app factory needs to mount one provider simulator."""

    key: str                                   # slug: extension key and default prefix
    title: str
    url_prefix: str                            # mount in the index app (http://sandbox/<prefix>/…)
    create_blueprint: Callable[[], Blueprint]
    create_state: Callable[["SimRuntime", Mapping[str, Any]], Any]
    default_config: Mapping[str, Any] = field(default_factory=dict)
    redact_headers: frozenset[str] = frozenset()
    secret_fields: frozenset[str] = frozenset()  # body fields (elements, keys) holding secrets
    # Mounts on the simulator's own server: the provider's real paths. "" is the host root; a
    # gateway service prefix ("/box") is part of the real path and is left out of signatures.
    real_mounts: tuple[str, ...] = ("",)


class SimRuntime:
    """Everything one simulator instance owns; `data` is the provider-specific state."""

    def __init__(self, spec: SimulatorSpec, config: Mapping[str, Any]):
        self.spec = spec
        self.config = config
        self.lock = threading.RLock()  # coarse lock for the provider's data
        self.ids = IdSequence()
        self.clock = SimClock()
        self.recorder = RequestRecorder(
            limit=int(config.get("SANDBOX_RECORD_LIMIT", 1000)),
            body_limit=int(config.get("SANDBOX_RECORD_BODY_LIMIT", 2048)),
            redact=DEFAULT_REDACTED_HEADERS | {h.lower() for h in spec.redact_headers},
            secret_fields=DEFAULT_SECRET_FIELDS | {f.lower() for f in spec.secret_fields},
        )
        self.faults = FaultInjector()
        initial_faults = (config.get("SANDBOX_FAULTS") or {}).get(spec.key)
        if initial_faults:
            self.faults.configure(initial_faults)
        self.limiter = FixedWindowRateLimiter()
        self.data: Any = spec.create_state(self, config)


def attach(app: Flask, runtime: SimRuntime) -> None:
    app.extensions.setdefault(EXTENSION_KEY, {})[runtime.spec.key] = runtime


def mount(app: Flask, runtime: SimRuntime, prefix: str, name: str | None = None) -> None:
    """Register a fresh blueprint of the simulator at `prefix` ("" = the app's root)."""
    attach(app, runtime)
    bp = runtime.spec.create_blueprint()
    name = name or bp.name
    app.register_blueprint(bp, url_prefix=prefix or None, name=name)
    app.extensions.setdefault(MOUNTS_KEY, {})[name] = prefix.rstrip("/")


def init_runtime(app: Flask, spec: SimulatorSpec) -> SimRuntime:
    runtime = SimRuntime(spec, app.config)
    attach(app, runtime)
    return runtime


def get_runtime(key: str) -> SimRuntime:
    return current_app.extensions[EXTENSION_KEY][key]


def mount_prefix() -> str:
    """The prefix the current request's simulator is mounted at ("" at the root)."""
    return current_app.extensions.get(MOUNTS_KEY, {}).get(request.blueprint or "", "")


def sim_path() -> str:
    """The request path below the mount (what a gateway signs: service prefix left out)."""
    prefix = mount_prefix()
    return request.path[len(prefix):] if prefix and request.path.startswith(prefix + "/") else request.path


def is_control_request(key: str | None = None) -> bool:
    path = sim_path()
    return path == "/_sim" or path.startswith("/_sim/")


def external_base_url() -> str:
    """Base URL the outside world uses to reach this server (for webhook resource URLs)."""
    configured = current_app.config.get("SANDBOX_EXTERNAL_BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    return (request.host_url.rstrip("/") + request.script_root).rstrip("/")


def sim_base_url() -> str:
    """Where this simulator is reached on this server (external base + mount prefix)."""
    return external_base_url() + mount_prefix()


def set_credential(label: str | None, secrets: tuple[str, ...] = ()) -> None:
    """Tag the current request with the account it authenticated as, and name that account's
    secrets so the recorder keeps them out of the recorded body (a SOAP header or cXML
    SharedSecret travels in the body)."""
    g.sandbox_credential = label
    g.sandbox_secrets = tuple(s for s in secrets if s)


def mark_created() -> None:
    """Called by a view after it persisted a create; enables 'timeout after create'."""
    g.sandbox_created = True
