"""Webhook intake: gunicorn with 2 workers, open-loop load for 30 s, then exactly-once processing.

* The hub runs with the production server setup (scripts/run_all.py, deploy/Procfile):
  ``gunicorn --workers 2 --threads 4 --bind 127.0.0.1:<port> wsgi:app`` with the benchmark's
  DATABASE_URL / REDIS_URL; a ShipStation account live on a site. (Until 2026-12-01 the
  benchmark ran ``-w 2`` without threads: two requests in flight, each waiting out its own
  commit — PostgreSQL's WAL flush here is ~3-8 ms, so even the bare floor could not keep up
  with 360 req/s: p99 3.7 s. See bench/webhook_probe.py.)
* A separate process (bench/loadgen.py) POSTs ShipStation SHIP_NOTIFY bodies to the
  account's webhook URL at a fixed rate for 30 s (open loop, a new connection per request):
  each body has its own resource_url (a distinct event); every 10th request re-sends an
  earlier body (a duplicate delivery, answered 200 "duplicate ignored").
* accepted/s = responses 202 / 30 s; latency from each request's due time (p50/p99).
* Then 4 RQ workers process the queue; every accepted event must end processed exactly once:
  one WebhookEvent row per 202, all state=processed with attempts=1, and exactly one fetch
  of each event's resource_url at the simulator.

* The floor (bench/webhook_floor.py), measured first in the same run: the same gunicorn setup
  (SERVER) serving a bare view that does one INSERT and one RQ enqueue, under the same load and bodies.
* Processing rate = accepted events / time from the 4 workers' start until none is left
  received or processing (each event = one resource_url fetch + apply).

Targets: ≥ 300 accepted webhooks/s for 30 s and ≥ 60 % of the floor's rate, p99 ≤ 100 ms,
≥ 100 stored events processed per second with 4 workers, every accepted event processed
exactly once. The 1-minute load average is recorded next to each phase (the machine is shared).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time

from bench import harness

NAME = "webhook_intake"
# The production server setup, the same for the floor and the hub.
SERVER = ["--workers", "2", "--threads", "4"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    return open("/proc/loadavg").read().split()[0]


def serve_and_load(env, wsgi_app: str, path: str, bodies_file, args, duration: float, label: str, **extra_env) -> dict:
    """Serve ``wsgi_app`` with gunicorn (SERVER), run the open-loop load on ``path``, stop it."""
    import requests

    port = free_port()
    log = open(env.tmp / f"gunicorn-{label}.log", "w")
    gunicorn = subprocess.Popen([str(harness.ROOT / ".venv" / "bin" / "gunicorn"), *SERVER, "--bind",
                                 f"127.0.0.1:{port}", wsgi_app], cwd=harness.ROOT, env=env.child_env(**extra_env),
                                stdout=log, stderr=subprocess.STDOUT)
    env.children.append(gunicorn)
    try:
        for _ in range(200):
            try:
                if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}{path}"
        for _ in range(2):  # warm both workers' first request (imports, connections)
            requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
        out_file = env.tmp / f"load-{label}.json"
        load_before = loadavg()
        subprocess.run([harness.PY, "-m", "bench.loadgen", url, str(bodies_file), "--rate", str(args.rate),
                        "--duration", str(duration), "--out", str(out_file)], cwd=harness.ROOT,
                       env=env.child_env(), check=True, timeout=duration + 120)
    finally:
        env.stop([gunicorn])
    rows = json.loads(out_file.read_text())["results"]
    statuses: dict = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"rows": rows, "statuses": statuses, "loadavg": load_before,
            "latencies": [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    parser.add_argument("--rate", type=float, default=360.0, help="requests/s offered (10%% duplicates)")
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args(argv)
    duration = args.duration or (10.0 if args.quick else 30.0)
    result = harness.Result(NAME, args)
    env = harness.BenchEnv(NAME, args, rate_limits={"shipstation": [1_000_000, 60]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        from sqlalchemy import func, select, text
        from webapp.extensions import db
        from webapp.models import ProviderAccount, WebhookEvent

        with app.app_context():
            _, (site_id,) = harness.setup_company(1)
            sim = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            account_id = harness.connect_account(sim, [site_id])
            token = db.session.get(ProviderAccount, account_id).webhook_token
        total = int(args.rate * duration)
        bodies_file = env.tmp / "bodies.txt"
        bodies_file.write_bytes(b"\n".join(adapter.webhook_bodies(sim, total)) + b"\n")

        from bench import webhook_floor
        floor_engine = webhook_floor.make_engine(env.database_url)
        webhook_floor.metadata.create_all(floor_engine)
        floor_engine.dispose()
        floor = serve_and_load(env, "bench.webhook_floor:app", f"/webhooks/shipstation/{token}", bodies_file, args,
                               duration, "floor", BENCH_FLOOR_APP="1")
        hub = serve_and_load(env, "wsgi:app", f"/webhooks/shipstation/{token}", bodies_file, args, duration, "hub")
        rows = hub["rows"]
        statuses = hub["statuses"]
        latencies = hub["latencies"]
        accepted = [r for r in rows if r["status"] == 202]
        accepted_bodies = {r["body"] for r in accepted}
        errors = [r["error"] for r in rows if r["status"] not in (200, 202)]
        accepted_rate = len(accepted) / duration
        p50, p99 = harness.percentile(latencies, 50), harness.percentile(latencies, 99)
        floor_rate = len([r for r in floor["rows"] if r["status"] == 202 and not r.get("duplicate")]) / duration
        floor_p50, floor_p99 = harness.percentile(floor["latencies"], 50), harness.percentile(floor["latencies"], 99)

        # ---- exactly-once processing by real workers
        with app.app_context():
            load_processing = loadavg()
            launched = time.monotonic()
            workers = env.start_workers(4)
            env.wait_for_workers(4, timeout=120)  # the clock starts when all 4 are registered
            started = time.monotonic()
            startup_s = started - launched
            deadline = started + max(600, len(accepted) / 10)
            pending = None
            while time.monotonic() < deadline:
                db.session.rollback()
                pending = db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
                    WebhookEvent.state.in_(("received", "processing"))))
                if pending == 0:
                    break
                time.sleep(0.25)
            processing_s = time.monotonic() - started
            env.stop(workers)
            by_state = dict(db.session.execute(select(WebhookEvent.state, func.count())
                                               .group_by(WebhookEvent.state)).all())
            events = db.session.scalar(select(func.count()).select_from(WebhookEvent))
            multi = db.session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.attempts != 1))
        fetches = adapter.count(sim, path="/shipments", method="GET")

        processed_rate = by_state.get("processed", 0) / processing_s if processing_s else 0.0
        result.figure("offered load", f"{args.rate:.0f} req/s for {duration:.0f} s, every 10th a duplicate")
        result.figure("server (floor and hub)", "gunicorn " + " ".join(SERVER))
        if args.postgres:
            with app.app_context():  # what a commit waits for on this server
                result.figure("PostgreSQL synchronous_commit / fsync", " / ".join(
                    str(db.session.execute(text(f"SHOW {name}")).scalar()) for name in ("synchronous_commit", "fsync")))
        result.figure("responses by status", {str(k): v for k, v in sorted(statuses.items(), key=str)})
        result.figure("accepted (202) / distinct events accepted", f"{len(accepted)} / {len(accepted_bodies)}")
        result.figure("accepted per second", accepted_rate, "/s")
        result.figure("latency p50 / p99 / max (from due time)",
                      f"{p50:.1f} / {p99:.1f} / {max(latencies) if latencies else float('nan'):.1f}", "ms")
        result.figure("load average (1 min) before the hub's / the floor's load",
                      f"{hub['loadavg']} / {floor['loadavg']}")
        result.figure("floor (bare view: one INSERT + one RQ enqueue): accepted/s, p50 / p99",
                      f"{floor_rate:.1f} /s, {floor_p50:.1f} / {floor_p99:.1f} ms "
                      f"(responses {floor['statuses']})")
        if errors:
            result.figure("errors (first 3)", errors[:3])
        result.figure("events stored / by state", f"{events} / {by_state}")
        result.figure("processing all events with 4 workers took", processing_s, "s")
        result.figure("4 workers started and registered in", startup_s, "s")
        result.figure("load average (1 min) before processing", load_processing)
        result.figure("resource_url fetches at the simulator", fetches)
        result.check("accepted webhooks per second", accepted_rate, "≥ 300", accepted_rate >= 300 and not errors,
                     f"{len(errors)} errors")
        ratio = accepted_rate / floor_rate if floor_rate else 0.0
        result.check("accepted per second / floor", round(ratio, 3), "≥ 0.6", ratio >= 0.6,
                     f"{accepted_rate:.1f} vs {floor_rate:.1f} /s")
        result.check("p99 latency", round(p99, 1), "≤ 100 ms", p99 <= 100)
        result.check("stored events processed per second, 4 workers", round(processed_rate, 1), "≥ 100",
                     processed_rate >= 100, f"{by_state.get('processed', 0)} in {processing_s:.1f} s")
        once = (events == len(accepted) == len(accepted_bodies) and by_state == {"processed": events}
                and multi == 0 and fetches == events)
        result.check("every accepted event processed exactly once", f"{by_state.get('processed', 0)}/{len(accepted)}",
                     "all, once", once, f"attempts≠1: {multi}, fetches {fetches}")
    finally:
        env.close()
    result.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
