"""VeraCore, Midnight and Presswise through the real use-cases: a real worker process, the
sandbox simulators over real HTTP, the order's Embedded Services tab as an admin sees it."""
from __future__ import annotations

import importlib
import uuid

import pytest
import requests

from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import ItemPush, Order, OrderPush, Product, ProviderAccount, SyncRun
from webapp.storefront import orders as uc

KEYS = ["veracore", "midnight", "presswise"]
MISSING = {
    "veracore": "Item {item}: VeraCore offer ID is required on the product's Embedded Services tab.",
    "midnight": "customer has no Midnight External ID (invalid customer id)",
    "presswise": "Site {site}: MISID (PressWise customer ID) is required by Smartsoft Presswise",
}
# A value the simulator refuses, and the simulator's own words for it.
REFUSED = {
    "veracore": ("product", {"offer_id": "NO-SUCH-OFFER"}, "Offer 'NO-SUCH-OFFER' does not exist."),
    "midnight": ("site_user", {"external_id": "9999"}, "invalid customer id (9999)."),
    "presswise": ("site", {"mis_id": "999"}, "Unknown customer ID '999'."),
}


class World:
    def __init__(self, key, sandbox, factory, *, entity_settings=True, sim_options=None):
        install.enable_provider(key)
        testing = importlib.import_module(f"sandbox.{key}.testing")
        self.key = key
        self.sim = testing.create_account(f"{sandbox}/{key}", **(sim_options or {}))
        self.hub_settings = {k: dict(v) for k, v in testing.PUSH_SETTINGS.items()}
        self.admin = factory.admin(email=f"soap-{uuid.uuid4().hex[:6]}@example.test", is_super=True)
        self.site = factory.site()
        result = save_account(None, company_id=self.admin.company_id, name=f"{key} account", provider_key=key,
                              admin_id=self.admin.id, credentials=self.sim.credentials,
                              settings=self.hub_settings.get("account") or {})
        assert result.ok, result.errors
        self.account = result.account
        self.user = factory.site_user(self.site, email="ada@example.test")
        self.product = factory.product(self.site, sku="SKU-1")
        assert set_activation(self.account, self.site, enabled=True, is_live=True,
                              settings=self.hub_settings.get("site") if entity_settings else None).ok
        if entity_settings:
            self.set("site_user", self.hub_settings.get("site_user"))
            self.set("product", self.hub_settings.get("product"))
        self.factory = factory

    def set(self, entity, values):
        if not values:
            return
        if entity == "site":
            assert set_activation(self.account, self.site, settings=values).ok
            return
        entity_id = self.user.id if entity == "site_user" else self.product.id
        assert save_entity_settings(self.account, entity, entity_id, values) == {}

    def order(self, lines=1, **kw):
        items = [{"approval": "approved", "sku": "SKU-1", "product_id": self.product.id} for _ in range(lines)]
        return self.factory.order(self.site, items=kw.pop("items", items), **kw)

    def requests(self) -> list[dict]:
        base = self.sim.api_base
        return [r for r in requests.get(f"{base}/_sim/requests", timeout=10).json()["requests"]
                if r.get("credential") is not None or r["status"] != 404]


def _push(order_id) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order_id).one()


def _tab(app, world, order) -> str:
    client = app.test_client()
    with app.app_context():
        assert client.post("/login", data={"email": world.admin.email, "password": "secret-pass"}).status_code == 302
        return client.get(f"/orders/{order.number}/embedded").get_data(as_text=True).replace("&#39;", "'")


@pytest.mark.parametrize("key", KEYS)
def test_paid_order_pushes_once_and_a_repush_creates_nothing(key, app_ctx, sandbox, factory, run_worker):
    world = World(key, sandbox, factory)
    order = world.order(lines=2)
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    assert push.state == "pushed", push.errors
    assert push.external_id and push.external_number
    items = ItemPush.query.filter_by(push_id=push.id).all()
    assert len(items) == 2 and all(i.external_id and i.external_order_id for i in items)
    assert world.sim.stats()["orders"] == 1
    assert push.reference in world.sim.order_numbers()

    assert [r.queued for r in request_push(db.session.get(Order, order.id))] == [True]
    run_worker()
    again = _push(order.id)
    assert again.state == "pushed" and again.external_id == push.external_id
    stats = world.sim.stats()
    assert stats["orders"] == 1 and stats["duplicates"] == 0


@pytest.mark.parametrize("key", KEYS)
def test_missing_required_setting_is_refused_before_any_request(key, app, app_ctx, sandbox, factory, run_worker):
    world = World(key, sandbox, factory, entity_settings=False)
    order = world.order()
    requests.delete(f"{world.sim.api_base}/_sim/requests", timeout=10)
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    expected = MISSING[key].format(item=order.items[0].number, site=world.site.name)
    assert push.state == "failed" and push.error_kind == "configuration"
    assert any(expected in line for line in push.errors), push.errors
    assert requests.get(f"{world.sim.api_base}/_sim/requests", timeout=10).json()["count"] == 0
    assert expected in _tab(app, world, order)


