"""tFLOW end to end: real worker processes, Redis-shared OAuth token, the tFLOW simulator over HTTP."""
from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.testing import serve_wsgi
from sandbox.tflow.testing import create_account
from webapp.embedded import install
from webapp.embedded.accounts import request_webhook_subscription, save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import OrderPush, ProviderAccount, WebhookEvent
from webapp.storefront import orders as uc

READY = {"approval": "approved", "files": [("upload", "ready")]}


@pytest.fixture
def hub_url(app):
    base, stop = serve_wsgi(app)
    yield base
    stop()


@pytest.fixture
def tflow(app_ctx, sandbox, factory):
    """tflow(site, **settings) -> (account, sim, products): live account, two mapped products."""
    install.enable_provider("tflow")
    admin = factory.admin(email=f"tf-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, credentials=None, products=(("Print-ready PDF", "2"), ("Large format", "4")), **settings):
        sim = create_account(f"{sandbox}/tflow")
        result = save_account(None, company_id=admin.company_id, name=f"tFLOW {uuid.uuid4().hex[:5]}",
                              provider_key="tflow", admin_id=admin.id,
                              credentials={**sim.credentials, **(credentials or {})},
                              settings={"client_id": 1, **settings})
        assert result.ok, result.errors
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
        mapped = []
        for product_name, workflow in products:
            product = factory.product(site)
            if product_name:
                assert not save_entity_settings(result.account, "product", product.id,
                                                {"tflow_product": product_name, "tflow_workflow": workflow})
            mapped.append(product)
        return result.account, sim, mapped

    return _make


def _order(factory, site, products):
    return factory.order(site, paid=False, items=[{**READY, "product_id": p.id, "sku": p.sku} for p in products])


def _push(order) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id).one()


def test_paid_order_becomes_one_tflow_order_with_one_job_per_item(factory, tflow, run_worker):
    site = factory.site(time_zone="America/Chicago")
    account, sim, products = tflow(site)
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "pushed", push.errors
    [remote] = sim.orders()
    assert remote["name"] == push.reference and str(remote["id"]) == push.external_id
    jobs = sorted(remote["jobs"], key=lambda j: j["name"])
    assert [j["name"] for j in jobs] == [f"{push.reference}-1", f"{push.reference}-2"]
    assert [j["workflow_id"] for j in jobs] == [2, 4]
    assert jobs[0]["props"]["artwork_url"] == "https://files.example.test/1.pdf"
    assert jobs[0]["ship_date"].endswith(("-06:00", "-05:00"))  # the site's zone, with its offset
    assert sorted(ip.external_id for ip in push.items) == sorted(str(j["id"]) for j in jobs)
    assert push.checkpoint["order_id"] == push.external_id
    assert sim.control("GET", "stats")["token_requests"] == 1  # one token for the whole push


def test_timeout_between_job_creations_then_retry_creates_nothing_twice(factory, tflow, run_worker, sandbox):
    site = factory.site()
    account, sim, products = tflow(site)
    # Seed 0 draws 0.84, 0.76, 0.42: the order and job 1 answer, job 2 is created but its answer is lost.
    requests.post(f"{sandbox}/tflow/_sim/faults", json={"timeout_after_create_rate": 0.5, "seed": 0,
                                                      "timeout_seconds": 2.0}, timeout=5).raise_for_status()
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker(PROVIDER_READ_TIMEOUT=0.5, PUSH_BACKOFF_BASE=0)
    push = _push(order)
    assert push.state == "pushed", push.errors
    assert push.attempts == 2
    injected = requests.get(f"{sandbox}/tflow/_sim/faults", timeout=5).json()["injected"]
    assert injected["timeout_after_create"] == 1
    [remote] = sim.orders()
    assert len(remote["jobs"]) == 2
    stats = sim.control("GET", "stats")
    assert (stats["orders"], stats["jobs"], stats["duplicate_orders"], stats["duplicate_jobs"]) == (1, 2, 0, 0)
    assert sorted(ip.external_id for ip in push.items) == sorted(str(j["id"]) for j in remote["jobs"])


def test_lost_order_answer_is_found_by_name_on_retry(factory, tflow, run_worker, sandbox):
    site = factory.site()
    account, sim, products = tflow(site)
    requests.post(f"{sandbox}/tflow/_sim/faults", json={"timeout_after_create_rate": 0.5, "seed": 1,
                                                      "timeout_seconds": 2.0}, timeout=5).raise_for_status()
    order = _order(factory, site, products[:1])  # seed 1 draws 0.13 first: the order's answer is lost
    uc.mark_paid(order, "ops@example.test")
    run_worker(PROVIDER_READ_TIMEOUT=0.5, PUSH_BACKOFF_BASE=0)
    push = _push(order)
    assert push.state == "pushed", push.errors
    stats = sim.control("GET", "stats")
    assert (stats["orders"], stats["jobs"], stats["duplicate_orders"]) == (1, 1, 0)


