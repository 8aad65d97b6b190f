"""§3: a secret never reaches the exchange log however a body encodes it."""
from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
import responses
from lxml import etree

from webapp.providers.http import ProviderHTTP, Redactor

SECRET = 'S3cr<e>t&"pa/ss\'wörd+='  # every character an encoding changes


def _xml(secret):
    node = etree.Element("SharedSecret")
    node.text = secret
    node.set("password", secret)
    return etree.tostring(node, encoding="unicode")


ENCODINGS = {
    "plain": lambda s: f"pw={s}",
    "xml-escaped (lxml text and attribute)": _xml,
    "xml-escaped (&apos;)": lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    .replace('"', "&quot;").replace("'", "&apos;"),
    "json-escaped": lambda s: json.dumps({"password": s}),
    "json-escaped, ascii": lambda s: json.dumps({"password": s}, ensure_ascii=True),
    "json-escaped, PHP slashes": lambda s: json.dumps({"password": s}).replace("/", "\\/"),
    "url-encoded form": lambda s: urlencode({"user": "u", "password": s}),
    "url-encoded path": lambda s: "/login/" + quote(s, safe=""),
    "url-encoded, keep slash": lambda s: "?p=" + quote(s),
    "url-encoded, plus": lambda s: quote_plus(s),
    "base64 alone": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 user:secret (Basic)": lambda s: "Basic " + base64.b64encode(f"user:{s}".encode()).decode(),
    "base64 url-safe, no padding": lambda s: base64.urlsafe_b64encode(f"k={s}".encode()).decode().rstrip("="),
    "base64 of a JSON body": lambda s: base64.b64encode(json.dumps({"auth": {"pass": s}}).encode()).decode(),
    "base64 in a path": lambda s: "/files/" + base64.b64encode(f"x:{s}".encode()).decode() + "/meta",
}


def _leaks(text: str) -> list[str]:
    return [name for name, encode in ENCODINGS.items() if encode(SECRET) in text]


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_redactor_removes_each_encoding(name):
    encoded = ENCODINGS[name](SECRET)
    assert _leaks(encoded)  # the test text really carries the secret
    out = Redactor([SECRET]).text(f"before {encoded} after")
    assert "[redacted]" in out and not _leaks(out)
    assert out.startswith("before ") and out.endswith(" after")


def test_unrelated_base64_and_text_are_left_alone():
    other = base64.b64encode(b"nothing to hide here").decode()
    assert Redactor([SECRET]).text(f"id=ABCDEFGH12345678 {other}") == f"id=ABCDEFGH12345678 {other}"


def test_a_secret_across_the_truncation_point_is_still_removed():
    text = "x" * 3995 + SECRET + "y" * 100
    out = Redactor([SECRET]).text(text)
    assert SECRET[:5] not in out and out.endswith("x[reda…[truncated]")


@pytest.mark.parametrize("name", list(ENCODINGS))
@responses.activate
def test_no_encoding_reaches_a_recorded_exchange(name):
    encoded = ENCODINGS[name](SECRET)
    responses.post("https://p.test/api/echo", body=f"<r>{encoded}</r>", status=200)
    http = ProviderHTTP("https://p.test/api", secrets=[SECRET])
    http.request("POST", "echo", data=f"<q>{encoded}</q>".encode(), expect="text")
    (exchange,) = http.exchanges
    assert not _leaks(exchange.request_body + exchange.response_body + exchange.url)
    assert "[redacted]" in exchange.request_body and "[redacted]" in exchange.response_body


@pytest.mark.parametrize("secret", ["abcd", "k3y!", "0123456789abcdef0123456789abcdef", SECRET])
def test_base64_runs_are_skipped_only_when_too_short_to_hold_a_secret(secret):
    """The redactor decodes only base64 runs long enough to hold its shortest variant. Every
    offset of the secret inside the encoded bytes, both alphabets, padded or not, short and
    long secrets: nothing recoverable is left, and the short words around it are untouched."""
    redactor = Redactor([secret])
    for prefix in ("", "a", "ab", "abc", "user:", '{"k":"'):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(f"{prefix}{secret}".encode()).decode()
            for run in (encoded, encoded.rstrip("=")):
                body = json.dumps({"orderNumber": "ST-000123", "sku": "BUSINESSCARDS", "token": run})
                out = redactor.text(body)
                assert run not in out and "[redacted]" in out, (prefix, run)
                assert '"sku": "BUSINESSCARDS"' in out and "ST-000123" in out
