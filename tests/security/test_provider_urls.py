"""Provider URLs entered by users: https only (plain-http loopback only when the install allows
it), and the HTTP layer never follows a redirect — credentials stay with the configured host.
Every provider of the registry and every ``url`` field it declares is checked."""
from __future__ import annotations

import pytest
from werkzeug.wrappers import Request, Response

from sandbox.testing import serve_wsgi
from webapp.providers import errors as pe
from webapp.providers.base import ENTITY_SCHEMAS
from webapp.providers.fields import FieldError
from webapp.providers.registry import all_providers

from .conftest import SECRET, fixture_credentials, login_client

PROVIDERS = list(all_providers().values())
URL_FIELDS = [(provider, schema_name, f) for provider in PROVIDERS
              for schema_name in ("credentials", "account_settings", *ENTITY_SCHEMAS.values())
              for f in getattr(provider, schema_name) if f.type == "url"]

REFUSED_ALWAYS = ["http://provider.example.com/api", "ftp://provider.example.com/", "javascript:alert(1)",
                  "https://user:pass@provider.example.com/", "//provider.example.com/api", "provider.example.com",
                  "https://provider.example.com/api#frag", "file:///etc/passwd"]
LOOPBACK = ["http://127.0.0.1:5001/api", "http://localhost:8080", "http://[::1]:5001/", "https://127.0.0.1/api",
            "http://127.8.9.10/"]


def test_every_provider_declares_its_urls():
    assert PROVIDERS
    # ShipStation's API URL is a user-editable url field; new providers add theirs automatically.
    assert any(p.key == "shipstation" and f.name == "base_url" for p, _, f in URL_FIELDS)


@pytest.mark.parametrize("provider,schema_name,field", URL_FIELDS,
                         ids=[f"{p.key}.{s}.{f.name}" for p, s, f in URL_FIELDS])
def test_url_fields_accept_https_and_refuse_the_rest(provider, schema_name, field):
    assert field.clean("https://api.provider.example.com/v1") == "https://api.provider.example.com/v1"
    for allow in (False, True):
        for url in REFUSED_ALWAYS:
            with pytest.raises(FieldError):
                field.clean(url, allow_loopback=allow)
    for url in LOOPBACK:
        with pytest.raises(FieldError, match="this machine"):
            field.clean(url, allow_loopback=False)
        assert field.clean(url, allow_loopback=True) == url.rstrip("/")


def test_the_account_form_refuses_loopback_unless_the_install_allows_it(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_LOOPBACK_PROVIDER_URLS", False)
    client = login_client(app, world.boss)
    checked = 0
    for provider in PROVIDERS:
        url_fields = [f for f in provider.credentials if f.type == "url"]
        if not url_fields:
            continue
        data = {"name": f"{provider.name} loopback", "provider": provider.key, "admin": 0}
        data.update({f"credentials-{k}": v for k, v in fixture_credentials(provider).items()})
        for f in url_fields:
            data[f"credentials-{f.name}"] = "http://127.0.0.1:9/api"
        with app.app_context():
            from webapp.models import Admin
            data["admin"] = Admin.query.filter_by(email=world.boss).one().id
        response = client.post("/preferences/embedded/accounts/new", data=data)
        assert response.status_code == 422, response.status_code
        assert "points at this machine" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 1


class _Recorder:
    def __init__(self):
        self.requests = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path, dict(request.headers)))
        return Response('{"ok": true}', mimetype="application/json")(environ, start_response)


@pytest.fixture
def redirect_to_other_host():
    """Server A answers every request with a redirect to server B (another host:port)."""
    target = _Recorder()
    target_url, stop_target = serve_wsgi(target)
    other_host = target_url.replace("127.0.0.1", "localhost")
    state = {"status": 302, "hits": 0}

    def redirector(environ, start_response):
        state["hits"] += 1
        request = Request(environ)
        return Response("", status=state["status"],
                        headers={"Location": f"{other_host}/steal{request.path}"})(environ, start_response)

    source_url, stop_source = serve_wsgi(redirector)
    yield source_url, target, state
    stop_source()
    stop_target()


@pytest.mark.parametrize("provider", PROVIDERS, ids=[p.key for p in PROVIDERS])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(provider, status, redirect_to_other_host):
    source_url, target, state = redirect_to_other_host
    state["status"] = status
    credentials = fixture_credentials(provider, base_url=source_url)
    settings = {f.name: source_url for f in provider.account_settings if f.type == "url"}
    client = provider(credentials, settings)
    if not any(f.type == "url" for f in provider.credentials) and not settings:
        client.http.base_url = source_url.rstrip("/") + "/"  # a provider with a fixed API host
    with pytest.raises(pe.ProviderError) as info:
        client.test_connection()
    assert isinstance(info.value, pe.ProviderRejected) and "not followed" in info.value.message
    assert state["hits"] >= 1
    assert target.requests == [], "the redirect target must receive nothing (no credentials, no body)"
    assert all(SECRET not in (x.url + x.request_body + x.response_body) for x in client.exchanges)