@pytest.mark.parametrize("key", KEYS)
def test_provider_refusal_shows_the_providers_words_and_is_not_retried(key, app, app_ctx, sandbox, factory,
                                                                       run_worker):
    world = World(key, sandbox, factory)
    entity, values, words = REFUSED[key]
    world.set(entity, values)
    order = world.order()
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    assert push.state == "failed" and push.error_kind == "rejected" and push.attempts == 1
    assert words in " ".join(push.errors)
    tab = _tab(app, world, order)
    assert "push-bar-failed" in tab and words in tab
    assert world.sim.stats()["orders"] == 0


@pytest.mark.parametrize("key", KEYS)
def test_bad_password_fails_once_and_flags_the_account(key, app_ctx, sandbox, factory, run_worker):
    world = World(key, sandbox, factory)
    secret = next(f.name for f in world.account.provider.credentials if f.secret)
    wrong = {**world.sim.credentials, secret: "wrong-secret-value"}
    assert save_account(world.account, company_id=world.admin.company_id, name=world.account.name,
                        provider_key=key, admin_id=world.admin.id, credentials=wrong,
                        settings=world.account.settings).ok
    order = world.order()
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1, push.errors
    assert db.session.get(ProviderAccount, world.account.id).auth_state == "failing"


def _ship(world, push):
    if world.key == "veracore":
        world.sim.ship(push.external_id, tracking_id="1ZTRACK42", carrier="UPS")
        return "Shipped", "1ZTRACK42"
    if world.key == "midnight":
        world.sim.progress(push.external_id, code="60")
        return "Shipped", None
    job = push.items[0].external_number
    world.sim.set_status(push.external_id.split(",")[0], status="Shipped",
                         items={job: {"status": "Shipped", "trackingNumber": "PW-TRK-7", "shipMethod": "UPS",
                                      "shipDate": "2026-11-30"}})
    return "Shipped", "PW-TRK-7"


@pytest.mark.parametrize("key", KEYS)
def test_status_synchronization_brings_status_and_tracking_onto_items(key, app_ctx, sandbox, factory, run_worker):
    world = World(key, sandbox, factory)
    order = world.order()
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    assert push.state == "pushed", push.errors
    status, tracking = _ship(world, push)
    run = request_run(world.account, ["status"], "ops@example.test", site=world.site)
    run_worker()
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).state == "finished"
    item = db.session.get(Order, order.id).items[0]
    assert item.status == status
    if tracking:
        assert item.tracking_number == tracking
    assert _push(order.id).external_status


def test_midnight_account_status_table_overrides_the_default(app_ctx, sandbox, factory, run_worker):
    world = World("midnight", sandbox, factory)
    order = world.order()
    uc.mark_paid(order, "buyer@example.test")
    run_worker()
    push = _push(order.id)
    assert save_account(world.account, company_id=world.admin.company_id, name=world.account.name,
                        provider_key="midnight", admin_id=world.admin.id, credentials=world.sim.credentials,
                        settings={**world.account.settings, "status_map_override": "30 = Ready to Ship"}).ok
    world.sim.progress(push.external_id, code="30")  # "30 Proof Sent" is On Hold by default
    request_run(world.account, ["status"], "ops@example.test", site=world.site)
    run_worker()
    db.session.expire_all()
    assert db.session.get(Order, order.id).items[0].status == "Ready to Ship"


def test_veracore_offers_and_offer_categories_synchronize(app_ctx, sandbox, factory, run_worker):
    world = World("veracore", sandbox, factory)
    run = request_run(world.account, ["categories", "products"], "ops@example.test", site=world.site)
    run_worker()
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.state == "finished", run.error
    products = {p.sku: p for p in Product.query.filter_by(site_id=world.site.id)}
    assert products["OFFER-1"].name == "Business cards" and products["OFFER-1"].active
    assert products["OFFER-1"].category.name == "Stationery"
    assert products["OFFER-2"].category.is_root  # an offer without category goes to Root


def test_demo_accounts_push_green_when_demo_orders_are_paid(app_ctx, sandbox, run_worker):
    """`make run`: marking the demo's unpaid orders paid pushes them to the SOAP demo accounts."""
    from webapp.embedded.demo import setup_demo_accounts
    from webapp.storefront.demo import seed_demo

    seed_demo()
    setup_demo_accounts(sandbox)
    for order in Order.query.filter_by(paid=False).all():
        uc.mark_paid(order, "buyer@example.test")
    run_worker()
    db.session.expire_all()
    for name in ("VeraCore (sandbox)", "Midnight (sandbox)", "Presswise (sandbox)"):
        account = ProviderAccount.query.filter_by(name=name).one()
        pushes = OrderPush.query.filter_by(account_id=account.id).all()
        assert pushes and {p.state for p in pushes} == {"pushed"}, [(p.state, p.errors) for p in pushes]
