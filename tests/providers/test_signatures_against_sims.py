"""The hub's HP signers against the simulators served at the providers' real paths: what the
client signs is the path it sends (``/api/order`` on Site Flow's native host; ``/api/...`` below
the PrintOS gateway's ``/siteflow`` and ``/box`` service prefixes), and the fixed reference
vectors are accepted there over real HTTP."""
from __future__ import annotations

import pytest
import requests

from tests.sandbox.test_siteflow_sim import EXAMPLE_ORDER
from webapp.providers.auth import PrintOSHMAC, hmac_hex, siteflow_signer

TS = "2024-05-01T10:00:00.000Z"
SITEFLOW_VECTOR = "179bd8e1e95367b69a7eaa8ec62fab5de2030d9b046db04ad9814306ddde058d"  # POST /api/order
BOX_VECTOR = "009815c5efaa196e46bbb5dac866fdf742acee8e4ab9eef5d742fc1286780397"       # POST /api/partner/folder


@pytest.fixture(scope="module")
def sims():
    from sandbox.testing import start_world

    running = start_world({
        "SITEFLOW_ACCOUNTS": {"key": {"secret": "test-secret", "destinations": ["psp-account-name"]}},
        "BOX_ACCOUNTS": {"key": "test-secret"},
    })
    yield running.urls
    running.stop()


def send(signer, method: str, url: str, **kw) -> requests.Response:
    request = signer(requests.Request(method, url, **kw).prepare())
    with requests.Session() as session:
        return session.send(request, timeout=10)


def test_siteflow_native_vector_at_the_real_path(sims):
    root = sims["siteflow"]
    assert "/siteflow" not in root  # the native host serves /api/order at its root
    signer = siteflow_signer(root, "key", "test-secret", server="native", clock=lambda: TS)
    request = signer(requests.Request("POST", f"{root}/api/order", json=EXAMPLE_ORDER).prepare())
    assert request.headers["x-oneflow-authorization"] == f"key:{SITEFLOW_VECTOR}"
    with requests.Session() as session:
        answer = session.send(request, timeout=10)
    assert answer.status_code == 201, answer.text
    recorded = requests.get(f"{root}/_sim/requests", timeout=10).json()["requests"][-1]
    assert recorded["path"] == "/api/order" and SITEFLOW_VECTOR not in str(recorded)


def test_siteflow_gateway_signs_below_the_service_prefix(sims):
    gateway = sims["siteflow"] + "/siteflow"  # as https://printos.api.hp.com/siteflow
    signer = siteflow_signer(gateway, "key", "test-secret", server="gateway", clock=lambda: TS)
    assert type(signer) is PrintOSHMAC
    answer = send(signer, "GET", f"{gateway}/api/order", params={"page": 1, "pagesize": 1})
    assert answer.status_code == 200, answer.text
    # Signed with the prefix, as a client mounted under a sandbox prefix used to: refused.
    wrong = PrintOSHMAC("key", "test-secret", service_prefix="", clock=lambda: TS)
    assert send(wrong, "GET", f"{gateway}/api/order").status_code == 401


def test_box_vector_at_the_real_gateway_path(sims):
    box = sims["printos_box"]
    assert box.endswith("/box")  # https://printos.api.hp.com/box
    signer = PrintOSHMAC("key", "test-secret", service_prefix="/box", clock=lambda: TS)
    request = signer(requests.Request("POST", f"{box}/api/partner/folder", json={"name": "W2P-000123"}).prepare())
    assert request.headers["x-hp-hmac-authentication"] == f"key:{BOX_VECTOR}"
    assert BOX_VECTOR == hmac_hex("test-secret", "POST /api/partner/folder" + TS)
    with requests.Session() as session:
        answer = session.send(request, timeout=10)
    assert answer.status_code == 200 and answer.json()["name"] == "W2P-000123", answer.text
