"""Shared chaos harness: the small chaos test (tests/resilience/test_chaos_small.py) and the
full run (`make chaos` → scripts/chaos.py) use the same code.

What it does, in the caller's app context:

* starts N sandbox instances (each hosts every simulator) and, for every provider of the
  registry that pushes orders, one simulator account per instance (``sandbox.<sim>.testing``);
* creates sites, one hub account per simulator account and activations (each account live on
  two sites, so every site has several live accounts), and orders — most eligible once paid,
  a few never eligible (an item still pending approval);
* runs real ``python worker.py`` processes (with the RQ scheduler, so the self-rescheduling
  maintenance job recovers lost pushes and runs), SIGKILLs the process group of a busy
  worker at random moments and starts a replacement;
* turns the simulators' fault injection on (timeouts after the order was created, 5xx,
  slow answers, seeded) and fires 429 bursts during the bulk of the run;
* waits (bounded) until no push is queued/pushing and no run queued/running, then checks
  the invariants and builds a report.

The database is the truth: the report reads OrderPush/SyncRun rows and the simulators'
own counters, never RQ job state.
"""
from __future__ import annotations

import importlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]

ACTIVE_PUSH = ("queued", "pushing")
ACTIVE_RUN = ("queued", "running", "waiting")


# --------------------------------------------------------------------------- providers & sims

def push_providers() -> list:
    """Every registered provider that pushes orders (new providers are covered automatically)."""
    from webapp.providers.registry import all_providers

    return [p for p in all_providers().values() if p.capabilities.push_orders]


def only(provider_key: str) -> list:
    """``providers=`` for a test about the hub's infrastructure, written against one provider."""
    from webapp.providers.registry import get_provider_class

    return [get_provider_class(provider_key)]


def simulator_testing_module(provider_key: str):
    """``sandbox.<sim>.testing`` of the simulator mounted for ``provider_key``."""
    from sandbox.registry import SIMULATORS

    for dotted in SIMULATORS:
        spec = getattr(importlib.import_module(dotted), "SIMULATOR")
        if spec.key == provider_key:
            try:
                return importlib.import_module(f"{dotted}.testing"), spec
            except ModuleNotFoundError:
                break
    raise LookupError(
        f"Provider {provider_key!r} pushes orders, but no simulator with a testing module exists for it: add "
        f"sandbox/{provider_key}/ (registered in sandbox/registry.py) with a testing.py offering "
        f"create_account(api_base, rate_limit=, window_seconds=) (see sandbox/shipstation/testing.py).")


def sim_api_base(sandbox_base: str, provider_key: str) -> str:
    _, spec = simulator_testing_module(provider_key)
    return f"{sandbox_base.rstrip('/')}{spec.url_prefix}"


def create_sim_account(sandbox_base: str, provider_key: str, *, rate_limit: int = 40, window_seconds: float = 60):
    module, spec = simulator_testing_module(provider_key)
    return module.create_account(f"{sandbox_base.rstrip('/')}{spec.url_prefix}", rate_limit=rate_limit,
                                 window_seconds=window_seconds)


def set_faults(api_base: str, **config) -> dict:
    response = requests.post(f"{api_base}/_sim/faults", json=config, timeout=10)
    response.raise_for_status()
    return response.json()


def reset_faults(api_base: str) -> dict:
    response = requests.delete(f"{api_base}/_sim/faults", timeout=10)
    response.raise_for_status()
    return response.json()


def injected(api_base: str) -> dict:
    response = requests.get(f"{api_base}/_sim/faults", timeout=10)
    response.raise_for_status()
    return response.json()["injected"]


# --------------------------------------------------------------------------- timings

