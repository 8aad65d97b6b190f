"""The one HTTP layer every provider client uses.

It gives each call explicit connect/read timeouts and a User-Agent, waits for the shared
rate limiter, never follows redirects (credentials must not travel to another host),
maps failures to typed errors and records every exchange with secrets redacted.
"""
from __future__ import annotations

import base64
import binascii
import html
import json as jsonlib
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import quote, quote_plus, urljoin, urlsplit
from xml.sax.saxutils import escape as xml_escape

import requests

from . import errors as e
from . import urlguard
from .ratelimit import SharedRateLimiter

log = logging.getLogger(__name__)

USER_AGENT = "EmbeddedServicesHub/1.0 (+web-to-print integration)"
BODY_LIMIT = 4000
SENSITIVE_HEADERS = {"authorization", "x-oneflow-authorization", "x-hp-hmac-authentication", "x-api-key",
                     "cookie", "set-cookie", "proxy-authorization"}


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
    """Removes secrets from anything stored or shown: as typed, and as they travel inside
    a body — XML-escaped (SOAP headers, cXML SharedSecret), JSON-escaped, URL-encoded (form
    bodies, query strings) or base64-encoded (Basic auth, an encoded payload)."""

    def __init__(self, secrets=()):
        self.secrets: list[str] = []
        self._variants: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret) -> None:
        """Also redact ``secret`` from now on (a token obtained at run time)."""
        if not secret or len(str(secret)) < 4 or str(secret) in self.secrets:
            return
        self.secrets.append(str(secret))
        # Longest first so a secret that contains another is removed whole.
        self._variants = sorted({v for s in self.secrets for v in encoded_forms(s)}, key=len, reverse=True)
        # A base64 run of n letters decodes to at most 3n/4 characters: a shorter run cannot
        # hold even the shortest variant, so it is not decoded at all (a 4 KB JSON head has
        # hundreds of 8-letter words; decoding each was most of an exchange record's cost).
        # Exact, so also shorter than the old fixed 8 for a 4-5 character secret.
        self._min_run = math.ceil(4 * len(self._variants[-1]) / 3)
        self._base64_run = re.compile(r"[A-Za-z0-9+/_-]{%d,}={0,2}" % self._min_run)

    def _scrub(self, text: str) -> str:
        for variant in self._variants:
            text = text.replace(variant, "[redacted]")
        return self._base64_run.sub(self._scrub_base64, text) if self._variants else text

    def _scrub_base64(self, match) -> str:
        run = match.group(0)
        # "/" is both a base64 letter and a path separator: try the run, then its segments.
        for candidate in (run, *(part for part in run.split("/") if len(part.rstrip("=")) >= self._min_run)):
            decoded = _b64decode(candidate)
            if decoded and any(variant in decoded for variant in self._variants):
                return "[redacted]"
        return run

    def text(self, value) -> str:
        if value is None:
            return ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        text = str(value).replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL: a binary answer must still be stored
        # Redact before cutting (a secret across the cut must not leave its first half), but
        # never scan a huge body whole: only what can end up in the stored head.
        longest = len(self._variants[0]) if self._variants else 0
        text = self._scrub(text[:BODY_LIMIT + 4 * longest + 64] if len(text) > BODY_LIMIT else text) \
            if self._variants else text
        return text[:BODY_LIMIT] + ("…[truncated]" if len(text) > BODY_LIMIT else "")

    def headers(self, headers) -> dict:
        return {k: ("[redacted]" if k.lower() in SENSITIVE_HEADERS else self.text(v)) for k, v in headers.items()}




def encoded_forms(secret: str) -> set[str]:
    """The ways a secret is written inside bodies we send and receive (base64 is decoded
    on the fly instead: its text depends on what surrounds the secret)."""
    forms = {secret, xml_escape(secret), xml_escape(secret, {'"': "&quot;"}),
             xml_escape(secret, {'"': "&quot;", "'": "&apos;"}), html.escape(secret),
             quote(secret, safe=""), quote(secret), quote_plus(secret)}
    for ascii_only in (True, False):
        as_json = jsonlib.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms |= {as_json, as_json.replace("/", "\\/")}  # PHP escapes "/" too
    return {form for form in forms if len(form) >= 4}


