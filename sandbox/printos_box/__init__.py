"""HP PrintOS Box simulator at ``/box`` on its own server, as on the PrintOS gateway
(``https://printos.api.hp.com/box``); the index app mounts it at ``/box`` too.

Contract: providers-part1.md §3, "simulator must" §3.4 item by item:

1. PrintOS HMAC: ``x-hp-hmac-authentication: key:hex(HMAC-SHA256(secret, METHOD + " " + path +
   date))`` with the path after ``/box`` and without the query; ``x-hp-hmac-algorithm: SHA1`` is
   refused (absent too when ``BOX_REQUIRE_ALGORITHM``), with ``BOX_AUTH_FAILURE_STATUS`` (401;
   400 like HP's "400 Not Authorized" notice) and a JSON error; a missing or malformed
   ``x-hp-hmac-date`` is refused.
2. Folders and files in memory per key: ``POST /api/partner/folder`` needs ``name``;
   ``POST /api/partner/file`` needs ``folderId`` (404 when unknown) and ``url``, ``copies`` a
   positive integer, ``substrate`` / ``flow`` from the simulator's lists when given.
3. ``GET /api/partner/file/uploadurls`` returns simulator-hosted PUT + fetch URLs; the PUT is accepted.
4. Scriptable progression: ``POST /_sim/files/<id>/advance`` (version status, lastAction) and
   ``POST /_sim/folders/<id>/advance`` (status, preflightStatus).
5. ``GET /api/partner/substrate`` (array) and ``GET /api/partner/flow`` (``{items: [...]}``).

Errors are ``{"error", "message"}`` JSON (Box's shape is undocumented). Box documents no rate
limit, so none is enforced unless ``BOX_RATE_LIMIT = (limit, window_seconds)`` is configured
(then 429 with Retry-After). Built-in demo key pair:
``demo-key`` / ``demo-secret``.
"""
from __future__ import annotations

from ..base import body_response, define_simulator
from . import api
from .state import KEY, BoxState

DEFAULT_CONFIG = {
    "BOX_ACCOUNTS": {"demo-key": "demo-secret"},
    "BOX_REQUIRE_ALGORITHM": False,
    "BOX_AUTH_FAILURE_STATUS": 401,
    "BOX_RATE_LIMIT": None,
}


def _rate_limited():
    """A ``rate_limit_burst`` fault. Box's 429 is undocumented: the simulator names a 1 s wait."""
    return body_response(429, {"error": "TooManyRequests", "message": "Too many requests."}, {"Retry-After": "1"})


# Box's real base URL is the PrintOS gateway's /box service: its own server keeps that prefix.
SIMULATOR = define_simulator(KEY, "HP PrintOS Box API", url_prefix="/box", real_mounts=("/box",), create_state=BoxState,
                             default_config=DEFAULT_CONFIG, rate_limited_response=_rate_limited,
                             register=(api.install_hooks, api.register_control, api.register))
