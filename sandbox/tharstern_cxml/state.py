"""State of the Tharstern cXML simulator: senders (API logins), their catalogue, customers,
received payloads and orders."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant, Tenants, get_runtime

KEY = "tharstern_cxml"

# The built-in demo sender for `make run`: its product codes are the demo "city-council" SKUs.
DEMO_PRODUCTS = ("CC-LH-A4", "CC-COMP-DL", "CC-BC-STD", "CC-ENV-DL", "CC-NCR-2P", "CC-NCR-3P", "CC-PRM-PARK",
                 "CC-PRM-BIN", "CC-LFT-A5", "CC-LFT-DL", "CC-POS-A3", "CC-POS-A1", "CC-SGN-COR", "CC-SGN-ROAD",
                 "CC-BAN-EVT", "CC-BAN-FLAG")
DEMO_CUSTOMERS = ("CC001", "CC002", "CC003", "CC004", "CC005")


COUNTS = ("requests", "orders", "updates", "replays", "rejected")


@dataclass
class Sender(Tenant):
    shared_secret: str = ""
    domain: str = "NetworkId"
    products: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    accept_pending: bool = False
    replay_mode: str = "409"      # "409": a replayed payloadID is refused; "accept": the first answer again
    payloads: dict[str, dict] = field(default_factory=dict)    # payloadID → {"order_id", "status", ...}
    orders: dict[str, dict] = field(default_factory=dict)      # orderID → current order
    next_status: list[tuple[int, str]] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return self.credential


class CxmlState:
    def __init__(self, runtime: SimRuntime, config: Mapping[str, Any]):
        self.rt = runtime
        self.supplier_identity = str(config.get("THARSTERN_CXML_SUPPLIER_IDENTITY") or "Tharstern")
        self.replay_mode = str(config.get("THARSTERN_CXML_REPLAY") or "409")
        # One tenant per sender identity (shown in the recorder); no rate limit is documented.
        self.tenants: Tenants[Sender] = Tenants(runtime, Sender, default_limit=None, secret_credential=False)
        self.add("hub-demo", "demo-shared-secret", products=set(DEMO_PRODUCTS), customers=set(DEMO_CUSTOMERS),
                 replay_mode=self.replay_mode)

    def add(self, identity: str, shared_secret: str, **fields: Any) -> Sender:
        return self.tenants.add(identity, secrets=(shared_secret,), shared_secret=shared_secret, **fields)


def state() -> CxmlState:
    return get_runtime(KEY).data
