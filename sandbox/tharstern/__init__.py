"""Tharstern REST API simulator, mounted at ``/tharstern`` (API under ``/tharstern/TharsternAPI/api/``).

Contract: providers-part2.md §4.1 and "Simulator must" §4.3 items 1–6 (item 7, the cXML
endpoint, is the separate ``tharstern_cxml`` simulator):

1. ``GET …/Authentication/GenerateAPIToken?email=&password=&applicationId=`` → ``Details.Token``;
   bad credentials (or no application id) → ``Success: true`` with the all-zero GUID, or, for a
   tenant created with ``zero_guid_on_failure: false``, ``Success: false``.
2. Every other route needs ``Authorization: Basic base64(token)`` or ``base64(token:)`` (split on
   ``:``) → else 401 ``{"Message"}``. ``POST /_sim/revoke_tokens`` expires every token.
3. Answers are ``{"Status": {"Success"}, "Details"}``; lists carry ``Items`` + ``TotalItemCount``.
4. ``products`` (``productCode``, ``customerCode``, [PROPOSED] ``pageNumber``/``pageSize``),
   ``producttypes``, ``customers``, ``orders/submit`` (customer and stock item must exist,
   ``Quantity > 0``, idempotent on ``UniqueSubmitOrderID``, rejections as ``ID: 0`` +
   ``StatusDetails``), ``orders`` (``orderIDs``/``orderNOs``), ``orders/submitorderasset``
   (base64 decoded, name and size stored), ``jobs`` (``id``/``jobNo``), ``estrequest``,
   ``EstRequest/{id}/Example``, ``job/createfromestimate``.
5. Malformed bodies → 400 ``{"Message", "ModelState"}``; a non-JSON media type → 415.
6. Test hooks: ``POST /_sim/order_status`` (order status, job status, despatch with tracking),
   ``POST /_sim/products`` (price / stock changes), ``POST /_sim/accounts``, ``GET /_sim/stats``,
   ``GET /_sim/orders``. The optional proposed status callback is not simulated (the hub polls).

Rate limits: none documented; an injected 429 (``rate_limit_burst`` fault) carries ``Retry-After: 2``.

Demo tenant: ``demo@tharstern.test`` / ``demo-password`` (any application id).
"""
from __future__ import annotations

from ..base import body_response, define_simulator
from . import routes
from .state import KEY, TharsternState


def too_many_requests():
    """Tharstern documents no rate limit; an injected 429 stands for the web server's request
    throttling in front of the API, which says when to come back [PROPOSED]."""
    return body_response(429, {"Message": "Too many requests."}, {"Retry-After": "2"})


SIMULATOR = define_simulator(KEY, "Tharstern REST API", create_state=TharsternState,
                             rate_limited_response=too_many_requests, register=(routes.register,))
