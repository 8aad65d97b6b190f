"""Virtual Systems Midnight simulator (SOAP 1.1 ASMX, XML documents in strings), mounted at
``/midnight``: the service is ``/midnight/Service1.asmx``.

Contract: providers-part2.md §6.1, "simulator must" §6.3, item by item:
1. ``POST /Service1.asmx``; ``ValidationSoapHeader/DevToken`` in any namespace; a wrong or
   missing token → a ``Result`` with ``ReturnCode`` 1 and an ``Error`` (config
   ``MIDNIGHT_AUTH_FAILURE`` = "result", default) or a SOAP fault ("fault").
2. Dispatch on the body's operation local name (namespace-agnostic); the document comes from
   ``sXML`` (OrderNew) or ``inputXML``; the answer is ``<Op>Response/<Op>Result`` holding the
   escaped ``Result`` document.
3. ``OrderNew`` (root ``OrderNew/Order`` [PROPOSED]): known ``CustomerID`` or "invalid customer
   id"; ≥1 service or inventory item; ``UseOrderNo``/``OrderNo`` honoured (an order number that
   exists is refused); stores PresseroId/PONum/ProjectName; answers ``Orders/Order/{OrderId,
   OrderNumber}``.
4. ``OrderList`` filters OrderNumber, CustomerID, OpenOrdersOnly, Ordermodifieddate,
   OrderDateFrom/To; answers status/progress fields.
5. ``OrderAddAttachment`` (typed parameters): base64 content, empty or unsupported file types
   refused.
6. ``OrderShipmentNew`` and ``DJBStatusUpdate``; test hooks set progress codes and ship data.
7. ``_GetWebServiceVersion`` (no token needed: a connectivity probe).
Rate limit per token (default 600/60 s, configurable): HTTP 429 [not documented].
Built-in demo token ``demo-dev-token`` with customers 2001–2005.
"""
from __future__ import annotations

from ..base import define_simulator
from . import api
from .state import KEY, MidnightState

DEFAULT_CONFIG = {"MIDNIGHT_ACCOUNTS": {"demo-dev-token": {"customers": [2001, 2002, 2003, 2004, 2005]}},
                  "MIDNIGHT_AUTH_FAILURE": "result"}


SIMULATOR = define_simulator(KEY, "Virtual Systems Midnight (SOAP)", create_state=MidnightState,
                             register=(api.register,), default_config=DEFAULT_CONFIG,
                             secret_fields=frozenset({"DevToken"}))
