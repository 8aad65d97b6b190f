"""Demo wiring for `make run`: every provider enabled and, for each provider that declares a
demo account (``Provider.demo_account``), that account on its sandbox simulator with its
activations, entity settings and webhook subscription. Idempotent.

The sandbox index (``sandbox_url``, ``GET /``) says where each simulator is served at its
provider's real paths; accounts point there, so what the hub signs and sends is the real path."""
from __future__ import annotations

import importlib
import logging

from ..models import Admin, Product, ProviderAccount, ShippingMethod, Site, SiteUser
from ..providers.base import DemoAccount
from ..providers.registry import all_providers
from . import install
from .accounts import request_webhook_subscription, save_account
from .activation import save_entity_settings, set_activation

log = logging.getLogger(__name__)


def setup_demo_accounts(sandbox_url: str, hub_url: str | None = None) -> dict:
    providers = all_providers()
    for key in providers:
        install.enable_provider(key)
    admin = Admin.query.filter_by(email="admin@demo.test").first()
    if admin is None:
        raise RuntimeError("run `flask seed-demo` first")
    urls = _simulator_urls(sandbox_url)
    wired = {}
    for key, provider in providers.items():
        if key not in urls:
            log.warning("demo: the sandbox at %s serves no %s simulator", sandbox_url, key)
            continue
        demo = provider.demo_account(urls[key])
        if demo is not None:
            wired[key] = _wire(admin, key, demo, urls[key], hub_url)
    return {"providers_enabled": list(providers), "accounts": wired}


def _simulator_urls(sandbox_url: str) -> dict[str, str]:
    from sandbox import simulator_urls  # the sandbox's own client; demo wiring only

    return simulator_urls(sandbox_url)


def _wire(admin: Admin, key: str, demo: DemoAccount, simulator_url: str, hub_url: str | None) -> dict:
    account = ProviderAccount.query.filter_by(company_id=admin.company_id, name=demo.name).first()
    result = save_account(account, company_id=admin.company_id, name=demo.name, provider_key=key,
                          admin_id=admin.id, credentials=demo.credentials,
                          settings=dict(account.settings) if account else dict(demo.settings))
    if not result.ok:
        raise RuntimeError(f"demo account {demo.name}: {result.errors}")
    account = result.account
    sites = {s.slug: s for s in Site.query.filter(Site.slug.in_(demo.live_on + demo.enabled_on))}
    live = []
    for slug, site in sites.items():
        outcome = set_activation(account, site, enabled=True, is_live=slug in demo.live_on,
                                 settings=demo.site_settings.get(slug))
        if outcome.ok and slug in demo.live_on:
            live.append(slug)
        elif not outcome.ok:
            log.warning("demo %s on %s: %s", demo.name, slug, outcome.errors)
    site_ids = [s.id for s in sites.values()]
    _entity_settings(account, "product", Product, "sku", demo.product_settings, site_ids)
    _entity_settings(account, "site_user", SiteUser, "email", demo.user_settings, site_ids)
    _entity_settings(account, "shipping_method", ShippingMethod, "name", demo.shipping_method_settings, site_ids)
    webhook_url = f"{(hub_url or '').rstrip('/')}/webhooks/{key}/{account.webhook_token}"
    if demo.subscribe_webhook and hub_url:
        request_webhook_subscription(account, webhook_url)
    setup = account.provider.webhook_setup(webhook_url, account.webhook_token) if hub_url else None
    if setup is not None and (setup.header_name or setup.template):  # pasted by hand: the simulator's demo does it
        _simulator_hook(key, "demo_webhook", simulator_url, setup)
    seeded = _seed_simulator(key, simulator_url)
    return {"account_id": account.id, "live_on": live, "simulator_seeded": seeded}


def _entity_settings(account, entity_type: str, model, natural_key: str, wanted: dict, site_ids) -> None:
    if not wanted or not site_ids:
        return
    column = getattr(model, natural_key)
    for row in model.query.filter(model.site_id.in_(site_ids), column.in_(list(wanted))):
        errors = save_entity_settings(account, entity_type, row.id, wanted[getattr(row, natural_key)])
        if errors:
            log.warning("demo %s settings for %s: %s", entity_type, getattr(row, natural_key), errors)


def _seed_simulator(key: str, simulator_url: str):
    """A simulator's optional ``demo_seed(simulator_url)`` gives its demo account some data."""
    return _simulator_hook(key, "demo_seed", simulator_url)


def _simulator_hook(key: str, name: str, *args):
    """Call an optional demo hook of ``sandbox.<key>.testing`` (None when it has none)."""
    try:
        testing = importlib.import_module(f"sandbox.{key}.testing")
    except ImportError:
        return None
    hook = getattr(testing, name, None)
    return hook(*args) if hook else None
