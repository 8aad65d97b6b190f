"""Provider-neutral use-case tests: they run for every registered provider that pushes
orders (against its simulator, found through ``sandbox.<key>.testing``) and for the tests'
fake provider — a new provider gets them without new test code.

Per provider: a push creates exactly one external order; a re-push does what the provider
declares (``repush``: update / noop keep one order, refuse fails with the provider's words
and still one order); a re-push after a failure that may have reached the provider never
creates a second order; a status refresh run ends without failures."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from tests.resilience.harness import create_sim_account, push_providers, simulator_testing_module
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push, run_push
from webapp.embedded.runs import execute_run, request_run
from webapp.extensions import db
from webapp.models import PUSH_FAILED, OrderPush, Product, SyncRun

KEYS = [p.key for p in push_providers()] + ["fake"]
NEUTRAL_SKU = "NEUTRAL-1"


class FakeHandle:
    def __init__(self, remote):
        self.remote = remote

    def order_numbers(self) -> list[str]:
        return [o["reference"] for o in self.remote.orders.values()]


@pytest.fixture
def live_account(request, app_ctx, factory, sandbox):
    """(provider class, account, simulator handle, site) for the parametrized provider key."""
    key = request.param
    site = factory.site()
    if key == "fake":
        account = request.getfixturevalue("fake_account")(site)
        return account.provider, account, FakeHandle(request.getfixturevalue("fake_remote")), site
    from webapp.providers.registry import get_provider_class

    provider = get_provider_class(key)
    sim = create_sim_account(sandbox, key)
    install.enable_provider(key)
    admin = factory.admin(email=f"neutral-{uuid.uuid4().hex[:6]}@example.test", is_super=True)
    demo = provider.demo_account(sandbox)
    push_settings = getattr(simulator_testing_module(key)[0], "PUSH_SETTINGS", {})
    result = save_account(None, company_id=admin.company_id, name=f"{provider.name} {uuid.uuid4().hex[:4]}",
                          provider_key=key, admin_id=admin.id, credentials=sim.credentials,
                          settings={**(dict(demo.settings) if demo else {}), **(push_settings.get("account") or {})})
    assert result.ok, result.errors
    site_settings = next(iter(demo.site_settings.values()), None) if demo and demo.site_settings else None
    activation = set_activation(result.account, site, enabled=True, is_live=True,
                                settings=push_settings.get("site") or site_settings)
    assert activation.ok, activation.errors
    # Items are of one catalogue product, mapped as the provider requires (PUSH_SETTINGS of its
    # simulator's testing module), with a ready print file (a print job needs one).
    product = factory.product(site, sku=NEUTRAL_SKU, name="Neutral cards")
    if push_settings.get("product"):
        assert not save_entity_settings(result.account, "product", product.id, push_settings["product"])
    if push_settings.get("site_user"):  # the orders' customer (factory: ada@example.test)
        user = factory.site_user(site, email="ada@example.test")
        assert not save_entity_settings(result.account, "site_user", user.id, push_settings["site_user"])
    return provider, result.account, sim, site


def _push_now(order, account) -> OrderPush:
    request_push(order, account.id)
    push = OrderPush.query.filter_by(order_id=order.id, account_id=account.id).one()
    run_push(push.id)
    db.session.expire_all()
    return db.session.get(OrderPush, push.id)


def _order(factory, site):
    product = Product.query.filter_by(site_id=site.id, sku=NEUTRAL_SKU).first()
    line = {"approval": "approved"}
    if product is not None:  # a simulator's world (the fake provider downloads what it is given)
        line.update(product_id=product.id, sku=product.sku, files=[("upload", "ready")])
    return factory.order(site, paid=True, items=[dict(line), dict(line)])


@pytest.mark.parametrize("live_account", KEYS, indirect=True)
def test_a_push_creates_exactly_one_external_order(factory, live_account):
    _, account, sim, site = live_account
    push = _push_now(_order(factory, site), account)
    assert push.state == "pushed", push.errors
    assert sim.order_numbers().count(push.reference) == 1
    assert push.external_id and len(push.items) == 2


@pytest.mark.parametrize("live_account", KEYS, indirect=True)
def test_a_re_push_does_what_the_provider_declares(factory, live_account):
    provider, account, sim, site = live_account
    order = _order(factory, site)
    first = _push_now(order, account)
    assert first.state == "pushed", first.errors
    again = _push_now(order, account)
    if provider.repush == "refuse":
        assert again.state == PUSH_FAILED and again.errors and again.external_id == first.external_id
    else:
        assert again.state == "pushed", again.errors
        assert again.external_id == first.external_id
    assert sim.order_numbers().count(first.reference) == 1


@pytest.mark.parametrize("live_account", KEYS, indirect=True)
def test_a_re_push_after_a_failure_that_may_have_reached_the_provider_never_duplicates(factory, live_account):
    _, account, sim, site = live_account
    order = _order(factory, site)
    push = _push_now(order, account)
    assert push.state == "pushed", push.errors
    # as after a timeout on the create call: the order exists, our row says it failed
    db.session.execute(update(OrderPush).where(OrderPush.id == push.id).values(
        state=PUSH_FAILED, ambiguous=True, external_id=None, checkpoint={}))
    db.session.commit()
    again = _push_now(order, account)
    assert again.state in ("pushed", PUSH_FAILED), again.errors
    assert sim.order_numbers().count(push.reference) == 1


@pytest.mark.parametrize("live_account", KEYS, indirect=True)
def test_a_status_refresh_runs_without_failures(factory, live_account):
    provider, account, _, site = live_account
    if not provider.capabilities.status_polling:
        pytest.skip(f"{provider.name} does not poll status (webhooks only)")
    push = _push_now(_order(factory, site), account)
    assert push.state == "pushed", push.errors
    run = request_run(account, ["status"], started_by="test")
    assert execute_run(run.id) == "finished"
    run = db.session.get(SyncRun, run.id)
    assert run.failed == 0 and run.updated + run.unchanged + run.skipped == 1
