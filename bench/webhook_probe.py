"""Where a webhook request's time goes (a diagnostic, not a target): bench/webhook_intake.py's
load against three apps served the same way, each request timed on both sides.

* ``null``: a bare Flask view that reads the body and answers 202 (no database, no Redis) —
  what the load generator and gunicorn cost by themselves.
* ``floor``: bench/webhook_floor.py (one INSERT + one RQ enqueue).
* ``hub``: wsgi:app with timestamps taken inside the intake (connection checkout, lookup +
  verify + parse, INSERT, commit, drain signal) and around the WSGI call.

CLOCK_MONOTONIC is system-wide, so the server's timestamps join the load generator's (due,
sent, done) per request (by body and order). Prints, per app, p50/p99 and the breakdown of the
slowest 1 % against the median request.

    python -m bench.webhook_probe --quick [--apps null,floor,hub] [--server "-w 2 --threads 4"]
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import shlex
import subprocess
import threading
import time
import zlib

from bench import harness

_PHASES = ("w0", "r0", "c1", "s0", "s1", "s2", "d0", "d1", "w1")


# ---- the apps (imported inside gunicorn workers) -------------------------------------------

def _null_app():
    from flask import Flask, request

    app = Flask(__name__)

    @app.post("/webhooks/<provider_key>/<token>")
    def receive(provider_key: str, token: str):
        request.get_data()
        return {"status": "accepted"}, 202

    @app.get("/login")
    def ready():
        return "ok"

    return app


class _Recorder:
    def __init__(self, directory: str):
        self.path = os.path.join(directory, f"probe-{os.getpid()}.jsonl")
        self.rows: list = []
        self.lock = threading.Lock()
        self.local = threading.local()
        atexit.register(self.flush)

    def mark(self, name: str) -> None:
        current = getattr(self.local, "row", None)
        if current is not None:
            current[name] = time.monotonic()

    def flush(self) -> None:
        with self.lock:
            rows, self.rows = self.rows, []
        if rows:
            with open(self.path, "a") as out:
                out.write("".join(json.dumps(r) + "\n" for r in rows))


def _hub_app():
    from wsgi import app
    from webapp.embedded import webhooks as intake
    from webapp.extensions import db

    rec = _Recorder(os.environ["PROBE_DIR"])
    if os.environ.get("PROBE_NO_AUTOCHECKPOINT"):  # diagnosis: is the commit tail SQLite's checkpoint?
        from sqlalchemy import event

        with app.app_context():
            @event.listens_for(db.engine, "connect")
            def _no_checkpoint(dbapi_connection, _record):
                dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")
    signal_drain = intake.signal_drain

    receive = intake._receive
    if os.environ.get("PROBE_NO_AUTOCOMMIT"):  # A/B: the intake before autocommit (BEGIN, INSERT, COMMIT)
        def receive(provider_key, token, headers, body):
            with db.engine.connect() as conn:
                return intake._receive_on(conn, provider_key, token, headers, body)

    def _receive(provider_key, token, headers, body):  # the hub's own code, marked around
        rec.mark("r0")
        row = getattr(rec.local, "row", None)
        if row is not None:
            row["crc"] = zlib.crc32(body)
        return receive(provider_key, token, headers, body)

    store_once = intake._store_once
    if os.environ.get("PROBE_NO_WRITER_LOCK"):  # A/B: SQLite writers of one process not queued
        from contextlib import nullcontext
        intake._SQLITE_WRITER = nullcontext()

    def _store_once(conn, row, envelope, body):  # the hub's own code; "commit" marks in between
        rec.mark("s0")
        try:
            return store_once(conn, row, envelope, body)
        finally:
            rec.mark("s2")

    from sqlalchemy import event

    with app.app_context():
        event.listen(db.engine, "engine_connect", lambda _conn: rec.mark("c1"))  # after checkout (+ ping)
        event.listen(db.engine, "after_cursor_execute", lambda *_a: rec.mark("s1"))  # the last statement's end

    def _signal(metric=None):
        rec.mark("d0")
        try:
            return signal_drain(metric=metric)
        finally:
            rec.mark("d1")

    intake._receive, intake._store_once, intake.signal_drain = _receive, _store_once, _signal
    _time(app, rec)
    return app


def _floor_app():
    from bench import webhook_floor

    app = webhook_floor.create_app()
    _time(app, _Recorder(os.environ["PROBE_DIR"]), crc=True)
    return app


def _time(app, rec, crc=False):
    inner = app.wsgi_app

    def timed(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/webhooks/"):
            return inner(environ, start_response)
        row = rec.local.row = {"pid": os.getpid(), "tid": threading.get_ident(), "w0": time.monotonic(),
                               "cpu0": time.thread_time()}
        if crc:  # read the body here (the view gets it from the cached copy)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            import io
            environ["wsgi.input"] = io.BytesIO(body)
            row["crc"] = zlib.crc32(body)
        try:
            return inner(environ, start_response)
        finally:
            row["w1"], row["cpu1"] = time.monotonic(), time.thread_time()
            rec.local.row = None
            with rec.lock:
                rec.rows.append(row)
                full = len(rec.rows) >= 200
            if full:
                rec.flush()

    app.wsgi_app = timed


null_app = _null_app() if os.environ.get("PROBE_APP") == "null" else None
hub_app = _hub_app() if os.environ.get("PROBE_APP") == "hub" else None
floor_app = _floor_app() if os.environ.get("PROBE_APP") == "floor" else None


# ---- the run -------------------------------------------------------------------------------

def _serve_and_load(env, wsgi_app, path, bodies_file, args, label, **extra_env) -> dict:
    import requests

    from bench.webhook_intake import free_port, loadavg

    port = free_port()
    log = open(env.tmp / f"gunicorn-{label}.log", "w")
    cmd = [str(harness.ROOT / ".venv" / "bin" / "gunicorn"), *shlex.split(args.server), "--bind",
           f"127.0.0.1:{port}", wsgi_app]
    gunicorn = subprocess.Popen(cmd, cwd=harness.ROOT, env=env.child_env(**extra_env), stdout=log,
                                stderr=subprocess.STDOUT)
    env.children.append(gunicorn)
    try:
        for _ in range(300):
            try:
                if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}{path}"
        for _ in range(2):
            requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
        out_file = env.tmp / f"load-{label}.json"
        load = loadavg()
        subprocess.run([harness.PY, "-m", "bench.loadgen", url, str(bodies_file), "--rate", str(args.rate),
                        "--duration", str(args.duration), "--out", str(out_file)], cwd=harness.ROOT,
                       env=env.child_env(), check=True, timeout=args.duration + 120)
    finally:
        env.stop([gunicorn])
    data = json.loads(out_file.read_text())
    data["loadavg"] = load
    return data


def _ms(a, b):
    return (b - a) * 1000 if a is not None and b is not None else None


def _report(label: str, data: dict, bodies: list, probe_dir) -> None:
    start, rate = data["start_monotonic"], data["rate"]
    rows = []
    for i, r in enumerate(data["results"]):
        if r.get("latency_ms") is None:
            continue
        due = start + i / rate
        done = start + r["at"]
        rows.append({"i": i, "due": due, "sent": done - r["service_ms"] / 1000, "done": done,
                     "latency": r["latency_ms"], "status": r["status"], "body": r["body"]})
    lat = [r["latency"] for r in rows]
    print(f"\n== {label}: load {data['loadavg']}, {len(rows)} answered, statuses "
          f"{sorted({r['status'] for r in rows}, key=str)}; latency p50 {harness.percentile(lat, 50):.1f} "
          f"p99 {harness.percentile(lat, 99):.1f} max {max(lat):.1f} ms; send lateness p99 "
          f"{harness.percentile([_ms(r['due'], r['sent']) for r in rows], 99):.1f} ms")
    probes = []
    for name in os.listdir(probe_dir):
        if name.startswith("probe-"):
            probes += [json.loads(line) for line in open(os.path.join(probe_dir, name))]
    if not probes:
        return
    # join: the k-th request carrying a body with the k-th server record of that body (by w0)
    by_crc: dict = {}
    for p in sorted(probes, key=lambda p: p["w0"]):
        by_crc.setdefault(p.get("crc"), []).append(p)
    crcs = [zlib.crc32(b) for b in bodies]
    for r in sorted(rows, key=lambda r: r["sent"]):
        queue = by_crc.get(crcs[r["body"]])
        r["probe"] = queue.pop(0) if queue else None
    joined = [r for r in rows if r["probe"]]
    spans = [("send late", "due", "sent"), ("to worker", "sent", "w0"), ("flask+body", "w0", "r0"),
             ("checkout", "r0", "c1"), ("lookup+verify+parse", "c1", "s0"), ("INSERT", "s0", "s1"),
             ("commit", "s1", "s2"), ("to signal", "s2", "d0"), ("signal", "d0", "d1"), ("to wsgi end", "d1", "w1"),
             ("answer back", "w1", "done")]

    def value(r, a, b):
        return _ms(r.get(a, r["probe"].get(a)), r.get(b, r["probe"].get(b)))

    joined.sort(key=lambda r: r["latency"])
    slow = joined[-max(1, len(joined) // 100):]
    mid = joined[len(joined) // 2]
    print(f"   joined {len(joined)}/{len(rows)}; breakdown, ms: median request | slowest 1 % mean / max")
    for name, a, b in spans:
        vals = [v for v in (value(r, a, b) for r in slow) if v is not None]
        m = value(mid, a, b)
        print(f"   {name:<22} {m if m is not None else float('nan'):8.2f} | "
              f"{(sum(vals) / len(vals)) if vals else float('nan'):8.2f} / {max(vals) if vals else float('nan'):8.2f}")
    # service time inside the worker, all requests: the worker-busy share
    service = sorted(_ms(r["probe"]["w0"], r["probe"]["w1"]) for r in joined)
    print(f"   in-worker time p50 {harness.percentile(service, 50):.2f} p99 {harness.percentile(service, 99):.2f} "
          f"max {service[-1]:.2f} ms; sum {sum(service) / 1000:.1f} s over {args_duration[0]:.0f} s")
    cpu = [(r["probe"]["cpu1"] - r["probe"]["cpu0"]) * 1000 for r in joined]
    print(f"   in-worker CPU (thread time) mean {sum(cpu) / len(cpu):.2f} ms, p99 {harness.percentile(cpu, 99):.2f}; "
          f"in-worker wall mean {sum(service) / len(service):.2f} ms")
    worst = sorted(joined, key=lambda r: r["probe"]["w1"] - r["probe"]["w0"])[-5:]
    for r in worst:
        p = r["probe"]
        phases = " ".join(f"{n}={value(r, a, b):.1f}" for n, a, b in spans[2:-1] if value(r, a, b) is not None)
        print(f"   slow in worker: {_ms(p['w0'], p['w1']):.1f} ms (cpu {(p['cpu1'] - p['cpu0']) * 1000:.1f}) "
              f"status {r['status']} at {r['sent'] - start:.2f}s pid {p['pid']}: {phases}")
    for phase, a, b in (("commit", "s1", "s2"), ("INSERT", "s0", "s1"), ("signal", "d0", "d1"),
                        ("checkout", "r0", "c1")):
        vals = sorted(v for v in (value(r, a, b) for r in joined) if v is not None)
        if vals:
            print(f"   {phase:<9} p50 {harness.percentile(vals, 50):.2f} p99 {harness.percentile(vals, 99):.2f} "
                  f"max {vals[-1]:.2f} ms; >20 ms: {sum(v > 20 for v in vals)}")


args_duration = [0.0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    harness.add_common_args(parser)
    parser.add_argument("--rate", type=float, default=360.0)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--apps", default="null,floor,hub")
    parser.add_argument("--server", default="-w 2", help="gunicorn options (workers, threads)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (10.0 if args.quick else 30.0)
    args_duration[0] = args.duration
    env = harness.BenchEnv("webhook_probe", args, rate_limits={"shipstation": [1_000_000, 60]})
    try:
        sandbox = env.start_sandbox()
        adapter = harness.adapter_for("shipstation", sandbox.url)
        app = env.migrate()
        from webapp.extensions import db
        from webapp.models import ProviderAccount

        with app.app_context():
            _, (site_id,) = harness.setup_company(1)
            sim = adapter.create_account(rate_limit=1_000_000, window_seconds=60)
            account_id = harness.connect_account(sim, [site_id])
            token = db.session.get(ProviderAccount, account_id).webhook_token
            if args.postgres:
                from sqlalchemy import text
                for setting in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay", "max_connections"):
                    print(f"   PostgreSQL {setting} = {db.session.execute(text(f'SHOW {setting}')).scalar()}")
        bodies = adapter.webhook_bodies(sim, int(args.rate * args.duration))
        bodies_file = env.tmp / "bodies.txt"
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
        from bench import webhook_floor
        engine = webhook_floor.make_engine(env.database_url)
        webhook_floor.metadata.create_all(engine)
        engine.dispose()
        path = f"/webhooks/shipstation/{token}"
        print(f"   gunicorn {args.server}; {args.rate:.0f} req/s for {args.duration:.0f} s")
        for label in args.apps.split(","):
            probe_dir = env.tmp / f"probe-{label}"
            probe_dir.mkdir()
            wsgi_app, extra = {"null": ("bench.webhook_probe:null_app", {"PROBE_APP": "null"}),
                               "floor": ("bench.webhook_probe:floor_app", {"PROBE_APP": "floor"}),
                               "hub": ("bench.webhook_probe:hub_app", {"PROBE_APP": "hub"})}[label]
            data = _serve_and_load(env, wsgi_app, path, bodies_file, args, label, PROBE_DIR=probe_dir, **extra)
            _report(label, data, bodies, probe_dir)
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
