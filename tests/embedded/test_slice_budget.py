"""A sync slice's page budget: SYNC_SLICE_PAGES at most, about SYNC_SLICE_SECONDS' worth at the
pace earlier slices measured, and nothing more once the worker was asked to stop."""
from __future__ import annotations

import time

import pytest

from webapp import queue
from webapp.embedded.run_slices import Budget


def test_pages_follow_the_measured_pace_within_the_page_cap():
    assert Budget(10, 0).left == 10                        # pacing off: the page count alone
    assert Budget(10, 1.0).left == 1                       # no pace known yet: one page measures it
    assert Budget(10, 1.0, page_seconds=0.25).left == 4    # four pages fit in a second
    assert Budget(10, 1.0, page_seconds=0.01).left == 10   # never more than the cap
    assert Budget(10, 1.0, page_seconds=3.0).left == 1     # a slow page still makes progress


def test_pace_is_smoothed_and_unchanged_when_nothing_was_spent():
    budget = Budget(10, 1.0, page_seconds=0.5)
    assert budget.pace(0.5) == 0.5                       # no page handled: nothing learnt
    budget.spend()
    assert 0.25 <= budget.pace(0.5) < 0.5 + 1            # halfway between old and measured


def test_a_stop_request_exhausts_the_budget(monkeypatch):
    budget = Budget(10, 0)
    assert not budget.exhausted
    monkeypatch.setattr(queue, "_stop_requested", True)
    assert budget.exhausted


@pytest.fixture(autouse=True)
def _no_stop_left_behind(monkeypatch):
    monkeypatch.setattr(queue, "_stop_requested", False)


def test_a_bulk_push_chunk_is_cut_short_for_a_waiting_push_and_goes_on_from_there(factory, make_shipstation_account):
    """One worker: while a global push prepares its chunk, a push that starts waiting is taken
    after the orders prepared so far are sent — the rest follows in the next slice, once each."""
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run
    from webapp.extensions import db
    from webapp.models import SyncRun
    from webapp.queue import PUSH, get_queue

    site = factory.site()
    orders = [factory.order(site, paid=True, items=[{"approval": "approved"}]) for _ in range(4)]
    account, sim = make_shipstation_account(site)  # live after the orders existed: nothing auto-pushed
    run = request_run(account, ["orders"], "ops", site=site)
    waiting = get_queue(PUSH).enqueue("webapp.queue.ping_job", "x")  # someone clicked Push Order
    assert execute_run(run.id, 0) == "running"
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert (run.created, run.progress_done) == (1, 1)  # one order sent, the chunk ended for the push
    waiting.delete()
    while run.active:
        execute_run(run.id, run.slice_no)
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
    assert run.state == "finished" and run.created == 4
    assert sorted(o["orderNumber"] for o in sim.orders()) == sorted(f"{o.number}-ES{account.id}" for o in orders)


def test_a_slice_of_several_bulk_chunks_goes_on_from_each_chunk_to_the_next(factory, make_shipstation_account,
                                                                           app, monkeypatch):
    """Several chunks in one slice: each chunk starts after the previous one (the cursor kept
    in hand, not only in the checkpoint) — no order is read, counted or reported twice."""
    from webapp.embedded import order_sync
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run
    from webapp.extensions import db
    from webapp.models import RunLogLine, SyncRun

    monkeypatch.setattr(order_sync, "CHUNK", 2)
    monkeypatch.setitem(app.config, "SYNC_SLICE_PAGES", 10)
    monkeypatch.setitem(app.config, "SYNC_SLICE_SECONDS", 0)  # no pacing: the page cap alone
    site = factory.site()
    orders = [factory.order(site, paid=True, items=[{"approval": "approved"}]) for _ in range(5)]
    account, sim = make_shipstation_account(site)
    run = request_run(account, ["orders"], "ops", site=site)
    state = execute_run(run.id, 0)
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    while run.active:
        execute_run(run.id, run.slice_no)
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
    assert state in ("running", "finished") and run.state == "finished"
    assert (run.created, run.unchanged, run.skipped) == (5, 0, 0)
    pushed_lines = [line.order_id for line in RunLogLine.query.filter_by(run_id=run.id)
                    if line.message.endswith(f"-ES{account.id}.")]
    assert sorted(pushed_lines) == sorted(o.id for o in orders)
    assert len(sim.orders()) == 5


def _five_orders_in_chunks_of_two(factory, make_shipstation_account, app, monkeypatch):
    """Five ready orders on a live ShipStation site, a bulk sync reading chunks of two, one
    slice long enough for all of them: (site, orders, account, sim)."""
    from webapp.embedded import order_sync

    monkeypatch.setattr(order_sync, "CHUNK", 2)
    monkeypatch.setitem(app.config, "SYNC_SLICE_PAGES", 10)
    monkeypatch.setitem(app.config, "SYNC_SLICE_SECONDS", 0)
    site = factory.site()
    orders = [factory.order(site, paid=True, items=[{"approval": "approved"}]) for _ in range(5)]
    account, sim = make_shipstation_account(site)
    return site, orders, account, sim