def fast_knobs(*, lease: float = 8, stale_queued: float = 10, run_stale: float = 8, maintenance: float = 1,
               rq_maintenance: int = 5, read_timeout: float = 1.5, backoff: float = 0.3,
               rate_limit: tuple[int, float] = (1000, 2.0), **extra) -> dict:
    """Compressed recovery timings (production: 300 s lease, 120 s stale queue, 30 s maintenance)
    and a per-provider rate limit matching the simulator accounts."""
    knobs = {
        "PUSH_LEASE_SECONDS": lease, "PUSH_STALE_QUEUED_SECONDS": stale_queued, "RUN_STALE_QUEUED_SECONDS": stale_queued,
        "RUN_HEARTBEAT_STALE_SECONDS": run_stale, "MAINTENANCE_INTERVAL_SECONDS": maintenance,
        "RQ_MAINTENANCE_INTERVAL": rq_maintenance, "RQ_WORKER_TTL": 30, "PROVIDER_READ_TIMEOUT": read_timeout,
        "PUSH_BACKOFF_BASE": backoff,
        "PROVIDER_RATE_LIMITS": {p.key: tuple(rate_limit) for p in push_providers()},
    }
    knobs.update(extra)
    return knobs


def knobs_env(knobs: dict) -> dict:
    import json

    return {k: json.dumps({pk: list(v) for pk, v in val.items()}) if isinstance(val, dict) else str(val)
            for k, val in knobs.items()}


def apply_knobs(config, knobs: dict, setitem=None) -> None:
    """Mirror the workers' timings into this process's app config (what it enqueues/recovers)."""
    for key, value in knobs.items():
        if setitem is not None:
            setitem(config, key, value)  # e.g. monkeypatch.setitem, undone after the test
        else:
            config[key] = value


# --------------------------------------------------------------------------- worker processes

