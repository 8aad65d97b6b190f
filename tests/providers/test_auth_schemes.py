"""Signing and token schemes the other providers need, checked against fixed vectors."""
from __future__ import annotations

import pytest
import requests
import responses

from webapp.providers import errors as pe
from webapp.providers.auth import (OAuth2ClientCredentials, PrintOSHMAC, SiteFlowHMAC, hmac_hex,
                                   printos_string_to_sign, siteflow_string_to_sign)
from webapp.providers.http import ProviderHTTP

TS = "2024-05-01T10:00:00.000Z"


def test_siteflow_native_vector():
    message = siteflow_string_to_sign("post", "/api/order", TS)
    assert message == "POST /api/order 2024-05-01T10:00:00.000Z"
    assert hmac_hex("test-secret", message) == "179bd8e1e95367b69a7eaa8ec62fab5de2030d9b046db04ad9814306ddde058d"


def test_printos_vector_has_no_space_before_the_timestamp():
    message = printos_string_to_sign("POST", "/api/partner/folder", TS)
    assert hmac_hex("test-secret", message) == "009815c5efaa196e46bbb5dac866fdf742acee8e4ab9eef5d742fc1286780397"


def _prepared(auth, url, method="POST"):
    return auth(requests.Request(method, url).prepare())


def test_siteflow_signs_the_path_without_query():
    request = _prepared(SiteFlowHMAC("tok", "test-secret", clock=lambda: TS), "https://x.test/api/order?x=1")
    assert request.headers["x-oneflow-authorization"] == \
        "tok:179bd8e1e95367b69a7eaa8ec62fab5de2030d9b046db04ad9814306ddde058d"
    assert request.headers["x-oneflow-date"] == TS and request.headers["x-oneflow-algorithm"] == "SHA256"


def test_printos_signs_the_path_after_the_service_prefix():
    request = _prepared(PrintOSHMAC("key", "test-secret", service_prefix="/box", clock=lambda: TS),
                        "https://printos.api.hp.com/box/api/partner/folder?mimeType=application/pdf")
    assert request.headers["x-hp-hmac-authentication"] == \
        "key:009815c5efaa196e46bbb5dac866fdf742acee8e4ab9eef5d742fc1286780397"
    assert request.headers["x-hp-hmac-algorithm"] == "SHA256"


@responses.activate
def test_oauth2_token_is_cached_across_clients_and_refreshed_once_on_401(app_ctx):
    from webapp.queue import get_redis

    tokens = iter(["t1", "t2"])
    responses.add_callback(responses.POST, "https://tflow.test/oauth/access_token",
                           callback=lambda r: (200, {}, f'{{"access_token": "{next(tokens)}", "expires_in": 3600}}'))
    seen = []

    def api(request):
        seen.append(request.headers["Authorization"])
        return (401, {}, "{}") if len(seen) == 3 else (200, {}, "{}")

    responses.add_callback(responses.GET, "https://tflow.test/api/v2/product/list", callback=api)

    def client():
        auth = OAuth2ClientCredentials("https://tflow.test/oauth/access_token", "id", "secret", redis=get_redis())
        return ProviderHTTP("https://tflow.test", auth=auth, secrets=["secret"]), auth

    first, auth_a = client()
    first.request("GET", "/api/v2/product/list")
    second, auth_b = client()  # another worker process: reuses the cached token
    second.request("GET", "/api/v2/product/list")
    second.request("GET", "/api/v2/product/list")  # 401 → new token → retried once
    assert seen == ["Bearer t1", "Bearer t1", "Bearer t1", "Bearer t2"]
    assert auth_a.token_requests + auth_b.token_requests == 2


@responses.activate
def test_oauth2_bad_credentials_are_an_auth_error():
    responses.post("https://tflow.test/oauth/access_token", status=401, json={"error": "invalid_client"})
    auth = OAuth2ClientCredentials("https://tflow.test/oauth/access_token", "id", "wrong")
    with pytest.raises(pe.ProviderAuthError):
        ProviderHTTP("https://tflow.test", auth=auth).request("GET", "/api/v2/product/list")


@responses.activate
def test_cached_tokens_are_encrypted_in_redis_with_their_ttl(app_ctx, app, monkeypatch):
    """Issue 12 leftover: Redis holds the token encrypted with CREDENTIALS_KEY (a Redis dump or
    MONITOR shows no usable token), and it still expires shortly before the token does."""
    from cryptography.fernet import Fernet

    from webapp.queue import get_redis

    token = "tok-EXAMPLE-abcdef-123456"
    responses.post("https://tflow.test/oauth/access_token", json={"access_token": token, "expires_in": 3600})
    responses.get("https://tflow.test/api/v2/product/list", json={})
    auth = OAuth2ClientCredentials("https://tflow.test/oauth/access_token", "id", "secret", redis=get_redis())
    ProviderHTTP("https://tflow.test", auth=auth).request("GET", "/api/v2/product/list")
    raw = get_redis().get(auth.cache_key)
    assert raw and token.encode() not in raw and b"tok-" not in raw
    assert 3400 < get_redis().ttl(auth.cache_key) <= 3540  # lifetime minus the margin
    assert auth.token() == token and auth.token_requests == 1  # read back decrypted, no new grant

    # Written under another key (the key was rotated): not decryptable, so a new grant, no error.
    monkeypatch.setitem(app.config, "CREDENTIALS_KEY", Fernet.generate_key().decode())
    assert auth.token() == token and auth.token_requests == 2
