"""Smartsoft PressWise simulator (SOAP 1.1 RPC/encoded), mounted at ``/presswise``: the
order-inject URL is ``/presswise/r/wsdl-order2.php``.

Contract: providers-part2.md §3.1–3.2, "simulator must" §3.3, item by item:
1. POSTs parsed by element local name (namespaces and ``xsi:type`` ignored), UTF-8 and
   ISO-8859-1 accepted.
2. ``auth/user``, ``auth/pass``, ``auth/code`` checked; wrong → HTTP 200 with ``status.code``
   101 (config ``PRESSWISE_AUTH_FAILURE`` = "status", default) or a SOAP fault ("fault").
3. ``add_purchase_order``: ``sourceOrderID`` and ≥1 ``item`` with ``productID`` and a positive
   ``quantity`` required, a known ``customerID`` [PROPOSED element], a second ``shipTo``
   refused, an existing ``sourceOrderID`` answered with its ``orderID``; ``status.code`` 0 +
   ``orderID``.
4. The proposed ``get_order_status`` (by ``orderID`` or ``sourceOrderID``); ``/_sim/status``
   sets order/item status, tracking and ``Exception…`` statuses.
5. ``create_user`` (known ``customerID``, ``loginID`` required).
6. Raw XML of each call in the shared recorder (``/_sim/requests``).
Rate limit per user (default 600/60 s): HTTP 429 [not documented].
Built-in demo login ``demo`` / ``demo-pass`` / ``a1b2c3d4`` with customer 4711.
"""
from __future__ import annotations

from ..base import define_simulator
from . import api
from .state import KEY, PresswiseState

DEFAULT_CONFIG = {"PRESSWISE_ACCOUNTS": {"demo": {"password": "demo-pass", "code": "a1b2c3d4", "customers": [4711]}},
                  "PRESSWISE_AUTH_FAILURE": "status"}


SIMULATOR = define_simulator(KEY, "Smartsoft PressWise (SOAP RPC)", create_state=PresswiseState,
                             register=(api.register,), default_config=DEFAULT_CONFIG,
                             secret_fields=frozenset({"code"}))  # auth/code travels in the body