def hub_env(database_url: str, redis_url: str, **overrides) -> dict:
    """Environment for worker processes: the caller's DB/Redis plus compressed timings."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT),
                "ALLOW_LOOPBACK_PROVIDER_URLS": "1"})
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class WorkerPool:
    """Real `python worker.py` processes, each in its own process group so a SIGKILL takes the
    work horse and the scheduler process down with it (a lost machine, not a polite stop)."""

    def __init__(self, env: dict, log_dir: Path, count: int):
        self.env, self.log_dir, self.count = env, Path(log_dir), count
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[int, subprocess.Popen] = {}
        self.generation: Counter = Counter()
        self.kills = 0
        self.kills_while_busy = 0
        self.log_files: list[Path] = []

    def spawn(self, slot: int) -> subprocess.Popen:
        self.generation[slot] += 1
        path = self.log_dir / f"worker-{slot}-{self.generation[slot]}.log"
        self.log_files.append(path)
        handle = open(path, "wb")
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=self.env, cwd=ROOT, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        self.procs[slot] = proc
        return proc

    def start(self, redis, scheduler_wait: float = 30) -> None:
        """Worker 0 first, until it holds the RQ scheduler lock; then the others."""
        from webapp.queue import QUEUES

        self.spawn(0)
        deadline = time.monotonic() + scheduler_wait
        # One lock per queue; worker 0 listens to all of them, so it holds every lock.
        while not all(redis.exists(f"rq:scheduler-lock:{name}") for name in QUEUES):
            if time.monotonic() > deadline:
                raise RuntimeError("worker 0 did not take the scheduler lock:\n" + self.logs()[-3000:])
            if self.procs[0].poll() is not None:
                raise RuntimeError("worker 0 exited:\n" + self.logs()[-3000:])
            time.sleep(0.1)
        for slot in range(1, self.count):
            self.spawn(slot)
        self.wait_registered(redis, deadline=time.monotonic() + scheduler_wait)

    def wait_registered(self, redis, deadline: float) -> None:
        """Until every live worker process has registered with RQ (ready to take jobs)."""
        from rq import Worker

        while True:
            pids = {w.pid for w in Worker.all(connection=redis)}
            if all(proc.pid in pids for proc in self.procs.values() if proc.poll() is None):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register:\n" + self.logs()[-3000:])
            time.sleep(0.1)

    def busy_slots(self, redis) -> list[int]:
        from rq import Worker

        busy_pids = {w.pid for w in Worker.all(connection=redis) if w.get_state() == "busy"}
        return [slot for slot, proc in self.procs.items() if proc.poll() is None and proc.pid in busy_pids]

    def kill(self, slot: int, busy: bool = False) -> None:
        proc = self.procs[slot]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        self.kills += 1
        self.kills_while_busy += int(busy)

    def kill_one(self, redis, rng: random.Random, killable: list[int], wait_busy: float = 3.0) -> int | None:
        """SIGKILL a killable worker, preferably one in the middle of a job, and replace it."""
        deadline = time.monotonic() + wait_busy
        while True:
            busy = [s for s in self.busy_slots(redis) if s in killable]
            if busy or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        candidates = busy or [s for s in killable if self.procs[s].poll() is None]
        if not candidates:
            return None
        slot = rng.choice(sorted(candidates))
        self.kill(slot, busy=bool(busy))
        self.spawn(slot)
        return slot

    def alive(self) -> int:
        return sum(1 for p in self.procs.values() if p.poll() is None)

    def stop(self, timeout: float = 15) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_files if p.exists())


# --------------------------------------------------------------------------- the world

@dataclass
class World:
    site_ids: list[int]
    accounts: dict[int, object]                 # hub account id -> simulator account handle
    api_bases: dict[int, str]                   # hub account id -> simulator API base
    live: dict[int, list[int]]                  # site id -> live account ids
    eligible: list[int] = field(default_factory=list)
    ineligible: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    admin_email: str = ""                       # a super-admin, password "secret-pass"


def build_world(sandbox_bases: list[str], *, sites: int = 3, orders: int = 40, ineligible_every: int = 20,
                rng: random.Random | None = None, sim_rate_limit: int = 100_000, sim_window: float = 60.0,
                providers: list | None = None) -> World:
    """Sites, accounts (one per sandbox instance and push provider) and unpaid orders."""
    import uuid

    from tests.factories import Factory
    from webapp.embedded import install
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import save_entity_settings, set_activation

    rng = rng or random.Random(0)
    factory = Factory()
    admin = factory.admin(email=f"chaos-{uuid.uuid4().hex[:6]}@example.test", is_super=True)
    site_objs = [factory.site(name=f"Chaos site {i + 1}") for i in range(sites)]
    # Every item is of one catalogue product per site, mapped for providers that require it.
    products = {s.id: factory.product(s, sku="CHAOS-CARDS", name="Chaos cards") for s in site_objs}
    customers = {s.id: factory.site_user(s, email="ada@example.test") for s in site_objs}
    accounts, api_bases, live = {}, {}, {s.id: [] for s in site_objs}
    for provider in providers if providers is not None else push_providers():
        install.enable_provider(provider.key)
        for index, base in enumerate(sandbox_bases):
            sim = create_sim_account(base, provider.key, rate_limit=sim_rate_limit, window_seconds=sim_window)
            # PUSH_SETTINGS: {"product"|"site_user"|"site"|"account": {...}} a generic order needs.
            push_settings = getattr(simulator_testing_module(provider.key)[0], "PUSH_SETTINGS", {})
            result = save_account(None, company_id=admin.company_id, name=f"{provider.name} chaos {index + 1}",
                                  provider_key=provider.key, admin_id=admin.id, credentials=sim.credentials,
                                  settings=dict(push_settings.get("account") or {}))
            assert result.ok, result.errors
            account = result.account
            accounts[account.id], api_bases[account.id] = sim, sim_api_base(base, provider.key)
            product_settings = push_settings.get("product")
            for site in (site_objs[index % sites], site_objs[(index + 1) % sites]):
                activation = set_activation(account, site, enabled=True, is_live=True,
                                            settings=push_settings.get("site"))
                assert activation.ok, activation.errors
                if product_settings:
                    assert not save_entity_settings(account, "product", products[site.id].id, product_settings)
                if push_settings.get("site_user"):  # the orders' customer (factory: ada@example.test)
                    assert not save_entity_settings(account, "site_user", customers[site.id].id,
                                                    push_settings["site_user"])
                if account.id not in live[site.id]:
                    live[site.id].append(account.id)
    world = World([s.id for s in site_objs], accounts, api_bases, live, admin_email=admin.email)
    for n in range(orders):
        site = site_objs[n % sites]
        line = {"product_id": products[site.id].id, "sku": products[site.id].sku,
                "files": [("upload", "ready")]}  # a print job needs its file (StreamLive refuses none)
        if ineligible_every and n % ineligible_every == ineligible_every - 1:
            order = factory.order(site, paid=False, items=[{"approval": "approved", **line}, {"approval": "pending", **line}])
            world.ineligible.append(order.id)
        else:
            items = [{"approval": "approved", **line} for _ in range(rng.choice((1, 1, 2)))]
            order = factory.order(site, paid=False, items=items)
            world.eligible.append(order.id)
    return world


def pay(order_ids: list[int]) -> None:
    """Mark orders paid through the storefront use-case (the signal queues the pushes)."""
    from webapp.extensions import db
    from webapp.models import Order
    from webapp.storefront import orders as uc

    for order_id in order_ids:
        uc.mark_paid(db.session.get(Order, order_id), "chaos@example.test")


def request_status_runs(world: World) -> list[int]:
    """One status synchronization per account on its first live site."""
    from webapp.extensions import db
    from webapp.models import ProviderAccount, Site
    from webapp.embedded.runs import RunRefused, request_run

    ids = []
    for site_id, account_ids in world.live.items():
        for account_id in account_ids:
            if any(account_id in world.live[s] for s in world.live if s < site_id):
                continue
            account = db.session.get(ProviderAccount, account_id)
            if "status" not in account.provider.capabilities.sync_items:
                continue
            try:
                ids.append(request_run(account, ["status"], "chaos@example.test", site=db.session.get(Site, site_id)).id)
            except RunRefused:
                pass
    return ids


# --------------------------------------------------------------------------- observing

def wait_settled(deadline_seconds: float, poll: float = 0.25) -> bool:
    """Wait until no push is queued/pushing and no run queued/running; False on timeout."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        active, runs, _ = active_counts()
        if not active and not runs:
            return True
        time.sleep(poll)
    return False


