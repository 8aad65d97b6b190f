"""VeraCore OMS simulator (classic SOAP web service), mounted at ``/veracore`` so the service
lives at ``/veracore/pmomsws/oms.asmx`` like a tenant's ``https://<host>/pmomsws/oms.asmx``.

Contract: providers-part1.md §4.1–4.2, "simulator must" §4.3 items 1–6:
* SOAP 1.1 (``text/xml`` + ``SOAPAction`` = namespace + operation) and 1.2
  (``application/soap+xml``); ``?wsdl`` serves a minimal WSDL.
* ``AuthenticationHeader`` (Username, Password) on every call; wrong → HTTP 500 soap:Server
  fault "Authentication failed: invalid Username or Password." (ASMX SoapExceptions are
  soap:Server; the exact string is [UNCERTAIN]).
* AddOrder validation (≥1 OfferOrdered, known offer, positive quantity, line keys matching a
  ship-to, required ship-to fields), duplicate order id → fault "… already exists.", answer
  ``OrderID`` + ``OrderSeqID``. Accounts can be told the tenant assigns ids
  (``caller_ids: false``: a supplied Header/ID is refused, an empty one gets a number) and
  use another namespace (``http://sma-promail/``) — both [UNCERTAIN] points, as settings.
* GetOrderInfo (status flags, packages with TrackingId), GetShippingActivity over a window,
  GetOffers (``%`` wildcard, searchID / searchDescription), CancelOrder on
  ``/pmomsws/orderadjustment.svc/soap``.
* Rate limit per user (default 600/60 s, configurable): HTTP 429 + Retry-After [UNCERTAIN].

* REST "Public API" (``rest.py``, item 5): login → expiring token (``token_seconds`` per
  account), 403 + ``Error`` on bad credentials / systemId, bearer check → 401, orders by
  ``request.status``, GetPackages, GetInventory. The hub itself uses SOAP only.
Built-in demo user ``demo-user`` / ``demo-pass`` (see ``testing.demo_seed``).
"""
from __future__ import annotations

from ..base import define_simulator
from . import api, control, rest
from .state import KEY, VeraCoreState

DEFAULT_CONFIG = {"VERACORE_ACCOUNTS": {"demo-user": "demo-pass"}}


SIMULATOR = define_simulator(KEY, "VeraCore OMS (SOAP)", create_state=VeraCoreState, default_config=DEFAULT_CONFIG,
                             register=(api.register, rest.register, control.register))
