"""§2: login tokens and OAuth2 go through the shared HTTP layer (logged, redacted, rate
limited, typed), are cached in Redis for every worker and refreshed once on 401."""
from __future__ import annotations

import base64

import pytest
import requests
import responses

from webapp.providers import errors as pe
from webapp.providers.auth import (OAuth2ClientCredentials, PrintOSHMAC, SiteFlowHMAC, TokenAuth,
                                   basic_token_user, hmac_hex, siteflow_signer)
from webapp.providers.base import Provider
from webapp.providers.fields import Field, schema
from webapp.providers.ratelimit import RateLimit

BASE = "https://mis.example.test/TharsternAPI/api"
ZERO = "00000000-0000-0000-0000-000000000000"


class LoginFake(Provider):
    """Tharstern-style: GET GenerateAPIToken?email=&password= → {"Details": {"Token": GUID}},
    then the token as a Basic user; an all-zero GUID means the login failed."""

    key, name = "login-fake", "Login fake"
    credentials = schema(Field("email", "E-mail", required=True),
                         Field("password", "Password", type="secret", required=True))
    rate_limit = RateLimit(limit=100, window_seconds=60)

    def build_http(self):
        auth = TokenAuth(self._login, cache_key=f"token:{self.key}:{self.credential_fingerprint()}",
                         redis=self.redis, apply=basic_token_user)
        return super().build_http(auth=auth)

    def _login(self, http):
        body = http.request("GET", "Authentication/GenerateAPIToken", auth=None, params={
            "email": self.credentials_values["email"], "password": self.credentials_values["password"],
            "applicationId": "hub"})
        token = ((body or {}).get("Details") or {}).get("Token") or ""
        if token.strip("0-") == "":
            raise pe.in_body("auth", "Tharstern refused the e-mail / password.")
        return token, None

    def check_response(self, response):
        if response.headers.get("Content-Type", "").startswith("application/json"):
            status = (response.json() or {}).get("Status") or {}
            if status.get("Success") is False and "token" in str(status.get("Message", "")).lower():
                raise pe.in_body("auth", status["Message"])


PASSWORD = "p&ss/wörd+1"


def _client(redis):
    return LoginFake({"email": "ops@shop.test", "password": PASSWORD, "base_url": BASE}, redis=redis)


def _basic(token):
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()


@responses.activate
def test_login_is_logged_redacted_cached_for_every_worker_and_refreshed_once(app_ctx):
    from webapp.queue import get_redis

    tokens = iter(["11111111-aaaa-bbbb-cccc-000000000001", "11111111-aaaa-bbbb-cccc-000000000002"])
    responses.add_callback(responses.GET, f"{BASE}/Authentication/GenerateAPIToken", callback=lambda r: (
        200, {"Content-Type": "application/json"}, f'{{"Status": {{"Success": true}}, "Details": {{"Token": "{next(tokens)}"}}}}'))
    seen = []

    def jobs(request):
        seen.append(request.headers["Authorization"])
        if len(seen) == 3:  # the token expired on the provider's side, said inside a 200
            return 200, {"Content-Type": "application/json"}, '{"Status": {"Success": false, "Message": "Invalid token"}}'
        return 200, {"Content-Type": "application/json"}, '{"Status": {"Success": true}, "Details": {"Items": []}}'

    responses.add_callback(responses.GET, f"{BASE}/jobs", callback=jobs)
    first = _client(get_redis())
    first.http.request("GET", "jobs")
    second = _client(get_redis())  # another worker: the cached token, no new login
    second.http.request("GET", "jobs")
    second.http.request("GET", "jobs")  # refused in the body → one new login → retried once
    t1, t2 = "11111111-aaaa-bbbb-cccc-000000000001", "11111111-aaaa-bbbb-cccc-000000000002"
    assert seen == [_basic(t1), _basic(t1), _basic(t1), _basic(t2)]
    assert first.http.auth.token_requests + second.http.auth.token_requests == 2
    login = first.exchanges[0]
    assert "GenerateAPIToken" in login.url and "applicationId=hub" in login.url  # logged like any call
    everything = " ".join(f"{x.url} {x.request_body} {x.response_body}" for c in (first, second) for x in c.exchanges)
    for secret in (PASSWORD, t1, t2, "p%26ss%2Fw%C3%B6rd%2B1", base64.b64encode(f"{t1}:".encode()).decode()):
        assert secret not in everything
    assert "[redacted]" in login.url and "[redacted]" in login.response_body


