"""Tharstern (cXML) and Tharstern (REST) use-cases: real workers / the push use-case, the sandbox
simulators over real HTTP, real Redis."""
from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.tharstern import testing as rest_sim
from sandbox.tharstern_cxml import testing as cxml_sim
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push, run_push
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import Binding, OrderPush, Product, SyncRun
from webapp.storefront import orders as uc


def _push(order) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id).one()


@pytest.fixture
def make_account(app_ctx, sandbox, factory):
    """make_account(provider_key, site, sim=None, **settings) -> (account, sim)."""
    admin = factory.admin(email=f"th-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(key, site, sim=None, credentials=None, **settings):
        install.enable_provider(key)
        module = cxml_sim if key == "tharstern_cxml" else rest_sim
        sim = sim or module.create_account(f"{sandbox}/{key}")
        result = save_account(None, company_id=admin.company_id, name=f"{key} {uuid.uuid4().hex[:4]}",
                              provider_key=key, admin_id=admin.id, credentials=credentials or sim.credentials,
                              settings=settings)
        assert result.ok, result.errors
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
        return result.account, sim

    return _make


def _cxml_order(factory, account, site, *, code="C0001", product_code="BC-STD-350", active=True, paid=False):
    user = factory.site_user(site, email=f"buyer-{uuid.uuid4().hex[:5]}@example.test")
    product = factory.product(site, sku=f"SKU-{uuid.uuid4().hex[:5]}", integration_id=product_code)
    if code is not None:
        assert save_entity_settings(account, "site_user", user.id, {"external_id": code, "active": active}) == {}
    return factory.order(site, paid=paid, customer_email=user.email,
                         items=[{"approval": "approved", "sku": product.sku, "product_id": product.id}])


# ---------------------------------------------------------------------------- cXML

def test_cxml_paid_order_is_pushed_and_the_tab_says_no_status(factory, make_account, run_worker, client, login):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    order = _cxml_order(factory, account, site)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "pushed", push.errors
    [remote] = sim.orders()
    assert remote["order_id"] == push.reference and remote["type"] == "new"
    assert remote["customer"] == "C0001" and remote["lines"][0]["part"] == "BC-STD-350"
    assert push.external_id == push.reference and push.external_status == "Received (200 OK)"
    assert push.checkpoint["accepted_payload_id"] == remote["payload_id"]
    login(factory.admin(is_super=True))
    page = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "Tharstern (cXML) does not report status." in page


def test_cxml_repush_sends_an_update_referencing_the_accepted_payload(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    order = _cxml_order(factory, account, site)
    uc.mark_paid(order, "ops")
    run_worker()
    first = _push(order).checkpoint["accepted_payload_id"]
    request_push(order)
    run_worker()
    push = _push(order)
    assert push.state == "pushed" and push.checkpoint["accepted_payload_id"] != first
    assert sim.payloads()[push.checkpoint["accepted_payload_id"]]["order_id"] == push.reference
    [remote] = sim.orders()  # still one order, now version 2
    assert remote["type"] == "update" and remote["version"] == 2
    assert sim.stats()["orders"] == 1 and sim.stats()["duplicates"] == 0


@pytest.mark.parametrize("replay_mode, status", [("409", "Already received (duplicate payload)"),
                                                 ("accept", "Received (200 OK)")])
def test_cxml_unanswered_attempt_is_replayed_with_the_same_payload_id(app, factory, make_account, sandbox,
                                                                      replay_mode, status):
    site = factory.site()
    sim = cxml_sim.create_account(f"{sandbox}/tharstern_cxml", replay_mode=replay_mode)
    account, _ = make_account("tharstern_cxml", site, sim=sim)
    order = _cxml_order(factory, account, site, paid=True)
    request_push(order)
    push = _push(order)
    requests.post(f"{sim.api_base}/_sim/faults", json={"timeout_after_create_rate": 1.0, "timeout_seconds": 2},
                  timeout=5).raise_for_status()
    app.config["PROVIDER_READ_TIMEOUT"] = 0.5
    assert run_push(push.id) == "retrying"
    requests.delete(f"{sim.api_base}/_sim/faults", timeout=5).raise_for_status()
    sent = _push(order).checkpoint["document"]["payload_id"]
    assert run_push(push.id) == "pushed"
    push = _push(order)
    assert push.checkpoint["accepted_payload_id"] == sent and push.external_status == status
    assert sim.stats()["orders"] == 1 and list(sim.payloads()) == [sent]


def test_cxml_transient_55x_is_retried_then_pushed(factory, make_account):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    order = _cxml_order(factory, account, site, paid=True)
    sim.next_status(551, "Unable to forward request")
    request_push(order)
    push = _push(order)
    assert run_push(push.id) == "retrying"
    assert "551 Unable to forward request" in _push(order).errors[0]
    assert run_push(push.id) == "pushed"
    assert sim.stats()["orders"] == 1


def test_cxml_4xx_inside_http_200_fails_with_the_suppliers_words(factory, make_account, run_worker, client, login):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    order = _cxml_order(factory, account, site, code="C9999")
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "rejected"
    assert push.errors == ["Tharstern (cXML) answered 400 Bad Request: Unknown customer code C9999."]
    login(factory.admin(is_super=True))
    assert "Unknown customer code C9999." in client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert sim.orders() == []


@pytest.mark.parametrize("missing", ["product_code", "external_id", "active"])
def test_cxml_missing_product_code_or_customer_refuses_before_any_request(factory, make_account, missing):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    order = _cxml_order(factory, account, site, product_code="" if missing == "product_code" else "BC-STD-350",
                        code=None if missing == "external_id" else "C0001", active=missing != "active", paid=True)
    request_push(order)
    assert run_push(_push(order).id) == "failed"
    push = _push(order)
    assert push.error_kind == "configuration"
    expected = {"product_code": "Integration ID (Tharstern product code) is required",
                "external_id": "External ID (Tharstern customer code) is required",
                "active": "Active must be ticked"}[missing]
    assert any(expected in line for line in push.errors), push.errors
    assert sim.stats()["requests"] == 0


def test_cxml_bad_shared_secret_fails_without_retry_and_flags_the_account(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern_cxml", site)
    account.credentials = {**account.credentials, "api_password": "wrong-secret"}
    db.session.commit()
    order = _cxml_order(factory, account, site)
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert push.account.auth_state == "failing"


# ---------------------------------------------------------------------------- REST

def _rest_order(factory, account, site, sku="BC-STD-350", code=None, paid=False):
    user = factory.site_user(site, email=f"buyer-{uuid.uuid4().hex[:5]}@example.test")
    if code:
        assert save_entity_settings(account, "site_user", user.id, {"external_id": code, "active": True}) == {}
    return factory.order(site, paid=paid, customer_email=user.email, items=[{"approval": "approved", "sku": sku}])


def test_rest_paid_order_becomes_one_sales_order_even_when_pushed_again(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE")
    order = _rest_order(factory, account, site, code="C0002")
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    assert push.state == "pushed", push.errors
    [remote] = sim.orders()
    assert push.external_id == str(remote["ID"]) and push.external_number == remote["OrderNo"]
    assert remote["Ref1"] == push.reference and remote["InvoiceCustomer"] == {"Code": "C0002"}
    assert remote["Items"][0]["Ref1"] == push.items[0].external_number
    request_push(order)
    run_worker()
    assert _push(order).state == "pushed" and len(sim.orders()) == 1


def test_rest_lost_checkpoint_still_gives_one_order_through_unique_submit_id(factory, make_account):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE")
    order = _rest_order(factory, account, site, paid=True)
    request_push(order)
    assert run_push(_push(order).id) == "pushed"
    push = _push(order)
    first = push.external_id
    push.checkpoint = {}
    db.session.commit()
    request_push(order)
    assert run_push(push.id) == "pushed"
    assert _push(order).external_id == first
    assert len(sim.orders()) == 1 and sim._control("GET", "stats")["replays"] == 1


def test_rest_id_zero_is_rejected_with_tharsterns_words(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE")
    order = _rest_order(factory, account, site, code="NOPE")
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "rejected"
    assert push.errors == ["Tharstern rejected the order: Invoice customer 'NOPE' does not exist."]


def test_rest_bad_login_zero_guid_fails_without_retry(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE")
    account.credentials = {**account.credentials, "password": "wrong-password"}
    db.session.commit()
    order = _rest_order(factory, account, site)
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert "application id is wrong" in push.errors[0]
    assert push.account.auth_state == "failing"


def test_rest_expired_token_is_refreshed_once(factory, make_account, sandbox):
    from webapp.embedded.clients import client_for
    from webapp.queue import get_redis

    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE")
    client = client_for(account)
    assert "customer WEBSTORE found" in client.test_connection()
    requests.post(f"{sandbox}/tharstern/_sim/revoke_tokens", timeout=5).raise_for_status()
    again = account.provider.for_account(account, redis=get_redis())
    assert "customer WEBSTORE found" in again.test_connection()
    assert sim._control("GET", "stats")["tokens"] == 2  # one login, one refresh after the 401


def test_rest_status_poll_brings_job_status_and_tracking(factory, make_account, run_worker):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE",
                                status_map="Pre-Press = Ready to Ship")
    order = _rest_order(factory, account, site)
    uc.mark_paid(order, "ops")
    run_worker()
    push = _push(order)
    sim.set_status(push.external_id, status="In Production", job_status="Despatched",
                   despatch={"Carrier": "DPD", "TrackingNo": "DPD123", "DespatchDate": "2026-11-29"})
    run = request_run(account, ["status"], "ops", site=site)
    run_worker()
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).state == "finished"
    item = order.items[0]
    assert item.status == "Shipped" and item.tracking_number == "DPD123" and item.carrier == "DPD"
    sim.set_status(push.external_id, job_status="Pre-Press")  # the account's own map wins
    run = request_run(account, ["status"], "ops", site=site)
    run_worker()
    db.session.expire_all()
    assert _push(order).items[0].external_status == "Ready to Ship"


def test_rest_product_import_priced_stocked_in_category_then_unchanged_then_in_step(factory, make_account,
                                                                                   run_worker):
    site = factory.site()
    account, sim = make_account("tharstern", site, customer_code="WEBSTORE", product_codes="BC-STD-350\nPOS-A2",
                                import_category="Tharstern Products", markup_percent="20")
    run = request_run(account, ["products"], "ops", site=site)
    run_worker()
    run = db.session.get(SyncRun, run.id)
    assert run.state == "finished" and (run.created, run.updated, run.unchanged) == (2, 0, 0), run.error
    products = {p.sku: p for p in Product.query.filter_by(site_id=site.id)}
    assert set(products) == {"BC-STD-350", "POS-A2"}
    assert str(products["POS-A2"].price) == "5.1000" and products["POS-A2"].active
    assert products["POS-A2"].category.name == "Tharstern Products"
    binding = Binding.query.filter_by(account_id=account.id, local_id=products["POS-A2"].id, kind="product").one()
    assert binding.data["stock_level"] == "300"
    again = request_run(account, ["products"], "ops", site=site)
    run_worker()
    again = db.session.get(SyncRun, again.id)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    sim.set_product("POS-A2", Price=5.0, StockLevel=120)
    third = request_run(account, ["products"], "ops", site=site)
    run_worker()
    db.session.expire_all()
    third = db.session.get(SyncRun, third.id)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    product = db.session.get(Product, products["POS-A2"].id)
    assert str(product.price) == "6.0000"
    assert Binding.query.filter_by(local_id=product.id, kind="product").one().data["stock_level"] == "120"


@pytest.mark.parametrize("key, site_slug", [("tharstern_cxml", "city-council"), ("tharstern", "promo-shop")])
def test_demo_account_pushes_a_paid_demo_order_green(factory, sandbox, run_worker, key, site_slug):
    from webapp.embedded.demo import setup_demo_accounts
    from webapp.models import ProviderAccount, Site, SiteUser
    from webapp.storefront.demo import seed_demo

    seed_demo()
    setup_demo_accounts(sandbox)
    account = ProviderAccount.query.filter_by(provider_key=key).one()
    site = Site.query.filter_by(slug=site_slug).one()
    user = SiteUser.query.filter_by(site_id=site.id).first()
    product = Product.query.filter_by(site_id=site.id, active=True).first()
    order = factory.order(site, paid=False, customer_email=user.email,
                          items=[{"approval": "approved", "sku": product.sku, "product_id": product.id}])
    uc.mark_paid(order, "admin@demo.test")
    run_worker()
    db.session.expire_all()
    push = OrderPush.query.filter_by(order_id=order.id, account_id=account.id).one()
    assert push.state == "pushed", push.errors
