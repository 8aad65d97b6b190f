"""§1 with the tests' fake provider (no idempotency key, order + one job per item):
a crash between calls never re-creates, any failure that may have reached the provider is
looked up before re-creating, and the re-push policy is in the catalogue."""
from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import update

from webapp.embedded.push import request_push, run_push
from webapp.embedded.push_recovery import recover_stale_pushes
from webapp.extensions import db
from webapp.models import OrderPush, utcnow
from webapp.storefront import orders as uc

from ..conftest import ROOT, worker_env

TWO_ITEMS = [{"approval": "approved"}, {"approval": "approved"}]


def _push(order) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order.id).one()


def test_a_worker_dying_between_calls_resumes_without_creating_twice(app, factory, fake_account, fake_remote,
                                                                       run_worker):
    site = factory.site()
    fake_account(site)
    order = factory.order(site, paid=False, items=TWO_ITEMS)
    uc.mark_paid(order, "ops@example.test")
    # The worker dies right after the order exists (a push runs in the worker process itself).
    died = subprocess.run([sys.executable, str(ROOT / "worker.py"), "--burst"], cwd=ROOT, capture_output=True,
                          env={**worker_env(app), "FAKE_PROVIDER_CRASH_AFTER": "order"}, text=True, timeout=60)
    assert died.returncode != 0
    push = _push(order)
    assert push.state == "pushing" and push.checkpoint == {"order": "O-2"}  # (O-1 was the token)
    assert fake_remote.creates("orders") == 1 and fake_remote.creates("jobs") == 0

    # The lease runs out (made so here, not waited for): maintenance re-queues the push.
    db.session.execute(update(OrderPush).where(OrderPush.id == push.id).values(lease_until=utcnow()))
    db.session.commit()
    assert recover_stale_pushes() == 1
    run_worker()
    push = _push(order)
    assert push.state == "pushed", push.errors
    assert fake_remote.creates("orders") == 1 and fake_remote.creates("jobs") == 2
    [remote_order] = fake_remote.orders.values()
    assert push.external_id == remote_order["id"] and sorted(j["line"] for j in remote_order["jobs"]) == [1, 2]
    assert sorted(ip.external_id for ip in push.items) == sorted(j["id"] for j in remote_order["jobs"])
    # the retry looked the order up first (the dead worker may have created more than it recorded)
    assert any(m == "GET" and p == "/api/orders" for m, p, _ in fake_remote.calls)


def test_a_rejection_after_the_provider_saved_is_looked_up_before_re_creating(factory, fake_account,
                                                                              fake_remote):
    site = factory.site()
    account = fake_account(site)
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])
    fake_remote.in_body_failures["order"] = [{"kind": "rejected", "text": "Delivery date in the past",
                                              "after_save": True}]
    request_push(order, account.id)
    push = _push(order)
    assert run_push(push.id) == "failed"
    push = _push(order)
    assert push.errors == ["Delivery date in the past"] and push.ambiguous  # answered: it may exist
    assert fake_remote.creates("orders") == 1

    request_push(order, account.id)  # the admin clicks Push Order again
    assert run_push(push.id) == "pushed"
    assert fake_remote.creates("orders") == 1 and len(fake_remote.orders) == 1
    assert not _push(order).ambiguous


def test_only_failures_that_may_have_reached_the_provider_are_looked_up(factory, fake_account, fake_remote):
    site = factory.site()
    account = fake_account(site)
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])
    fake_remote.in_body_failures["order"] = [{"kind": "rejected", "text": "Customer on stop"}]
    request_push(order, account.id)
    push = _push(order)
    run_push(push.id)
    assert _push(order).ambiguous  # a POST answered: may have reached, whatever its words
    # a push whose only call never left (no exchange with an answer) stays unambiguous
    from webapp.embedded.push import may_have_reached
    from webapp.providers import errors as pe
    from webapp.providers.http import Exchange

    class Client:
        exchanges = [Exchange("POST", "u", None, 1, "", "", "connection error"),
                     Exchange("GET", "u", 200, 1, "", "")]

    assert not may_have_reached(pe.ProviderConnectError("down"), Client())
    assert may_have_reached(pe.ProviderTimeout("slow"), Client())


def test_the_repush_policy_is_in_the_catalogue(app, fake_registered, client, factory, login):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["embedded", "providers", "--json"])
    catalogue = {entry["key"]: entry for entry in json.loads(result.output)}
    assert catalogue["shipstation"]["repush"] == "update"
    assert catalogue["fake"]["repush"] == "noop" and "already received" in catalogue["fake"]["repush_text"]
    with app.app_context():
        from webapp.embedded import install
        install.enable_provider("fake")
        login(factory.admin(is_super=True))
    page = client.get("/preferences/embedded/").get_data(as_text=True)
    assert 'data-repush="noop"' in page and "The fake answers an existing reference" in page


def test_a_push_sends_artwork_to_the_storage_host_without_our_credentials(factory, fake_account, fake_remote):
    site = factory.site()
    account = fake_account(site)
    order = factory.order(site, paid=True, items=[{"approval": "approved", "files": [("upload", "ready"),
                                                                                      ("upload", "ready")]}])
    for n, item_file in enumerate(order.items[0].files):
        item_file.url = f"{fake_remote.other_host}/art/side-{n}.pdf?size=2000"
    db.session.commit()
    request_push(order, account.id)
    push = _push(order)
    assert run_push(push.id) == "pushed", _push(order).errors
    push = _push(order)
    assert sorted(k for k in push.checkpoint if k.startswith("file:")) == ["file:1:back", "file:1:front"]
    assert sorted(len(v) for v in fake_remote.uploads.values()) == [2000, 2000]
    to_storage = [h for m, p, h in fake_remote.calls if p.startswith(("/s3/", "/art/"))]
    assert len(to_storage) == 4 and all("Authorization" not in h for h in to_storage)