def active_counts() -> tuple[int, int, int]:
    """(pushes queued/pushing, runs queued/running, pushes pushed or failed)."""
    from webapp.extensions import db
    from webapp.models import OrderPush, SyncRun

    db.session.expire_all()
    pushes = OrderPush.query.filter(OrderPush.state.in_(ACTIVE_PUSH)).count()
    done = OrderPush.query.filter(OrderPush.state.in_(("pushed", "failed"))).count()
    runs = SyncRun.query.filter(SyncRun.state.in_(ACTIVE_RUN)).count()
    db.session.rollback()  # end the read transaction: never hold SQLite locks while waiting
    return pushes, runs, done


def expected_push_count(world: World) -> int:
    from webapp.models import Order

    site_of = dict(Order.query.filter(Order.id.in_(world.eligible)).with_entities(Order.id, Order.site_id).all())
    return sum(len(world.live[site_of[order_id]]) for order_id in world.eligible)


@dataclass
class Report:
    orders: int = 0
    eligible: int = 0
    ineligible: int = 0
    accounts: int = 0
    pushes_expected: int = 0
    pushed: int = 0
    failed: int = 0
    waiting: int = 0
    stuck: int = 0
    stuck_runs: int = 0
    runs: dict = field(default_factory=dict)
    failures_without_reason: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    duplicates: int = 0
    sim_orders: int = 0
    missing_at_sim: int = 0
    unexpected_at_sim: int = 0
    ineligible_pushed: int = 0
    not_accounted: int = 0
    rate_limited_at_sim: int = 0
    injected: Counter = field(default_factory=Counter)
    kills: int = 0
    kills_while_busy: int = 0
    workers: int = 0
    retried_pushes: int = 0
    wall_seconds: float = 0.0
    timed_out: bool = False

    @property
    def problems(self) -> list[str]:
        out = []
        if self.duplicates:
            out.append(f"{self.duplicates} duplicate order numbers at the simulators")
        if self.stuck:
            out.append(f"{self.stuck} pushes left queued/pushing")
        if self.stuck_runs:
            out.append(f"{self.stuck_runs} runs left queued/running/waiting")
        if self.failures_without_reason:
            out.append(f"{self.failures_without_reason} failed pushes without a reason")
        if self.missing_at_sim:
            out.append(f"{self.missing_at_sim} pushes marked pushed but absent at the simulator")
        if self.unexpected_at_sim:
            out.append(f"{self.unexpected_at_sim} orders at the simulators that should not be there")
        if self.ineligible_pushed:
            out.append(f"{self.ineligible_pushed} ineligible orders queued or pushed")
        if self.not_accounted:
            out.append(f"{self.not_accounted} expected pushes neither pushed nor failed")
        if self.timed_out:
            out.append("the run did not settle before the deadline")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        reasons = "\n".join(f"      {n:>5} × {reason}" for reason, n in self.failure_reasons.most_common()) or \
            "      none"
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.injected.items())) or "none"
        runs = ", ".join(f"{k} {v}" for k, v in sorted(self.runs.items())) or "none"
        lines = [
            "== chaos report ==",
            f"  orders:               {self.orders} ({self.eligible} eligible, {self.ineligible} never eligible)",
            f"  accounts:             {self.accounts}",
            f"  pushes expected:      {self.pushes_expected}",
            f"  pushed:               {self.pushed}",
            f"  failed:               {self.failed} (without a reason: {self.failures_without_reason})",
            f"    reasons:\n{reasons}",
            f"  pushes retried:       {self.retried_pushes} (more than one attempt)",
            f"  orders at simulators: {self.sim_orders}",
            f"  duplicates:           {self.duplicates}",
            f"  missing at simulator: {self.missing_at_sim}; unexpected at simulator: {self.unexpected_at_sim}",
            f"  ineligible pushed:    {self.ineligible_pushed}",
            f"  stuck:                {self.stuck} pushes queued/pushing, {self.stuck_runs} runs queued/running",
            f"  runs:                 {runs}",
            f"  workers:              {self.workers}; kills (SIGKILL): {self.kills} ({self.kills_while_busy} mid-job)",
            f"  injected faults:      {faults}",
            f"  429 at simulators:    {self.rate_limited_at_sim}",
            f"  time:                 {self.wall_seconds:.1f} s",
            f"  result:               {'OK' if self.ok else 'FAILED: ' + '; '.join(self.problems)}",
        ]
        return "\n".join(lines)


