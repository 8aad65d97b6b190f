"""Product sync: the hub's product synchronization against a floor measured in the same run.

* Simulator account with N products (pages of 500, 20 categories).
* Floor: the same pages fetched with plain ``requests`` plus one bulk INSERT (executemany of
  the whole list) into ``products`` of a separate site, same database; measured before,
  between and after the syncs (7 times), the median is the floor.
* Real sync: a "products" SyncRun executed by ``execute_run`` (the function the RQ job
  calls), in-process in a fresh child process, so the child's peak RSS is the sync's.
  The floor runs in a fresh child process too; both timers cover the work only (not the
  interpreter start, imports or app creation), cold caches included on both sides.
* Re-sync: the same run again with nothing changed at the provider.
* Sync and re-sync are repeated 3 times (a fresh hub account and site each), medians kept.
* Memory: peak RSS of the child syncing N and 5×N products (a fresh account and site each).

Targets: sync ≤ 2× floor; unchanged re-sync ≤ 1× floor; peak RSS(5N) ≤ 1.2× peak RSS(N).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time

from bench import harness

NAME = "product_sync"


def child_floor(spec: dict) -> dict:
    """Runs in a fresh process, like the sync: the floor's own wall time."""
    from webapp import create_app
    from webapp.extensions import db

    app = create_app()
    adapter = harness.adapter_for(spec["provider"], spec["sandbox"])
    sim = harness.SimAccount(**spec["sim"])
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))
        return {"seconds": floor_once(adapter, sim, spec["site_id"], spec["root_id"])}


def floor_once(adapter, sim, site_id: int, root_id: int) -> float:
    import requests
    from sqlalchemy import delete
    from webapp.extensions import db
    from webapp.models import Product, utcnow

    started = time.perf_counter()
    rows = []
    with requests.Session() as session:
        for page in adapter.plain_product_pages(sim, session):
            rows.extend(page)
    now = utcnow()
    db.session.execute(Product.__table__.insert(), [
        {"site_id": site_id, "category_id": root_id, "sku": r["sku"], "name": r["name"], "description": "",
         "price": r["price"], "active": r["active"], "integration_id": "", "source": "sync",
         "created_at": now, "updated_at": now} for r in rows])
    db.session.commit()
    elapsed = time.perf_counter() - started
    db.session.execute(delete(Product).where(Product.site_id == site_id))
    db.session.commit()
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    parser.add_argument("--child-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_run:
        print(json.dumps(harness.child_execute_run(args.child_run)))
        return 0
    if args.child_floor:
        print(json.dumps(child_floor(json.loads(args.child_floor))))
        return 0

    small, large = (2_000, 10_000) if args.quick else (10_000, 50_000)
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args, rate_limits={"shipstation": [1_000_000, 60]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        from webapp.embedded.runs import request_run
        from webapp.extensions import db
        from webapp.models import Category, ProviderAccount, Site

        reps = 2 if args.quick else 3
        with app.app_context():
            _, site_ids = harness.setup_company(reps + 2)
            sync_sites, floor_site, site_b = site_ids[:reps], site_ids[reps], site_ids[reps + 1]
            sim_a = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            adapter.seed_products(sim_a, small, categories=20)
            # One hub account (and site) per repetition, all reading the same simulator account:
            # every first sync creates everything, every re-sync finds nothing changed.
            accounts = [harness.connect_account(sim_a, [site], name=f"Bench A{n}") for n, site in enumerate(sync_sites)]
            root_id = Category.query.filter_by(site_id=floor_site, is_root=True).one().id

            def new_run(account_id, site_id):
                run_id = request_run(db.session.get(ProviderAccount, account_id), ["products"], "bench",
                                     site=db.session.get(Site, site_id)).id
                db.session.commit()  # hold no transaction open while the child runs
                return run_id

            floor_spec = json.dumps({"provider": adapter.key, "sandbox": sandbox.url, "sim": dataclasses.asdict(sim_a),
                                     "site_id": floor_site, "root_id": root_id})

            def floor_once_():
                return harness.run_child("bench.product_sync", ["--child-floor", floor_spec])["seconds"]

            def sync(account_id, site_id):
                return harness.run_child("bench.product_sync", ["--child-run", str(new_run(account_id, site_id))])

            # Interleaved, so load from anything else on the machine hits floor and sync alike.
            floors, firsts, agains = [floor_once_()], [], []
            for account_id, site_id in zip(accounts, sync_sites):
                firsts.append(sync(account_id, site_id))
                floors.append(floor_once_())
                agains.append(sync(account_id, site_id))
                floors.append(floor_once_())
            floor = statistics.median(floors)

            sim_b = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            adapter.seed_products(sim_b, large, categories=20)
            big = sync(harness.connect_account(sim_b, [site_b], name="Bench B"), site_b)

        bad = [(label, run) for label, runs, expect in (("first", firsts, (small, 0)), ("re-sync", agains, (0, small)),
                                                       (f"{large}", [big], (large, 0)))
               for run in runs if run["state"] != "finished" or (run["created"], run["unchanged"]) != expect]
        for label, run in bad:
            result.note(f"{label} run did not do what was expected: {run}")
        first = statistics.median(r["seconds"] for r in firsts)
        again = statistics.median(r["seconds"] for r in agains)
        peak_small = statistics.median(r["peak_rss_mb"] for r in firsts)
        result.figure("products", small)
        result.figure(f"floor (fetch + one bulk INSERT), median of {len(floors)}", floor, "s")
        result.figure("floor runs", [round(f, 3) for f in floors], "s")
        result.figure(f"sync, everything created (median of {reps})", first, "s")
        result.figure("sync runs", [round(r["seconds"], 3) for r in firsts], "s")
        result.figure(f"re-sync, nothing changed (median of {reps})", again, "s")
        result.figure("re-sync runs", [round(r["seconds"], 3) for r in agains], "s")
        result.figure(f"sync of {large} products", big["seconds"], "s")
        result.figure(f"peak RSS, sync of {small}", peak_small, "MiB")
        result.figure(f"peak RSS, sync of {large}", big["peak_rss_mb"], "MiB")
        result.figure(f"RSS before sync ({small} / {large})",
                      f"{firsts[0]['rss_before_mb']:.1f} / {big['rss_before_mb']:.1f}", "MiB")
        ok_runs = not bad
        result.check("sync / floor", first / floor, "≤ 2.0", ok_runs and first <= 2 * floor,
                     f"{small} created")
        result.check("unchanged re-sync / floor", again / floor, "≤ 1.0", ok_runs and again <= floor,
                     f"{small} unchanged")
        ratio = big["peak_rss_mb"] / peak_small
        result.check(f"peak RSS {large} / {small}", ratio, "≤ 1.2", ok_runs and ratio <= 1.2,
                     f"{big['peak_rss_mb']:.0f} vs {peak_small:.0f} MiB")
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
