"""Webhooks under bad input, for every provider of the registry.

* the route answers only 2xx or 4xx to any body, headers, content type and token — never a
  500, never an exception out of the view;
* a provider's verify_webhook raises only WebhookAuthError and parse_webhook only ValueError
  (the route turns those into 401 / 400);
* processing any stored event — real deliveries from the simulator, mutated, or arbitrary
  payloads — with any provider answers ends the event processed, failed with its reason, or
  queued again: never stuck in "processing", never an exception out of the job;
plus the fixed rules: unknown token 404, missing signature 401 (signing providers), malformed
400 with the reason logged, oversized 413, a replay accepted once."""
from __future__ import annotations

import json
import logging
import re
import uuid
from urllib.parse import quote

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import Factory
from tests.security.conftest import fixture_settings
from webapp.embedded import install
from webapp.embedded import webhooks as intake
from webapp.embedded.accounts import save_account
from webapp.extensions import db
from webapp.models import ItemPush, OrderPush, ProviderAccount, WebhookEvent
from webapp.providers.base import WebhookAuthError, WebhookEnvelope
from webapp.providers.registry import all_providers

from .corpus import order_context, push_settings, webhook_token
from .strategies import hostile_bodies, mutate_json, provider_json
from .test_provider_responses_fuzz import _corpus

PROVIDERS = list(all_providers().values())
HOOK_PROVIDERS = [p for p in PROVIDERS if p.capabilities.status_webhook]
SIGNING = [p for p in HOOK_PROVIDERS if p.webhook_auth in ("hmac", "static_token", "key_hash")]
HEADER_NAMES = ["Content-Type", "X-Signature", "X-Hub-Signature-256", "Authorization", "X-Webhook-Id",
                "X-Timestamp", "webhook-signature", "webhook-id", "webhook-timestamp", "x-oneflow-signature",
                "X-Api-Key", "User-Agent"]
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
ANY_URL = re.compile(r"https?://.*")


def _credentials(provider):
    from tests.security.conftest import fixture_credentials

    corpus = _corpus(provider)
    return dict(corpus.credentials) or fixture_credentials(provider), corpus


@pytest.fixture
def hook_accounts(app_ctx):
    """One account per provider (the simulator's credentials when it has one)."""
    factory = Factory()
    admin = factory.admin(email=f"hooks-{uuid.uuid4().hex[:6]}@example.test", is_super=True)
    out = []
    for provider in PROVIDERS:
        install.enable_provider(provider.key)
        credentials, corpus = _credentials(provider)
        result = save_account(None, company_id=admin.company_id, name=f"{provider.name} hooks",
                              provider_key=provider.key, admin_id=admin.id, credentials=credentials,
                              settings={**fixture_settings(provider),
                                        **(push_settings(provider.key).get("account") or {})})
        assert result.ok, result.errors
        setup = provider.webhook_setup("", "")
        if corpus.webhooks and setup is not None and (setup.header_name or setup.template):
            result.account.webhook_token = webhook_token(provider)  # what the recorded trigger was set up with
            db.session.commit()
        out.append(Hook(provider, result.account.id, result.account.webhook_token, corpus))
    return out


class Hook:
    """One provider's account for webhook tests (short repr: hypothesis prints its arguments)."""

    def __init__(self, provider, account_id, token, corpus):
        self.provider, self.account_id, self.token, self.corpus = provider, account_id, token, corpus

    def __iter__(self):
        return iter((self.provider, self.account_id, self.token, self.corpus))

    def __repr__(self):
        return f"Hook({self.provider.key}, account={self.account_id})"


@st.composite
def _mutated_seed(draw, parsed, leaves):
    return json.dumps(mutate_json(draw, draw(st.sampled_from(parsed)), leaves)).encode()