def test_rejected_job_then_fixed_product_repush_keeps_order_and_first_job(factory, tflow, run_worker):
    site = factory.site()
    account, sim, products = tflow(site, products=(("Print-ready PDF", "2"), ("No such product", "2")))
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "failed"
    assert any("product_name: Product not found." in e for e in push.errors), push.errors
    assert sim.control("GET", "stats")["jobs"] == 1
    assert not save_entity_settings(account, "product", products[1].id,
                                    {"tflow_product": "Large format", "tflow_workflow": "2"})
    from webapp.embedded.push import request_push
    request_push(order)
    run_worker()
    assert _push(order).state == "pushed"
    stats = sim.control("GET", "stats")
    assert (stats["orders"], stats["jobs"], stats["duplicate_jobs"]) == (1, 2, 0)


def test_missing_product_setting_is_refused_before_any_request(factory, tflow, run_worker):
    site = factory.site()
    account, sim, products = tflow(site, products=(("Print-ready PDF", "2"), ("", "")))
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "configuration"
    assert any("tFLOW product is required" in e for e in push.errors), push.errors
    assert sim.control("GET", "stats")["requests"] == 0 and sim.control("GET", "stats")["token_requests"] == 0


def test_wrong_secret_fails_without_retry_and_flags_the_account(factory, tflow, run_worker):
    site = factory.site()
    account, sim, products = tflow(site, credentials={"client_secret": "wrong"})
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert db.session.get(ProviderAccount, account.id).auth_state == "failing"


def test_uploaded_artwork_mode(factory, tflow, run_worker):
    files, stop = serve_wsgi(lambda env, start: (start("200 OK", [("Content-Type", "application/pdf")]),
                                                 [b"%PDF-1.4 artwork"])[1])
    try:
        site = factory.site()
        account, sim, products = tflow(site, products=(("Print-ready PDF", "2"),), artwork_mode="upload")
        order = factory.order(site, paid=False, items=[{"approval": "approved", "product_id": products[0].id}])
        from webapp.models import ItemFile
        order.items[0].files.append(ItemFile(kind="upload", state="ready", url=f"{files}/art/card.pdf"))
        db.session.commit()
        uc.mark_paid(order, "ops@example.test")
        run_worker()
    finally:
        stop()
    push = _push(order)
    assert push.state == "pushed", push.errors
    [revision] = sim.control("GET", "revisions")
    assert revision["file_name"] == "card.pdf" and revision["size"] == len(b"%PDF-1.4 artwork")
    [remote] = sim.orders()
    assert "artwork_url" not in remote["jobs"][0]["props"] and remote["jobs"][0]["current_state_name"] == "to_review"
    assert "revision:1" in push.checkpoint


def test_status_poll_and_webhook_bring_job_states_back(factory, tflow, run_worker, hub_url):
    site = factory.site()
    account, sim, products = tflow(site, products=(("Print-ready PDF", "2"),))
    order = _order(factory, site, products)
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order)
    [job] = sim.orders()[0]["jobs"]
    sim.advance(job["id"], transition="checks_ok")
    sim.advance(job["id"], transition="approve")
    run = request_run(account, ["status"], "ops", site=site)
    run_worker()
    db.session.expire_all()
    item = order.items[0]
    assert item.status == "In Production" and push.items[0].external_status == "approved"

    request_webhook_subscription(account, f"{hub_url}/webhooks/tflow/{account.webhook_token}")
    run_worker()
    db.session.expire_all()
    assert account.webhook_subscription["state"] == "ok", account.webhook_subscription
    sim.advance(job["id"], transition="release")
    sim.advance(job["id"], state="printing")
    shipped = sim.advance(job["id"], state="shipped", tracking_number="1ZTFLOW", carrier="UPS")
    assert shipped["current_state_name"] == "shipped"
    assert [d["status"] for d in sim.control("GET", "deliveries")] == [202, 202, 202]
    run_worker()
    db.session.expire_all()
    assert item.status == "Shipped" and item.tracking_number == "1ZTFLOW"
    assert {e.state for e in WebhookEvent.query.all()} == {"processed"}
    assert run.id


def test_webhook_with_a_wrong_signature_is_refused(client, factory, tflow):
    site = factory.site()
    account, sim, _ = tflow(site)
    body = b'{"event":"job.approved","job_id":123,"order_id":45,"state":"approved","timestamp":"t"}'
    url = f"/webhooks/tflow/{account.webhook_token}"
    assert client.post(url, data=body, content_type="application/json",
                       headers={"X-Tflow-Signature": "0" * 40}).status_code == 401
    import hashlib
    good = hashlib.sha1(sim.webhook_key.encode() + body).hexdigest()
    assert client.post(url, data=body, content_type="application/json",
                       headers={"X-Tflow-Signature": good}).status_code == 202