def test_a_push_waiting_between_bulk_chunks_ends_the_slice_there_not_one_order_into_the_next(
        factory, make_shipstation_account, app, monkeypatch):
    """A push starts waiting while a chunk is being sent: the slice ends after that chunk — it
    does not start the next chunk only to send a bulk request for its first order (a request and
    a chunk's statements per waiting push, bench/starved_push). The next slice goes on from there."""
    from webapp.embedded import order_sync
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run
    from webapp.extensions import db
    from webapp.models import SyncRun
    from webapp.queue import PUSH, get_queue

    site, orders, account, sim = _five_orders_in_chunks_of_two(factory, make_shipstation_account, app, monkeypatch)
    waiting = []
    real_send = order_sync._send

    def chunk_then_a_push_waits(app_, *args):
        outcome = real_send(app_, *args)
        if not waiting:  # someone clicked Push Order while the first chunk was being sent
            with app_.app_context():
                waiting.append(get_queue(PUSH).enqueue("webapp.queue.ping_job", "x"))
            time.sleep(0.15)  # the request took a moment: the slice's look at the queues (every 0.1 s) is due
        return outcome
    monkeypatch.setattr(order_sync, "_send", chunk_then_a_push_waits)
    run = request_run(account, ["orders"], "ops", site=site)
    assert execute_run(run.id, 0) == "running"
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert (run.created, run.progress_done) == (2, 2)  # the whole first chunk, nothing of the second
    assert len(sim.orders()) == 2
    waiting[0].delete()
    while run.active:
        execute_run(run.id, run.slice_no)
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
    assert run.state == "finished" and run.created == 5
    assert sorted(o["orderNumber"] for o in sim.orders()) == sorted(f"{o.number}-ES{account.id}" for o in orders)


def test_a_bulk_request_stopped_by_a_429_is_not_followed_by_the_next_chunks(factory, make_shipstation_account, app,
                                                                           monkeypatch):
    """The next chunk is read while a bulk request is on its way, but it is claimed and sent
    only once that request has answered: after a 429 (a key shared with another app) the run
    waits with one request sent, the next chunk's orders untouched and the cursor after the
    chunk that met the limit."""
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run
    from webapp.extensions import db
    from webapp.models import OrderPush, SyncRun

    site, orders, account, sim = _five_orders_in_chunks_of_two(factory, make_shipstation_account, app, monkeypatch)
    sim.faults(rate_limit_burst=1)
    run = request_run(account, ["orders"], "ops", site=site)
    assert execute_run(run.id, 0) == "waiting"
    assert (sim.stats()["requests"], sim.stats()["rate_limited"]) == (1, 1)
    db.session.expire_all()
    pushed = {p.order_id for p in OrderPush.query.filter_by(account_id=account.id)}
    assert pushed == {orders[0].id, orders[1].id}  # the first chunk only, retried at the reset
    run = db.session.get(SyncRun, run.id)
    assert run.checkpoint["cursor"]["id"] == orders[1].id


def test_a_chunks_skipped_orders_are_counted_with_its_checkpoint_never_twice_after_a_lost_slice(
        factory, make_shipstation_account, app, monkeypatch):
    """The worker dies after chunk 1 is recorded, while chunk 2 (two unpaid orders) is in hand.
    Chunk 2's skips are committed with chunk 2's cursor, not with chunk 1's: the slice that
    resumes from chunk 1's checkpoint counts and logs them once."""
    from webapp.embedded import order_sync
    from webapp.embedded.run_slices import execute_run
    from webapp.embedded.runs import request_run
    from webapp.extensions import db
    from webapp.models import RunLogLine, SyncRun

    class WorkerDied(BaseException):
        """Not an Exception: nothing in the run catches it, as with a killed worker."""

    monkeypatch.setattr(order_sync, "CHUNK", 2)
    monkeypatch.setitem(app.config, "SYNC_SLICE_PAGES", 10)
    monkeypatch.setitem(app.config, "SYNC_SLICE_SECONDS", 0)
    site = factory.site()
    for paid in (True, True, False, False):
        factory.order(site, paid=paid, items=[{"approval": "approved"}])
    account, sim = make_shipstation_account(site)
    real_record = order_sync._record

    def record_then_die(ctx, sent, **kwargs):
        real_record(ctx, sent, **kwargs)
        raise WorkerDied
    monkeypatch.setattr(order_sync, "_record", record_then_die)
    run = request_run(account, ["orders"], "ops", site=site)
    with pytest.raises(WorkerDied):
        execute_run(run.id, 0)
    db.session.rollback()
    monkeypatch.setattr(order_sync, "_record", real_record)
    run = db.session.get(SyncRun, run.id)
    assert (run.created, run.skipped) == (2, 0)  # chunk 1 only
    for _ in range(5):  # the lost slice's job, queued again from the checkpoint (recover_stale_runs)
        if not run.active:
            break
        execute_run(run.id, run.slice_no)
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
    assert run.state == "finished" and (run.created, run.skipped) == (2, 2)
    unpaid = [line for line in RunLogLine.query.filter_by(run_id=run.id) if "not marked as paid" in line.message]
    assert len(unpaid) == 2
    assert len(sim.orders()) == 2
