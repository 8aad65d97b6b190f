"""The shared simulator base, through a toy simulator built only from it (never shipped):
per-credential tenants, request stats, webhook dispatch and body redaction in the recorder."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import pytest
import requests
from flask import Blueprint, Flask, jsonify, request

from sandbox.base import (SimRuntime, Tenant, Tenants, define_simulator, dispatch, install_tenant_routes, mount,
                          redact_body, tenant_from)
from sandbox.testing import serve_wsgi


@dataclass
class Shop(Tenant):
    hook_url: str = ""
    hook_secret: str = ""
    notes: list[str] = field(default_factory=list)


class ToyState:
    def __init__(self, rt, config):
        self.rt = rt
        self.tenants: Tenants[Shop] = Tenants(rt, Shop, default_limit=3, default_window=60)


def _routes(bp: Blueprint) -> None:
    def st() -> ToyState:
        from sandbox.base import get_runtime
        return get_runtime("toy").data

    @bp.post("/notes")
    def add_note():
        shop = st().tenants.find(request.headers.get("X-Token", ""))
        if shop is None:
            return jsonify({"error": "bad token"}), 401
        if not st().tenants.admit(shop).allowed:
            return jsonify({"error": "slow down"}), 429
        shop.notes.append(request.get_data(as_text=True))
        return jsonify({"notes": len(shop.notes)})

    @bp.get("/notes")
    def list_notes():
        shop = st().tenants.find(request.headers.get("X-Token", ""))
        return jsonify(shop.notes if shop else []), 200 if shop else 401

    @bp.post("/_sim/notify")
    def notify():
        shop = tenant_from(st().tenants, request.get_json(), "token")
        secret = shop.hook_secret.encode()
        return jsonify(dispatch(shop.hook_url, {"event": "note.added", "notes": len(shop.notes)},
                                sign=lambda body: {"X-Sig": hmac.new(secret, body, hashlib.sha256).hexdigest()},
                                log=shop.deliveries, timeout=5, info={"event": "note.added"}))

    install_tenant_routes(
        bp, lambda: st().tenants, credential_field="token",
        create=lambda tenants, p: tenants.add(p["token"], rate_limit=p.get("rate_limit"),
                                              hook_url=p.get("hook_url", ""), hook_secret=p.get("hook_secret", "")),
        describe=lambda shop: {"label": shop.label}, stats=lambda shop: {"notes": len(shop.notes)})


TOY = define_simulator("toy", "Toy", create_state=ToyState, register=(_routes,),
                       secret_fields=frozenset({"PinCode"}), redact_headers=frozenset({"X-Token"}))


@pytest.fixture(scope="module")
def toy():
    app = Flask("toy")
    mount(app, SimRuntime(TOY, {}), "")  # at the root, as a simulator's own server
    base, stop = serve_wsgi(app)
    yield base
    stop()


def new_shop(toy, token, **extra):
    response = requests.post(f"{toy}/_sim/accounts", json={"token": token, **extra}, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def test_two_credentials_are_two_isolated_tenants(toy):
    a, b = new_shop(toy, "tok-a"), new_shop(toy, "tok-b")
    assert a["label"] != b["label"] and "tok-" not in a["label"]  # a secret credential is never the label
    requests.post(f"{toy}/notes", data="for a", headers={"X-Token": "tok-a"}, timeout=5).raise_for_status()
    assert requests.get(f"{toy}/notes", headers={"X-Token": "tok-a"}, timeout=5).json() == ["for a"]
    assert requests.get(f"{toy}/notes", headers={"X-Token": "tok-b"}, timeout=5).json() == []
    # Each tenant has its own rate-limit window: a is refused, b is not.
    codes = [requests.post(f"{toy}/notes", data="x", headers={"X-Token": "tok-a"}, timeout=5).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert requests.post(f"{toy}/notes", data="x", headers={"X-Token": "tok-b"}, timeout=5).status_code == 200
    # Creating an existing tenant again keeps its data (and gives it a fresh window).
    new_shop(toy, "tok-a")
    assert len(requests.get(f"{toy}/notes", headers={"X-Token": "tok-a"}, timeout=5).json()) == 3


def test_request_stats_per_tenant(toy):
    new_shop(toy, "tok-s", rate_limit=1)
    for _ in range(2):
        requests.post(f"{toy}/notes", data="n", headers={"X-Token": "tok-s"}, timeout=5)
    requests.post(f"{toy}/notes", data="n", headers={"X-Token": "nobody"}, timeout=5)  # counts for no one
    stats = requests.get(f"{toy}/_sim/stats", params={"token": "tok-s"}, timeout=5).json()
    assert stats == {"requests": 2, "rate_limited": 1, "notes": 1}
    assert requests.get(f"{toy}/_sim/stats", params={"token": "nope"}, timeout=5).status_code == 404
    assert requests.post(f"{toy}/_sim/accounts", json={}, timeout=5).status_code == 400


def test_webhook_dispatch_signs_posts_and_logs_without_raising(toy):
    received = []
    hub = Flask("hub")

    @hub.post("/hook")
    def hook():
        received.append((request.get_data(), dict(request.headers)))
        return "", 202

    hub_url, stop = serve_wsgi(hub)
    try:
        new_shop(toy, "tok-w", hook_url=f"{hub_url}/hook", hook_secret="hook-secret")
        outcome = requests.post(f"{toy}/_sim/notify", json={"token": "tok-w"}, timeout=10).json()
        assert outcome == {"event": "note.added", "url": f"{hub_url}/hook", "status": 202}
        body, headers = received[0]
        assert json.loads(body) == {"event": "note.added", "notes": 0}
        assert headers["X-Sig"] == hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        assert headers["Content-Type"] == "application/json"
    finally:
        stop()
    # The hub is gone: the outcome says so, the simulator does not fail.
    gone = requests.post(f"{toy}/_sim/notify", json={"token": "tok-w"}, timeout=10).json()
    assert gone["url"] == f"{hub_url}/hook" and "ConnectionError" in gone["error"] and "status" not in gone


SECRET = 'p&ss<"1">/+=é'


@pytest.mark.parametrize("encode", [
    lambda s: s, lambda s: quote_plus(s), lambda s: quote(s, safe=""), lambda s: escape(s),
    lambda s: escape(s, {'"': "&quot;"}), lambda s: json.dumps(s)[1:-1],
    lambda s: base64.b64encode(s.encode()).decode(),
], ids=["raw", "url-plus", "url-quote", "xml", "xml-attr", "json", "base64"])
def test_a_known_secret_is_redacted_in_every_encoding(encode):
    text = f"before {encode(SECRET)} after"
    assert redact_body(text, secrets=[SECRET]) == "before [redacted] after"


@pytest.mark.parametrize("body,form,expected", [
    ('<s:Envelope xmlns:s="x"><s:Header><Auth><DevToken>unknown-tok</DevToken><User>u</User></Auth></s:Header>'
     '<s:Body><Op>keep</Op></s:Body></s:Envelope>', False,
     '<s:Envelope xmlns:s="x"><s:Header><Auth><DevToken>[redacted]</DevToken><User>[redacted]</User></Auth>'
     '</s:Header><s:Body><Op>keep</Op></s:Body></s:Envelope>'),
    ("<Credential domain='NetworkId'><Identity>buyer</Identity><SharedSecret>wrong-one</SharedSecret></Credential>",
     False, "<Credential domain='NetworkId'><Identity>buyer</Identity><SharedSecret>[redacted]</SharedSecret></Credential>"),
    ("grant_type=client_credentials&client_id=me&client_secret=s%26cret", True,
     "grant_type=client_credentials&client_id=me&client_secret=%5Bredacted%5D"),
    ('{"Username": "me", "Password": "hunter\\"2"}', False, '{"Username": "me", "Password": "[redacted]"}'),
    ("<auth><user>me</user><pass>x</pass><PinCode>4711</PinCode></auth>", False,
     "<auth><user>me</user><pass>[redacted]</pass><PinCode>[redacted]</PinCode></auth>"),
], ids=["soap-header", "cxml-shared-secret", "form", "json-key", "declared-field"])
def test_secrets_are_redacted_by_position_even_when_unknown(body, form, expected):
    fields = {"password", "pass", "sharedsecret", "devtoken", "client_secret", "pincode"}
    assert redact_body(body, fields=fields, form=form) == expected


def test_recorded_bodies_hold_no_secret_end_to_end(toy):
    new_shop(toy, "tok-r")
    requests.delete(f"{toy}/_sim/requests", timeout=5)
    requests.post(f"{toy}/notes", headers={"X-Token": "tok-r"}, timeout=5,
                  data=f"<n><PinCode>1234</PinCode><ref>{base64.b64encode(b'tok-r').decode()}</ref></n>")
    requests.post(f"{toy}/notes", headers={"X-Token": "tok-r", "Content-Type": "application/x-www-form-urlencoded"},
                  data="note=hi&password=topsecret&echo=tok-r", timeout=5)
    recorded = requests.get(f"{toy}/_sim/requests", timeout=5).json()["requests"]
    assert [e["body"] for e in recorded] == [
        "<n><PinCode>[redacted]</PinCode><ref>[redacted]</ref></n>",
        "note=hi&password=%5Bredacted%5D&echo=%5Bredacted%5D"]
    assert {e["credential"] for e in recorded} == {recorded[0]["credential"]} and "tok-r" not in str(recorded)
