"""ShipStation API V1 ("ssapi") simulator, mounted at ``/shipstation``.

Contract: ``providers-part1.md`` §1 (every point of §1.12). Shape of the simulation:

* Accounts are API key pairs (config ``SHIPSTATION_ACCOUNTS``, default
  ``{"demo-key": "demo-secret"}``; values may also be ``{"api_secret", "rate_limit",
  "window_seconds", "stores", "tags"}``) or added at run time with
  ``POST /shipstation/_sim/accounts``. Each pair has its own orders, shipments,
  fulfillments, products, stores, tags and webhooks, as two real accounts would.
* Every API route needs HTTP Basic (key:secret) → 401 ``{"message"}`` (or an empty body
  with ``SHIPSTATION_EMPTY_401_BODY``). Once authenticated, every response carries
  ``X-Rate-Limit-Limit/Remaining/Reset`` (reset = whole seconds until the fixed window
  ends); over the limit → 429 ``{"message": "Too Many Requests"}`` and nothing is done.
  Defaults ``SHIPSTATION_RATE_LIMIT`` = 40 per ``SHIPSTATION_RATE_WINDOW_SECONDS`` = 60.
* Validation errors are 400 ``{"Message": "The request is invalid.", "ModelState": {...}}``;
  unknown ids are 404 ``{"message"}``; non-JSON bodies are 415.
* Clock: the real API speaks US Pacific time; the simulator uses **naive UTC** (or the
  scripted ``/_sim/clock``) and formats timestamps as ``2026-11-27T10:00:00.0000000``.
  Request date-times are accepted as ``yyyy-mm-dd hh:mm:ss``, ``yyyy-mm-dd`` or ISO-8601
  (a zone is converted to UTC). ``shipDate`` / ``holdUntilDate`` are dates (``yyyy-mm-dd``).
* Ids come from separate ranges per kind (orders 1000001+, shipments 3000001+, ...), so
  a client that mixes them up gets a 404 instead of a lucky hit.
* Choices where the public facts are uncertain: ``pageSize`` > 500 → 400 (config
  ``SHIPSTATION_PAGE_SIZE_OVERFLOW = "clamp"`` to clamp instead); ``orderNumber`` filters
  on ``/orders`` are case-insensitive starts-with, on ``/shipments`` and
  ``/fulfillments`` case-insensitive exact; ``POST /webhooks/subscribe`` answers
  201 ``{"id"}``; an unknown ``advancedOptions.storeId`` is refused with 400; updating an
  order that is not open (``shipped``, ``cancelled``, ``pending_fulfillment``) → 400
  ``{"Message"}``; ``DELETE /orders/{id}`` removes the order (its orderKey becomes free).
* Webhook deliveries (``/_sim/ship``, ``/_sim/fulfill``) are synchronous, unsigned JSON
  POSTs with ``SHIPSTATION_WEBHOOK_TIMEOUT`` (5 s); outcomes are in the hook's answer and
  at ``GET /_sim/deliveries``.

Control routes (no auth) are documented in `sandbox.shipstation.control` and
`sandbox.base`.
"""
from __future__ import annotations

from ..base import define_simulator
from . import api, catalog, control
from .http import burst_rate_limited, install_hooks
from .state import DEFAULT_RATE_LIMIT, DEFAULT_WINDOW_SECONDS, KEY, ShipStationState

DEFAULT_CONFIG = {
    "SHIPSTATION_ACCOUNTS": {"demo-key": "demo-secret"},
    "SHIPSTATION_RATE_LIMIT": DEFAULT_RATE_LIMIT,
    "SHIPSTATION_RATE_WINDOW_SECONDS": DEFAULT_WINDOW_SECONDS,
    "SHIPSTATION_EMPTY_401_BODY": False,
    "SHIPSTATION_PAGE_SIZE_OVERFLOW": "reject",
    "SHIPSTATION_WEBHOOK_TIMEOUT": 5.0,
}


SIMULATOR = define_simulator(KEY, "ShipStation API V1", create_state=ShipStationState,
                             default_config=DEFAULT_CONFIG, rate_limited_response=burst_rate_limited,
                             register=(install_hooks, api.register, catalog.register, control.register,
                                       api.register_fallback))
