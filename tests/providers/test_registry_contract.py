"""Every registered provider honours the declared contract. New providers are covered by
these tests without new test code: they iterate the registry."""
from __future__ import annotations

import json
import re

import pytest
import requests
import responses

from tests.providers.fake_provider import FakeProvider
from webapp.models.orders import ITEM_STATUSES
from webapp.providers import errors as pe
from webapp.providers.base import ENTITY_SCHEMAS, WEBHOOK_AUTH, Capabilities, Provider
from webapp.providers.fields import Schema
from webapp.providers.registry import all_providers

# The tests-only fake provider (every framework extension) passes the same contract.
PROVIDERS = list(all_providers().values()) + ([FakeProvider] if "fake" not in all_providers() else [])
IDS = [p.key for p in PROVIDERS]


def test_registry_discovers_shipstation():
    assert "shipstation" in all_providers()


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_declaration_is_complete(provider: type[Provider]):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", provider.key)
    assert provider.name and provider.description
    assert isinstance(provider.capabilities, Capabilities)
    assert provider.webhook_auth in WEBHOOK_AUTH
    assert provider.default_base_url.startswith("https://")
    for attr in ("credentials", "account_settings", *ENTITY_SCHEMAS.values()):
        assert isinstance(getattr(provider, attr), Schema), attr
    assert provider.credentials, "a provider needs credentials"
    assert set(provider.status_map.values()) <= set(ITEM_STATUSES)
    assert all(key == key.lower() for key in provider.status_map), "status_map keys are matched lower-cased"
    json.dumps(provider.describe(), default=str)  # the catalogue is serialisable


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_capabilities_match_the_methods_implemented(provider: type[Provider]):
    """Both ways: a declared capability has every method a use-case will call for it, and an
    implemented operation is declared (or no use-case would ever call it)."""
    caps = provider.capabilities
    assert provider.test_connection is not Provider.test_connection
    promised, implemented = caps.promised_operations(), provider.implemented_operations()
    assert promised - implemented == set(), f"capabilities promise methods {provider.key} does not implement"
    assert implemented - promised == set(), f"{provider.key} implements methods no declared capability covers"
    if caps.push_orders:  # pushing twice must never create two external orders
        assert caps.idempotent_push or caps.order_lookup, "declare idempotent_push or order_lookup (find_order)"
    if caps.bulk_push or caps.order_lookup:
        assert caps.push_orders
    if caps.webhook_subscribe:
        assert caps.status_webhook
    if caps.status_webhook and provider.webhook_auth in ("static_token", "hmac"):
        assert provider.verify_webhook is not Provider.verify_webhook, "the declared webhook_auth needs verify_webhook"
    if caps.shipping_method_mapping:
        assert provider.shipping_method_settings, "mapping shipping methods needs a declared setting"
    if caps.status_webhook:
        assert provider.webhook_auth != "none"


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_required_credentials_are_enforced_and_secrets_masked(provider: type[Provider]):
    values, errors = provider.credentials.clean({})
    required = {f.name for f in provider.credentials if f.required and f.default in (None, "")}
    assert required <= set(errors)
    filled = {f.name: ("secret-value-123" if f.secret else "value") for f in provider.credentials
              if f.type in ("string", "secret")}
    masked = provider.credentials.masked(filled)
    assert "secret-value-123" not in json.dumps(masked)


def _client(provider: type[Provider]) -> Provider:
    creds = {}
    for f in provider.credentials:
        if f.type == "url":
            creds[f.name] = "https://provider.example.test/api"
        elif f.type == "secret":
            creds[f.name] = "s3cret-value"
        elif f.type == "choice":
            creds[f.name] = f.choices[0][0]
        elif f.type == "int":
            creds[f.name] = 1
        elif f.type == "bool":
            creds[f.name] = False
        else:
            creds[f.name] = "contract-value"
    return provider(creds, {})


ANY_URL = re.compile(r"https://provider\.example\.test/.*")


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
@pytest.mark.parametrize("status,error", [(401, pe.ProviderAuthError), (500, pe.ProviderTransientError),
                                          (503, pe.ProviderTransientError), (429, pe.ProviderRateLimited)])
def test_test_connection_maps_http_failures(provider, status, error):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add(method, ANY_URL, status=status, json={"message": "nope"}, headers={"Retry-After": "7"})
        with pytest.raises(error) as info:
            _client(provider).test_connection()
    if status == 429:
        assert info.value.retry_after == 7


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_test_connection_maps_network_failures(provider):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add(method, ANY_URL, body=requests.exceptions.ConnectionError("refused"))
        with pytest.raises(pe.ProviderConnectError):
            _client(provider).test_connection()
        for method in ("GET", "POST"):
            mock.replace(method, ANY_URL, body=requests.exceptions.ReadTimeout("slow"))
        with pytest.raises(pe.ProviderTimeout):
            _client(provider).test_connection()


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_secrets_never_reach_the_exchange_log(provider):
    client = _client(provider)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add(method, ANY_URL, status=401, body="echo s3cret-value back")
        with pytest.raises(pe.ProviderError):
            client.test_connection()
    assert client.exchanges
    dump = json.dumps([x.__dict__ for x in client.exchanges], default=str)
    assert "s3cret-value" not in dump


class _Declares(Provider):
    key, name = "declares_only", "Declares Only"
    capabilities = Capabilities(push_orders=True, idempotent_push=True, bulk_push=True)

    def test_connection(self) -> str:
        return "ok"

    def push_order(self, ctx):
        raise AssertionError("not called")


class _Undeclared(_Declares):
    capabilities = Capabilities(push_orders=True, idempotent_push=True)

    def push_orders_bulk(self, contexts):
        raise AssertionError("not called")

    def find_order(self, ctx):
        raise AssertionError("not called")


def test_the_contract_check_sees_both_kinds_of_mismatch():
    # bulk_push declared but push_orders_bulk missing …
    assert _Declares.capabilities.promised_operations() - _Declares.implemented_operations() == {"push_orders_bulk"}
    # … and two methods that no declared capability covers.
    assert _Undeclared.implemented_operations() - _Undeclared.capabilities.promised_operations() == {
        "push_orders_bulk", "find_order"}


def test_an_undeclared_operation_answers_a_typed_not_supported_error():
    client = _Undeclared({}, {})
    with pytest.raises(pe.ProviderNotSupported, match="iter_products is not supported by Declares Only"):
        client.iter_products()
    with pytest.raises(pe.ProviderNotSupported) as info:
        client.subscribe_webhook("https://hub.example.test/webhooks/x")
    assert info.value.kind == "unsupported" and not info.value.transient
