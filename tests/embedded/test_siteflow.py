"""HP Site Flow end to end: real worker processes, real Redis, the Site Flow simulator over HTTP."""
from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.siteflow.testing import create_account
from sandbox.testing import serve_wsgi
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import OrderPush, WebhookEvent
from webapp.providers.siteflow import SiteFlow
from webapp.storefront import orders as uc


@pytest.fixture
def hub_url(app):
    base, stop = serve_wsgi(app)
    yield base
    stop()


@pytest.fixture
def siteflow(app_ctx, sandbox, factory):
    """siteflow(site, sku="BC-100", **settings) -> (account, sim, product)."""
    install.enable_provider("siteflow")
    admin = factory.admin(email=f"sf-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, sku: str | None = "BC-100", credentials: dict | None = None, **settings):
        sim = create_account(f"{sandbox}/siteflow")
        result = save_account(None, company_id=admin.company_id, name=f"Site Flow {uuid.uuid4().hex[:5]}",
                              provider_key="siteflow", admin_id=admin.id,
                              credentials={**sim.credentials, **(credentials or {})}, settings=settings)
        assert result.ok, result.errors
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
        product = factory.product(site, sku=f"P-{uuid.uuid4().hex[:6]}")
        if sku:
            assert save_entity_settings(result.account, "product", product.id, {"siteflow_sku": sku}) == {}
        return result.account, sim, product

    return _make


def _order(factory, site, product, **kw):
    return factory.order(site, paid=False, items=[{"approval": "approved", "sku": product.sku,
                                                   "product_id": product.id, "files": [("upload", "ready")]}], **kw)


def _push(order, account) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id, account_id=account.id).one()


def _remote(sim) -> dict:
    response = requests.get(f"{sim.api_base}/_sim/stats", params={"token": sim.token}, timeout=10)
    response.raise_for_status()
    return response.json()


def test_paid_order_is_pushed_once_and_a_repush_finds_it(factory, siteflow, run_worker):
    site = factory.site()
    account, sim, product = siteflow(site)
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed", push.errors
    assert sim.order_numbers() == [push.reference] and push.external_status == "dataready"
    assert push.checkpoint == {"order_id": push.external_id}
    [item_push] = push.items
    assert item_push.external_order_id == push.external_id and item_push.external_id != push.external_id

    # Push Order again, and again with the Site Flow id forgotten: still one Site Flow order.
    request_push(order)
    run_worker()
    push = _push(order, account)
    push.external_id, push.checkpoint = None, {}
    db.session.commit()
    request_push(order)
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed" and sim.order_numbers() == [push.reference]
    assert sim.stats()["duplicates"] == 0 and _remote(sim)["duplicate_rejections"] == 1


def test_missing_sku_is_refused_before_any_request(factory, siteflow, run_worker):
    site = factory.site()
    account, sim, product = siteflow(site, sku=None)
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state in ("waiting", "failed")
    assert any("Site Flow SKU is required" in line for line in (push.errors or []) + (push.reasons or []))
    assert sim.stats()["requests"] == 0


def test_validation_error_shows_site_flows_words_on_the_order_tab(factory, siteflow, run_worker, client, login):
    site = factory.site()
    account, sim, product = siteflow(site, sku="NOT-A-SKU")
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and push.error_kind == "rejected"
    assert "orderData.items[0].sku: SKU 'NOT-A-SKU' was not found." in push.errors
    login(account.admin)
    tab = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "SKU &#39;NOT-A-SKU&#39; was not found." in tab


def test_bad_secret_fails_without_retry_and_flags_the_account(factory, siteflow, run_worker):
    site = factory.site()
    account, sim, product = siteflow(site, credentials={"secret": "wrong-secret"})
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert push.account.auth_state == "failing"
    assert "Invalid signature." in push.errors


def test_synchronize_reads_status_and_tracking(factory, siteflow, run_worker):
    site = factory.site()
    account, sim, product = siteflow(site)
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    sim.advance(push.external_id, "printready")
    request_run(account, ["status"], "ops@example.test", site=site)
    run_worker()
    db.session.expire_all()
    assert order.items[0].status == "In Production"
    sim.advance(push.external_id, "shipped", shipmentIndex=0, trackingNumber="1ZSYNC")
    request_run(account, ["status"], "ops@example.test", site=site)
    run_worker()
    db.session.expire_all()
    item = order.items[0]
    assert item.status == "Shipped" and item.tracking_number == "1ZSYNC"


