"""Framework pieces: field validation, URL policy, shared rate limiter, redaction."""
from __future__ import annotations

import time

import pytest

from webapp.providers.fields import Field, FieldError, check_provider_url, schema
from webapp.providers.http import Redactor, parse_retry_after
from webapp.providers.ratelimit import RateLimit, SharedRateLimiter


@pytest.mark.parametrize("url,loopback,ok", [
    ("https://ssapi.shipstation.com", False, True),
    ("http://ssapi.shipstation.com", False, False),
    ("ftp://example.com", False, False),
    ("http://127.0.0.1:5001/shipstation", False, False),
    ("http://127.0.0.1:5001/shipstation", True, True),
    ("http://localhost:5001", True, True),
    ("http://10.0.0.5/api", True, False),
    ("https://user:pw@example.com", False, False),
    ("not a url", False, False),
])
def test_provider_url_policy(url, loopback, ok):
    if ok:
        assert check_provider_url(url, allow_loopback=loopback)
    else:
        with pytest.raises(FieldError):
            check_provider_url(url, allow_loopback=loopback)


def test_schema_keeps_stored_secret_when_left_empty_and_reports_each_field():
    s = schema(Field("key", "Key", required=True), Field("secret", "Secret", type="secret", required=True),
               Field("n", "Count", type="int", min=1, max=5), Field("mode", "Mode", type="choice",
                                                                     choices=(("a", "A"), ("b", "B"))))
    values, errors = s.clean({"key": "k", "secret": "", "n": "3", "mode": "a"}, existing={"secret": "old"})
    assert errors == {} and values["secret"] == "old" and values["n"] == 3
    _, errors = s.clean({"key": "", "secret": "", "n": "9", "mode": "z", "extra": "1"})
    assert set(errors) == {"key", "secret", "n", "mode", "extra"}
    assert "at most 5" in errors["n"]


def test_sliding_window_never_exceeds_the_limit_in_any_window(app_ctx):
    from webapp.queue import get_redis

    limiter = SharedRateLimiter(get_redis(), "test-window", RateLimit(limit=5, window_seconds=0.5))
    granted = []
    deadline = time.monotonic() + 1.6
    while time.monotonic() < deadline:
        if limiter.try_acquire() == 0:
            granted.append(time.monotonic())
        else:
            time.sleep(0.01)
    for i, t in enumerate(granted):
        in_window = [g for g in granted[i:] if g - t < 0.5 - 0.02]
        assert len(in_window) <= 5
    assert len(granted) >= 12  # ~5 per half second: the limiter does not starve callers


def test_pause_blocks_all_holders_of_the_key(app_ctx):
    from webapp.queue import get_redis

    a = SharedRateLimiter(get_redis(), "test-pause", RateLimit(limit=100, window_seconds=60))
    b = SharedRateLimiter(get_redis(), "test-pause", RateLimit(limit=100, window_seconds=60))
    a.pause(5)
    assert 4 < b.try_acquire() <= 5


def test_redactor_and_retry_after():
    r = Redactor(["topsecret", "abc"])  # too-short values are not treated as secrets
    assert r.text("x topsecret y") == "x [redacted] y"
    assert r.headers({"Authorization": "Basic x", "X": "topsecret"}) == {"Authorization": "[redacted]",
                                                                          "X": "[redacted]"}
    assert parse_retry_after("12") == 12
    assert parse_retry_after("garbage") is None
