"""Stopping workers: real `python worker.py` processes, a real Redis, the sandbox over HTTP.

SIGTERM (warm): the worker takes no new job, a push in hand finishes, a sync slice ends at its
next checkpoint and its next slice waits in the queue; the next worker continues the run
from there — nothing lost, nothing twice. A second SIGTERM (cold): the job is killed, and the
database recovers it (the push's lease expires, the run resumes from its checkpoint).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import requests
from rq import Worker

from sandbox.testing import run_sandbox
from webapp.embedded.runs import _job_waiting, request_run
from webapp.extensions import db
from webapp.models import Binding, OrderPush, Product, ProviderAccount, RunLogLine, Site, SyncRun
from webapp.queue import get_redis

from . import harness
from .harness import ROOT

PRODUCTS = 3000  # six pages of 500


def _spawn(app, tmp_path, knobs, name: str) -> subprocess.Popen:
    env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], **harness.knobs_env(knobs))
    with open(tmp_path / f"{name}.log", "wb") as log:
        # Its own process group, killed at the end: RQ's scheduler child outlives its worker.
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _until(lambda: any(w.pid == proc.pid for w in Worker.all(connection=get_redis())), 30,
           lambda: f"{name} did not register:\n{_logs(tmp_path)}")
    return proc


def _until(predicate, seconds: float, message=lambda: "timed out") -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message())
        time.sleep(0.1)
        db.session.rollback()


def _logs(tmp_path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(tmp_path.glob("*.log")))


def _until_a_call_is_in_flight(api: str, calls_before: int, tmp_path) -> None:
    """Wait until the simulator has received a (slow) request after ``calls_before``: a stop sent
    now finds the push inside that call for seconds."""
    _until(lambda: harness.injected(api)["slow"] > calls_before, 30, lambda: _logs(tmp_path))


def _exited(proc: subprocess.Popen, tmp_path, seconds: float = 30) -> int:
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not stop within {seconds:.0f}s:\n{_logs(tmp_path)}") from None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _push(order_id: int) -> OrderPush:
    db.session.expire_all()
    return OrderPush.query.filter_by(order_id=order_id).one()


def _run(run_id: int) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _set_up(app, monkeypatch, **knobs):
    knobs = harness.fast_knobs(SYNC_SLICE_PAGES=50, SYNC_SLICE_SECONDS=0, **knobs)  # a slice = the whole sync
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    world = harness.build_world([base_of(app)], sites=1, orders=2, ineligible_every=0,
                                providers=harness.only("shipstation"))
    [account_id] = world.accounts
    api = world.api_bases[account_id]
    sim = world.accounts[account_id]
    requests.post(f"{api}/_sim/products", json={"api_key": sim.api_key, "generate": PRODUCTS, "categories": 3},
                  timeout=30).raise_for_status()
    harness.set_faults(api, slow_rate=1.0, slow_seconds=1.0)  # every answer takes a second
    return knobs, world, account_id, api, sim


def base_of(app) -> str:
    return app.config["_test_sandbox"]


def _start_products_run(world, account_id) -> int:
    account = db.session.get(ProviderAccount, account_id)
    run = request_run(account, ["products"], "ops@example.test", site=db.session.get(Site, world.site_ids[0]))
    return run.id


def test_sigterm_lets_a_push_finish_and_hands_a_sync_over_at_its_checkpoint(app, app_ctx, tmp_path, monkeypatch):
    base, stop_sandbox = run_sandbox()
    monkeypatch.setitem(app.config, "_test_sandbox", base)
    procs = []
    try:
        knobs, world, account_id, api, sim = _set_up(app, monkeypatch)
        order_id = world.eligible[0]

        # A push in flight: SIGTERM to the worker's process group (worker and scheduler; RQ's
        # work horse has a group of its own and hears it from its worker).
        first = _spawn(app, tmp_path, knobs, "worker-1")
        procs.append(first)
        harness.pay([order_id])
        _until(lambda: _push(order_id).state == "pushing", 20, lambda: _logs(tmp_path))
        os.killpg(first.pid, signal.SIGTERM)
        assert _exited(first, tmp_path) == 0
        assert _push(order_id).state == "pushed"  # finished before the worker left
        assert sim.stats()["orders"] == 1

        # A sync slice in flight: SIGTERM to every process of the worker, the work horse included
        # (what systemd's default KillMode does). The slice stops at its next checkpoint.
        second = _spawn(app, tmp_path, knobs, "worker-2")
        procs.append(second)
        own = Product.query.filter_by(site_id=world.site_ids[0]).count()  # the world's own product
        run_id = _start_products_run(world, account_id)
        _until(lambda: _run(run_id).progress_done >= 500, 30, lambda: _logs(tmp_path))
        for proc in [psutil.Process(second.pid), *psutil.Process(second.pid).children(recursive=True)]:
            proc.send_signal(signal.SIGTERM)
        assert _exited(second, tmp_path) == 0
        run = _run(run_id)
        assert run.state == "running" and 500 <= run.progress_done < PRODUCTS, (run.state, run.progress_done)
        assert _job_waiting(run), "its next slice waits in the queue for the next worker"
        handed_over_at = run.progress_done
        assert Product.query.filter_by(site_id=world.site_ids[0]).count() - own == run.created == handed_over_at

        harness.reset_faults(api)
        procs.append(_spawn(app, tmp_path, knobs, "worker-3"))
        _until(lambda: not _run(run_id).active, 60, lambda: _logs(tmp_path))
        run = _run(run_id)
        assert run.state == "finished", (run.error, _logs(tmp_path))
        assert (run.created, run.updated, run.failed) == (PRODUCTS, 0, 0)
        assert Product.query.filter_by(site_id=world.site_ids[0]).count() - own == PRODUCTS
        assert Binding.query.filter_by(account_id=account_id, kind="product").count() == PRODUCTS
        # Continued from the queue, not recovered as a lost job.
        assert not RunLogLine.query.filter(RunLogLine.run_id == run_id,
                                           RunLogLine.message.contains("was lost")).count()
    finally:
        for proc in procs:
            _kill_group(proc)
        stop_sandbox()


def test_a_second_sigterm_kills_the_job_and_the_database_recovers_it(app, app_ctx, tmp_path, monkeypatch):
    base, stop_sandbox = run_sandbox()
    monkeypatch.setitem(app.config, "_test_sandbox", base)
    procs = []
    try:
        # The killed push's lease (40 s) outlasts the second worker: recovered while that worker
        # syncs, the push would be taken between two pages and the second stop would kill the
        # push again instead of the slice. The third worker recovers it.
        knobs, world, account_id, api, sim = _set_up(app, monkeypatch, lease=40, run_stale=3, maintenance=1,
                                                     rq_maintenance=2, read_timeout=15)
        # Every answer takes 8 s: a stop sent as soon as the test sees "pushing" (or a page's
        # progress) still finds the work horse inside its call 1.5 s later, even on a busy
        # machine where the test notices late. With 3 s, a late look let the page finish and the
        # slice hand over at its checkpoint: the warm path, not the one this test is about.
        harness.set_faults(api, slow_rate=1.0, slow_seconds=8.0)
        order_id = world.eligible[0]

        def cold_stop(proc):
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.5)  # RQ ignores a second signal within a second of the first
            proc.send_signal(signal.SIGTERM)
            assert _exited(proc, tmp_path) == 0

        first = _spawn(app, tmp_path, knobs, "worker-1")
        procs.append(first)
        calls = harness.injected(api)["slow"]
        harness.pay([order_id])
        _until(lambda: _push(order_id).state == "pushing", 20, lambda: _logs(tmp_path))
        _until_a_call_is_in_flight(api, calls, tmp_path)
        cold_stop(first)
        assert _push(order_id).state == "pushing"  # killed inside the provider call: its lease holds it

        second = _spawn(app, tmp_path, knobs, "worker-2")
        procs.append(second)
        own = Product.query.filter_by(site_id=world.site_ids[0]).count()  # the world's own product
        run_id = _start_products_run(world, account_id)
        # Page 1 written: the slice now waits for page 2, read ahead since page 1 arrived (not
        # "a request in flight": the next page is always on the wire, even while one is written).
        _until(lambda: _run(run_id).progress_done >= 500, 30, lambda: _logs(tmp_path))
        cold_stop(second)
        run = _run(run_id)
        assert run.state == "running" and run.progress_done < PRODUCTS

        harness.reset_faults(api)
        procs.append(_spawn(app, tmp_path, knobs, "worker-3"))
        _until(lambda: _push(order_id).state == "pushed" and not _run(run_id).active, 90,
               lambda: f"{_push(order_id).state} {_run(run_id).state} {_run(run_id).progress_done}\n{_logs(tmp_path)}")
        stats = sim.stats()
        assert stats["orders"] == 1 and stats["duplicates"] == 0  # the killed push was not sent twice
        run = _run(run_id)
        assert run.state == "finished", (run.error, _logs(tmp_path))
        assert (run.created, run.failed) == (PRODUCTS, 0)
        assert Product.query.filter_by(site_id=world.site_ids[0]).count() - own == PRODUCTS
        assert RunLogLine.query.filter(RunLogLine.run_id == run_id,
                                       RunLogLine.message.contains("continues from its checkpoint")).count() == 1
    finally:
        for proc in procs:
            _kill_group(proc)
        stop_sandbox()
