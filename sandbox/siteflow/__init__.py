"""HP Site Flow simulator. Its own server serves the native host's paths at the root
(``/api/order``, as ``pro-api.oneflowcloud.com``) and the PrintOS gateway's under ``/siteflow``
(as ``printos.api.hp.com/siteflow``); the index app mounts it under ``/siteflow``.

Contract: providers-part1.md §2, "simulator must" §2.10 item by item:

1. Both hosts: the general API at ``/api/...`` and the asynchronous submission host at
   ``/orders/api/order`` (point a client's orders host at ``…/orders``).
2. Auth: native ``x-oneflow-authorization: token:hex(HMAC(secret, "METHOD path date"))`` with the
   algorithm of ``x-oneflow-algorithm`` (SHA1 when absent; ``SITEFLOW_SHA256_ONLY`` refuses SHA1);
   the path is the request path as sent (incl. ``/api``), no query. The PrintOS gateway scheme
   (``x-hp-hmac-*``, path below the ``/siteflow`` mount, SHA256 only) is accepted too. Unknown token, bad
   signature or missing headers → 401 ``{"success": false, "error": {..., "code": 401}}``. Optional
   clock-skew check ``SITEFLOW_MAX_CLOCK_SKEW_SECONDS`` (off by default: not documented).
3. Validation of orders (destination, sourceOrderId, items with sourceItemId / quantity / known SKU,
   components with code + path, shipments with valid indexes, shipTo, carrier). Sync → 400 with
   ``error.validations``; async → always an ack, errors via the "Order Submission Error" trigger.
4. A second order with the same ``sourceOrderId`` → 400 ``DuplicateOrder`` (sync).
5. ``GET /api/order/{id}``, ``GET /api/order?page&pagesize`` (``data`` array; ``sourceOrderId``
   filter), cancel by both URL forms, ``POST /api/order/validate``, ``GET /api/product``,
   ``GET /api/sku``, ``GET /api/file/getpreupload``.
6. Status machine advanced by ``POST /_sim/orders/{id}/advance``; each transition fires the
   account's triggers (``POST /_sim/triggers``: url, headers incl. the static token, JSON template
   rendered from ``{{event}}``, ``{{order.…}}``, ``{{shipment.…}}``, ``{{error.message}}``).
7. Rate limit ``SITEFLOW_RATE_LIMIT`` (3000) per ``SITEFLOW_RATE_WINDOW_SECONDS`` (60) per user,
   429 and ``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` headers.

Built-in demo account: token ``demo-token``, secret ``demo-secret``, destination ``demo-psp``.
"""
from __future__ import annotations

from ..base import define_simulator
from . import api, control
from .state import KEY, SiteFlowState, state

DEFAULT_CONFIG = {
    "SITEFLOW_ACCOUNTS": {"demo-token": {"secret": "demo-secret", "destinations": ["demo-psp"], "name": "demo-brand"}},
    "SITEFLOW_RATE_LIMIT": 3000,
    "SITEFLOW_RATE_WINDOW_SECONDS": 60.0,
    "SITEFLOW_SHA256_ONLY": False,
    "SITEFLOW_MAX_CLOCK_SKEW_SECONDS": None,
    "SITEFLOW_TRIGGER_TIMEOUT": 5.0,
}


def _rate_limited():
    """A ``rate_limit_burst`` fault: Site Flow's 429, with the caller's real window in the headers."""
    response = api.ApiError(429, "Rate limit exceeded.", "TooManyRequests").response()
    try:
        acct = api.authenticate()
    except api.ApiError:
        return response
    peek = state().rt.limiter.peek(acct.token, acct.rate_limit, acct.window_seconds)
    response.headers.update({"x-ratelimit-limit": str(peek.limit), "x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": str(peek.reset_seconds)})
    state().tenants.count(acct, "requests")
    state().tenants.count(acct, "rate_limited")
    return response


# Its own server: the native host's paths at the root, the PrintOS gateway's under /siteflow.
SIMULATOR = define_simulator(KEY, "HP Site Flow API", real_mounts=("", "/siteflow"), create_state=SiteFlowState,
                             default_config=DEFAULT_CONFIG, rate_limited_response=_rate_limited,
                             register=(api.install_hooks, control.register, api.register))
