"""The HP PrintOS Box simulator (providers-part1.md §3, "simulator must" §3.4), driven by hand-signed
requests from the reference's facts and fixed vector — not by our client."""
from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
import requests

from sandbox.testing import start_world

VECTOR_DATE = "2024-05-01T10:00:00.000Z"
VECTOR_SIGNATURE = "009815c5efaa196e46bbb5dac866fdf742acee8e4ab9eef5d742fc1286780397"


def signed(key, secret, method, path, date=VECTOR_DATE, algorithm="SHA256"):
    signature = hmac.new(secret.encode(), f"{method} {path}{date}".encode(), hashlib.sha256).hexdigest()
    headers = {"x-hp-hmac-authentication": f"{key}:{signature}", "x-hp-hmac-date": date}
    if algorithm:
        headers["x-hp-hmac-algorithm"] = algorithm
    return headers


class Box:
    def __init__(self, base: str, key: str | None = None, secret: str | None = None):
        self.base = base  # the simulator's own server at Box's real path: http://host:port/box
        self.key, self.secret = key or f"key-{uuid.uuid4().hex[:8]}", secret or uuid.uuid4().hex
        response = requests.post(f"{self.base}/_sim/accounts", json={"key": self.key, "secret": self.secret}, timeout=10)
        assert response.status_code == 201

    def call(self, method, path, body=None, **kw):
        headers = signed(self.key, self.secret, method, path.split("?")[0], **kw)
        return requests.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=10)


@pytest.fixture
def box(sims):
    return Box(sims["printos_box"])


def test_reference_vector_creates_a_folder(sims):
    """Signed over the path after the real /box service prefix, as the gateway does."""
    box = Box(sims["printos_box"], key=f"k-{uuid.uuid4().hex[:6]}", secret="test-secret")
    headers = {"x-hp-hmac-authentication": f"{box.key}:{VECTOR_SIGNATURE}", "x-hp-hmac-date": VECTOR_DATE,
               "x-hp-hmac-algorithm": "SHA256"}
    response = requests.post(f"{box.base}/api/partner/folder", json={"name": "W2P-000123"}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "W2P-000123" and response.json()["_id"]


def test_auth_refusals(box):
    assert box.call("GET", "/api/partner/flow").status_code == 200
    sha1 = signed(box.key, box.secret, "GET", "/api/partner/flow", algorithm="SHA1")
    refused = requests.get(f"{box.base}/api/partner/flow", headers=sha1, timeout=10)
    assert refused.status_code == 401 and refused.json()["message"]
    assert box.call("GET", "/api/partner/flow", date="2024-05-01 10:00:00").status_code == 401
    with_prefix = signed(box.key, box.secret, "GET", "/box/api/partner/flow")
    assert requests.get(f"{box.base}/api/partner/flow", headers=with_prefix, timeout=10).status_code == 401
    assert box.call("GET", "/api/partner/flow", algorithm=None).status_code == 200  # optional by default


def test_auth_failure_status_and_algorithm_requirement_are_configurable():
    running = start_world({"BOX_AUTH_FAILURE_STATUS": 400, "BOX_REQUIRE_ALGORITHM": True})
    stop = running.stop
    try:
        box = Box(running.urls["printos_box"])
        assert box.call("GET", "/api/partner/flow", algorithm=None).status_code == 400
        assert box.call("GET", "/api/partner/flow").status_code == 200
    finally:
        stop()


def test_folder_and_file_validation(box):
    assert box.call("POST", "/api/partner/folder", {"from": "a@b.test"}).status_code == 400
    folder = box.call("POST", "/api/partner/folder", {"name": "W2P-1", "from": "ops@example.test"}).json()
    assert folder["status"] == "ready" and folder["fileCount"] == 0
    assert box.call("POST", "/api/partner/file", {"folderId": "missing", "url": "https://f.test/a.pdf"}).status_code == 404
    assert box.call("POST", "/api/partner/file", {"folderId": folder["_id"]}).status_code == 400
    for bad in ({"copies": 0}, {"copies": "2"}, {"substrate": "Cardboard"}, {"flow": "Nope"}):
        body = {"folderId": folder["_id"], "url": "https://f.test/a.pdf", **bad}
        assert box.call("POST", "/api/partner/file", body).status_code == 400, bad
    substrate = box.call("GET", "/api/partner/substrate").json()[0]
    flow = box.call("GET", "/api/partner/flow").json()["items"][0]["name"]
    created = box.call("POST", "/api/partner/file", {"folderId": folder["_id"], "url": "https://f.test/a.pdf",
                                                     "name": "cards.pdf", "copies": 250, "notes": "n",
                                                     "substrate": substrate, "flow": flow}).json()
    assert created["printInstructions"]["copies"] == 250 and created["currentVersion"]["status"] == "pending"
    assert box.call("GET", f"/api/partner/folder/{folder['_id']}").json()["fileCount"] == 1
    assert box.call("GET", f"/api/partner/file/{created['_id']}").json()["sourceUrl"] == "https://f.test/a.pdf"


def test_upload_urls_accept_the_put(box):
    assert box.call("GET", "/api/partner/file/uploadurls").status_code == 400
    urls = box.call("GET", "/api/partner/file/uploadurls?mimeType=application/pdf").json()
    assert requests.put(urls["uploadUrl"], data=b"%PDF-1.4", timeout=10).status_code == 200
    assert requests.get(urls["fetchUrl"], timeout=10).content == b"%PDF-1.4"


def test_status_progression_by_test_hooks(box):
    folder = box.call("POST", "/api/partner/folder", {"name": "W2P-2"}).json()
    record = box.call("POST", "/api/partner/file", {"folderId": folder["_id"], "url": "https://f.test/a.pdf"}).json()
    requests.post(f"{box.base}/_sim/files/{record['_id']}/advance", json={"status": "ok", "lastAction": "Preflighted"},
                  timeout=10).raise_for_status()
    requests.post(f"{box.base}/_sim/folders/{folder['_id']}/advance", json={"preflightStatus": "ok"},
                  timeout=10).raise_for_status()
    assert box.call("GET", f"/api/partner/file/{record['_id']}").json()["currentVersion"]["status"] == "ok"
    assert box.call("GET", f"/api/partner/folder/{folder['_id']}").json()["preflightStatus"] == "ok"


def test_accounts_do_not_see_each_other(box, sims):
    folder = box.call("POST", "/api/partner/folder", {"name": "mine"}).json()
    assert Box(sims["printos_box"]).call("GET", f"/api/partner/folder/{folder['_id']}").status_code == 404


def test_no_rate_limit_unless_configured():
    running = start_world({"BOX_RATE_LIMIT": (2, 60)})
    stop = running.stop
    try:
        box = Box(running.urls["printos_box"])
        assert [box.call("GET", "/api/partner/flow").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        stop()