def _b64decode(run: str) -> str:
    body = run.rstrip("=")
    for alphabet in (None, b"-_"):
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alphabet, validate=alphabet is None)
        except (binascii.Error, ValueError):
            continue
        return raw.decode("utf-8", "ignore")
    return ""


DEFAULT_AUTH = object()  # request(auth=...) not given: the client's own auth
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


def json_error_body(response: requests.Response) -> tuple[dict | None, str]:
    """A JSON error answer's object, or None and what to say instead: the start of a plain-text
    body (an HTML error page is not shown) or "HTTP <status>"."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return None, text[:300] if text and not text.startswith("<") else f"HTTP {response.status_code}"
    return (body, "") if isinstance(body, dict) else (None, f"HTTP {response.status_code}")


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
    # Other https hosts a provider's own URLs may name, under these domains (see urlguard.own_url).
    sent_url_family: tuple[str, ...] = ()

    def __init__(self, base_url: str, *, auth=None, secrets=(), limiter: SharedRateLimiter | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0),
                 error_parser: Callable[[requests.Response], tuple[str, dict]] = default_error_message,
                 rate_limit_observer: Callable[[requests.Response], float | None] | None = None,
                 window_reset: Callable[[requests.Response], float | None] | None = None,
                 response_check: Callable[[requests.Response], None] | None = None,
                 headers: dict | None = None, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.limiter = limiter
        self.timeout = timeout
        self.error_parser = error_parser
        self.rate_limit_observer = rate_limit_observer
        self.window_reset = window_reset  # "window resets in N s" read off every answer, when announced
        self.response_check = response_check
        self.redactor = Redactor(secrets)
        self.session = session or urlguard.guarded_session()
        self.session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
        self.exchanges: list[Exchange] = []
        self.accepted = 0  # answers from the account's own host that raised nothing (account status)
        self.observer: Callable[[int | None, int], None] | None = None  # (status, ms) of every exchange: metrics
        if hasattr(auth, "bind"):  # a token scheme logs in through this same layer
            auth.bind(self)

    def add_secret(self, secret: str) -> None:
        """Redact a value learnt at run time (a login token) from now on, and from the
        exchanges already recorded by this client (the login answer that carried it)."""
        if not secret or secret in self.redactor.secrets:
            return
        self.redactor.add(secret)
        for exchange in self.exchanges:
            exchange.url = self.redactor.text(exchange.url)
            exchange.request_body = self.redactor.text(exchange.request_body)
            exchange.response_body = self.redactor.text(exchange.response_body)

    def url(self, path: str) -> str:
        """The URL to send: a path joins the configured base; a full URL (one a provider sent) is
        parsed once, by urllib3 (what requests sends with), and refused when parsers could read
        it differently (backslashes, credentials, control characters)."""
        full = path if path.startswith(("http://", "https://")) else urljoin(self.base_url, path.lstrip("/"))
        return urlguard.sendable_url(full)

    def _wait_for_slot(self) -> None:
        if self.limiter is None:
            return
        inline_limit = self.limiter.inline_wait  # beyond it: ProviderRateLimited, the job is rescheduled
        while True:
            wait = self.limiter.try_acquire()
            if wait <= 0:
                return
            if wait > inline_limit:
                # Come back just before the turn (the rest is waited inline): the workers' scheduler
                # releases a job within RQ_SCHEDULER_INTERVAL of its time (precise_schedule), and a
                # late job leaves its slot idle.
                raise e.ProviderRateLimited(f"Rate limit reached; next slot in {wait:.0f}s.",
                                            retry_after=max(0.0, wait - inline_limit))
            time.sleep(wait)

    def request(self, method: str, path: str, *, json=None, data=None, params=None, headers=None,
                timeout: tuple[float, float] | None = None, expect: str = "json", ok_statuses: tuple = (),
                auth=DEFAULT_AUTH, files=None):
        """Send one request. Returns parsed JSON (expect="json"), text ("text"), the Response ("raw")
        or the unread streamed Response ("stream": the caller reads and closes it).
        ``ok_statuses`` are handed back unraised (a SOAP fault travels as HTTP 500).
        ``auth=None`` sends this one call unauthenticated (a login call, a pre-signed URL);
        a URL on another host than the account's never carries our auth, whatever is asked."""
        url = self.url(path)
        body = jsonlib.dumps(json) if json is not None else data
        auth = self.auth if auth is DEFAULT_AUTH else auth
        ours = self.same_host(url)
        if not ours:  # another host (a pre-signed URL, a file server): nothing of ours goes with it
            auth = None
            headers = {**{k: None for k in self.session.headers if k.lower() in SENSITIVE_HEADERS}, **(headers or {})}
        for attempt in (1, 2):
            response = self._send(method, url, body, params, headers, timeout, json is not None, auth, files,
                                  limited=ours, stream=expect == "stream")
            # the provider's body check applies to its own answers, not to S3's or a stream's
            failure = self._body_failure(response) if ours and expect != "stream" else None
            # A token the provider no longer accepts (401, or said inside the body): drop the
            # cached token and retry once with a fresh one.
            expired = response.status_code == 401 or isinstance(failure, e.ProviderAuthError)
            if expired and attempt == 1 and hasattr(auth, "invalidate") and auth.invalidate():
                continue
            break
        self._observe_rate_limit(response)
        if failure is not None:
            raise failure
        if response.status_code not in ok_statuses:
            self._raise_for_status(response)
        self.accepted += ours
        if expect in ("raw", "stream"):
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

    def same_host(self, url: str) -> bool:
        """Our credentials only ever go to the account's own origin (scheme, host and port, as
        urllib3 reads them), or a provider's declared https host family (urlguard.own_url)."""
        return urlguard.is_own_url(self.base_url, url, self.sent_url_family)

    def _body_failure(self, response) -> "e.ProviderError | None":
        """The provider's declared check of the body (failures inside HTTP 200, SOAP faults
        inside a 500) — run before the status code is read, so a bad password answered as a
        fault in a 500 is an auth error, not a transient one. Its words are redacted."""
        if self.response_check is None:
            return None
        try:
            self.response_check(response)
        except e.ProviderError as failure:
            failure.message = self.redactor.text(failure.message)
            failure.args = (failure.message,)
            failure.field_errors = {k: [self.redactor.text(v) for v in (vs if isinstance(vs, (list, tuple)) else [vs])]
                                    for k, vs in failure.field_errors.items()}
            if failure.status is None:
                failure.status = response.status_code
            return failure
        return None

    def _send(self, method, url, body, params, headers, timeout, is_json, auth, files=None, *, limited=True,
              stream=False):
        if params:  # the query is part of what is logged (redacted), and of nothing else
            prepared = requests.models.PreparedRequest()
            prepared.prepare_url(url, params)
            url = prepared.url
        if limited:  # the provider's rate limit counts calls to its own host only
            self._wait_for_slot()
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, data=body, auth=auth, allow_redirects=False, files=files, stream=stream,
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

        self._record(method, url, response.status_code, started, _loggable_body(body, files),
                     _loggable_response(response, stream), "")
        return response

    def _observe_rate_limit(self, response) -> None:
        if self.rate_limit_observer and self.limiter:
            pause = self.rate_limit_observer(response)
            reset = self.window_reset(response) if self.window_reset else None
            if reset:  # whole seconds: the window's earlier answers bound its end more tightly
                self.limiter.window_resets_in(reset, spent=bool(pause))
            elif pause:
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
        return urlsplit(url).netloc or url


def _loggable_response(response, stream: bool):
    """A streamed answer is not read here (the caller streams it under a size cap)."""
    if stream and response.status_code < 300:
        return f"[streamed {response.headers.get('Content-Type', 'body')}, " \
               f"{response.headers.get('Content-Length', 'unknown')} bytes]"
    return response.content


def _loggable_body(body, files):
    """File bytes are not logged: their name, type and size stand in for them."""
    if files:
        parts = [f"{name}: {value[0] if isinstance(value, tuple) else name} "
                 f"({value[2] if isinstance(value, tuple) and len(value) > 2 else 'file'})"
                 for name, value in (files.items() if isinstance(files, dict) else files)]
        return "[multipart] " + "; ".join(parts)
    if hasattr(body, "read") or hasattr(body, "__next__"):
        return "[streamed body]"
    if isinstance(body, (bytes, bytearray)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return f"[{len(body)} bytes of binary data]"
    return body
