"""Provider-neutral sandbox pieces: limiter, faults, recorder, registry, app isolation."""
from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox import create_sandbox_app
from sandbox.base import ControlError, FaultInjector, FixedWindowRateLimiter
from sandbox.registry import SIMULATORS, load_simulators

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fixed_window_limiter_counts_resets_and_keeps_keys_apart():
    clock = FakeClock()
    limiter = FixedWindowRateLimiter(clock)
    decisions = [limiter.hit("a", 3, 60) for _ in range(4)]
    assert [(d.allowed, d.remaining) for d in decisions] == [
        (True, 2), (True, 1), (True, 0), (False, 0)]
    assert decisions[0].reset_seconds == 60
    clock.now += 59.2
    assert limiter.peek("a", 3, 60).reset_seconds == 1  # ceil of the 0.8 s left
    assert limiter.hit("a", 3, 60).allowed is False       # refused hits are not counted
    assert limiter.hit("b", 3, 60).remaining == 2          # another credential, own window
    clock.now += 1
    fresh = limiter.hit("a", 3, 60)
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 2, 60)
    assert limiter.peek("a", 3, 60).remaining == 2          # peeking consumes nothing


def test_fault_injector_validates_and_scripts():
    faults = FaultInjector()
    with pytest.raises(ControlError):
        faults.configure({"slow_rate": -0.1})
    with pytest.raises(ControlError):
        faults.configure({"fail_next": "500"})
    with pytest.raises(ControlError):
        faults.configure({"seed": {"not": "hashable"}})
    faults.configure({"fail_next": [{"status": 418, "body": {"x": 1}}], "rate_limit_burst": 1})
    first, second = faults.next_action(), faults.next_action()
    assert (first.kind, first.status, first.body) == ("scripted", 418, {"x": 1})
    assert second.kind == "rate_limit"
    assert faults.next_action() is None
    faults.configure({"timeout_after_create_rate": 1.0, "timeout_seconds": 3})
    assert faults.timeout_after_create() == 3.0
    faults.reset()
    assert faults.timeout_after_create() is None


def _auth(key: str = "demo-key", secret: str = "demo-secret") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def test_two_sandbox_apps_never_share_state():
    one, two = create_sandbox_app().test_client(), create_sandbox_app().test_client()
    body = {"orderNumber": "N-1", "orderDate": "2024-05-01 10:00:00",
            "orderStatus": "awaiting_shipment", "billTo": {"name": "B"},
            "shipTo": {"name": "B", "country": "US"}, "items": []}
    assert one.post("/shipstation/orders/createorder", json=body, headers=_auth()).status_code \
        == 200
    assert one.get("/shipstation/orders", headers=_auth()).json["total"] == 1
    assert two.get("/shipstation/orders", headers=_auth()).json["total"] == 0
    one.post("/shipstation/_sim/faults", json={"rate_limit_burst": 5})
    assert two.get("/shipstation/orders", headers=_auth()).status_code == 200
    assert one.get("/shipstation/orders", headers=_auth()).status_code == 429


def test_registry_entries_load_with_unique_keys_and_prefixes():
    specs = load_simulators()
    assert len(specs) == len(SIMULATORS) >= 1
    assert len({s.key for s in specs}) == len(specs)
    assert len({s.url_prefix for s in specs}) == len(specs)
    client = create_sandbox_app().test_client()
    listed = client.get("/").json["simulators"]
    assert [s["key"] for s in listed] == [s.key for s in specs]
    for spec in specs:  # every simulator exposes the shared control routes
        assert client.get(f"{spec.url_prefix}/_sim/faults").status_code == 200
        assert client.get(f"{spec.url_prefix}/_sim/requests").json["requests"] == []
    assert client.get("/healthz").status_code == 200
    assert client.get("/nowhere").status_code == 404


def test_recorder_is_bounded():
    client = create_sandbox_app({"SANDBOX_RECORD_LIMIT": 3}).test_client()
    for _ in range(5):
        client.get("/shipstation/orders", headers=_auth())
    dump = client.get("/shipstation/_sim/requests").json
    assert dump["count"] == 3 and dump["dropped"] == 2
    assert [e["seq"] for e in dump["requests"]] == [3, 4, 5]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_python_m_sandbox_serves_http():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1",
                             "--port", str(port), "--simulator-port-base", "0"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "sandbox process exited"
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        orders = requests.get(f"http://127.0.0.1:{port}/shipstation/orders",
                              auth=("demo-key", "demo-secret"), timeout=5)
        assert orders.status_code == 200 and orders.headers["X-Rate-Limit-Limit"] == "40"
        real = {s["key"]: s["url"] for s in requests.get(f"http://127.0.0.1:{port}/", timeout=5).json()["simulators"]}
        orders = requests.get(f"{real['shipstation']}/orders", auth=("demo-key", "demo-secret"), timeout=5)
        assert orders.status_code == 200 and orders.headers["X-Rate-Limit-Remaining"] == "38"  # one world
    finally:
        proc.terminate()
        proc.wait(timeout=10)
