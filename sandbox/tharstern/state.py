"""State of the Tharstern REST simulator: tenants (API logins), tokens, products, customers,
sales orders, jobs and assets. Ids come from separate ranges per kind."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import SimRuntime, Tenant as BaseTenant, Tenants, get_runtime

KEY = "tharstern"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ID_START = {"product": 5001, "order": 70001, "job": 90001, "customer": 301, "estimate": 40001, "asset": 1}

# Built-in demo tenant for `make run`: stock items whose codes are the demo "promo-shop" SKUs
# (so demo orders push), three Tharstern products to import, and the demo users' customers.
DEMO_LOGIN, DEMO_PASSWORD = "demo@tharstern.test", "demo-password"
DEMO_STOCK_CODES = ("PR-TSH-ORG", "PR-HOOD", "PR-CAP", "PR-TOTE", "PR-MUG-CER", "PR-MUG-ENA", "PR-BTL-STL",
                    "PR-CUP-RE", "PR-PEN-BALL", "PR-PEN-BAMB", "PR-NB-A5", "PR-NP-A6", "PR-USB-16", "PR-PWR-5K",
                    "PR-CBL-3IN1", "PR-STK-CIR", "PR-STK-SHT", "PR-FLY-A6", "PR-LAN-20", "PR-BADGE",
                    "PR-TBL-CLOTH", "PR-POPUP-3X3")
DEMO_IMPORT = (("TH-BC-350", "Business Cards 350gsm (Tharstern)", "0.0850", 12000),
               ("TH-FLY-A5", "Flyers A5 150gsm (Tharstern)", "0.0420", 50000),
               ("TH-POS-A2", "Posters A2 Satin (Tharstern)", "4.2500", 300))
DEMO_CUSTOMERS = ("WEBSTORE",) + tuple(f"PR{n:03d}" for n in range(1, 8))


COUNTS = ("requests", "tokens", "orders", "replays", "rejected")


@dataclass
class Tenant(BaseTenant):
    password: str = ""
    zero_guid_on_failure: bool = True     # False: a failed login answers Success:false instead
    products: dict[int, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    orders: dict[int, dict] = field(default_factory=dict)
    by_submit_id: dict[str, int] = field(default_factory=dict)
    jobs: dict[int, dict] = field(default_factory=dict)
    estimates: dict[int, dict] = field(default_factory=dict)
    assets: list[dict] = field(default_factory=list)

    @property
    def login(self) -> str:
        return self.credential


class TharsternState:
    def __init__(self, runtime: SimRuntime, config: Mapping[str, Any]):
        self.rt = runtime
        # Tharstern documents no rate limit: none is applied. The login names the tenant.
        self.tenants: Tenants[Tenant] = Tenants(runtime, Tenant, default_limit=None, secret_credential=False)
        self.tokens: dict[str, str] = {}      # token → login
        demo = self.add_tenant(DEMO_LOGIN, DEMO_PASSWORD, customers=DEMO_CUSTOMERS)
        for n, code in enumerate(DEMO_STOCK_CODES):
            self.add_product(demo, code, code.replace("PR-", "Promo ").replace("-", " ").title(), "1.00", 1000 + n)
        for code, name, price, stock in DEMO_IMPORT:
            self.add_product(demo, code, name, price, stock)

    def next_id(self, kind: str) -> int:
        return self.rt.ids.next(kind, ID_START[kind])

    def add_tenant(self, login: str, password: str, *, customers=(), zero_guid_on_failure: bool = True) -> Tenant:
        tenant = self.tenants.add(login, secrets=(password,), password=password,
                                  zero_guid_on_failure=zero_guid_on_failure)
        for code in customers:
            tenant.customers[code] = {"ID": self.next_id("customer"), "Code": code, "Name": f"Customer {code}"}
        return tenant

    def add_product(self, tenant: Tenant, code: str, name: str, price, stock) -> dict:
        product = {"ID": self.next_id("product"), "Code": code, "Name": name, "Description": f"{name}.",
                   "Price": float(price), "StockLevel": stock, "ProductTypes_ID": 11}
        tenant.products[product["ID"]] = product
        return product

    def issue_token(self, login: str) -> str:
        token = str(uuid.uuid4())
        self.tokens[token] = login
        return token


def state() -> TharsternState:
    return get_runtime(KEY).data
