"""Request signing and token schemes used by the providers (requests AuthBase objects).

- HTTP Basic: requests.auth.HTTPBasicAuth (ShipStation; Tharstern token-as-user).
- Site Flow native HMAC: "METHOD path timestamp" (single spaces), x-oneflow-* headers.
- PrintOS gateway HMAC (Box, Site Flow via gateway): "METHOD path" + timestamp (no space before
  the timestamp), path without the service prefix, x-hp-hmac-* headers, SHA-256 only.
- OAuth2 client credentials (tFLOW): token cached in Redis for every process, reused until it
  expires or the provider answers 401, then fetched once again.
- Header API keys (Caldera StreamLive, proposed contract).
SOAP header tokens (VeraCore AuthenticationHeader, Midnight DevToken) live in the SOAP body,
see soap.py.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import requests
from requests.auth import AuthBase

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


class OAuth2ClientCredentials(AuthBase):
    """Bearer tokens from a client-credentials grant, shared by every process through Redis.

    Providers ask clients not to fetch a token per call (tFLOW tokens live an hour): the
    token is cached until shortly before it expires, and dropped when the provider says 401
    (ProviderHTTP then retries the request once with a fresh token)."""

    MARGIN = 60  # seconds before expiry we stop using a token

    def __init__(self, token_url: str, client_id: str, client_secret: str, redis=None,
                 cache_key: str | None = None, timeout: tuple[float, float] = (5.0, 20.0), session=None):
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.redis, self.timeout = redis, timeout
        digest = hashlib.sha256(f"{token_url}|{client_id}|{client_secret}".encode()).hexdigest()[:24]
        self.cache_key = cache_key or f"oauth2:{digest}"
        self.session = session or requests.Session()
        self._local: tuple[str, float] | None = None  # used when no Redis is given (tests, one-offs)
        self.token_requests = 0

    def _cached(self) -> str | None:
        if self.redis is not None:
            value = self.redis.get(self.cache_key)
            return value.decode() if value else None
        if self._local and self._local[1] > time.time():
            return self._local[0]
        return None

    def _store(self, token: str, expires_in: float) -> None:
        ttl = max(1, int(expires_in) - self.MARGIN)
        if self.redis is not None:
            self.redis.set(self.cache_key, token, ex=ttl)
        else:
            self._local = (token, time.time() + ttl)

    def invalidate(self) -> bool:
        """Forget the token after a 401; True means a retry with a new token makes sense."""
        if self.redis is not None:
            self.redis.delete(self.cache_key)
        self._local = None
        return True

    def fetch_token(self) -> str:
        self.token_requests += 1
        try:
            response = self.session.post(self.token_url, data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret}, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise e.ProviderConnectError(f"Could not reach the token endpoint ({type(exc).__name__}).") from exc
        if response.status_code in (400, 401, 403):
            raise e.ProviderAuthError("The provider refused the API key / secret.", status=response.status_code)
        if response.status_code >= 300:
            raise e.ProviderTransientError(f"Token endpoint answered HTTP {response.status_code}.",
                                           status=response.status_code)
        try:
            body = response.json()
            token, expires_in = body["access_token"], float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise e.ProviderResponseError("The token endpoint answered without an access_token.") from exc
        if not isinstance(token, str) or not token:
            raise e.ProviderResponseError("The token endpoint answered an empty access_token.")
        self._store(token, expires_in)
        return token

    def token(self) -> str:
        return self._cached() or self.fetch_token()

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def describe_auth(auth) -> str:
    """A log-safe description of an auth object (never its secrets)."""
    return json.dumps({"scheme": type(auth).__name__})
