"""The one HTTP layer every provider client uses.

It gives each call explicit connect/read timeouts and a User-Agent, waits for the shared
rate limiter, never follows redirects (credentials must not travel to another host),
maps failures to typed errors and records every exchange with secrets redacted.
"""
from __future__ import annotations

import json as jsonlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import urljoin

import requests

from . import errors as e
from .ratelimit import SharedRateLimiter

log = logging.getLogger(__name__)

USER_AGENT = "EmbeddedServicesHub/1.0 (+web-to-print integration)"
BODY_LIMIT = 4000
SENSITIVE_HEADERS = {"authorization", "x-oneflow-authorization", "x-hp-hmac-authentication", "x-api-key",
                     "cookie", "set-cookie", "proxy-authorization"}
# Wait for the rate limiter in-process only briefly: at most this, and at most 5% of the
# limit's window (a compressed test window must not turn every wait into a sleep). Beyond
# it the call raises ProviderRateLimited and the job is rescheduled, freeing the worker.
INLINE_WAIT_LIMIT = 3.0
INLINE_WAIT_FRACTION = 0.05


@dataclass
class Exchange:
    """One request/response pair, already redacted, ready to store and show."""

    method: str
    url: str
    status: int | None
    duration_ms: int
    request_body: str
    response_body: str
    error: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class Redactor:
    def __init__(self, secrets=()):
        # Longest first so a secret that contains another is removed whole.
        self.secrets = sorted({s for s in secrets if s and len(str(s)) >= 4}, key=len, reverse=True)

    def text(self, value) -> str:
        if value is None:
            return ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        text = str(value).replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL: a binary answer must still be stored
        for secret in self.secrets:
            text = text.replace(str(secret), "[redacted]")
        return text[:BODY_LIMIT] + ("…[truncated]" if len(text) > BODY_LIMIT else "")

    def headers(self, headers) -> dict:
        return {k: ("[redacted]" if k.lower() in SENSITIVE_HEADERS else self.text(v)) for k, v in headers.items()}


