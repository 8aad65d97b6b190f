"""Request signing and token schemes used by the providers (requests AuthBase objects).

- HTTP Basic: requests.auth.HTTPBasicAuth (ShipStation; Tharstern token-as-user).
- Site Flow native HMAC: "METHOD path timestamp" (single spaces), x-oneflow-* headers.
- PrintOS gateway HMAC (Box, Site Flow via gateway): "METHOD path" + timestamp (no space before
  the timestamp), path without the service prefix, x-hp-hmac-* headers, SHA-256 only.
- Login tokens (TokenAuth: Tharstern GenerateAPIToken, VeraCore /api/login) and OAuth2 client
  credentials (tFLOW): the login goes through the provider's ProviderHTTP, the token is cached
  in Redis for every process, reused until it expires or the provider answers 401 (or says so
  in the body), then fetched once again; it is redacted like a stored secret.
- Site Flow picks its signer from the server it talks to (siteflow_signer).
- Header API keys (Caldera StreamLive, proposed contract).
SOAP header tokens (VeraCore AuthenticationHeader, Midnight DevToken) live in the SOAP body,
see soap.py.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

from requests.auth import AuthBase

from ..crypto import decrypt_text, encrypt_text
from . import errors as e

_ALGORITHMS = {"SHA256": hashlib.sha256, "SHA1": hashlib.sha1}


def utc_timestamp() -> str:
    """ISO-8601 UTC with milliseconds and Z, as both HP schemes document."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def hmac_hex(secret: str, message: str, algorithm: str = "SHA256") -> str:
    return hmac.new(secret.encode(), message.encode(), _ALGORITHMS[algorithm]).hexdigest()


def siteflow_string_to_sign(method: str, path: str, timestamp: str) -> str:
    return f"{method.upper()} {path} {timestamp}"


def printos_string_to_sign(method: str, path: str, timestamp: str) -> str:
    return f"{method.upper()} {path}{timestamp}"


class SiteFlowHMAC(AuthBase):
    """Native Site Flow: x-oneflow-authorization = token:hex(HMAC(secret, "METHOD path ts"))."""

    def __init__(self, token: str, secret: str, algorithm: str = "SHA256", clock=utc_timestamp):
        self.token, self.secret, self.algorithm, self.clock = token, secret, algorithm, clock

    def __call__(self, request):
        timestamp = self.clock()
        path = unquote(urlsplit(request.url).path)  # path only, no query string
        signature = hmac_hex(self.secret, siteflow_string_to_sign(request.method, path, timestamp), self.algorithm)
        request.headers["x-oneflow-authorization"] = f"{self.token}:{signature}"
        request.headers["x-oneflow-date"] = timestamp
        request.headers["x-oneflow-algorithm"] = self.algorithm
        return request


class PrintOSHMAC(AuthBase):
    """PrintOS gateway: the signed path excludes the service prefix (e.g. "/box")."""

    def __init__(self, key: str, secret: str, service_prefix: str = "", clock=utc_timestamp):
        self.key, self.secret, self.prefix, self.clock = key, secret, service_prefix.rstrip("/"), clock

    def __call__(self, request):
        timestamp = self.clock()
        path = urlsplit(request.url).path
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix):]
        signature = hmac_hex(self.secret, printos_string_to_sign(request.method, path, timestamp), "SHA256")
        request.headers["x-hp-hmac-authentication"] = f"{self.key}:{signature}"
        request.headers["x-hp-hmac-date"] = timestamp
        request.headers["x-hp-hmac-algorithm"] = "SHA256"
        return request


class HeaderKey(AuthBase):
    def __init__(self, header: str, value: str, extra: dict | None = None):
        self.header, self.value, self.extra = header, value, extra or {}

    def __call__(self, request):
        request.headers[self.header] = self.value
        request.headers.update(self.extra)
        return request


def siteflow_signer(base_url: str, token: str, secret: str, server: str = "auto", algorithm: str = "SHA256",
                    clock=utc_timestamp) -> AuthBase:
    """Site Flow's signature follows the server it talks to: the native hosts
    (pro-api.oneflowcloud.com, orders.oneflow.io) want x-oneflow-* over "METHOD path ts";
    the PrintOS gateway (printos.api.hp.com/siteflow) wants x-hp-hmac-* over "METHOD path"+ts
    with the service prefix (the base URL's path) left out. ``server``: native / gateway /
    auto (decided by the host name)."""
    parts = urlsplit(base_url)
    if server == "auto":
        server = "gateway" if (parts.hostname or "").endswith("printos.api.hp.com") else "native"
    if server == "gateway":
        return PrintOSHMAC(token, secret, service_prefix=parts.path, clock=clock)
    if server != "native":
        raise ValueError(f"unknown Site Flow server kind {server!r}")
    return SiteFlowHMAC(token, secret, algorithm=algorithm, clock=clock)