def _reason(push) -> str:
    text = " ".join(push.errors or [])
    return f"{push.error_kind or '?'}: {text[:120]}"


def build_report(world: World, pool: WorkerPool | None, started: float, timed_out: bool = False) -> Report:
    from webapp.extensions import db
    from webapp.models import Order, OrderPush, SyncRun

    db.session.expire_all()
    report = Report(orders=len(world.eligible) + len(world.ineligible), eligible=len(world.eligible),
                    ineligible=len(world.ineligible), accounts=len(world.accounts), timed_out=timed_out)
    site_of = dict(Order.query.filter(Order.id.in_(world.eligible + world.ineligible))
                   .with_entities(Order.id, Order.site_id).all())
    paid = set(world.paid)
    expected = {(order_id, account_id) for order_id in world.eligible if order_id in paid
                for account_id in world.live[site_of[order_id]]}
    report.pushes_expected = len(expected)
    pushes = OrderPush.query.all()
    by_key = {(p.order_id, p.account_id): p for p in pushes}
    ineligible = set(world.ineligible)
    for push in pushes:
        if push.state in ACTIVE_PUSH:
            report.stuck += 1
        if push.order_id in ineligible and push.state not in ("waiting",):
            report.ineligible_pushed += 1
        if push.attempts > 1:
            report.retried_pushes += 1
    for key in expected:
        push = by_key.get(key)
        if push is None or push.state not in ("pushed", "failed"):
            if push is None or push.state not in ACTIVE_PUSH:
                report.not_accounted += 1
            continue
        if push.state == "pushed":
            report.pushed += 1
        else:
            report.failed += 1
            if not push.errors or not push.error_kind:
                report.failures_without_reason += 1
            report.failure_reasons[_reason(push)] += 1
    report.waiting = sum(1 for p in pushes if p.state == "waiting")
    runs = SyncRun.query.all()
    report.runs = dict(Counter(r.state for r in runs))
    report.stuck_runs = sum(1 for r in runs if r.state in ACTIVE_RUN)
    # Faults off before reading what the simulators hold (the counts are kept first).
    for base in sorted(set(world.api_bases.values())):
        report.injected.update({k: v for k, v in injected(base).items() if v})
        reset_faults(base)
    # What the simulators hold, per account.
    references = {p.reference: p for p in pushes}
    for account_id, sim in world.accounts.items():
        stats = sim.stats()
        report.duplicates += stats["duplicates"]
        report.rate_limited_at_sim += stats["rate_limited"]
        numbers = sim.order_numbers()
        report.sim_orders += len(numbers)
        at_sim = set(numbers)
        for number in at_sim:
            push = references.get(number)
            if push is None or push.account_id != account_id or (push.order_id, account_id) not in expected:
                report.unexpected_at_sim += 1
        for push in pushes:
            if push.account_id == account_id and push.state == "pushed" and push.reference not in at_sim:
                report.missing_at_sim += 1
    if pool is not None:
        report.kills, report.kills_while_busy, report.workers = pool.kills, pool.kills_while_busy, pool.count
    report.wall_seconds = time.monotonic() - started
    db.session.rollback()
    return report