def _body_strategy(provider, corpus, base_url):
    """Hostile bodies, real deliveries recorded from the simulator, and mutations of those."""
    leaves = provider_json(provider, base_url)
    seeds = [body for _, body in corpus.webhooks]
    parsed = [json.loads(b) for b in seeds if b.strip().startswith((b"{", b"["))]
    strategies = [hostile_bodies(leaves)]
    if seeds:
        strategies += [st.sampled_from(seeds), _mutated_seed(parsed, leaves)]
    return st.one_of(*strategies)


@given(data=st.data())
def test_the_route_answers_only_2xx_or_4xx(app, hook_accounts, data):
    provider, account_id, token, corpus = data.draw(st.sampled_from(hook_accounts))
    key = data.draw(st.sampled_from([provider.key, provider.key, "unknown-provider"]))
    # (a "/" cannot be part of a path segment: Werkzeug merges "//" with a 308 before any view runs)
    token = data.draw(st.one_of(st.just(token), st.just(token), st.just(""),
                                st.text(alphabet=st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
                                        max_size=70)))
    base = (corpus.credentials or {}).get("base_url") or provider.default_base_url
    body = data.draw(st.one_of(_body_strategy(provider, corpus, base),
                               st.just(b"x" * (intake.MAX_BODY + 1))))
    headers = data.draw(st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4))
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "application/xml",
                                              "application/x-www-form-urlencoded", ""]))
    client = app.test_client()
    url = f"/webhooks/{quote(key, safe='')}/{quote(token, safe='')}"
    response = client.post(url, data=body, headers=headers, content_type=content_type or None)
    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500, (
        response.status_code, response.get_data(as_text=True)[:200])
    if len(body) > intake.MAX_BODY and token:  # (an empty token matches no route: 404)
        assert response.status_code == 413


@pytest.mark.parametrize("provider", PROVIDERS, ids=[p.key for p in PROVIDERS])
@given(body=st.one_of(st.binary(max_size=200), st.just(b"{}")),
       headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4),
       secret=st.text(max_size=40))
def test_verify_and_parse_raise_only_their_declared_errors(provider, body, headers, secret):
    from tests.security.conftest import fixture_credentials

    client = provider(fixture_credentials(provider), {})
    try:
        client.verify_webhook(headers, body, secret)
    except WebhookAuthError:
        pass
    if not provider.capabilities.status_webhook:
        return
    try:
        envelope = client.parse_webhook(headers, body)
    except ValueError:
        return
    assert isinstance(envelope, WebhookEnvelope) and envelope.dedupe_key


def _pushed_order(account: ProviderAccount) -> None:
    """A pushed order whose keys match the recorded deliveries, so updates reach apply_update."""
    factory = Factory()
    site = factory.site()
    order = factory.order(site, paid=True, items=[{"approval": "approved"}, {"approval": "approved"}])
    ctx = order_context(1)
    push = OrderPush(order_id=order.id, account_id=account.id, state="pushed", reasons=[], errors=[],
                     idempotency_key=ctx.idempotency_key, reference=ctx.external_number, external_id="1000001")
    db.session.add(push)
    db.session.flush()
    for item, item_ctx in zip(order.items, ctx.items):
        db.session.add(ItemPush(push_id=push.id, item_id=item.id, external_number=item_ctx.external_number,
                                external_order_id="1000001"))
    db.session.commit()


