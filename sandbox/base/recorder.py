"""The request recorder (``/_sim/requests``): a bounded log of API requests in which no
secret appears — not in a header, not in the body.

Body redaction works on the recorded text (it may be truncated, so nothing is parsed):

* the current tenant's secrets (`set_credential`) in every encoding a client may send them:
  raw, URL-encoded (both forms), XML-escaped, JSON-escaped and base64;
* by position, whoever sent them (a wrong password is still a password): every text inside a
  SOAP ``Header``; elements, JSON keys and form fields named like a secret (``SharedSecret``,
  ``password``, ``DevToken``, ``client_secret``… plus a simulator's own `secret_fields`).
"""
from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode
from xml.sax.saxutils import escape as xml_escape

from flask import Response, g, request

from .clock import utc_stamp

REDACTED = "[redacted]"

# Header names whose values never reach the recorder (lower case).
DEFAULT_REDACTED_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-oneflow-authorization", "x-hp-hmac-authentication",
})

# Body field names (elements, JSON keys, form fields; case-insensitive) whose values are secrets.
DEFAULT_SECRET_FIELDS = frozenset({
    "password", "pass", "passwd", "secret", "client_secret", "sharedsecret", "devtoken",
    "access_token", "refresh_token", "api_secret", "apikey", "api_key",
})

_SOAP_HEADER = re.compile(r"(<(?:[\w.-]+:)?Header\b[^>]*>)(.*?)(</(?:[\w.-]+:)?Header\s*>)", re.S | re.I)
_ELEMENT_TEXT = re.compile(r">([^<]*[^<\s][^<]*)<")


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can travel in a body."""
    forms = {secret, quote_plus(secret), quote(secret, safe=""), xml_escape(secret),
             xml_escape(secret, {'"': "&quot;", "'": "&apos;"}), json.dumps(secret)[1:-1]}
    encoded = base64.b64encode(secret.encode()).decode()
    forms |= {encoded, encoded.rstrip("=")}
    return {f for f in forms if len(f) >= 4}  # never blank out a short common substring


def redact_body(text: str, *, secrets: Iterable[str] = (), fields: Iterable[str] = DEFAULT_SECRET_FIELDS,
                form: bool = False) -> str:
    names = "|".join(sorted({re.escape(f) for f in fields}, key=len, reverse=True))
    for secret in secrets:
        for form_ in sorted(secret_forms(secret), key=len, reverse=True):
            text = text.replace(form_, REDACTED)
    text = _SOAP_HEADER.sub(lambda m: m[1] + _ELEMENT_TEXT.sub(f">{REDACTED}<", m[2]) + m[3], text)
    if names:
        text = re.sub(rf"(<(?:[\w.-]+:)?(?:{names})\b[^>]*>)([^<]*)(<)", rf"\1{REDACTED}\3", text, flags=re.I)
        text = re.sub(rf'("(?:{names})"\s*:\s*)"(?:[^"\\]|\\.)*"', rf'\1"{REDACTED}"', text, flags=re.I)
        if form:
            lowered = {f.lower() for f in fields}
            pairs = parse_qsl(text, keep_blank_values=True)
            if pairs:
                text = urlencode([(k, REDACTED if k.lower() in lowered else v) for k, v in pairs])
    return text


class RequestRecorder:
    """Bounded, thread-safe log of API requests with secrets redacted."""

    def __init__(self, limit: int = 1000, body_limit: int = 2048,
                 redact: frozenset[str] = DEFAULT_REDACTED_HEADERS,
                 secret_fields: frozenset[str] = DEFAULT_SECRET_FIELDS):
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, limit))
        self._seq = 0
        self._dropped = 0
        self.body_limit = body_limit
        self.redact = redact
        self.secret_fields = frozenset(f.lower() for f in secret_fields)

    def _headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() in self.redact:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} {REDACTED}".strip()
            out[name] = value
        return out

    def record(self, response: Response, extra: Mapping[str, Any]) -> None:
        raw = request.get_data(cache=True)
        text = redact_body(raw[: self.body_limit].decode("utf-8", errors="replace"),
                           secrets=g.get("sandbox_secrets", ()), fields=self.secret_fields,
                           form=request.mimetype == "application/x-www-form-urlencoded")
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "headers": self._headers(request.headers),
            "body": text,
            "body_truncated": len(raw) > self.body_limit,
            "status": response.status_code,
            "timestamp": utc_stamp(),
            **extra,
        }
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **entry}
            if len(self._entries) == self._entries.maxlen:
                self._dropped += 1
            self._entries.append(entry)

    def entries(self, credential: str | None = None, limit: int | None = None) -> list[dict]:
        with self._lock:
            items = list(self._entries)
        if credential is not None:
            items = [e for e in items if e.get("credential") == credential]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return items

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._dropped = 0

    @property
    def dropped(self) -> int:
        return self._dropped
