"""Status sync: N pushed orders refreshed from the provider with list/paged calls.

* N paid orders (1–2 items each) on one site, pushed through the bulk path: a Synchronize
  "orders" run (ShipStation ``createorders``, 100 per request).
* 20% of them are shipped inside the simulator (a shipment with tracking each, no webhook).
* Status sync: a Synchronize "status" run, executed by ``execute_run`` in a fresh process
  (as its RQ job would), first with the shipments to apply, then again with nothing new.
* Baseline: the same data fetched with plain paged ``requests`` — ShipStation: orders by
  modify date and shipments by ship date, 500 per page (the provider's own queries).

Bulk push: the hub's time is compared with the same ``createorders`` requests (the bodies the
hub's mapping builds for these orders) sent with plain ``requests`` to a fresh simulator
account, before and after the hub's run (their median); the run's SQL statements are counted
(``before_cursor_execute``) and reported per order. Targets: ≤ 3× the requests alone, ≤ 3
statements per order.

Targets: the status sync uses list/paged calls only (requests = the baseline's page count,
never one per order); every shipment lands on its items; the sync with news takes ≤ 2× the
plain paged fetch (issue 18). The ratio of the run with nothing new is reported too.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import timedelta

from bench import harness

NAME = "status_sync"


def bulk_payloads(account_id: int, site_id: int) -> list[dict]:
    """The createorders bodies the hub sends for these orders, built once with the provider's
    own mapping (not timed): the baseline sends exactly these with plain requests."""
    from webapp.embedded import push as push_uc
    from webapp.embedded.clients import client_for
    from webapp.embedded.context import build_order_context
    from webapp.embedded.eligibility import check
    from webapp.extensions import db
    from webapp.models import Order, OrderPush, ProviderAccount, SiteActivation

    account = db.session.get(ProviderAccount, account_id)
    client = client_for(account)
    activation = SiteActivation.query.filter_by(site_id=site_id, account_id=account_id).one()
    payloads = []
    for order in Order.query.filter_by(site_id=site_id).order_by(Order.placed_at, Order.id):
        push = OrderPush(order_id=order.id, account_id=account_id, checkpoint={},
                         idempotency_key=push_uc.idempotency_key(order, account),
                         reference=push_uc.order_reference(order, account))  # transient: never added
        ctx = build_order_context(order, push, activation, check(order).items)
        payloads += [payload for _, payload in client.build_payloads(ctx)]
    db.session.expunge_all()
    return payloads


def bulk_baseline(adapter, payloads: list[dict]) -> tuple[float, int]:
    """The same createorders requests (100 orders each) with plain requests, to a fresh
    simulator account (so every order is created, as in the hub's run); (seconds, requests)."""
    import requests

    sim = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
    started = time.perf_counter()
    with requests.Session() as session:
        for start in range(0, len(payloads), 100):
            r = session.post(f"{adapter.api}{adapter.bulk_push_path}", json=payloads[start:start + 100],
                             auth=(sim.key, sim.secret), timeout=120)
            r.raise_for_status()
    return time.perf_counter() - started, math.ceil(len(payloads) / 100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    parser.add_argument("--child-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_run:
        print(json.dumps(harness.child_execute_run(args.child_run)))
        return 0

    n = 1_000 if args.quick else 5_000
    shipped_share = 0.2
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args, rate_limits={"shipstation": [1_000_000, 60]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        import requests
        from sqlalchemy import func, select
        from webapp.embedded.runs import request_run
        from webapp.extensions import db
        from webapp.models import PUSH_PUSHED, OrderItem, OrderPush, ProviderAccount, Site

        with app.app_context():
            _, (site_id,) = harness.setup_company(1)
            sim = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            account_id = harness.connect_account(sim, [site_id])
            harness.bulk_orders([site_id], n, prefix="ST-", paid=True, approved=True, items_per_order=(1, 2))

            def run(items):
                run_id = request_run(db.session.get(ProviderAccount, account_id), items, "bench",
                                     site=db.session.get(Site, site_id)).id
                db.session.commit()  # hold no transaction open while the child runs
                before = adapter.last_seq(sim)
                out = harness.run_child("bench.status_sync", ["--child-run", str(run_id)])
                out["requests"] = adapter.count(sim, since_seq=before)
                db.session.expire_all()
                return out

            payloads = bulk_payloads(account_id, site_id)
            bulk_base = [bulk_baseline(adapter, payloads)]  # before and after the hub's bulk push
            push = run(["orders"])
            bulk_base.append(bulk_baseline(adapter, payloads))
            pushed = db.session.scalar(select(func.count()).select_from(OrderPush).where(
                OrderPush.account_id == account_id, OrderPush.state == PUSH_PUSHED))
            keys = list(db.session.scalars(select(OrderPush.idempotency_key).where(
                OrderPush.account_id == account_id, OrderPush.state == PUSH_PUSHED)))
            since = db.session.scalar(select(func.min(OrderPush.pushed_at)).where(
                OrderPush.account_id == account_id)) - timedelta(days=1)
            to_ship = random.Random(7).sample(keys, int(n * shipped_share))
            t_ship, _ = harness.timed(adapter.ship, sim, to_ship)

            def baseline():
                with requests.Session() as session:
                    seconds, pages = harness.timed(adapter.plain_status_fetch, sim, session, since)
                return seconds, pages

            base1, pages = baseline()
            first = run(["status"])
            base2, _ = baseline()
            again = run(["status"])
            base3, _ = baseline()
            base = statistics.median([base1, base2, base3])
            tracked = db.session.scalar(select(func.count()).select_from(OrderItem).where(
                OrderItem.tracking_number != ""))
            shipped_items = db.session.scalar(select(func.count()).select_from(OrderItem).join(
                OrderPush, OrderPush.order_id == OrderItem.order_id).where(OrderPush.idempotency_key.in_(to_ship)))

        expected_pages = math.ceil(n / 500) + math.ceil(len(to_ship) / 500)
        result.figure("orders pushed (bulk) / requests / seconds",
                      f"{pushed} / {push['requests']} / {push['seconds']:.2f}")
        bulk_floor = statistics.median(seconds for seconds, _ in bulk_base)
        per_order = push["statements"] / n
        result.figure("bulk baseline: the same createorders requests with plain requests (before, after)",
                      f"{' / '.join(f'{seconds:.2f} s' for seconds, _ in bulk_base)} "
                      f"({bulk_base[0][1]} requests, {len(payloads)} orders)")
        result.figure("bulk push: SQL statements (whole run) / per order / per chunk of 100",
                      f"{push['statements']} / {per_order:.2f} / {push['statements'] / math.ceil(n / 100):.1f}")
        result.figure("orders shipped in the simulator", len(to_ship))
        result.figure("shipping them (control calls) took", t_ship, "s")
        result.figure("baseline: plain paged fetch, pages", pages)
        result.figure("baseline: plain paged fetch (median of 3)", base, "s")
        result.figure("status sync with news: requests", first["requests"])
        result.figure("status sync with news: time", first["seconds"], "s")
        result.figure("status sync with news: updated / unchanged / skipped",
                      f"{first['updated']} / {first['unchanged']} / {first['skipped']}")
        result.figure("status sync, nothing new: requests / time",
                      f"{again['requests']} / {again['seconds']:.3f} s")
        result.figure("status sync, nothing new: updated / unchanged",
                      f"{again['updated']} / {again['unchanged']}")
        result.figure("items with tracking after the sync", f"{tracked} (expected {shipped_items})")
        result.figure("time ratio: status sync / plain fetch", first["seconds"] / base)
        result.figure("time ratio: status sync (nothing new) / plain fetch", again["seconds"] / base)
        ok = first["state"] == again["state"] == "finished" and push["state"] == "finished" and pushed == n
        result.check("requests for a status sync of all pushed orders", first["requests"],
                     f"= {expected_pages} list pages (not {n} calls)",
                     ok and first["requests"] == pages == expected_pages and again["requests"] == pages)
        result.check("shipments applied (items with tracking)", tracked, f"= {shipped_items}",
                     ok and tracked == shipped_items and first["updated"] == len(to_ship) and again["updated"] == 0)
        result.check("status sync / plain paged fetch", first["seconds"] / base, "≤ 2.0",
                     ok and first["seconds"] <= 2 * base, f"{n} orders, {len(to_ship)} shipped")
        result.check("bulk push requests", push["requests"], f"= {math.ceil(n / 100)}",
                     ok and push["requests"] == math.ceil(n / 100))
        result.check("bulk push time / the same bulk requests alone", push["seconds"] / bulk_floor, "≤ 3.0",
                     ok and push["seconds"] / bulk_floor <= 3.0,
                     f"{push['seconds']:.2f} s vs {bulk_floor:.2f} s (median of {len(bulk_base)})")
        result.check("bulk push: SQL statements per order", round(per_order, 2), "≤ 3 (constant per chunk: "
                     "tests/embedded/test_push_statements.py)", ok and per_order <= 3)
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
