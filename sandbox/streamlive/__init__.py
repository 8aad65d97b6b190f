"""Caldera StreamLive simulator, mounted at ``/streamlive`` — the PROPOSED contract of
providers-part2.md §2.2 (StreamLive has no public API), "simulator must" §2.3 item by item:

1. ``X-Api-Key`` on every API route → 401 ``{"error"}`` otherwise (a given ``X-Account-Id``
   must match the key's account → 403).
2. ``POST /api/v1/orders`` (JSON only, 415 otherwise): 422 ``{"error", "fields": {..}}`` for
   an order without external_id / items, an item without product_code, quantity ≥ 1 or an
   http(s) file; ``external_id`` is the idempotency key: a second POST → 409 ``{"error",
   "id"}`` with the existing id. ``GET /api/v1/orders/{id}``.
3. ``GET /api/v1/products`` and ``/categories`` paged (``page`` ≥ 1, ``limit`` 1–100) with
   ``caldera-page``, ``caldera-limit``, ``caldera-total-results`` and a ``link`` header.
4. ``POST /_sim/orders/{id}/status`` moves an order (or one item) along received → queued →
   ripping → printing → finishing → shipped (tracking) → completed, or to on_hold / error /
   cancelled, and posts the signed webhook (``X-Signature: hex(hmac_sha256(secret, body))``)
   to the account's webhook URL; every API request is recorded (``/_sim/requests``).
5. ``STREAMLIVE_DIALECT`` (only ``proposed-v1``) guards the whole contract.

Control (no auth): ``POST /_sim/accounts`` {api_key, account_id?, rate_limit?,
window_seconds?, webhook_url?, webhook_secret?}, ``POST /_sim/account`` {api_key, webhook_url?,
webhook_secret?, account_id?}, ``GET /_sim/stats?api_key=``,
``GET /_sim/orders?api_key=``, ``POST /_sim/catalog`` {api_key, products, categories},
``GET /_sim/deliveries?api_key=``. Built-in demo key ``demo-streamlive-key``.
"""
from __future__ import annotations

from ..base import body_response, define_simulator
from . import api
from .state import DEMO_KEY, KEY, StreamLiveState

DEFAULT_CONFIG = {
    "STREAMLIVE_DIALECT": "proposed-v1",
    "STREAMLIVE_KEYS": {DEMO_KEY: {"webhook_secret": "demo-streamlive-hook"}},
    "STREAMLIVE_RATE_LIMIT": 120,
    "STREAMLIVE_RATE_WINDOW_SECONDS": 60,
    "STREAMLIVE_WEBHOOK_TIMEOUT": 5.0,
}


SIMULATOR = define_simulator(
    KEY, "Caldera StreamLive (proposed contract)", create_state=StreamLiveState, default_config=DEFAULT_CONFIG,
    rate_limited_response=lambda: body_response(429, {"error": "Too Many Requests"}), register=(api.register,))
