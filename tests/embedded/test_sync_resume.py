"""Long synchronizations against real limits: pause at a rate limit and resume where they were,
end states that never hide unprocessed records, weighted monotonic progress, a log cap that
keeps errors, and bindings per (account, site). Real workers, real Redis, the ShipStation
simulator over real HTTP."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from webapp.embedded.catalog_sync import CategoryResolver
from webapp.embedded.run_context import RunContext
from webapp.embedded.runs import recover_stale_runs, request_run
from webapp.extensions import db
from webapp.models import Binding, Category, Product, RunLogLine, SyncRun, utcnow
from webapp.providers.base import RemoteCategory
from webapp.queue import SYNC, get_queue

from .conftest import new_shipstation_sim


def _run(run_id) -> SyncRun:
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def _log(run_id, level: str | None = None) -> list[str]:
    query = RunLogLine.query.filter_by(run_id=run_id)
    if level:
        query = query.filter_by(level=level)
    return [line.message for line in query.order_by(RunLogLine.id)]


def _limits(limit: int, window: float) -> dict:
    """Our limiter with the provider's declared 40 per window, compressed like the simulator's."""
    return {"PROVIDER_RATE_LIMITS": json.dumps({"shipstation": [limit, window]})}


def _drive(run_id, run_worker, on_sample=None, bursts: int = 40, **env) -> list[tuple]:
    """Burst workers until the run ends; a waiting run is resumed by the RQ scheduler of the
    next worker once its resume time has come. Returns (state, percent, done, total) after
    every burst."""
    samples = []
    for _ in range(bursts):
        run_worker(**env)
        run = _run(run_id)
        samples.append((run.state, run.percent, run.progress_done, run.progress_total))
        if on_sample:
            on_sample(run)
        if not run.active:
            return samples
        if run.resume_at is not None:
            time.sleep(max(0.0, (run.resume_at - utcnow()).total_seconds()) + 0.1)
    raise AssertionError(f"run {run_id} still active after {bursts} workers: {samples}")


def _cli_report(app, run_id) -> dict:
    out = app.test_cli_runner().invoke(args=["embedded", "run", str(run_id), "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def _product_reads(sim) -> int:
    recorded = requests.get(f"{sim.api}/_sim/requests", timeout=10).json()["requests"]
    return sum(1 for r in recorded if r["path"].endswith("/products") and r.get("method", "GET") == "GET")


# Rate-limit windows against the pace of real workers: run with the serial suites (make test).
@pytest.mark.serial
def test_5000_products_behind_4_requests_per_window_all_arrive(app, factory, sandbox, make_shipstation_account,
                                                              run_worker):
    site = factory.site()
    sim = new_shipstation_sim(sandbox, rate_limit=4, window_seconds=6)  # 4 a minute, compressed
    account, _ = make_shipstation_account(site, sim=sim)
    sim.control("POST", "products", generate=5000, categories=7)
    run = request_run(account, ["products", "categories"], "ops@example.test", site=site)
    waiting_reports = []

    def seen(run):
        if run.state == "waiting":
            waiting_reports.append(_cli_report(app, run.id))

    samples = _drive(run.id, run_worker, on_sample=seen, SYNC_SLICE_PAGES=3, **_limits(40, 6))
    run = _run(run.id)
    assert run.state == "finished", (run.error, samples)
    assert (run.created, run.updated, run.failed) == (5000 + 7, 0, 0)
    assert Product.query.filter_by(site_id=site.id).count() == 5000
    assert Category.query.filter(Category.site_id == site.id, Category.parent_id.isnot(None)).count() == 7
    assert run.pauses >= 1 and run.percent == 100
    # Categories come from the same pages: the product list (10 pages of 500) is read once.
    assert _product_reads(sim) == 10
    # The provider's "remaining 0" was honoured: the simulator never had to answer 429.
    assert sim.stats()["rate_limited"] == 0
    assert waiting_reports, samples
    report = waiting_reports[0]
    assert report["state"] == "waiting" and re.fullmatch(
        r"waiting for the rate limit, resumes at \d\d:\d\d:\d\d UTC", report["waiting"]), report
    assert any("resumes at" in line for line in _log(run.id, "warning"))


@pytest.mark.serial
@pytest.mark.parametrize("spent", [3, 4], ids=["remaining-0", "429"])
def test_a_key_shared_with_another_app_pauses_before_our_limiter_would(spent, factory, sandbox,
                                                                       make_shipstation_account, run_worker):
    """Another app spent the key's window: ShipStation says Remaining 0 (or answers 429) on our
    first request, although our own limiter has used nothing yet."""
    site = factory.site()
    sim = new_shipstation_sim(sandbox, rate_limit=4, window_seconds=10)
    account, _ = make_shipstation_account(site, sim=sim)
    sim.control("POST", "products", generate=1000, categories=0)
    run = request_run(account, ["products"], "ops@example.test", site=site)
    for _ in range(spent):  # the other app
        assert requests.get(f"{sim.api}/stores", auth=(sim.api_key, sim.api_secret), timeout=10).ok
    _drive(run.id, run_worker, **_limits(40, 10))
    run = _run(run.id)
    assert run.state == "finished", run.error
    assert run.created == 1000 and run.failed == 0 and run.pauses >= 1
    assert (sim.stats()["rate_limited"] >= 1) == (spent == 4)


READY = {"approval": "approved"}
NO_COUNTRY = {"name": "No Country", "street1": "1 St", "city": "Austin", "country": ""}


def test_a_run_with_a_rejected_record_ends_partial_with_its_error(app, client, login, factory,
                                                                   make_shipstation_account, run_worker):
    site = factory.site()
    factory.order(site, paid=True, items=[READY])
    factory.order(site, paid=True, items=[{**READY, "ship_to": NO_COUNTRY}])
    account, _ = make_shipstation_account(site)
    run = request_run(account, ["orders"], "ops@example.test", site=site)
    run_worker()
    run = _run(run.id)
    assert (run.state, run.created, run.failed) == ("partial", 1, 1)
    assert "1 record(s) could not be processed" in run.error
    assert _cli_report(app, run.id)["error"] == run.error
    login(factory.admin(sites=[site]))
    html = client.get(f"/sync/runs/{run.id}/panel", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "status-partial" in html and "bg-warning" in html and "could not be processed" in html


def test_an_orders_sync_stopped_by_a_429_waits_and_its_orders_are_pushed_at_the_reset(factory, sandbox,
                                                                                      make_shipstation_account,
                                                                                      run_worker):
    site = factory.site()
    orders = [factory.order(site, paid=True, items=[READY]) for _ in range(3)]
    sim = new_shipstation_sim(sandbox, rate_limit=40, window_seconds=2)
    account, _ = make_shipstation_account(site, sim=sim)
    sim.faults(rate_limit_burst=1)  # the bulk request meets a 429 (a budget shared with another app)
    run = request_run(account, ["orders"], "ops@example.test", site=site)
    _drive(run.id, run_worker)
    run = _run(run.id)
    assert run.state == "finished" and run.pauses == 1 and (run.skipped, run.failed) == (3, 0), run.error
    assert sum("rate limited; its push is retried" in line for line in _log(run.id, "warning")) == 3
    assert {o["orderNumber"] for o in sim.orders()} == {f"{o.number}-ES{account.id}" for o in orders}


def test_a_run_that_processed_nothing_ends_failed_with_the_providers_words(app, factory, make_shipstation_account,
                                                                           run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    account.credentials = {**account.credentials, "api_secret": "wrong-secret"}
    db.session.commit()
    run = request_run(account, ["products", "categories"], "ops@example.test", site=site)
    run_worker()
    run = _run(run.id)
    assert run.state == "failed" and run.created == run.unchanged == 0
    assert "products and categories stopped" in run.error
    report = _cli_report(app, run.id)
    assert report["state"] == "failed" and report["error"] == run.error


def test_the_log_cap_keeps_every_warning_and_error_and_counts_dropped_lines(factory, make_shipstation_account,
                                                                             run_worker):
    site = factory.site()
    factory.order(site, paid=False, items=[READY])                      # warning: not paid
    factory.order(site, paid=True, items=[{**READY, "ship_to": NO_COUNTRY}])  # error: rejected
    account, sim = make_shipstation_account(site)
    # Info lines: one per category created (11) and one for the page's 12 products.
    sim.control("POST", "products", generate=12, categories=11)
    run = request_run(account, ["products", "orders"], "ops@example.test", site=site)
    run_worker(RUN_LOG_INFO_LINES=5)
    run = _run(run.id)
    assert run.created == 12 and run.state == "partial"
    assert len(_log(run.id, "info")) == 5
    warnings, errors = _log(run.id, "warning"), _log(run.id, "error")
    assert any("not marked as paid" in line for line in warnings)
    assert any("failed" in line and "shipTo.country" in line for line in errors)
    [truncation] = [line for line in warnings if line.startswith("Log truncated")]
    assert "7 later info line(s) were dropped" in truncation  # 12 info lines, 5 kept


@pytest.mark.serial
def test_progress_is_weighted_monotonic_and_bounded(factory, sandbox, make_shipstation_account, run_worker):
    """One request per window: every worker handles one page, then the run waits."""
    from webapp.embedded.activation import set_activation

    a, b = factory.site(name="Alpha"), factory.site(name="Beta")
    sim = new_shipstation_sim(sandbox, rate_limit=1, window_seconds=3)
    account, _ = make_shipstation_account(a, sim=sim)
    set_activation(account, b, enabled=True, is_live=True)
    sim.control("POST", "products", generate=1000, categories=2)
    run = request_run(account, ["products", "categories", "status"], "admin@example.test")
    samples = _drive(run.id, run_worker, **_limits(40, 3))
    states, percents = [s[0] for s in samples], [s[1] for s in samples]
    assert states[-1] == "finished" and percents[-1] == 100, samples
    assert len(samples) >= 4 and all(state == "waiting" for state in states[:-1]), samples
    assert percents == sorted(percents) and len(set(percents)) == len(percents), samples  # always moving forward
    assert all(0 <= p < 100 for p in percents[:-1]) and all(done <= total for _, _, done, total in samples)
    # Half of Alpha's products are half of 3 of 8 weight units — not 99 %.
    assert percents[0] < 25 and 40 <= percents[1] <= 60, samples


def test_global_sync_on_two_sites_creates_on_both_then_reports_unchanged(factory, make_shipstation_account,
                                                                         run_worker):
    from webapp.embedded.activation import set_activation

    a, b = factory.site(name="Alpha"), factory.site(name="Beta")
    account, sim = make_shipstation_account(a)
    set_activation(account, b, enabled=True, is_live=True)
    sim.control("POST", "products", products=[
        {"sku": "BC-1", "name": "Cards", "productCategory": {"categoryId": 11, "name": "Cards"}},
        {"sku": "FL-1", "name": "Flyer", "productCategory": {"categoryId": 12, "name": "Flyers"}},
        {"sku": "MUG", "name": "Mug"},
    ])
    run = request_run(account, ["products", "categories"], "admin@example.test")
    run_worker()
    run = _run(run.id)
    assert run.state == "finished" and (run.created, run.unchanged) == (2 * (3 + 2), 0), run.error
    for site in (a, b):
        products = Product.query.filter_by(site_id=site.id).all()
        assert sorted(p.sku for p in products) == ["BC-1", "FL-1", "MUG"]
        assert all(p.category.site_id == site.id for p in products)
        assert Binding.query.filter_by(account_id=account.id, site_id=site.id, kind="product").count() == 3
        assert Binding.query.filter_by(account_id=account.id, site_id=site.id, kind="category").count() == 2
    again = request_run(account, ["products", "categories"], "admin@example.test")
    run_worker()
    again = _run(again.id)
    assert again.state == "finished" and (again.created, again.updated, again.unchanged) == (0, 0, 10)


def test_the_category_resolver_never_hands_out_another_sites_category(factory, make_shipstation_account):
    a, b = factory.site(name="Alpha"), factory.site(name="Beta")
    account, _ = make_shipstation_account(a)
    cards_on_a = factory.category(a, name="Cards")
    # Bound on Alpha; and a stray binding that claims Beta but points at Alpha's category.
    db.session.add_all([
        Binding(account_id=account.id, site_id=a.id, kind="category", local_id=cards_on_a.id, external_id="11"),
        Binding(account_id=account.id, site_id=b.id, kind="category", local_id=cards_on_a.id + 10_000,
                external_id="12"),
    ])
    run = SyncRun(account_id=account.id, site_id=b.id, items=["categories"], started_by="t", state="running")
    db.session.add(run)
    db.session.commit()
    resolver = CategoryResolver(RunContext(run), account.id, b)
    for external_id in ("11", "12"):
        local = db.session.get(Category, resolver.local_id(RemoteCategory(external_id, "Cards")))
        assert local.site_id == b.id


def test_a_paused_run_is_left_alone_and_a_lost_job_resumes_from_its_checkpoint(app, factory,
                                                                               make_shipstation_account,
                                                                               run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    sim.control("POST", "products", generate=30, categories=0)
    run = request_run(account, ["products"], "ops@example.test", site=site)
    get_queue(SYNC).empty()  # its job is lost (Redis flushed, worker killed...)
    long_ago = utcnow() - timedelta(hours=1)
    # Waiting for a rate limit that resets in the future: alive, even with an old heartbeat.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        state="waiting", slice_no=1, heartbeat_at=long_ago, resume_at=utcnow() + timedelta(minutes=5)))
    db.session.commit()
    assert recover_stale_runs() == 0 and _run(run.id).state == "waiting"
    # Its worker died mid-slice: running, silent, no job. It continues from its checkpoint.
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
        state="running", heartbeat_at=long_ago, resume_at=None))
    db.session.commit()
    assert recover_stale_runs() == 1
    assert _run(run.id).state == "queued" and _run(run.id).active_key
    run_worker()
    run = _run(run.id)
    assert run.state == "finished" and run.created == 30, run.error
    assert any("continues from its checkpoint" in line for line in _log(run.id, "warning"))


def test_a_queued_run_whose_job_is_gone_is_queued_again_after_the_stale_time(app, factory, make_shipstation_account,
                                                                              monkeypatch):
    """Redis flushed or restarted under a queued run: after RUN_STALE_QUEUED_SECONDS it gets a new
    job (it blocked every new run of its account until then); a run whose job still waits in
    the queue is left alone however old."""
    monkeypatch.setitem(app.config, "RUN_STALE_QUEUED_SECONDS", 60)
    site = factory.site()
    account, _ = make_shipstation_account(site)
    run = request_run(account, ["products"], "ops", site=site)
    old = utcnow() - timedelta(seconds=61)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(queued_at=old))
    db.session.commit()
    assert recover_stale_runs() == 0 and _run(run.id).slice_no == 0  # its job waits: a long queue
    get_queue(SYNC).empty()  # the job is gone
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(queued_at=utcnow() - timedelta(seconds=30)))
    db.session.commit()
    assert recover_stale_runs() == 0  # not stale yet
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(queued_at=old))
    db.session.commit()
    assert recover_stale_runs() == 1
    run = _run(run.id)
    assert run.state == "queued" and run.slice_no == 1 and len(get_queue(SYNC)) == 1


def test_a_run_lost_again_and_again_ends_failed_and_frees_its_slot(app, factory, make_shipstation_account,
                                                                  monkeypatch):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    run = request_run(account, ["products"], "ops", site=site)
    get_queue(SYNC).empty()
    monkeypatch.setitem(app.config, "SYNC_MAX_RECOVERIES", 1)
    for expected in ("queued", "failed"):
        db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(
            state="running", heartbeat_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
        get_queue(SYNC).empty()
        assert recover_stale_runs() == 1
        assert _run(run.id).state == expected
    run = _run(run.id)
    assert "stopped" in run.error and run.active_key is None
    request_run(account, ["products"], "ops", site=site)  # a new run is allowed again


def test_migration_0007_gives_existing_bindings_the_site_of_their_record(app, factory, make_shipstation_account):
    from flask_migrate import downgrade, upgrade

    a, b = factory.site(name="Alpha"), factory.site(name="Beta")
    account, _ = make_shipstation_account(a)
    product, category = factory.product(b, sku="OLD-1"), factory.category(a, name="Old")
    account_id, product_id, category_id, a_id, b_id = account.id, product.id, category.id, a.id, b.id
    db.session.commit()
    db.session.remove()
    downgrade(revision="0006")
    try:
        with db.engine.begin() as conn:
            for kind, local_id, external_id in (("product", product_id, "P1"), ("category", category_id, "C1"),
                                                ("product", 999_999, "GONE")):
                conn.execute(db.text("INSERT INTO bindings (account_id, kind, local_id, external_id, data, "
                                     "data_hash, synced_at) VALUES (:a, :k, :l, :e, '{}', 'h', CURRENT_TIMESTAMP)"),
                             {"a": account_id, "k": kind, "l": local_id, "e": external_id})
    finally:
        upgrade()
    sites = {b.external_id: b.site_id for b in Binding.query.filter_by(account_id=account_id)}
    assert sites == {"P1": b_id, "C1": a_id, "GONE": None}
