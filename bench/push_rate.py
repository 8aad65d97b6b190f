"""Push throughput under a provider rate limit, and bulk push in a global synchronization.

Part 1 — one simulator account limited to LIMIT requests per WINDOW seconds (the
simulator's window is compressed from ShipStation's 40/min to 40 per 10 s to keep the run
short; the hub's shared limiter gets the same numbers through PROVIDER_RATE_LIMITS).
N orders are marked paid (each queues its automatic push), then four real ``worker.py``
processes (with the RQ scheduler) push them, one ``createorder`` request per order: these
workers run with PUSH_COALESCE=0, the one-by-one path of every provider without a bulk call
(with coalescing on, ShipStation's queued pushes go out in a few ``createorders`` requests and
the limit would not bind: part 3).

  achieved rate = LIMIT × (windows − 1) / (first create of the last window − first create)

where a "window" is each successive run of LIMIT successful creates: the long-run rate the
hub sustains (a perfect limiter opens a window exactly every WINDOW seconds and scores
LIMIT/WINDOW). The last window's processing tail is reported separately (it does not recur
in a long run). Targets: ≥ 95% of LIMIT/WINDOW, and 0 responses 429 at the simulator.

Part 2 — a global synchronization ("orders") of 1,000 paid orders over 4 sites, run by a
real worker: ShipStation's bulk ``createorders`` (≤ 100 orders per request) must be used —
target ≤ 12 requests (counted at the simulator).

Part 3 — part 1's N orders on a fresh account and site, with coalescing on (the default):
the first push jobs take the queued pushes along in ``createorders`` requests (≤ 100 orders
each). Every request, single or bulk, counts against the same limit. Checks: 0 responses
429, every order created once; figures: requests by kind and the time to all pushed.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from bench import harness

NAME = "push_rate"
LIMIT, WINDOW = 40, 10.0


def _stamp(entry) -> float:
    return datetime.fromisoformat(entry["timestamp"]).timestamp()


def wait_until(predicate, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    args = parser.parse_args(argv)
    n_orders = 120 if args.quick else 240
    bulk_orders_n = 300 if args.quick else 1000
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args, rate_limits={"shipstation": [LIMIT, WINDOW]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        from sqlalchemy import func, select
        from webapp.extensions import db
        from webapp.models import PUSH_PUSHED, Order, OrderPush, ProviderAccount, SyncRun
        from webapp.storefront import orders as uc

        with app.app_context():
            _, sites = harness.setup_company(6)
            sim = adapter.create_account(rate_limit=LIMIT, window_seconds=WINDOW)
            account_id = harness.connect_account(sim, [sites[0]], name="Rate limited")
            order_ids = harness.bulk_orders([sites[0]], n_orders, prefix="RATE-", paid=False, approved=True)

            def pushed(account):
                return db.session.scalar(select(func.count()).select_from(OrderPush).where(
                    OrderPush.account_id == account, OrderPush.state == PUSH_PUSHED))

            # The admin's "mark paid" commits, then the automatic push is queued — all before
            # the workers start, so the workers (not this loop) decide the pace.
            started = time.monotonic()
            for order_id in order_ids:
                uc.mark_paid(db.session.get(Order, order_id), "bench@bench.test")
                db.session.expunge_all()
            queued_in = time.monotonic() - started
            workers = env.start_workers(4, env={"PUSH_COALESCE": "0"})  # one createorder per order
            env.wait_for_workers(4)
            started = time.monotonic()
            budget = (n_orders / LIMIT + 2) * WINDOW * 2 + 60
            done = wait_until(lambda: (db.session.rollback(), pushed(account_id))[1] >= n_orders, budget)
            elapsed = time.monotonic() - started
            env.stop(workers)
            states = dict(db.session.execute(select(OrderPush.state, func.count()).where(
                OrderPush.account_id == account_id).group_by(OrderPush.state)).all())
            retried = db.session.scalar(select(func.count()).select_from(OrderPush).where(
                OrderPush.account_id == account_id, OrderPush.attempts > 1))

            log = [e for e in adapter.requests_log(sim) if e["path"].endswith(adapter.push_path)]
            ok = sorted(_stamp(e) for e in log if e["status"] < 300)
            limited = sum(1 for e in log if e["status"] == 429)
            stats = adapter.stats(sim)
            span = ok[-1] - ok[0] if len(ok) > 1 else float("nan")
            starts = ok[::LIMIT]  # the first create of each window's allowance
            # Long-run rate: creates sent before the last window opened / time until it opened.
            # The last window's own processing tail is left out (it does not recur in a long run).
            achieved = LIMIT * (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 1 else float("nan")
            whole_run = (len(ok) - LIMIT) / span if len(ok) > LIMIT else float("nan")
            allowed = LIMIT / WINDOW

            result.figure("rate limit (simulator and hub)", f"{LIMIT} requests / {WINDOW:.0f} s")
            result.figure("orders marked paid (automatic push)", n_orders)
            result.figure("marking them paid took", queued_in, "s")
            result.figure("all pushed after (from 4 workers up)", elapsed, "s")
            result.figure("push states", states)
            result.figure("pushes retried after an error (not the rate limit)", retried)
            result.figure("createorder requests: successful / 429", f"{len(ok)} / {limited}")
            result.figure("simulator orders / all requests / 429s", f"{stats['orders']} / {stats['requests']} / "
                                                                   f"{stats['rate_limited']}")
            result.figure("first → last successful create", span, "s")
            result.figure(f"start of each run of {LIMIT} creates (s after the first)",
                          [round(t - ok[0], 2) for t in ok[::LIMIT]])
            result.figure(f"end of each run of {LIMIT} creates (s after the first)",
                          [round(t - ok[0], 2) for t in ok[LIMIT - 1::LIMIT]])
            result.figure("achieved rate (windows opened)", achieved, "req/s")
            result.figure("rate incl. the last window's tail ((ok − limit) / first → last)", whole_run, "req/s")
            result.figure("allowed rate", allowed, "req/s")
            result.figure("plain rate (orders / time to all pushed)", n_orders / elapsed, "req/s")
            result.check("achieved / allowed rate", achieved / allowed, "≥ 0.95",
                         done and achieved / allowed >= 0.95, f"{n_orders} orders, 4 workers")
            result.check("responses 429 at the simulator", stats["rate_limited"], "= 0",
                         done and stats["rate_limited"] == 0)
            result.check("orders in the simulator (exactly once)", stats["orders"], f"= {n_orders}",
                         stats["orders"] == n_orders and stats["duplicate_order_numbers"] == 0)

            # ---- part 2: global synchronization with bulk createorders
            sim2 = adapter.create_account(rate_limit=LIMIT, window_seconds=WINDOW)
            shares = [0.4, 0.3, 0.2, 0.1]
            for site_id, share in zip(sites[1:5], shares):
                harness.bulk_orders([site_id], int(bulk_orders_n * share), prefix=f"G{site_id}-", paid=True,
                                    approved=True)
            bulk_account = harness.connect_account(sim2, sites[1:5], name="Global")
            from webapp.embedded.runs import request_run
            run_id = request_run(db.session.get(ProviderAccount, bulk_account), ["orders"], "bench").id
            started = time.monotonic()
            workers = env.start_workers(1, tag="g")
            finished = wait_until(lambda: (db.session.rollback(),
                                           db.session.get(SyncRun, run_id).state in ("finished", "failed"))[1], 600)
            run_seconds = time.monotonic() - started
            env.stop(workers)
            run = db.session.get(SyncRun, run_id)
            log2 = adapter.requests_log(sim2)
            bulk = sum(1 for e in log2 if e["path"].endswith(adapter.bulk_push_path))
            singles = sum(1 for e in log2 if e["path"].endswith(adapter.push_path))
            stats2 = adapter.stats(sim2)
            result.figure("global sync: orders / sites", f"{bulk_orders_n} / 4 "
                                                          f"({', '.join(str(int(bulk_orders_n * s)) for s in shares)})")
            result.figure("global sync: run", f"{run.state}, {run.created} created, {run.failed} failed, "
                                              f"{run.skipped} skipped")
            result.figure("global sync: createorders / createorder / all requests",
                          f"{bulk} / {singles} / {len(log2)}")
            result.figure("global sync: simulator orders", stats2["orders"])
            result.figure("global sync: wall time (worker start to finished)", run_seconds, "s")
            target = 12 if bulk_orders_n == 1000 else -(-bulk_orders_n // 100) + 3
            result.check("global sync of orders: requests", len(log2), f"≤ {target}",
                         finished and run.state == "finished" and run.created == bulk_orders_n
                         and len(log2) <= target, f"{bulk} createorders for {bulk_orders_n} orders")

            # ---- part 3: the same burst with coalescing on (the default)
            sim3 = adapter.create_account(rate_limit=LIMIT, window_seconds=WINDOW)
            account3 = harness.connect_account(sim3, [sites[5]], name="Coalesced")
            order_ids3 = harness.bulk_orders([sites[5]], n_orders, prefix="RATC-", paid=False, approved=True)
            for order_id in order_ids3:
                uc.mark_paid(db.session.get(Order, order_id), "bench@bench.test")
                db.session.expunge_all()
            workers = env.start_workers(4, tag="c")
            env.wait_for_workers(4)
            started = time.monotonic()
            done3 = wait_until(lambda: (db.session.rollback(), pushed(account3))[1] >= n_orders, budget)
            elapsed3 = time.monotonic() - started
            env.stop(workers)
            log3 = adapter.requests_log(sim3)
            bulk3 = sum(1 for e in log3 if e["path"].endswith(adapter.bulk_push_path))
            singles3 = sum(1 for e in log3 if e["path"].endswith(adapter.push_path))
            stats3 = adapter.stats(sim3)
            result.figure("coalesced: createorders / createorder / all requests / 429s",
                          f"{bulk3} / {singles3} / {len(log3)} / {stats3['rate_limited']}")
            result.figure("coalesced: all pushed after (from 4 workers up)", elapsed3, "s")
            result.check("coalesced burst: responses 429 at the simulator", stats3["rate_limited"], "= 0",
                         done3 and stats3["rate_limited"] == 0, f"{n_orders} orders, 4 workers")
            result.check("coalesced burst: orders in the simulator (exactly once)", stats3["orders"],
                         f"= {n_orders}", done3 and stats3["orders"] == n_orders
                         and stats3["duplicate_order_numbers"] == 0, f"{len(log3)} requests")
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
