"""Every [PROPOSED]/[UNCERTAIN] point of the SOAP providers is a setting: each value is run by
the client against its simulator over real HTTP (the simulator configured the matching way)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sandbox.midnight.testing import create_account as midnight_account
from sandbox.presswise.testing import create_account as presswise_account
from sandbox.veracore.testing import create_account as veracore_account
from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.context import CustomerContext, PushRef
from webapp.providers.midnight import Midnight
from webapp.providers.presswise import Presswise
from webapp.providers.veracore import VeraCore


@pytest.fixture(scope="module")
def sims():
    """Each simulator at its provider's real path, on its own port."""
    from sandbox.testing import start_world

    running = start_world()
    yield running.urls
    running.stop()


def ref(ctx, result) -> PushRef:
    return PushRef(push_id=1, idempotency_key=ctx.idempotency_key, reference=ctx.external_number,
                   external_id=result.external_id, pushed_at=datetime.now(timezone.utc))


def vc_order(number: str):
    return contexts.order(number=number, external_number=f"{number}-ES1", idempotency_key=f"k-{number}",
                          items=[contexts.item(1, product_settings={"offer_id": "OFFER-1"})])


@pytest.mark.parametrize("source", ["ours", "veracore"])
def test_veracore_order_id_source(sims, source):
    sim = veracore_account(f"{sims['veracore']}", caller_ids=source == "ours",
                           namespace="http://omscom/" if source == "ours" else "http://sma-promail/")
    settings = {"order_id_source": source, "namespace": "http://omscom/" if source == "ours" else "http://sma-promail/"}
    ctx = vc_order("W-7")
    first = VeraCore(sim.credentials, settings).push_order(ctx)
    assert (first.external_id == "W-7-ES1") is (source == "ours")
    # A re-push after success: by our id ("already exists" → look-up) or by the id remembered.
    again = VeraCore(sim.credentials, settings).push_order(vc_order("W-7") if source == "ours" else
                                                           contexts.order(**{**ctx.__dict__, "checkpoint": {},
                                                                             "existing_external_id": first.external_id}))
    assert again.external_id == first.external_id
    assert sim.stats()["orders"] == 1
    assert sim.order_numbers() == ["W-7-ES1"]


@pytest.mark.parametrize("scope", ["all", "shipped"])
def test_veracore_status_scope(sims, scope):
    sim = veracore_account(f"{sims['veracore']}")
    client = VeraCore(sim.credentials, {"status_scope": scope})
    shipped_ctx, held_ctx = vc_order("W-1"), vc_order("W-2")
    shipped, held = client.push_order(shipped_ctx), client.push_order(held_ctx)
    sim.ship(shipped.external_id, tracking_id="1ZS")
    sim.advance(held.external_id, "Hold")
    updates = list(VeraCore(sim.credentials, {"status_scope": scope}).fetch_status_updates(
        [ref(shipped_ctx, shipped), ref(held_ctx, held)]))
    by_key = {}
    for update in updates:
        by_key.setdefault(update.push_key, set()).add(update.external_status)
    assert by_key[shipped_ctx.idempotency_key] == {"Shipped"}
    assert ("k-W-2" in by_key) is (scope == "all")  # "shipped" only asks about orders in the activity window


@pytest.mark.parametrize("field", ["order_no", "project_name"])
def test_midnight_reference_field(sims, field):
    sim = midnight_account(f"{sims['midnight']}")
    settings = {"reference_field": field, "default_service_id": "500"}
    ctx = contexts.order(customer=CustomerContext(email="a@example.test", settings={"external_id": "1001"}),
                         external_number="W-5-ES1")
    first = Midnight(sim.credentials, settings).push_order(ctx)
    orders = sim.orders()
    assert (orders[0]["OrderNumber"] == "W-5-ES1") is (field == "order_no")
    assert (orders[0]["ProjectName"] == "W-5-ES1") is (field == "project_name")
    again = Midnight(sim.credentials, settings).push_order(contexts.order(
        customer=ctx.customer, external_number="W-5-ES1", existing_external_id=first.external_id))
    assert again.external_id == first.external_id and sim.stats()["orders"] == 1
    assert sim.order_numbers() == ["W-5-ES1"]


def test_midnight_unknown_customer_and_bad_token_against_the_simulator(sims):
    sim = midnight_account(f"{sims['midnight']}")
    ctx = contexts.order(customer=CustomerContext(email="a@example.test", settings={"external_id": "4242"}))
    with pytest.raises(pe.ProviderRejected, match="invalid customer id"):
        Midnight(sim.credentials, {"default_service_id": "500"}).push_order(ctx)
    with pytest.raises(pe.ProviderAuthError):
        Midnight({**sim.credentials, "dev_token": "not-the-token"}, {}).test_connection()


@pytest.mark.parametrize("mode,orders", [("po_per_ship_to", 2), ("single", 1)])
@pytest.mark.parametrize("status_key", ["orderID", "sourceOrderID"])
def test_presswise_multi_destination_and_status_key(sims, mode, orders, status_key):
    sim = presswise_account(f"{sims['presswise']}")
    settings = {"multi_destination": mode, "status_key": status_key}
    ctx = contexts.order(site_settings={"mis_id": "1001"}, external_number="W-9-ES1", idempotency_key="k-9",
                         items=[contexts.item(1, external_number="W-9-ES1-1"),
                                contexts.item(2, external_number="W-9-ES1-2", ship_to=contexts.OFFICE)])
    result = Presswise(sim.credentials, settings).push_order(ctx)
    stored = sim.orders()
    assert len(stored) == orders and sim.order_numbers() == ["W-9-ES1"] * orders
    assert [bool(o["shipTo"]) for o in stored] == [mode == "po_per_ship_to"] * orders
    last = result.external_id.split(",")[-1]
    sim.set_status(last, status="Shipped", items={"W-9-ES1-2": {"status": "Shipped", "trackingNumber": "TRK-2",
                                                               "shipMethod": "UPS", "shipDate": "2026-11-30"}})
    updates = list(Presswise(sim.credentials, settings).fetch_status_updates([ref(ctx, result)]))
    tracked = [u for u in updates if u.shipment]
    assert [(u.item_numbers, u.shipment.tracking_number) for u in tracked] == [(["W-9-ES1-2"], "TRK-2")]
