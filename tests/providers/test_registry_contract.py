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
def test_capabilities_are_implemented(provider: type[Provider]):
    caps = provider.capabilities
    overridden = lambda name: getattr(provider, name) is not getattr(Provider, name, None)  # noqa: E731
    assert overridden("test_connection")
    if caps.push_orders:
        assert hasattr(provider, "push_order")
    if caps.product_sync:
        assert overridden("iter_products")
    if caps.category_sync:
        assert overridden("iter_categories")
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