@pytest.mark.parametrize("provider", HOOK_PROVIDERS, ids=[p.key for p in HOOK_PROVIDERS])
@given(data=st.data())
def test_processing_any_stored_event_never_leaves_it_processing(provider, app, hook_accounts, monkeypatch, data):
    from webapp.queue import get_redis

    from .strategies import mutated_answer

    # The shared rate limiter is state outside the example: lift it and forget earlier pauses,
    # so every example sees the same requests (and hypothesis the same draws).
    monkeypatch.setitem(app.config, "PROVIDER_RATE_LIMITS", {p.key: (10 ** 9, 1.0) for p in PROVIDERS})
    redis = get_redis()
    for key in redis.scan_iter("ratelimit:*"):
        redis.delete(key)
    _, account_id, _, corpus = next(iter(h) for h in hook_accounts if h.provider is provider)
    account = db.session.get(ProviderAccount, account_id)
    if not OrderPush.query.filter_by(account_id=account_id).first():
        _pushed_order(account)
    base = (corpus.credentials or {}).get("base_url") or provider.default_base_url
    leaves = provider_json(provider, base)
    payload = data.draw(_body_strategy(provider, corpus, base))
    event = WebhookEvent(account_id=account_id, dedupe_key=uuid.uuid4().hex, event_type="fuzz",
                         payload=payload.decode("utf-8", "replace").replace("\x00", "\ufffd"))
    db.session.add(event)
    db.session.commit()
    recorded = corpus.answers.get("process_webhook") or []
    calls = {"n": 0}

    def answer(request):
        calls["n"] += 1
        if calls["n"] > 40 or not recorded:
            return 503, {}, b""
        status, content_type, body = mutated_answer(data.draw, recorded[(calls["n"] - 1) % len(recorded)], leaves)
        return status, ({"Content-Type": content_type} if content_type else {}), body

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add_callback(method, ANY_URL, callback=answer)
        outcome = intake.process(event.id)
    db.session.expire_all()
    event = db.session.get(WebhookEvent, event.id)
    assert outcome in ("processed", "failed", "retrying"), outcome
    assert event.state in ("processed", "failed", "received"), event.state
    if event.state == "failed":
        assert event.error
    if outcome == "retrying":
        assert event.state == "received" and event.error


def test_fixed_intake_rules(app, hook_accounts, caplog):
    client = app.test_client()
    for provider, account_id, token, corpus in hook_accounts:
        url = f"/webhooks/{provider.key}/{token}"
        assert client.post(f"/webhooks/{provider.key}/{'x' * 43}", json={}).status_code == 404
        assert client.post(f"/webhooks/{provider.key}/{token}x", json={}).status_code == 404
        too_big = client.post(url, data=b"{" + b" " * intake.MAX_BODY + b"}", content_type="application/json")
        assert too_big.status_code == 413
        if not provider.capabilities.status_webhook:
            assert client.post(url, json={}).status_code == 404  # no webhook intake for this provider
            continue
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            malformed = client.post(url, data=b"\x00not json{", content_type="application/json")
        assert malformed.status_code in (400, 401)
        if malformed.status_code == 400:
            reason = malformed.get_json()["status"]
            assert reason.startswith("malformed webhook: ") and len(reason) > len("malformed webhook: ")
            assert any("webhook malformed" in r.getMessage() and "reason=" in r.getMessage() for r in caplog.records)
        for headers, body in corpus.webhooks[:1]:  # a real delivery, replayed: accepted once
            headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
            first = client.post(url, data=body, headers=headers)
            replay = client.post(url, data=body, headers=headers)
            assert (first.status_code, replay.status_code) == (202, 200)
            assert WebhookEvent.query.filter_by(account_id=account_id).count() == 1


@pytest.mark.parametrize("provider", SIGNING, ids=[p.key for p in SIGNING])
def test_a_missing_or_wrong_signature_is_401(app, hook_accounts, provider):
    _, account_id, token, corpus = next(iter(h) for h in hook_accounts if h.provider is provider)
    client = app.test_client()
    for headers, body in corpus.webhooks[:1] or [({}, b"{}")]:
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        unsigned = {k: v for k, v in headers.items() if "sign" not in k.lower() and "auth" not in k.lower()
                    and "token" not in k.lower()}
        assert client.post(f"/webhooks/{provider.key}/{token}", data=body, headers=unsigned).status_code == 401
        forged = {**unsigned, **{k: "forged" for k in headers if "sign" in k.lower() or "token" in k.lower()}}
        assert client.post(f"/webhooks/{provider.key}/{token}", data=body, headers=forged).status_code == 401