def bearer(request, token: str) -> None:
    request.headers["Authorization"] = f"Bearer {token}"


def basic_token_user(request, token: str) -> None:
    """The token as a Basic-auth user with an empty password (Tharstern REST, C# client)."""
    request.headers["Authorization"] = "Basic " + base64.b64encode(f"{token}:".encode()).decode()


def header_token(name: str):
    def apply(request, token: str) -> None:
        request.headers[name] = token
    return apply


class TokenAuth(AuthBase):
    """A token obtained at run time by logging in (Tharstern GenerateAPIToken, VeraCore
    /api/login, an OAuth2 grant), shared by every worker through Redis.

    ``login(http)`` makes the login call through the provider's own ProviderHTTP with
    ``auth=None`` — so it is logged, redacted, rate limited, timed out and typed like any
    call — and returns ``(token, lifetime_seconds or None)``. The token is reused until
    shortly before it expires; a 401 (or an auth error the provider's check_response finds
    in the body) drops it and ProviderHTTP retries the call once with a fresh one. The token
    is redacted from every exchange, the login answer included."""

    MARGIN = 60           # seconds before expiry we stop using a token
    DEFAULT_LIFETIME = 900  # when the provider does not say (login tokens "expire", length unknown)

    def __init__(self, login, *, cache_key: str, redis=None, apply=bearer, secrets=(),
                 default_lifetime: float | None = None):
        self.login, self.apply, self.redis, self.cache_key = login, apply, redis, cache_key
        self.login_secrets = [s for s in secrets if s]
        self.default_lifetime = default_lifetime or self.DEFAULT_LIFETIME
        self.http = None
        self._local: tuple[str, float] | None = None  # used when no Redis is given (tests, one-offs)
        self.token_requests = 0

    def bind(self, http) -> None:
        self.http = http
        for secret in self.login_secrets:
            http.redactor.add(secret)

    def _cached(self) -> str | None:
        if self.redis is not None:
            # Encrypted with CREDENTIALS_KEY like stored secrets: Redis never holds a usable token.
            value = self.redis.get(self.cache_key)
            return decrypt_text(value) if value else None
        if self._local and self._local[1] > time.time():
            return self._local[0]
        return None

    def _store(self, token: str, lifetime: float) -> None:
        ttl = max(1, int(lifetime - self.MARGIN if lifetime > 2 * self.MARGIN else lifetime / 2))
        if self.redis is not None:
            self.redis.set(self.cache_key, encrypt_text(token), ex=ttl)
        else:
            self._local = (token, time.time() + ttl)

    def invalidate(self) -> bool:
        """Forget the token after a 401; True means a retry with a new token makes sense."""
        if self.redis is not None:
            self.redis.delete(self.cache_key)
        self._local = None
        return True

    def fetch_token(self) -> str:
        if self.http is None:
            raise RuntimeError("TokenAuth is used through ProviderHTTP(auth=...)")
        self.token_requests += 1
        token, lifetime = self.login(self.http)
        if not isinstance(token, str) or not token.strip():
            raise e.ProviderResponseError("The login call answered without a token.")
        self.http.add_secret(token)
        self._store(token, float(lifetime or self.default_lifetime))
        return token

    def token(self) -> str:
        token = self._cached()
        if token is None:
            return self.fetch_token()
        if self.http is not None:
            self.http.add_secret(token)  # fetched by another worker: still never logged
        return token

    def __call__(self, request):
        self.apply(request, self.token())
        return request


class OAuth2ClientCredentials(TokenAuth):
    """Bearer tokens from a client-credentials grant (tFLOW: tokens live an hour; clients
    must not fetch one per call). The grant goes through the provider's ProviderHTTP."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, redis=None,
                 cache_key: str | None = None, timeout: tuple[float, float] = (5.0, 20.0)):
        self.token_url, self.client_id, self.client_secret, self.timeout = token_url, client_id, client_secret, timeout
        digest = hashlib.sha256(f"{token_url}|{client_id}|{client_secret}".encode()).hexdigest()[:24]
        super().__init__(self._grant, cache_key=cache_key or f"oauth2:{digest}", redis=redis,
                         secrets=[client_secret], default_lifetime=3600)

    def _grant(self, http):
        try:
            body = http.request("POST", self.token_url, auth=None, timeout=self.timeout, data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret})
        except e.ProviderRejected as exc:  # 400 invalid_client / invalid_grant
            raise e.ProviderAuthError("The provider refused the API key / secret.", status=exc.status) from exc
        except e.ProviderAuthError as exc:
            raise e.ProviderAuthError("The provider refused the API key / secret.", status=exc.status) from exc
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise e.ProviderResponseError("The token endpoint answered without an access_token.")
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        return body["access_token"], lifetime


def describe_auth(auth) -> str:
    """A log-safe description of an auth object (never its secrets)."""
    return json.dumps({"scheme": type(auth).__name__})