@responses.activate
def test_a_failed_login_is_an_auth_error_and_not_retried(app_ctx):
    from webapp.queue import get_redis

    responses.get(f"{BASE}/Authentication/GenerateAPIToken", json={"Status": {"Success": True},
                                                                     "Details": {"Token": ZERO}})
    responses.get(f"{BASE}/jobs", json={})
    client = _client(get_redis())
    with pytest.raises(pe.ProviderAuthError, match="refused the e-mail"):
        client.http.request("GET", "jobs")
    assert len(responses.calls) == 1


@responses.activate
def test_the_login_call_obeys_retry_after_and_the_shared_rate_limiter(app_ctx):
    from webapp.queue import get_redis

    responses.get(f"{BASE}/Authentication/GenerateAPIToken", status=429, headers={"Retry-After": "42"})
    client = _client(get_redis())
    with pytest.raises(pe.ProviderRateLimited) as caught:
        client.http.request("GET", "jobs")
    assert caught.value.retry_after == 42
    # the call and the login it needed each took a slot of the shared window
    assert get_redis().zcard(client.limiter().log_key) == 2


@responses.activate
def test_a_login_timeout_is_typed():
    responses.get(f"{BASE}/Authentication/GenerateAPIToken", body=requests.exceptions.ReadTimeout())
    with pytest.raises(pe.ProviderTimeout):
        _client(None).http.request("GET", "jobs")


@responses.activate
def test_oauth2_grant_goes_through_the_layer_and_its_secret_and_token_are_redacted():
    responses.post("https://tflow.test/oauth/access_token",
                   json={"access_token": "tok-abcdef-123", "token_type": "Bearer", "expires_in": 3600})
    responses.get("https://tflow.test/api/v2/product/list", json={"echo": "tok-abcdef-123"})
    from webapp.providers.http import ProviderHTTP

    auth = OAuth2ClientCredentials("https://tflow.test/oauth/access_token", "id-1", "client-secret-9")
    http = ProviderHTTP("https://tflow.test", auth=auth)
    http.request("GET", "/api/v2/product/list")
    grant, call = http.exchanges
    assert grant.method == "POST" and "client_secret=%5Bredacted%5D" not in grant.request_body
    assert "client-secret-9" not in grant.request_body and "[redacted]" in grant.request_body
    assert "tok-abcdef-123" not in grant.response_body + call.response_body
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-abcdef-123"


@responses.activate
def test_oauth2_invalid_client_400_is_an_auth_error():
    responses.post("https://tflow.test/oauth/access_token", status=400, json={"error": "invalid_client"})
    from webapp.providers.http import ProviderHTTP

    with pytest.raises(pe.ProviderAuthError):
        ProviderHTTP("https://tflow.test", auth=OAuth2ClientCredentials(
            "https://tflow.test/oauth/access_token", "id", "wrong-secret")).request("GET", "/x")


TS = "2024-05-01T10:00:00.000Z"


@pytest.mark.parametrize("base,server,kind", [
    ("https://pro-api.oneflowcloud.com/api", "auto", SiteFlowHMAC),
    ("https://orders.oneflow.io/api", "auto", SiteFlowHMAC),
    ("https://printos.api.hp.com/siteflow", "auto", PrintOSHMAC),
    ("https://stage.printos.api.hp.com/siteflow", "auto", PrintOSHMAC),
    ("http://127.0.0.1:5001/siteflow", "gateway", PrintOSHMAC),
    ("http://127.0.0.1:5001/siteflow", "native", SiteFlowHMAC),
])
def test_siteflow_signer_follows_the_server_and_keeps_both_vectors(base, server, kind):
    signer = siteflow_signer(base, "key", "test-secret", server=server, clock=lambda: TS)
    assert type(signer) is kind
    signed = signer(requests.Request("POST", f"{base}/api/order" if kind is PrintOSHMAC else
                                     "https://pro-api.oneflowcloud.com/api/order").prepare())
    if kind is PrintOSHMAC:  # "/siteflow" prefix left out, no space before the timestamp
        assert signed.headers["x-hp-hmac-authentication"] == "key:" + hmac_hex("test-secret", "POST /api/order" + TS)
        assert "x-oneflow-authorization" not in signed.headers
    else:
        assert signed.headers["x-oneflow-authorization"] == \
            "key:179bd8e1e95367b69a7eaa8ec62fab5de2030d9b046db04ad9814306ddde058d"
        assert "x-hp-hmac-authentication" not in signed.headers
