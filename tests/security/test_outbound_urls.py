"""Where provider requests may go (issue 11, items 1 and 5).

A URL a provider sent (a webhook's resource_url) is parsed once, by the parser that sends it,
and carries our credentials only to the account's configured origin; provider addresses that
reach this machine or the internal network are refused when saved and again when connecting
(the address really connected to), so DNS rebinding cannot pass. Real HTTP servers record what
arrives."""
from __future__ import annotations

import base64
import json
import socket

import pytest
import requests
from werkzeug.wrappers import Request, Response

from sandbox.testing import serve_wsgi
from webapp.providers import errors as pe
from webapp.providers import urlguard
from webapp.providers.fields import FieldError, check_provider_url
from webapp.providers.http import ProviderHTTP
from webapp.providers.registry import all_providers


class Recorder:
    def __init__(self, body: dict | None = None):
        self.requests: list[tuple[str, str, dict]] = []
        self.body = body or {"shipments": [], "page": 1, "pages": 1}

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.full_path, dict(request.headers)))
        return Response(json.dumps(self.body), mimetype="application/json")(environ, start_response)


@pytest.fixture
def two_servers():
    ours, attacker = Recorder(), Recorder()
    ours_url, stop_ours = serve_wsgi(ours)
    attacker_url, stop_attacker = serve_wsgi(attacker)
    yield ours, ours_url, attacker, attacker_url
    stop_ours()
    stop_attacker()


def _hostport(url: str) -> str:
    return url.split("://", 1)[1].rstrip("/")


AMBIGUOUS = "ambiguous"   # parsers may disagree on its host: never sent
FOREIGN = "foreign"       # plainly another origin: sent (a pre-signed URL) but never with our auth


def _smuggled(attacker_url: str, ours_url: str) -> list[tuple[str, str]]:
    """resource_urls that name our host to a naive check but may be sent elsewhere."""
    a, o = _hostport(attacker_url), _hostport(ours_url)
    return [
        (f"http://{a}\\@{o}/shipments", AMBIGUOUS),          # the attack run's URL: backslash before @
        (f"http://{a}\\\\@{o}/shipments", AMBIGUOUS),
        (f"http://{o}@{a}/shipments", AMBIGUOUS),              # credentials part naming our host
        (f"http://user:pw@{o}/shipments", AMBIGUOUS),          # credentials, right host
        (f"http://{o}/ship ments", AMBIGUOUS),                 # whitespace
        (f"http://{o}/ship\tments", AMBIGUOUS),
        (f"http://{a}/shipments?x={o}", FOREIGN),
        (f"http://{o.split(':')[0]}:{a.split(':')[1]}/shipments", FOREIGN),  # right host, another port
    ]


def test_a_sent_url_is_parsed_once_and_our_auth_goes_only_to_the_configured_origin(two_servers):
    ours, ours_url, attacker, attacker_url = two_servers
    http = ProviderHTTP(ours_url, auth=("api-key", "api-secret-XYZ"), secrets=["api-secret-XYZ"])
    for url, kind in _smuggled(attacker_url, ours_url):
        if kind == AMBIGUOUS:
            with pytest.raises(pe.ProviderRejected):
                http.request("GET", url)
        else:
            http.request("GET", url)
    assert ours.requests == [], "an ambiguous URL was sent to our host"
    assert len(attacker.requests) == 2  # the two plainly foreign URLs, and nothing else
    assert all("Authorization" not in headers for _, _, headers in attacker.requests), attacker.requests
    http.request("GET", f"{ours_url}/shipments?page=2")  # the configured origin: sent, with auth
    (method, path, headers), = ours.requests
    assert path == "/shipments?page=2"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"api-key:api-secret-XYZ").decode()


def test_webhook_resource_url_with_a_backslash_never_sends_credentials(app_ctx, factory, two_servers):
    """The attack run's exploit, end to end: the webhook is refused at intake, and even a stored
    event with that payload (processed by the job) sends nothing anywhere."""
    from webapp.embedded import install
    from webapp.embedded import webhooks as intake
    from webapp.embedded.accounts import save_account
    from webapp.embedded.activation import set_activation
    from webapp.extensions import db
    from webapp.models import WebhookEvent

    ours, ours_url, attacker, attacker_url = two_servers
    install.enable_provider("shipstation")
    admin = factory.admin(is_super=True)
    result = save_account(None, company_id=admin.company_id, name="SS", provider_key="shipstation", admin_id=admin.id,
                          credentials={"api_key": "key1", "api_secret": "secret-leak-1234", "base_url": ours_url},
                          settings={})
    assert result.ok, result.errors
    account = result.account
    assert set_activation(account, factory.site(), enabled=True, is_live=True).ok
    for resource_url, _ in _smuggled(attacker_url, ours_url):
        body = json.dumps({"resource_url": resource_url, "resource_type": "SHIP_NOTIFY"}).encode()
        answer = intake.receive("shipstation", account.webhook_token, {"Content-Type": "application/json"}, body)
        assert answer.status == 400, (resource_url, answer)
        event = WebhookEvent(account_id=account.id, dedupe_key=resource_url[:128], event_type="SHIP_NOTIFY",
                             payload=body.decode())
        db.session.add(event)
        db.session.commit()
        assert intake.process(event.id) == "failed"
        assert "Refusing" in db.session.get(WebhookEvent, event.id).error
    assert attacker.requests == [] and ours.requests == []