MAX_RETRY_AFTER = 6 * 3600.0  # a provider asking for longer (or for "inf") is capped, not obeyed


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        try:
            when = parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            seconds = (when - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def default_error_message(response: requests.Response) -> tuple[str, dict]:
    """Best effort: a JSON 'message'/'error' or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or f"HTTP {response.status_code}").strip()[:500], {}
    if isinstance(body, dict):
        for key in ("message", "Message", "error", "Error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key], {}
    return f"HTTP {response.status_code}", {}


class ProviderHTTP:
    def __init__(self, base_url: str, *, auth=None, secrets=(), limiter: SharedRateLimiter | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0),
                 error_parser: Callable[[requests.Response], tuple[str, dict]] = default_error_message,
                 rate_limit_observer: Callable[[requests.Response], float | None] | None = None,
                 headers: dict | None = None, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.limiter = limiter
        self.timeout = timeout
        self.error_parser = error_parser
        self.rate_limit_observer = rate_limit_observer
        self.redactor = Redactor(secrets)
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
        self.exchanges: list[Exchange] = []
        self.observer: Callable[[int | None, int], None] | None = None  # (status, ms) of every exchange: metrics

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else urljoin(self.base_url, path.lstrip("/"))

    def _wait_for_slot(self) -> None:
        if self.limiter is None:
            return
        inline_limit = min(INLINE_WAIT_LIMIT, self.limiter.rule.window_seconds * INLINE_WAIT_FRACTION)
        while True:
            wait = self.limiter.try_acquire()
            if wait <= 0:
                return
            if wait > inline_limit:
                raise e.ProviderRateLimited(f"Rate limit reached; next slot in {wait:.0f}s.", retry_after=wait)
            time.sleep(wait)

    def request(self, method: str, path: str, *, json=None, data=None, params=None, headers=None,
                timeout: tuple[float, float] | None = None, expect: str = "json", ok_statuses: tuple = ()):
        """Send one request. Returns parsed JSON (expect="json"), text ("text") or the Response ("raw").
        ``ok_statuses`` are handed back unraised (a SOAP fault travels as HTTP 500)."""
        url = self.url(path)
        body = jsonlib.dumps(json) if json is not None else data
        for attempt in (1, 2):
            response = self._send(method, url, body, params, headers, timeout, json is not None)
            # A cached token the provider no longer accepts: drop it and retry once (OAuth2).
            if response.status_code == 401 and attempt == 1 and hasattr(self.auth, "invalidate") \
                    and self.auth.invalidate():
                continue
            break
        self._observe_rate_limit(response)
        if response.status_code not in ok_statuses:
            self._raise_for_status(response)
        if expect == "raw":
            return response
        if expect == "text":
            return response.text
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "unknown content").split(";")[0].strip() or "unknown content"
            if "json" in kind.lower():  # announced JSON, but it does not parse: cut off or corrupt
                message = f"{self._host(url)} answered with invalid or truncated JSON (HTTP {response.status_code})."
            else:
                message = f"{self._host(url)} answered with {kind} instead of JSON (HTTP {response.status_code})."
            raise e.ProviderResponseError(message, status=response.status_code) from exc

    def _send(self, method, url, body, params, headers, timeout, is_json):
        self._wait_for_slot()
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, data=body, params=params, auth=self.auth, allow_redirects=False,
                timeout=timeout or self.timeout,
                headers={**({"Content-Type": "application/json"} if is_json else {}), **(headers or {})},
            )
        except requests.exceptions.ConnectTimeout as exc:
            self._record(method, url, None, started, body, None, "connect timeout")
            raise e.ProviderConnectError(f"Could not connect to {self._host(url)} (timed out).") from exc
        except requests.exceptions.ReadTimeout as exc:
            self._record(method, url, None, started, body, None, "read timeout")
            raise e.ProviderTimeout(f"{self._host(url)} did not answer in time.") from exc
        except requests.exceptions.ConnectionError as exc:
            self._record(method, url, None, started, body, None, "connection error")
            raise e.ProviderConnectError(f"Could not connect to {self._host(url)}.") from exc
        except requests.exceptions.RequestException as exc:
            self._record(method, url, None, started, body, None, type(exc).__name__)
            raise e.ProviderConnectError(f"Request to {self._host(url)} failed: {type(exc).__name__}.") from exc

        self._record(method, url, response.status_code, started, body, response.content, "")
        return response

    def _observe_rate_limit(self, response) -> None:
        if self.rate_limit_observer and self.limiter:
            pause = self.rate_limit_observer(response)
            if pause:
                self.limiter.pause(pause)

    def _raise_for_status(self, response) -> None:
        status = response.status_code
        if status < 300:
            return
        if 300 <= status < 400:
            raise e.ProviderRejected(
                f"Unexpected redirect to {response.headers.get('Location', '?')} (not followed: credentials stay "
                f"with the configured host).", status=status)
        message, field_errors = self.error_parser(response)
        message = self.redactor.text(message)
        if status in (401, 403):
            raise e.ProviderAuthError(message or "The provider refused the credentials.", status=status)
        if status == 429:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            if retry is None and self.rate_limit_observer:
                retry = self.rate_limit_observer(response)
            raise e.ProviderRateLimited(message or "Too many requests.", status=status, retry_after=retry or 60)
        if status == 408 or status >= 500:
            raise e.ProviderTransientError(message or f"Provider error (HTTP {status}).", status=status,
                                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
        raise e.ProviderRejected(message or f"HTTP {status}", status=status, field_errors=field_errors)

    def _record(self, method, url, status, started, request_body, response_body, error) -> None:
        exchange = Exchange(
            method=method.upper(), url=self.redactor.text(url), status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            request_body=self.redactor.text(request_body), response_body=self.redactor.text(response_body),
            error=error,
        )
        self.exchanges.append(exchange)
        if self.observer is not None:
            self.observer(status, exchange.duration_ms)
        log.info("provider http method=%s url=%s status=%s ms=%s%s", exchange.method, exchange.url,
                 status, exchange.duration_ms, f" error={error}" if error else "")

    @staticmethod
    def _host(url: str) -> str:
        from urllib.parse import urlsplit
        return urlsplit(url).netloc or url
