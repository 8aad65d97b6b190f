"""Open-loop HTTP POST load on one loopback URL, in its own process.

Request i is due at start + i / rate; a pool of threads sends each one at its due time
(new connection each, as a provider would) and latency is measured from the due time, so a
server that falls behind shows it in the latency (no coordinated omission). Bounded: exactly
rate × duration requests, and nothing is sent after duration + 5 s.

    python -m bench.loadgen URL BODIES_FILE --rate 360 --duration 30 --dup-every 10 --out result.json

BODIES_FILE holds one body per line. Every ``dup-every``-th request re-sends an earlier body
(a duplicate delivery); the others send the next unused body.
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("bodies")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--dup-every", type=int, default=10)
    parser.add_argument("--threads", type=int, default=48)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    bodies = [line.rstrip("\n").encode() for line in open(args.bodies) if line.strip()]
    url = urlsplit(args.url)
    total = int(args.rate * args.duration)
    plan = []  # (body index, is duplicate)
    fresh = 0
    for i in range(total):
        if args.dup_every and i % args.dup_every == args.dup_every - 1 and fresh:
            plan.append(((i * 7919) % fresh, True))
        else:
            if fresh >= len(bodies):
                raise SystemExit(f"need more than {len(bodies)} distinct bodies")
            plan.append((fresh, False))
            fresh += 1
    results: list = [None] * total
    lock = threading.Lock()
    next_index = [0]
    start = time.monotonic() + 0.5
    hard_stop = start + args.duration + 5

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= total:
                return
            due = start + i / args.rate
            now = time.monotonic()
            if now > hard_stop:
                results[i] = {"status": None, "error": "not sent (past the deadline)"}
                continue
            if due > now:
                time.sleep(due - now)
            body_index, duplicate = plan[i]
            sent = time.monotonic()
            status, error = None, ""
            try:
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
                conn.request("POST", url.path, body=bodies[body_index],
                             headers={"Content-Type": "application/json", "User-Agent": "ShipStation-bench"})
                response = conn.getresponse()
                response.read()
                status = response.status
                conn.close()
            except Exception as exc:  # noqa: BLE001 - recorded, counted as a failure
                error = f"{type(exc).__name__}: {exc}"[:200]
            done = time.monotonic()
            results[i] = {"status": status, "error": error, "latency_ms": (done - due) * 1000,
                          "service_ms": (done - sent) * 1000, "at": done - start, "body": body_index,
                          "duplicate": duplicate}

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, hard_stop + args.timeout + 5 - time.monotonic()))
    with open(args.out, "w") as out:
        json.dump({"rate": args.rate, "duration": args.duration, "total": total, "distinct_bodies": fresh,
                   "start_monotonic": start,  # CLOCK_MONOTONIC is system-wide: joins server-side probes
                   "results": [r or {"status": None, "error": "no result"} for r in results]}, out)


if __name__ == "__main__":
    main()
