"""Starved push: one worker, long background work, and a newly eligible order every 2 s.

ONE ``worker.py`` process started with no arguments (every queue, by urgency: push,
webhooks, sync, maintenance) works on two long runs at once:

* a "products" Synchronize of N simulator products (50,000; pages of 500) on one site;
* a global "orders" Synchronize (bulk ``createorders``) of M paid orders (5,000) over 2 sites.

Phase 1 ("alone"): only the two runs. Phase 2: the same two runs again (fresh accounts,
sites and simulator accounts of the same sizes) while an order of a third account's site is
marked paid every 2 s (the storefront use-case, which queues its automatic push).

Latency of a newly eligible order = its push's ``pushed_at`` (committed after the provider
answered) − the moment the bench called "mark paid": the provider had it before that.

Targets: p95 latency ≤ 2 s; the product sync's total time (queued → finished, from the
run's own timestamps) in phase 2 ≤ 1.10 × phase 1. Every order reaches the simulator once.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from bench import harness

NAME = "starved_push"
EVERY = 2.0  # seconds between two orders marked paid


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    args = parser.parse_args(argv)
    n_products = 10_000 if args.quick else 50_000
    n_orders = 1_000 if args.quick else 5_000
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args, rate_limits={"shipstation": [1_000_000, 60]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        from sqlalchemy import func, select
        from webapp.embedded.runs import request_run
        from webapp.extensions import db
        from webapp.models import PUSH_PUSHED, Order, OrderPush, ProviderAccount, Site, SyncRun
        from webapp.storefront import orders as uc

        def world(tag: str, trickle: int) -> dict:
            """Accounts, sites and simulator accounts of one phase (status polling off: no
            automatic run joins in)."""
            _, sites = harness.setup_company(4, slug_prefix=f"{tag}")
            product_site, order_sites, trickle_site = sites[0], sites[1:3], sites[3]
            sim_p = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            adapter.seed_products(sim_p, n_products, categories=20)
            sim_g = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            sim_t = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            off = {"status_poll_minutes": "0"}
            w = {"product_site": product_site,
                 "products": harness.connect_account(sim_p, [product_site], name=f"{tag} products", **off),
                 "global": harness.connect_account(sim_g, order_sites, name=f"{tag} global", **off),
                 "trickle": harness.connect_account(sim_t, [trickle_site], name=f"{tag} trickle", **off),
                 "sim_g": sim_g, "sim_t": sim_t}
            for site_id in order_sites:
                harness.bulk_orders([site_id], n_orders // 2, prefix=f"{tag}G{site_id}-", paid=True, approved=True)
            w["trickle_orders"] = harness.bulk_orders([trickle_site], trickle, prefix=f"{tag}T-", paid=False,
                                                      approved=True) if trickle else []
            db.session.commit()
            return w

        def start_runs(w: dict) -> tuple[int, int]:
            product_run = request_run(db.session.get(ProviderAccount, w["products"]), ["products"], "bench",
                                      site=db.session.get(Site, w["product_site"])).id
            global_run = request_run(db.session.get(ProviderAccount, w["global"]), ["orders"], "bench").id
            db.session.commit()
            return product_run, global_run

        def ended(run_id: int) -> bool:
            return db.session.get(SyncRun, run_id).state in ("finished", "partial", "failed")

        def duration(run_id: int) -> float:
            run = db.session.get(SyncRun, run_id)
            return (run.finished_at - run.queued_at).total_seconds()

        with app.app_context():
            # Enough trickle orders for the longest phase 2 we would wait for.
            alone, busy = world("a", 0), world("b", 600)
            workers = env.start_workers(1)
            env.wait_for_workers(1)
            time.sleep(1.0)  # the worker's start-up housekeeping (scheduler, maintenance chain) is done

            # ---- phase 1: the background work alone
            load_1 = _load()
            runs_1 = start_runs(alone)
            while not all(ended(r) for r in runs_1):
                time.sleep(0.5)
                db.session.rollback()
            runs_1_states = [db.session.get(SyncRun, r).state for r in runs_1]
            product_1, global_1 = duration(runs_1[0]), duration(runs_1[1])

            # ---- phase 2: the same work while an order becomes eligible every EVERY seconds
            load_2 = _load()
            runs_2 = start_runs(busy)
            paid_at: dict[int, datetime] = {}
            next_at = time.monotonic()
            trickle = iter(busy["trickle_orders"])
            while not all(ended(r) for r in runs_2):
                if time.monotonic() >= next_at:
                    order_id = next(trickle)
                    paid_at[order_id] = datetime.now(timezone.utc)
                    uc.mark_paid(db.session.get(Order, order_id), "bench@bench.test")
                    db.session.expunge_all()
                    next_at += EVERY
                time.sleep(0.05)
                db.session.rollback()
            runs_2_states = [db.session.get(SyncRun, r).state for r in runs_2]
            product_2, global_2 = duration(runs_2[0]), duration(runs_2[1])
            load_end = _load()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                db.session.rollback()
                if db.session.scalar(select(func.count()).select_from(OrderPush).where(
                        OrderPush.order_id.in_(list(paid_at)), OrderPush.state == PUSH_PUSHED)) == len(paid_at):
                    break
                time.sleep(0.5)
            env.stop(workers)
            pushes = {p.order_id: p for p in OrderPush.query.filter(OrderPush.order_id.in_(list(paid_at)))}
            latencies, unpushed = [], 0
            for order_id, at in paid_at.items():
                push = pushes.get(order_id)
                if push is None or push.state != PUSH_PUSHED or push.pushed_at is None:
                    unpushed += 1
                    continue
                pushed = push.pushed_at if push.pushed_at.tzinfo else push.pushed_at.replace(tzinfo=timezone.utc)
                latencies.append((pushed - at).total_seconds())
            stats_g = [adapter.stats(w["sim_g"]) for w in (alone, busy)]
            stats_t = adapter.stats(busy["sim_t"])

        p95 = harness.percentile(latencies, 95)
        ratio = product_2 / product_1
        result.figure("products synchronized / orders in the global push", f"{n_products} / {n_orders}")
        result.figure("worker processes (no queue arguments)", 1)
        result.figure("SYNC_SLICE_PAGES / SYNC_SLICE_SECONDS",
                      f"{os.environ.get('SYNC_SLICE_PAGES', '10')} / {os.environ.get('SYNC_SLICE_SECONDS', '1.0')}")
        result.figure("phase 1 (alone): product sync / global push", f"{product_1:.1f} / {global_1:.1f}", "s")
        result.figure("phase 2 (with new orders): product sync / global push", f"{product_2:.1f} / {global_2:.1f}",
                      "s")
        result.figure("run states (phase 1, phase 2)", f"{runs_1_states}, {runs_2_states}")
        result.figure("orders marked paid during phase 2 (one every 2 s)", len(paid_at))
        result.figure("latency p50 / p95 / max",
                      f"{harness.percentile(latencies, 50):.2f} / {p95:.2f} / {max(latencies, default=float('nan')):.2f}",
                      "s")
        result.figure("latencies", sorted(round(x, 2) for x in latencies), "s")
        result.figure("load average (phase 1 start, phase 2 start, end)", f"{load_1}; {load_2}; {load_end}")
        result.figure("simulator orders: global push (phases 1, 2) / new orders",
                      f"{stats_g[0]['orders']}, {stats_g[1]['orders']} / {stats_t['orders']}")
        all_ok = (runs_1_states == runs_2_states == ["finished", "finished"] and not unpushed
                  and [s["orders"] for s in stats_g] == [n_orders, n_orders] and stats_t["orders"] == len(paid_at)
                  and all(s.get("duplicate_order_numbers", 0) == 0 for s in [*stats_g, stats_t]))
        if not all_ok:
            result.note(f"runs {runs_1_states} / {runs_2_states}, {unpushed} new order(s) not pushed, "
                        f"simulator {[s['orders'] for s in stats_g]} / {stats_t['orders']}")
        result.check("new order reaches the provider, p95", p95, "≤ 2.0 s", all_ok and p95 <= 2.0,
                     f"{len(latencies)} orders, 1 worker")
        result.check("product sync time with new orders / alone", ratio, "≤ 1.10", all_ok and ratio <= 1.10,
                     f"{product_2:.1f} s vs {product_1:.1f} s")
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
