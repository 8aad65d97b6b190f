"""Tharstern API token: ``GET Authentication/GenerateAPIToken?email=&password=&applicationId=``
→ ``Details.Token`` (a GUID; the all-zero GUID means the login failed), then every call sends
``Authorization: Basic base64("<token>:")`` (token as user name, empty password, as the public
C# client does). The token is shared by every process through Redis and dropped when the API
answers 401 (ProviderHTTP then retries once with a fresh one)."""
from __future__ import annotations

import base64
import hashlib
import time

from requests.auth import AuthBase

from .. import errors as e
from ..http import ProviderHTTP

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def envelope_message(body) -> str:
    """The words of a failed ``{Status, Details}`` answer, wherever Tharstern put them."""
    if not isinstance(body, dict):
        return ""
    status = body.get("Status") if isinstance(body.get("Status"), dict) else {}
    details = body.get("Details") if isinstance(body.get("Details"), dict) else {}
    words = [str(status[k]) for k in ("Message", "Description", "Error") if status.get(k)]
    errors = status.get("Errors")
    if isinstance(errors, list):
        words += [str(x) for x in errors if x]
    result = details.get("Result") if isinstance(details.get("Result"), dict) else {}
    problems = result.get("Problems")
    if isinstance(problems, list):
        words += [str(p.get("Message") or p.get("Description") or p) if isinstance(p, dict) else str(p)
                  for p in problems if p]
    return "; ".join(words)[:1000]


class TharsternToken(AuthBase):
    def __init__(self, api_root: str, login: str, password: str, application_id: str, *, redis=None,
                 ttl_seconds: int = 1200, timeout: tuple[float, float] = (5.0, 20.0), login_http=None):
        self.api_root = api_root.rstrip("/") + "/"
        self.login, self.password, self.application_id = login, password, application_id
        self.redis, self.ttl, self.timeout = redis, max(30, int(ttl_seconds)), timeout
        digest = hashlib.sha256(f"{self.api_root}|{login}|{password}|{application_id}".encode()).hexdigest()[:24]
        self.cache_key = f"tharstern:token:{digest}"
        self.login_http = login_http   # a ProviderHTTP without auth, sharing the client's exchange log
        self._local: tuple[str, float] | None = None
        self.token_requests = 0

    def _cached(self) -> str | None:
        if self.redis is not None:
            value = self.redis.get(self.cache_key)
            return value.decode() if value else None
        if self._local and self._local[1] > time.time():
            return self._local[0]
        return None

    def _store(self, token: str) -> None:
        if self.redis is not None:
            self.redis.set(self.cache_key, token, ex=self.ttl)
        else:
            self._local = (token, time.time() + self.ttl)

    def invalidate(self) -> bool:
        if self.redis is not None:
            self.redis.delete(self.cache_key)
        self._local = None
        return True

    def fetch_token(self) -> str:
        """Through ProviderHTTP, so the login is typed, timed and recorded like any call (the
        password is redacted from the URL, the token from the recorded answer)."""
        self.token_requests += 1
        http = self.login_http or ProviderHTTP(self.api_root, secrets=[self.password], timeout=self.timeout)
        response = http.request("GET", "Authentication/GenerateAPIToken", expect="raw", ok_statuses=(400, 401, 403),
                                params={"email": self.login, "password": self.password,
                                        "applicationId": self.application_id})
        if response.status_code in (400, 401, 403):
            raise e.ProviderAuthError("Tharstern refused the API login.", status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            raise e.ProviderResponseError("Tharstern login answered with something that is not JSON.") from None
        status = body.get("Status") if isinstance(body, dict) and isinstance(body.get("Status"), dict) else None
        details = body.get("Details") if isinstance(body, dict) and isinstance(body.get("Details"), dict) else {}
        if status is None:
            raise e.ProviderResponseError("Tharstern login answered without its Status envelope.")
        if status.get("Success") is not True:
            raise e.ProviderAuthError("Tharstern refused the API login" +
                                      (f": {envelope_message(body)}" if envelope_message(body) else "."))
        token = details.get("Token")
        if not isinstance(token, str) or not token.strip():
            raise e.ProviderResponseError("Tharstern login answered without a token.")
        if token.strip().strip("{}") == ZERO_GUID:
            raise e.ProviderAuthError("Tharstern refused the API login (login, password or application id is wrong).")
        token = token.strip()
        for exchange in http.exchanges[-1:]:
            exchange.response_body = exchange.response_body.replace(token, "[redacted]")
        self._store(token)
        return token

    def token(self) -> str:
        return self._cached() or self.fetch_token()

    def __call__(self, request):
        encoded = base64.b64encode(f"{self.token()}:".encode()).decode()
        request.headers["Authorization"] = f"Basic {encoded}"
        return request
