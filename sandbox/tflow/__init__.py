"""Aleyant tFLOW simulator, mounted at ``/tflow`` (the instance URL).

Contract: ``providers-part2.md`` §1 (documented parts) and §1.2 (proposed parts), with the
"simulator must" list of §1.3 implemented item by item:

1. ``POST /oauth/access_token`` (form only): ``grant_type=client_credentials`` + the API
   user's id/secret, else 400 ``unsupported_grant_type`` / 401 ``invalid_client``; answers
   ``{access_token, token_type: "Bearer", expires_in}``.
2. Tokens expire after ``TFLOW_TOKEN_TTL`` (3600 s; per user via ``/_sim/clients``) on the
   scriptable clock; unknown / expired tokens → 401; token requests are counted per user.
3. ``job/create``, ``job/{id}``, ``job/list?order_id=&job_name=``, ``order/create``,
   ``order/{id}``, ``order/list?name=`` (the name filter is assumed), ``product/list``,
   ``job/{id}/allowedTransitions``, ``job/{id}/executeTransition`` under /api/v1 and /api/v2.
4. JSON and PHP-style bracketed form bodies (``props[quantity]``).
5. Validation: ``ship_date`` (ISO-8601 with an offset), ``product_id`` or a known
   ``product_name``, an existing ``order_id``, a known workflow, no unknown fields → 422
   ``{"error", "messages": {field: [..]}}``; unknown ids → 404 ``{"error"}``.
6. Per-job state machine by workflow (2, 4, 5, 8, 9, 10, 20, 30) with the documented
   transition names; ``allowedTransitions`` follows the state (system-only transitions are
   not offered); an illegal transition → 409.
7. Test hooks advance jobs and fire registered webhooks (``job.<state>``) signed with
   ``X-Tflow-Signature: sha1(security_key + body)`` (``body + key`` per user setting).
8. ``POST job/{id}/revision`` multipart part ``file`` (proposed): records name and size and
   moves the job to ``to_review``; ``props[artwork_url]`` at creation does the same.

The workflow of a job is read from the form field ``TFLOW_WORKFLOW_FIELD`` (``workflow_id``).
Rate limit per API user (``TFLOW_RATE_LIMIT`` per ``TFLOW_RATE_WINDOW_SECONDS``; not
documented by tFLOW) → 429 ``{"error"}`` with Retry-After. Built-in demo user:
``demo-tflow-key`` / ``demo-tflow-secret``.
"""
from __future__ import annotations

from ..base import body_response, define_simulator
from . import api, control
from .state import DEMO_KEY, DEMO_SECRET, KEY, TFlowState

DEFAULT_CONFIG = {
    "TFLOW_CLIENTS": {DEMO_KEY: DEMO_SECRET},
    "TFLOW_TOKEN_TTL": 3600,
    "TFLOW_RATE_LIMIT": 60,
    "TFLOW_RATE_WINDOW_SECONDS": 60,
    "TFLOW_WORKFLOW_FIELD": "workflow_id",
    "TFLOW_WEBHOOK_TIMEOUT": 5.0,
}


SIMULATOR = define_simulator(
    KEY, "Aleyant tFLOW API (proposed parts marked)", create_state=TFlowState, default_config=DEFAULT_CONFIG,
    rate_limited_response=lambda: body_response(429, {"error": "Too Many Requests"}),
    register=(api.install_hooks, api.register, control.register))
