"""StreamLive (assumed contract) end to end: real worker processes, the simulator over HTTP."""
from __future__ import annotations

import uuid

import pytest

from sandbox.streamlive.testing import create_account
from sandbox.testing import serve_wsgi
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import set_activation
from webapp.embedded.push import request_push
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import OrderPush, ProviderAccount
from webapp.storefront import orders as uc

READY = {"approval": "approved", "files": [("upload", "ready")]}


@pytest.fixture
def streamlive(app_ctx, sandbox, factory):
    install.enable_provider("streamlive")
    admin = factory.admin(email=f"sl-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, credentials=None, **settings):
        sim = create_account(f"{sandbox}/streamlive")
        result = save_account(None, company_id=admin.company_id, name=f"StreamLive {uuid.uuid4().hex[:5]}",
                              provider_key="streamlive", admin_id=admin.id,
                              credentials={**sim.credentials, **(credentials or {})}, settings=settings)
        assert result.ok, result.errors
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
        return result.account, sim

    return _make


def _push(order) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id).one()


def test_push_then_repush_keeps_one_order(factory, streamlive, run_worker):
    site = factory.site()
    account, sim = streamlive(site, default_customer_code="C001")
    order = factory.order(site, paid=False, items=[{**READY, "sku": "BANNER-13OZ", "quantity": 2}, READY])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "pushed", push.errors
    [remote] = sim.orders()
    assert remote["external_id"] == push.idempotency_key and remote["id"] == push.external_id
    assert remote["items"][0]["product_code"] == "BANNER-13OZ" and remote["items"][0]["quantity"] == 2
    assert remote["items"][0]["files"][0]["url"] == "https://files.example.test/1.pdf"
    assert remote["customer"]["code"] == "C001"
    # Re-push (e.g. the push row was reset): the 409 answer names the same order.
    push.state = "failed"
    db.session.commit()
    request_push(order)
    run_worker()
    assert _push(order).state == "pushed" and _push(order).external_id == remote["id"]
    stats = sim.control("GET", "stats")
    assert (stats["orders"], stats["duplicates"], stats["conflicts"]) == (1, 0, 1)


def test_validation_error_is_shown_in_the_providers_words(factory, streamlive, run_worker):
    site = factory.site()
    account, sim = streamlive(site)
    order = factory.order(site, paid=False, items=[{**READY, "quantity": 0}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "rejected"
    assert "items[0].quantity: quantity must be a whole number of at least 1." in push.errors
    assert sim.orders() == []


def test_bad_api_key_fails_once_and_flags_the_account(factory, streamlive, run_worker):
    site = factory.site()
    account, sim = streamlive(site, credentials={"api_key": "not-the-key"})
    order = factory.order(site, paid=False, items=[READY])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert db.session.get(ProviderAccount, account.id).auth_state == "failing"


def test_status_by_polling_and_by_signed_webhook(app, factory, streamlive, run_worker):
    hub, stop = serve_wsgi(app)
    try:
        site = factory.site()
        account, sim = streamlive(site)
        order = factory.order(site, paid=False, items=[READY, READY])
        uc.mark_paid(order, "ops@example.test")
        run_worker()
        push = _push(order)
        sim.status(push.external_id, "queued")
        sim.status(push.external_id, "ripping")
        request_run(account, ["status"], "ops", site=site)
        run_worker()
        db.session.expire_all()
        assert [i.status for i in order.items] == ["In Production", "In Production"]
        sim.set_webhook(f"{hub}/webhooks/streamlive/{account.webhook_token}")
        sim.status(push.external_id, "printing")
        sim.status(push.external_id, "finishing")
        sim.status(push.external_id, "shipped", item=f"{push.reference}-1", tracking_number="1ZSTREAM", carrier="UPS")
        assert [d["status"] for d in sim.control("GET", "deliveries")] == [202, 202, 202]
        run_worker()
    finally:
        stop()
    db.session.expire_all()
    first, second = order.items
    assert first.status == "Shipped" and first.tracking_number == "1ZSTREAM"
    assert second.status == "In Production"


def test_catalogue_sync_pages_through_products_and_categories(factory, streamlive, run_worker):
    site = factory.site()
    account, sim = streamlive(site)
    sim.control("POST", "catalog", categories=[{"code": "WIDE", "name": "Wide format"}],
                products=[{"code": f"P-{n:03d}", "name": f"Banner {n}", "category": "WIDE", "active": True}
                          for n in range(130)])
    run = request_run(account, ["categories", "products"], "ops", site=site)
    run_worker()
    db.session.expire_all()
    from webapp.models import Product
    products = Product.query.filter_by(site_id=site.id).all()
    assert len(products) == 130 and {p.category.name for p in products} == {"Wide format"}
    import requests
    recorded = requests.get(f"{sim.api_base}/_sim/requests", params={"credential": sim.api_key}, timeout=5).json()
    pages = [r["query"] for r in recorded["requests"] if r["path"].endswith("/api/v1/products")]
    assert pages == ["page=1&limit=100", "page=2&limit=100"], pages  # the pager follows caldera-total-results
    assert run.id


@pytest.mark.parametrize("key", ["tflow", "streamlive"])
def test_account_page_lists_the_assumed_contract(client, login, factory, app_ctx, key):
    from webapp.providers.registry import get_provider_class
    from tests.security.conftest import SECRET, fixture_credentials

    install.enable_provider(key)
    admin = factory.admin(email=f"page-{uuid.uuid4().hex[:6]}@example.test", is_super=True)
    provider = get_provider_class(key)
    result = save_account(None, company_id=admin.company_id, name=f"{key} page", provider_key=key, admin_id=admin.id,
                          credentials=fixture_credentials(provider, "https://provider.example.test"), settings={})
    assert result.ok, result.errors
    login(admin)
    page = client.get(f"/preferences/embedded/accounts/{result.account.id}").get_data(as_text=True)
    assert "Proposed contract — confirm with the vendor" in page
    assert SECRET not in page  # secrets are never shown back
