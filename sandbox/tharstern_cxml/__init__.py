"""Tharstern cXML supplier endpoint simulator, mounted at ``/tharstern_cxml``; the endpoint is
``POST /tharstern_cxml/TharsternAPI/cxml`` (the path is a guess of providers-part2.md §4.2).

Contract: providers-part2.md §4.3 item 7 and §5.6 (generic cXML peer), items 1–6:

1. ``POST`` with ``text/xml`` / ``application/xml`` only; anything else, or XML that is not
   well-formed (or declares entities), → cXML ``400``.
2. Offline DTD validation against the unmodified ``cXML-1.2.063.dtd`` (loaded by path from
   the project's copy — the sandbox never imports ``webapp``); the DOCTYPE must name
   ``…/cXML/<version>/cXML.dtd`` (Fulfill documents are not accepted by a supplier endpoint);
   invalid → ``400`` with the first validation error as the Status content.
3. ``Sender/Credential`` domain + Identity + SharedSecret checked → ``401``; the ``To``
   identity must be this supplier's → ``401``.
4. ``payloadID`` unique per sender: a replay → ``409`` (config ``THARSTERN_CXML_REPLAY`` =
   ``"409"``; ``"accept"`` answers the original status again); ``timestamp`` must carry an offset.
5. OrderRequest: ``orderID``, ``orderDate`` (with offset), ``Total``, ``BillTo``,
   ``ItemOut@quantity`` > 0, known ``SupplierPartID``, known customer code (BillTo
   ``addressID`` or ``Extrinsic CustomerCode``); ``type="update"|"delete"`` must reference a
   payloadID this sender sent before for the same orderID; a second ``type="new"`` for an
   orderID already held → ``409``.
6. Answers are HTTP 200 with ``Response/Status`` even for business errors; a sender may be set
   to answer ``201 Accepted`` (``accept_pending``); transport errors come from the shared
   fault injector. ``ProfileRequest`` → ``200`` + ``ProfileResponse``.

Rate limits: none in cXML; an injected 429 (``rate_limit_burst`` fault) carries ``Retry-After: 2``.

PunchOut (§5.6 item 7) and outbound Confirmation/ShipNotice (item 8) are not simulated:
the hub's Tharstern cXML route is push-only.

Control (no auth): ``POST /_sim/senders`` (identity, shared_secret, domain, products,
customers, accept_pending), ``GET /_sim/orders?identity=``, ``GET /_sim/stats?identity=``,
``POST /_sim/next_status`` (``{"identity", "code", "text"}``: the next document's answer).
"""
from __future__ import annotations

from ..base import body_response, define_simulator
from . import routes
from .state import KEY, CxmlState

DEFAULT_CONFIG = {
    "THARSTERN_CXML_SUPPLIER_IDENTITY": "Tharstern",
    "THARSTERN_CXML_REPLAY": "409",
}


def too_many_requests():
    """cXML defines no rate limit; an injected 429 stands for the web server's throttling in
    front of the endpoint, which says when to come back [PROPOSED]."""
    return body_response(429, "Too many requests.", {"Retry-After": "2"})


SIMULATOR = define_simulator(KEY, "Tharstern cXML supplier endpoint", create_state=CxmlState,
                             default_config=DEFAULT_CONFIG, rate_limited_response=too_many_requests,
                             register=(routes.register,))
