"""Demo wiring for `make run`: every provider enabled, and a ShipStation account on the local
sandbox, live on two demo sites, with its webhook subscribed. Idempotent."""
from __future__ import annotations

from ..models import Admin, ProviderAccount, Site
from ..providers.registry import all_providers
from . import install
from .accounts import request_webhook_subscription, save_account
from .activation import set_activation

DEMO_ACCOUNT = "ShipStation (sandbox)"
DEMO_SITES = ("northwind-b2b", "city-council")
DEMO_KEY, DEMO_SECRET = "demo-key", "demo-secret"  # the sandbox's built-in demo key pair


def setup_demo_accounts(sandbox_url: str, hub_url: str | None = None) -> dict:
    for key in all_providers():
        install.enable_provider(key)
    admin = Admin.query.filter_by(email="admin@demo.test").first()
    if admin is None:
        raise RuntimeError("run `flask seed-demo` first")
    account = ProviderAccount.query.filter_by(company_id=admin.company_id, name=DEMO_ACCOUNT).first()
    credentials = {"api_key": DEMO_KEY, "api_secret": DEMO_SECRET, "base_url": f"{sandbox_url.rstrip('/')}/shipstation"}
    result = save_account(account, company_id=admin.company_id, name=DEMO_ACCOUNT, provider_key="shipstation",
                          admin_id=admin.id, credentials=credentials,
                          settings=dict(account.settings) if account else {"product_name_source": "product_name"})
    if not result.ok:
        raise RuntimeError(f"demo account: {result.errors}")
    account = result.account
    live = []
    for slug in DEMO_SITES:
        site = Site.query.filter_by(slug=slug).first()
        if site is not None:
            outcome = set_activation(account, site, enabled=True, is_live=True)
            if outcome.ok:
                live.append(slug)
    if hub_url:
        request_webhook_subscription(account, f"{hub_url.rstrip('/')}/webhooks/shipstation/{account.webhook_token}")
    seeded = seed_sandbox_catalog(sandbox_url)
    return {"account_id": account.id, "live_on": live, "providers_enabled": list(all_providers()),
            "sandbox_products_seeded": seeded}


DEMO_REMOTE_PRODUCTS = [
    ("SS-BC-STD", "Business Cards – Standard 350gsm", 24.0, "Business Stationery"),
    ("SS-BC-PREM", "Business Cards – Premium Soft-Touch", 39.0, "Business Stationery"),
    ("SS-LH-A4", "Letterhead A4 120gsm", 59.0, "Business Stationery"),
    ("SS-FLY-A5", "Flyers A5 Gloss", 45.0, "Marketing"),
    ("SS-FLY-A4", "Flyers A4 Silk", 65.0, "Marketing"),
    ("SS-BRO-TRI", "Tri-fold Brochure", 120.0, "Marketing"),
    ("SS-BAN-PVC", "PVC Banner 3x1 m", 85.0, "Large Format"),
    ("SS-POS-A2", "Poster A2 Satin", 18.0, "Large Format"),
    ("SS-RUB-85", "Roll-up Banner 85 cm", 149.0, "Large Format"),
    ("SS-MUG-WHT", "Printed Mug White", 7.5, "Promotional"),
    ("SS-PEN-BLU", "Branded Pen Blue", 1.2, "Promotional"),
    ("SS-SHIP-BOX", "Shipping Box Medium", 2.0, None),
]


def seed_sandbox_catalog(sandbox_url: str) -> int:
    """Give the sandbox's demo ShipStation account a small catalogue to synchronize."""
    import requests

    api = f"{sandbox_url.rstrip('/')}/shipstation/_sim"
    stats = requests.get(f"{api}/stats", params={"api_key": DEMO_KEY}, timeout=5).json()
    if stats.get("products"):
        return 0
    products = [{"sku": sku, "name": name, "price": price, "active": True,
                 "productCategory": {"name": category} if category else None}
                for sku, name, price, category in DEMO_REMOTE_PRODUCTS]
    response = requests.post(f"{api}/products", json={"api_key": DEMO_KEY, "products": products}, timeout=10)
    response.raise_for_status()
    return len(products)
