"""Every provider's response parsing, for every operation its capabilities promise, fed
mutated real answers (recorded from its simulator) and hostile ones: only ProviderError
subclasses may escape — never TypeError, KeyError, ValueError, AttributeError…, which
would crash a job instead of showing a reason on the order tab or in the run log."""
from __future__ import annotations

import re

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from webapp.providers.errors import ProviderError
from webapp.providers.registry import all_providers

from .corpus import operations_for, record, run_operation
from .strategies import hostile_bodies, mutated_answer, provider_json

PROVIDERS = list(all_providers().values())
CASES = [(p, op) for p in PROVIDERS for op in operations_for(p)]
ANY_URL = re.compile(r"https?://.*")


_CORPORA: dict = {}
RATE_HEADERS = ["", "0", "1", "7", "-5", "abc", "inf", "nan", "1e400", "99999999999",
                "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2099 07:28:00"]


def _corpus(provider):
    """Recorded once per provider per test session (module-level: kept out of hypothesis' reports)."""
    if provider.key not in _CORPORA:
        _CORPORA[provider.key] = record(provider)
    return _CORPORA[provider.key]


def _client(provider, corpus):
    from tests.security.conftest import fixture_credentials

    credentials = dict(corpus.credentials) or fixture_credentials(provider)
    from .corpus import push_settings

    return provider(credentials, dict(push_settings(provider.key).get("account") or {}))


@pytest.mark.parametrize("provider,operation", CASES, ids=[f"{p.key}-{op}" for p, op in CASES])
def test_recording_covers_the_operation(provider, operation):
    corpus = _corpus(provider)
    if not corpus.credentials:
        pytest.skip(f"{provider.key} has no simulator testing module: fuzzed with random answers only")
    assert corpus.answers.get(operation), f"no answer recorded for {provider.key}.{operation}"


@pytest.mark.parametrize("provider,operation", CASES, ids=[f"{p.key}-{op}" for p, op in CASES])
@given(data=st.data())
def test_only_provider_errors_escape(provider, operation, data):
    corpus = _corpus(provider)
    client = _client(provider, corpus)
    base = client.base_url
    leaves = provider_json(provider, base)
    recorded = list(corpus.answers.get(operation) or [])
    calls = {"n": 0}

    def answer(request):
        n = calls["n"]
        calls["n"] += 1
        if n > 60:  # a mutated "pages: 10**30" must not page forever: say the provider fell over
            return 503, {}, b""
        template = recorded[n % len(recorded)] if recorded else None
        if template is not None:
            status, content_type, body = mutated_answer(data.draw, template, leaves)
        else:
            status = data.draw(st.sampled_from([200, 200, 201, 400, 401, 404, 429, 500, 503]))
            content_type = data.draw(st.sampled_from(["application/json", "text/html", ""]))
            body = data.draw(hostile_bodies(leaves))
        headers = {"Content-Type": content_type} if content_type else {}
        for name in data.draw(st.lists(st.sampled_from(["Retry-After", "X-Rate-Limit-Remaining",
                                                        "X-Rate-Limit-Reset", "X-Rate-Limit-Limit"]),
                                       max_size=2, unique=True)):
            headers[name] = data.draw(st.sampled_from(RATE_HEADERS))
        return status, headers, body

    webhook_body = None
    if operation == "process_webhook":
        seeds = [body for _, body in corpus.webhooks] or [b"{}"]
        webhook_body = data.draw(st.sampled_from(seeds))
        try:  # process_webhook only ever sees bodies parse_webhook accepted
            client.parse_webhook({"Content-Type": "application/json"}, webhook_body)
        except ValueError:
            return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, ANY_URL, callback=answer)
        try:
            run_operation(client, operation, webhook_body=webhook_body)
        except ProviderError as exc:
            assert exc.messages() and all(isinstance(m, str) and m for m in exc.messages()), exc


@given(status=st.sampled_from([200, 429, 503]), headers=st.dictionaries(
    st.sampled_from(["Retry-After", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"]),
    st.one_of(st.sampled_from(RATE_HEADERS), st.text(max_size=12)), max_size=3))
def test_rate_limit_headers_never_break_the_client(status, headers):
    """Whatever a provider puts in its rate-limit headers, the pause every worker honours and
    the retry delay are finite and bounded (a job could not be rescheduled otherwise)."""
    import requests

    from webapp.providers.http import MAX_RETRY_AFTER, parse_retry_after

    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    retry = parse_retry_after(headers.get("Retry-After"))
    assert retry is None or 0 <= retry <= MAX_RETRY_AFTER
    for provider in PROVIDERS:
        module = __import__(provider.__module__, fromlist=["*"])
        observer = getattr(module, "rate_limit_pause", None)
        if observer is not None:
            pause = observer(response)
            assert pause is None or 0 < pause <= 3600, (provider.key, headers, pause)