# --------------------------------------------------------------------------- the run

@dataclass
class ChaosPlan:
    workers: int = 3
    kills: int = 2
    kill_scheduler_holder: bool = False   # may the worker holding the RQ scheduler lock be killed
    batch: int = 20                       # orders paid per tick
    tick: float = 0.25                    # seconds between ticks while feeding
    burst_every: float = 4.0              # a 429 burst on one simulator every … s
    burst_size: int = 2
    burst_until: float = 0.6              # … until this fraction of the expected pushes is done
    deadline: float = 100.0               # seconds for the whole run to settle
    runs: bool = True                     # request status synchronizations mid-run
    faults: dict = field(default_factory=lambda: {
        "timeout_after_create_rate": 0.10, "timeout_seconds": 2.5,
        "error_rate": 0.10, "error_status": 503,
        "slow_rate": 0.10, "slow_seconds": 0.4,
    })


def run_chaos(world: World, pool: WorkerPool, redis, plan: ChaosPlan, rng: random.Random,
              progress=None) -> Report:
    """Pay every order in batches while faults, 429 bursts and SIGKILLs happen; wait until
    everything settles (bounded); report. Kills happen at random points of progress (a
    random fraction of the expected pushes done), on a worker busy with a job when one is."""
    started = time.monotonic()
    bases = sorted(set(world.api_bases.values()))
    for base in bases:
        set_faults(base, seed=rng.randrange(1 << 30), **plan.faults)
    killable = [s for s in range(pool.count) if plan.kill_scheduler_holder or s != 0]
    all_orders = world.eligible + world.ineligible
    rng.shuffle(all_orders)
    expected = max(1, expected_push_count(world))
    kill_points = sorted(rng.uniform(0.05, 0.75) for _ in range(plan.kills if killable else 0))
    next_burst = started + plan.burst_every
    runs_requested = not plan.runs
    deadline = started + plan.deadline
    timed_out = False
    cursor = 0
    last_progress = 0.0
    while True:
        now = time.monotonic()
        if cursor < len(all_orders):
            batch = all_orders[cursor:cursor + plan.batch]
            pay(batch)
            world.paid.extend(batch)
            cursor += len(batch)
            if not runs_requested and cursor >= len(all_orders) // 2:
                request_status_runs(world)
                runs_requested = True
        active, runs, done = active_counts()
        # 429 bursts during the bulk of the run (not on the last stragglers, which would
        # otherwise meet every burst alone and be deferred again and again).
        if now >= next_burst and (cursor < len(all_orders) or done / expected < plan.burst_until):
            set_faults(rng.choice(bases), rate_limit_burst=plan.burst_size)
            next_burst = now + plan.burst_every
        if kill_points and done / expected >= kill_points[0]:
            kill_points.pop(0)
            pool.kill_one(redis, rng, killable)
        if progress and now - last_progress >= 1.0:
            progress(done, expected, active, runs)
            last_progress = now
        if cursor >= len(all_orders) and not kill_points and active == 0 and runs == 0:
            break
        if cursor >= len(all_orders) and kill_points and active == 0 and runs == 0:
            kill_points.clear()  # everything settled before the last kill point
            continue
        if now > deadline:
            timed_out = True
            break
        time.sleep(plan.tick)
    return build_report(world, pool, started, timed_out=timed_out)
