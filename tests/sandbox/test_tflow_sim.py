"""tFLOW simulator, checked against providers-part2.md §1 (examples written from the reference,
not from our client): OAuth, token expiry, PHP-style forms, validation, the workflow state
machine, revision upload and signed webhooks."""
from __future__ import annotations

import hashlib
import json
import threading

import pytest
import requests

from sandbox.testing import serve_wsgi
from sandbox.tflow.testing import create_account


@pytest.fixture
def tf(sims):
    sim = create_account(f"{sims['tflow']}")
    http = requests.Session()

    def token():
        r = requests.post(f"{sim.api_base}/oauth/access_token", data={
            "grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret})
        assert r.status_code == 200, r.text
        return r.json()

    http.headers["Authorization"] = f"Bearer {token()['access_token']}"
    return sim, http, token


def _order(sim, http, name="PO-1"):
    r = http.post(f"{sim.api_base}/api/v1/order/create", data={"name": name, "client_id": "1"})
    assert r.status_code == 201, r.text
    return r.json()


def _job(sim, http, order_id, version="v2", **extra):
    data = {"name": "Job", "order_id": str(order_id), "product_id": "101", "ship_date": "2018-11-30T23:59:59+07",
            "props[quantity]": "1", **extra}
    return http.post(f"{sim.api_base}/api/{version}/job/create", data=data)


def test_token_endpoint_rules(tf):
    sim, _, token = tf
    body = token()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    url = f"{sim.api_base}/oauth/access_token"
    assert requests.post(url, data={"grant_type": "password", "client_id": sim.client_id,
                                    "client_secret": sim.client_secret}).status_code == 400
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id": sim.client_id,
                                   "client_secret": "nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert requests.post(url, json={"grant_type": "client_credentials"}).status_code == 400  # form only
    assert sim.control("GET", "stats")["token_requests"] == 2


def test_unknown_and_expired_tokens_are_401(tf):
    sim, http, _ = tf
    assert requests.get(f"{sim.api_base}/api/v2/product/list").status_code == 401
    assert http.get(f"{sim.api_base}/api/v2/product/list").status_code == 200
    sim.control("POST", "expire_tokens")
    r = http.get(f"{sim.api_base}/api/v2/product/list")
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_token_lifetime_follows_the_clock(sims):
    sim = create_account(f"{sims['tflow']}", token_ttl=60)
    r = requests.post(f"{sim.api_base}/oauth/access_token", data={
        "grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert requests.get(f"{sim.api_base}/api/v2/product/list", headers=headers).status_code == 200
    requests.post(f"{sim.api_base}/_sim/clock", json={"advance_seconds": 61}).raise_for_status()
    try:
        assert requests.get(f"{sim.api_base}/api/v2/product/list", headers=headers).status_code == 401
    finally:
        requests.delete(f"{sim.api_base}/_sim/clock")


def test_php_form_and_json_bodies_under_v1_and_v2(tf):
    sim, http, _ = tf
    order = _order(sim, http)
    job = _job(sim, http, order["id"], version="v1", **{"props[min_ppi]": "300", "tflows[0][id]": "808:1"})
    assert job.status_code == 201, job.text
    assert job.json()["props"] == {"quantity": "1", "min_ppi": "300"} and job.json()["current_state_name"] == "to_upload_first"
    as_json = http.post(f"{sim.api_base}/api/v2/job/create", json={
        "order_id": order["id"], "product_name": "Large format", "ship_date": "2026-12-01T23:59:59-06:00",
        "workflow_id": 20, "props": {"quantity": 3}})
    assert as_json.status_code == 201 and as_json.json()["workflow_id"] == 20
    listed = http.get(f"{sim.api_base}/api/v2/job/list", params={"order_id": order["id"]}).json()
    assert len(listed) == 2
    assert http.get(f"{sim.api_base}/api/v1/order/list", params={"name": "PO-1"}).json()[0]["id"] == order["id"]


def test_validation_errors_name_the_fields(tf):
    sim, http, _ = tf
    r = http.post(f"{sim.api_base}/api/v2/job/create", data={"order_id": "999", "ship_date": "2018-11-30T23:59:59",
                                                            "workflow_id": "3", "colour": "red"})
    assert r.status_code == 422
    messages = r.json()["messages"]
    assert r.json()["error"] and set(messages) == {"order_id", "product_id", "ship_date", "workflow_id", "colour"}
    assert messages["ship_date"] == ["The ship date needs a time zone offset."]
    assert http.get(f"{sim.api_base}/api/v2/job/424242").status_code == 404
    assert http.post(f"{sim.api_base}/api/v2/order/create", data={"description": "x"}).json()["messages"]["name"]


@pytest.mark.parametrize("workflow,path", [
    (2, [("checks_ok", "awaiting_approval"), ("approve", "approved"), ("release", "released")]),
    (4, [("checks_ok_and_release", "released")]),
    (5, [("checks_ok", "awaiting_approval"), ("approve", "approved")]),
    (8, [("checks_ok_to_step_1", "awaiting_approval"), ("approve_step_1", "approved_internal"),
         ("approve_step_2", "approved"), ("release", "released")]),
    (20, [("checks_ok_and_release", "released")]),
    (30, [("checks_ok", "approved"), ("release", "released")]),
])
def test_workflow_state_machines(tf, workflow, path):
    sim, http, _ = tf
    order = _order(sim, http)
    job = _job(sim, http, order["id"], workflow_id=str(workflow), **{"props[artwork_url]": "https://x.test/a.pdf"}).json()
    assert job["current_state_name"] == "to_review"
    assert http.get(f"{sim.api_base}/api/v1/job/{job['id']}/allowedTransitions").json() == []  # system only
    for transition, state in path:
        if transition.startswith(("checks", "auto")):
            moved = sim.advance(job["id"], transition=transition)
        else:
            allowed = http.get(f"{sim.api_base}/api/v1/job/{job['id']}/allowedTransitions").json()
            assert transition in allowed
            moved = http.post(f"{sim.api_base}/api/v1/job/{job['id']}/executeTransition",
                              data={"transition_name": transition}).json()
        assert moved["current_state_name"] == state
    if workflow in (5,):
        assert "release" not in http.get(f"{sim.api_base}/api/v1/job/{job['id']}/allowedTransitions").json()


def test_illegal_transition_is_refused(tf):
    sim, http, _ = tf
    job = _job(sim, http, _order(sim, http)["id"]).json()
    r = http.post(f"{sim.api_base}/api/v2/job/{job['id']}/executeTransition", data={"transition_name": "release"})
    assert r.status_code == 409 and "not allowed" in r.json()["error"]
    assert http.post(f"{sim.api_base}/api/v2/job/{job['id']}/executeTransition",
                     data={"transition_name": "fly"}).status_code == 422


def test_revision_upload_is_recorded_and_moves_the_job(tf):
    sim, http, _ = tf
    job = _job(sim, http, _order(sim, http)["id"]).json()
    r = http.post(f"{sim.api_base}/api/v2/job/{job['id']}/revision", files={"file": ("art.pdf", b"%PDF-1.7", "application/pdf")})
    assert r.status_code == 201 and r.json()["job_id"] == job["id"]
    assert sim.control("GET", "revisions") == [{"id": r.json()["id"], "job_id": job["id"], "file_name": "art.pdf", "size": 8}]
    assert http.get(f"{sim.api_base}/api/v2/job/{job['id']}").json()["current_state_name"] == "to_review"
    assert http.post(f"{sim.api_base}/api/v2/job/{job['id']}/revision", data={"x": "1"}).status_code == 422


@pytest.mark.parametrize("order_setting", ["key_body", "body_key"])
def test_webhooks_are_signed_with_sha1_of_key_and_body(tf, order_setting):
    sim, http, _ = tf
    received, lock = [], threading.Lock()

    def hook(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with lock:
            received.append((environ.get("HTTP_X_TFLOW_SIGNATURE"), body))
        start_response("202 Accepted", [])
        return [b""]

    url, stop = serve_wsgi(hook)
    try:
        sim.control("POST", f"clients/{sim.client_id}", signature_order=order_setting)
        r = http.post(f"{sim.api_base}/api/v2/webhook/create", data={"name": "job.approved", "url": url,
                                                                     "security_key": "k3y"})
        assert r.status_code == 201
        assert http.post(f"{sim.api_base}/api/v2/webhook/create", data={"name": "job.approved", "url": url}).status_code == 409
        assert [h["name"] for h in http.get(f"{sim.api_base}/api/v2/webhook/list").json()] == ["job.approved"]
        job = _job(sim, http, _order(sim, http)["id"], **{"props[artwork_url]": "https://x.test/a.pdf"}).json()
        sim.advance(job["id"], transition="checks_ok")
        http.post(f"{sim.api_base}/api/v2/job/{job['id']}/executeTransition", data={"transition_name": "approve"})
    finally:
        stop()
    [(signature, body)] = received
    payload = json.loads(body)
    assert payload["event"] == "job.approved" and payload["job_id"] == job["id"] and payload["state"] == "approved"
    joined = b"k3y" + body if order_setting == "key_body" else body + b"k3y"
    assert signature == hashlib.sha1(joined).hexdigest()


def test_rate_limit_answers_429(sims):
    sim = create_account(f"{sims['tflow']}", rate_limit=2, window_seconds=60)
    token = requests.post(f"{sim.api_base}/oauth/access_token", data={
        "grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    codes = [requests.get(f"{sim.api_base}/api/v2/product/list", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429] and sim.stats()["rate_limited"] == 1