def test_trigger_with_the_pasted_template_updates_the_item(factory, siteflow, run_worker, hub_url, client, login):
    site = factory.site()
    account, sim, product = siteflow(site)
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    # What the account page shows is what the admin pastes into Site Flow.
    login(account.admin)
    page = client.get(f"/preferences/embedded/accounts/{account.id}").get_data(as_text=True)
    setup = SiteFlow.webhook_setup(f"{hub_url}/webhooks/siteflow/{account.webhook_token}", account.webhook_token)
    header, token = setup.header_name, setup.header_value
    assert f"{header}: {token}" in page and "Shipment Shipped" in page and "order.orderData.status" in page
    sim.add_webhook(setup)
    fired = sim.advance(push.external_id, "shipped", shipmentIndex=0, trackingNumber="1ZTRIGGER")
    assert [d["status"] for f in fired["fired"] for d in f["deliveries"]] == [202]
    run_worker()
    db.session.expire_all()
    item = order.items[0]
    assert item.status == "Shipped" and item.tracking_number == "1ZTRIGGER"
    assert WebhookEvent.query.one().state == "processed"


def test_trigger_without_the_header_token_is_refused(factory, siteflow, client):
    site = factory.site()
    account, _, _ = siteflow(site)
    url = f"/webhooks/siteflow/{account.webhook_token}"
    body = b'{"event": "Order Print Ready", "orderId": "abc"}'
    assert client.post(url, data=body, content_type="application/json").status_code == 401
    assert client.post(url, data=body, content_type="application/json",
                       headers={"x-hub-trigger-token": SiteFlow.trigger_token(account.webhook_token)}).status_code == 202
    assert WebhookEvent.query.count() == 1


def test_async_submission_error_arrives_by_trigger(factory, siteflow, run_worker, hub_url):
    site = factory.site()
    account, sim, product = siteflow(site, sku="NOT-A-SKU", submission_mode="async")
    account.settings = {**account.settings, "orders_url": f"{sim.api_base}/orders"}
    db.session.commit()
    setup = SiteFlow.webhook_setup(f"{hub_url}/webhooks/siteflow/{account.webhook_token}", account.webhook_token)
    sim.add_webhook(setup)
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()  # the push ("submitted"), then the submission-error trigger it caused
    push = _push(order, account)
    assert push.state == "pushed" and push.checkpoint == {"order_id": push.external_id}
    assert push.external_status.startswith("submission error") and "NOT-A-SKU" in push.external_status
    assert order.items[0].status == "On Hold"


@pytest.mark.parametrize("provider_key,site_slug,sku,method", [
    ("siteflow", "city-council", "CC-LFT-A5", "Local Pickup"), ("siteflow", "city-council", "CC-BC-STD", "UPS Ground"),
    ("printos_box", "promo-shop", "PR-STK-CIR", "UPS Ground")])
def test_hp_demo_accounts_push_green(app_ctx, sandbox, factory, run_worker, provider_key, site_slug, sku, method):
    from webapp.embedded.demo import setup_demo_accounts
    from webapp.models import Product, ProviderAccount, ShippingMethod, Site
    from webapp.storefront.demo import seed_demo

    seed_demo()
    setup_demo_accounts(sandbox)
    site = Site.query.filter_by(slug=site_slug).one()
    account = ProviderAccount.query.filter_by(provider_key=provider_key).one()
    product = Product.query.filter_by(site_id=site.id, sku=sku).one()
    shipping = ShippingMethod.query.filter_by(site_id=site.id, name=method).one()
    order = factory.order(site, items=[{"approval": "approved", "sku": sku, "product_id": product.id,
                                        "shipping_method_id": shipping.id, "shipping_method_name": method,
                                        "files": [("upload", "ready")]}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed", push.errors


def test_demo_site_flow_trigger_is_wired_and_brings_tracking(app_ctx, sandbox, factory, run_worker, hub_url):
    from webapp.embedded.demo import setup_demo_accounts
    from webapp.models import Product, ProviderAccount, Site
    from webapp.storefront.demo import seed_demo

    seed_demo()
    setup_demo_accounts(sandbox, hub_url)
    setup_demo_accounts(sandbox, hub_url)  # idempotent: still one trigger
    site = Site.query.filter_by(slug="city-council").one()
    account = ProviderAccount.query.filter_by(provider_key="siteflow").one()
    product = Product.query.filter_by(site_id=site.id, sku="CC-POS-A3").one()
    order = _order(factory, site, product)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    fired = requests.post(f"{sandbox}/siteflow/_sim/orders/{push.external_id}/advance", timeout=10,
                          json={"status": "shipped", "shipment": {"shipmentIndex": 0, "trackingNumber": "1ZDEMO"}}).json()
    assert [d["status"] for f in fired["fired"] for d in f["deliveries"]] == [202]
    run_worker()
    db.session.expire_all()
    assert order.items[0].tracking_number == "1ZDEMO" and order.items[0].status == "Shipped"