@pytest.mark.parametrize("url", [
    "https://127.1/api", "https://0.0.0.0/api", "https://localhost./api", "https://[::ffff:127.0.0.1]/api",
    "https://2130706433/api", "https://169.254.169.254/latest", "https://10.1.2.3/api", "https://192.168.1.1/",
    "https://[::1]/api", "https://0x7f.1/api", "https://api.localhost/x", "https://[fe80::1]/", "https://224.0.0.1/",
    "https://provider.example.com\\@127.0.0.1/",
])
def test_internal_addresses_are_refused_on_save(url):
    with pytest.raises(FieldError):
        check_provider_url(url, allow_loopback=False)


def test_every_url_field_of_every_provider_refuses_internal_addresses():
    checked = 0
    for provider in all_providers().values():
        for schema_name in ("credentials", "account_settings"):
            for f in getattr(provider, schema_name):
                if f.type == "url":
                    for url in ("https://127.1", "https://169.254.169.254", "https://10.0.0.8"):
                        with pytest.raises(FieldError):
                            f.clean(url, allow_loopback=False)
                    checked += 1
    assert checked >= 1


def test_a_name_that_rebinds_to_loopback_is_refused_at_connection_time(monkeypatch, two_servers):
    """Saved while it resolved to a public address; at call time DNS answers 127.0.0.1."""
    ours, ours_url, _, _ = two_servers
    port = int(ours_url.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = {"public": [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))],
               "rebound": [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]}
    state = {"answer": "public"}

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "rebind.example.test":
            return answers[state["answer"]]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert check_provider_url("https://rebind.example.test/api", allow_loopback=False)  # saved: public
    state["answer"] = "rebound"
    http = ProviderHTTP(f"http://rebind.example.test:{port}", auth=("k", "s"))
    http.session = urlguard.guarded_session(allow_loopback=False)
    with pytest.raises(pe.ProviderConnectError):
        http.request("GET", "/anything")
    assert ours.requests == [], "the connection to a loopback peer was used"
    # The allowance used by tests and the demo still works, through the same check.
    allowed = urlguard.guarded_session(allow_loopback=True)
    assert allowed.get(f"http://rebind.example.test:{port}/ok", timeout=5).status_code == 200


def test_a_guarded_session_refuses_private_peers_even_by_address(two_servers):
    ours, ours_url, _, _ = two_servers
    with pytest.raises(requests.ConnectionError):
        urlguard.guarded_session(allow_loopback=False).get(f"{ours_url}/x", timeout=5)
    assert ours.requests == []
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "10.0.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1"):
        assert urlguard.address_problem(address, allow_loopback=False), address
    assert urlguard.address_problem("93.184.216.34", allow_loopback=False) is None
    assert urlguard.address_problem("127.0.0.1", allow_loopback=True) is None
    assert urlguard.address_problem("10.0.0.1", allow_loopback=True)  # loopback only, never the LAN


def test_the_attack_runs_exact_payload_against_the_default_api_host(app_ctx, factory):
    """resource_url "https://127.0.0.1:5404\\@ssapi.shipstation.com/shipments": a check reading
    the host after "@" saw ShipStation; requests sent Basic auth to 127.0.0.1:5404."""
    import re

    import responses

    from webapp.embedded import install
    from webapp.embedded import webhooks as intake
    from webapp.embedded.accounts import save_account
    from webapp.extensions import db
    from webapp.models import WebhookEvent

    install.enable_provider("shipstation")
    admin = factory.admin(is_super=True)
    account = save_account(None, company_id=admin.company_id, name="SS", provider_key="shipstation",
                           admin_id=admin.id, credentials={"api_key": "key1", "api_secret": "secret-leak-1234"},
                           settings={}).account
    body = json.dumps({"resource_url": "https://127.0.0.1:5404\\@ssapi.shipstation.com/shipments",
                       "resource_type": "SHIP_NOTIFY"}).encode()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(r".*"), json={"shipments": [], "page": 1, "pages": 1})
        answer = intake.receive("shipstation", account.webhook_token, {"Content-Type": "application/json"}, body)
        event = WebhookEvent(account_id=account.id, dedupe_key="attack", event_type="SHIP_NOTIFY",
                             payload=body.decode())
        db.session.add(event)
        db.session.commit()
        intake.process(event.id)
        sent = [(call.request.url, call.request.headers.get("Authorization")) for call in mock.calls]
    assert answer.status == 400
    assert sent == [], f"requests were sent: {sent}"


def test_a_declared_host_family_is_followed_only_over_https_while_the_account_uses_it():
    """ShipStation's resource_urls name numbered hosts (reference: allow-list *.shipstation.com)."""
    family = ("shipstation.com",)
    ok = urlguard.own_url("https://ssapi.shipstation.com", "https://ssapi11.shipstation.com/shipments?x=1", family)
    assert ok == "https://ssapi11.shipstation.com/shipments?x=1"
    for url in ("https://ssapi11.shipstation.com:8443/s", "http://ssapi11.shipstation.com/s",
                "https://shipstation.com.evil.example/s", "https://evilshipstation.com/s",
                "https://ssapi11.shipstation.com\\@evil.example/s", "https://a:b@ssapi11.shipstation.com/s"):
        with pytest.raises(pe.ProviderRejected):
            urlguard.own_url("https://ssapi.shipstation.com", url, family)
    with pytest.raises(pe.ProviderRejected):  # a custom API URL: only its own origin
        urlguard.own_url("https://proxy.example.test", "https://ssapi11.shipstation.com/s", family)
