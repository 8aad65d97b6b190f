"""The shared simulator base: everything a provider simulator gets without writing it.

* `runtime` — SimulatorSpec, SimRuntime, mounts (index prefix and real paths), request tags;
* `routes` — faults before auth, recording after, ``/_sim/requests|faults|clock``;
* `tenants` — per-credential accounts, rate limits, request stats, ``/_sim/accounts|stats``;
* `webhooks` — delivery of events to a registered hub URL with the provider's signer;
* `recorder`, `faults`, `limiter`, `clock`, `control` — the pieces behind them;
* `soap`, `xml_bodies` — SOAP envelopes, faults and the header-token service loop; cXML
  error bodies; the safe XML reader.

A provider package (``sandbox/<key>/``) holds only its routes, validation, state and its
provider-specific signing and formats.
"""
from .clock import IdSequence, SimClock, parse_iso_datetime, utc_stamp
from .control import ControlError, body_response, control_error_response, control_payload, number
from .faults import MAX_FAULT_SLEEP_SECONDS, FaultAction, FaultInjector
from .limiter import FixedWindowRateLimiter, RateDecision
from .recorder import DEFAULT_REDACTED_HEADERS, DEFAULT_SECRET_FIELDS, RequestRecorder, redact_body
from .routes import define_simulator, install_common
from .runtime import (EXTENSION_KEY, SimRuntime, SimulatorSpec, attach, external_base_url, get_runtime,
                      init_runtime, is_control_request, mark_created, mount, mount_prefix, set_credential,
                      sim_base_url, sim_path)
from .tenants import Tenant, Tenants, install_tenant_routes, tenant_from, tenant_record
from .webhooks import dispatch

__all__ = [
    "IdSequence", "SimClock", "parse_iso_datetime", "utc_stamp", "ControlError", "body_response",
    "control_error_response", "control_payload", "number", "MAX_FAULT_SLEEP_SECONDS", "FaultAction",
    "FaultInjector", "FixedWindowRateLimiter", "RateDecision", "DEFAULT_REDACTED_HEADERS",
    "DEFAULT_SECRET_FIELDS", "RequestRecorder", "redact_body", "install_common", "define_simulator", "EXTENSION_KEY", "SimRuntime",
    "SimulatorSpec", "attach", "external_base_url", "get_runtime", "init_runtime", "is_control_request",
    "mark_created", "mount", "mount_prefix", "set_credential", "sim_base_url", "sim_path", "Tenant", "Tenants",
    "install_tenant_routes", "tenant_from", "tenant_record", "dispatch",
]
