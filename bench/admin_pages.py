"""Admin pages at scale: server time and SQL statements per page.

Seeds (bulk INSERTs, not the importer) 50 sites, 20,000 products and 100,000 orders with
1–3 items each, a ShipStation account live on 10 sites (so the Embedded Services tabs are
there), then requests each page through the Flask test client as a logged-in super admin:

* orders list, all sites, page 1          /orders
* orders list, filtered (site + status)   /orders?site=…&status=…
* orders list, deep page                  /orders?page=<middle>
* a site's orders list                    /sites/<slug>/orders
* order detail (a different order each)   /orders/<number>
* site settings (a different site each)   /sites/<slug>/settings

Server time = wall time of the test-client request (WSGI call, rendering included), p95
over ≥ 60 requests after 5 warm-up requests. SQL statements are counted per request with a
SQLAlchemy event; the same count on every request of a page is required (the test
tests/test_query_counts.py asserts that the count does not grow with the data).

Targets: p95 ≤ 50 ms for every page, on SQLite and on PostgreSQL. On PostgreSQL the
tables get VACUUM ANALYZE after the bulk load (what autovacuum does on its own after a
large insert); SQLite is left without statistics, as the app never runs ANALYZE.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from bench import harness

NAME = "admin_pages"
ORDER_STATUSES_SEEDED = ["Order Received", "In Production", "Shipped", "Completed", "Awaiting Payment",
                         "Awaiting Approval", "Ready to Ship", "On Hold", "Completed", "Shipped", "Cancelled"]


def seed(n_sites: int, n_products: int, n_orders: int) -> dict:
    from webapp.extensions import db
    from webapp.models import Category, Product, Site, utcnow

    t0 = time.perf_counter()
    _, site_ids = harness.setup_company(n_sites)
    roots = {c.site_id: c.id for c in Category.query.filter(Category.is_root.is_(True))}
    now = utcnow()
    table = Product.__table__
    pid = harness.next_id(table)
    rows = []
    for n in range(n_products):
        site_id = site_ids[n % len(site_ids)]
        rows.append({"id": pid + n, "site_id": site_id, "category_id": roots[site_id], "sku": f"P-{n:06d}",
                     "name": f"Product {n}", "description": "", "price": 10 + n % 40, "active": True,
                     "integration_id": "", "source": "admin", "created_at": now, "updated_at": now})
    for start in range(0, len(rows), 5000):
        db.session.execute(table.insert(), rows[start:start + 5000])
    db.session.commit()
    harness.fix_sequences("products")
    product_ids = [r["id"] for r in rows]
    harness.bulk_orders(site_ids, n_orders, prefix="W-", paid=True, approved=True, items_per_order=(1, 2, 3, 1),
                        placed_within=__import__("datetime").timedelta(days=365), statuses=ORDER_STATUSES_SEEDED,
                        product_ids=product_ids)
    seconds = time.perf_counter() - t0
    slugs = [s.slug for s in Site.query.order_by(Site.id)]
    return {"seconds": seconds, "site_ids": site_ids, "slugs": slugs}


def analyze_if_postgres() -> None:
    from webapp.extensions import db
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(db.text("VACUUM ANALYZE"))


def measure(app, urls_for, requests_per_page: int, warmup: int = 5) -> dict:
    """{page: {"times": [...], "queries": [...], "status": set()}} via the Flask test client."""
    from webapp.extensions import db
    client = app.test_client()
    import re
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', form)
    response = client.post("/login", data={"email": harness.ADMIN_EMAIL, "password": harness.ADMIN_PASSWORD,
                                           "csrf_token": token.group(1) if token else ""})
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
    with app.app_context():
        counter = harness.QueryCounter(db.engine)
    out = {}
    for page, make_url in urls_for.items():
        times, queries, statuses = [], [], set()
        for i in range(warmup + requests_per_page):
            url = make_url(i)
            with counter:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
            if i >= warmup:
                times.append(elapsed * 1000)
                queries.append(counter.count)
                statuses.add(response.status_code)
        out[page] = {"times": times, "queries": queries, "status": statuses, "example": make_url(0)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page (≥ 50)")
    args = parser.parse_args(argv)
    n_sites, n_products, n_orders = (50, 4_000, 20_000) if args.quick else (50, 20_000, 100_000)
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args)
    try:
        app = env.migrate()
        from webapp.extensions import db
        from webapp.models import Order

        with app.app_context():
            seeded = seed(n_sites, n_products, n_orders)
            analyze_if_postgres()
            from webapp.embedded import install
            install.enable_provider("shipstation")
            sim = harness.SimAccount("shipstation", "bench-key", "bench-secret",
                                     {"api_key": "benchkey", "api_secret": "bench-secret",
                                      "base_url": "http://127.0.0.1:9/shipstation"})
            harness.connect_account(sim, seeded["site_ids"][:10])
            numbers = [n for (n,) in db.session.execute(db.select(Order.number))]
            total_orders = len(numbers)
        rng = random.Random(11)
        order_sample = rng.sample(numbers, 200)
        slugs = seeded["slugs"]
        deep = max(1, n_orders // 50 // 2)
        pages = {
            "orders list, all sites, page 1": lambda i: "/orders",
            "orders list, filtered (site + status)":
                lambda i: f"/orders?site={slugs[i % len(slugs)]}&status={ORDER_STATUSES_SEEDED[i % 8].replace(' ', '+')}",
            f"orders list, deep page ({deep})": lambda i: f"/orders?page={deep + i % 3}",
            "site orders list, page 1": lambda i: f"/sites/{slugs[i % len(slugs)]}/orders",
            "order detail": lambda i: f"/orders/{order_sample[i % len(order_sample)]}",
            "site settings": lambda i: f"/sites/{slugs[(i * 7) % len(slugs)]}/settings",
        }
        measured = measure(app, pages, max(50, args.requests))
        result.figure("seeded: sites / products / orders", f"{n_sites} / {n_products} / {total_orders}")
        result.figure("seeding took", seeded["seconds"], "s")
        for page, m in measured.items():
            p50, p95 = statistics.median(m["times"]), harness.percentile(m["times"], 95)
            q = sorted(set(m["queries"]))
            result.figure(f"{page}: p50 / p95 / max", f"{p50:.1f} / {p95:.1f} / {max(m['times']):.1f}", "ms")
            result.figure(f"{page}: SQL statements per request", q[0] if len(q) == 1 else f"{q[0]}–{q[-1]}")
            result.check(f"{page}: p95 server time", round(p95, 1), "≤ 50 ms",
                         p95 <= 50 and m["status"] == {200},
                         f"{len(m['times'])} requests, e.g. {m['example']}, statuses {sorted(m['status'])}")
            result.check(f"{page}: SQL statements constant across requests", q, "one value", len(q) == 1)
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
