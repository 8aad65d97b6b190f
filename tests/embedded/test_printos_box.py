"""HP PrintOS Box end to end: real worker processes, real Redis, the Box simulator over HTTP."""
from __future__ import annotations

import uuid

import pytest

from sandbox.printos_box.testing import create_account
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import OrderPush
from webapp.storefront import orders as uc

TWO_FILES = {"approval": "approved", "files": [("upload", "ready"), ("upload", "ready")]}


@pytest.fixture
def box(app_ctx, sandbox, factory):
    install.enable_provider("printos_box")
    admin = factory.admin(email=f"box-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, credentials: dict | None = None):
        sim = create_account(f"{sandbox}/box")
        result = save_account(None, company_id=admin.company_id, name=f"Box {uuid.uuid4().hex[:5]}",
                              provider_key="printos_box", admin_id=admin.id,
                              credentials={**sim.credentials, **(credentials or {})}, settings={})
        assert result.ok, result.errors
        assert set_activation(result.account, site, enabled=True, is_live=True).ok
        return result.account, sim

    return _make


def _push(order, account) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id, account_id=account.id).one()


def test_order_becomes_one_folder_with_its_files_and_a_repush_adds_nothing(factory, box, run_worker, client, login):
    site = factory.site()
    account, sim = box(site)
    order = factory.order(site, items=[TWO_FILES, {"approval": "approved", "files": [("upload", "ready")]}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed", push.errors
    stats = sim.raw_stats()
    assert stats["folder_names"] == [push.reference] and stats["files"] == 3
    assert push.checkpoint["folder_id"] == push.external_id and len([k for k in push.checkpoint if k.startswith("file:")]) == 3
    request_push(order)
    run_worker()
    assert _push(order, account).state == "pushed"
    assert sim.raw_stats()["folders"] == 1 and sim.raw_stats()["files"] == 3
    login(account.admin)
    tab = client.get(f"/orders/{order.number}/embedded").get_data(as_text=True)
    assert "Box does not report production status" in tab


def test_a_refused_file_fails_the_push_and_the_fixed_repush_reuses_folder_and_files(factory, box, run_worker):
    site = factory.site()
    account, sim = box(site)
    plain, special = factory.product(site, sku="BOX-1"), factory.product(site, sku="BOX-2")
    assert save_entity_settings(account, "product", special.id, {"substrate": "Cardboard"}) == {}
    order = factory.order(site, items=[
        {"approval": "approved", "sku": "BOX-1", "product_id": plain.id, "files": [("upload", "ready")]},
        {"approval": "approved", "sku": "BOX-2", "product_id": special.id, "files": [("upload", "ready")]}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and "Unknown substrate 'Cardboard'." in push.errors
    assert sim.raw_stats()["folders"] == 1 and sim.raw_stats()["files"] == 1  # folder + first file exist
    assert save_entity_settings(account, "product", special.id, {"substrate": "Silk 350gsm"}) == {}
    request_push(order)
    run_worker()
    push = _push(order, account)
    assert push.state == "pushed", push.errors
    stats = sim.raw_stats()
    assert stats["folders"] == 1 and stats["files"] == 2  # the same folder; the first file not added again


def test_bad_secret_fails_and_flags_the_account(factory, box, run_worker):
    site = factory.site()
    account, sim = box(site, credentials={"secret": "wrong"})
    order = factory.order(site, items=[TWO_FILES])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and push.error_kind == "invalid_credentials" and push.attempts == 1
    assert push.account.auth_state == "failing" and sim.raw_stats()["folders"] == 0


def test_order_without_files_is_refused_with_the_reason(factory, box, run_worker):
    site = factory.site()
    account, sim = box(site)
    order = factory.order(site, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    assert push.state == "failed" and "files only" in " ".join(push.errors)
    assert sim.raw_stats()["requests"] == 0


def test_synchronize_stores_folder_state_and_leaves_item_status(factory, box, run_worker):
    site = factory.site()
    account, sim = box(site)
    order = factory.order(site, items=[TWO_FILES])
    uc.mark_paid(order, "ops@example.test")
    run_worker()
    push = _push(order, account)
    sim.advance_folder(push.external_id, preflightStatus="ok")
    request_run(account, ["status"], "ops@example.test", site=site)
    run_worker()
    push = _push(order, account)
    assert push.external_status == "folder ready, preflight ok"
    assert order.items[0].status == "Order Received"
