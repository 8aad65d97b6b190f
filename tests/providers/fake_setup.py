"""Fixtures for the tests' fake provider: its remote over real HTTP and a live account.
Imported by tests/embedded/conftest.py and tests/providers/conftest.py."""
from __future__ import annotations

import uuid

import pytest

from sandbox.testing import serve_wsgi
from tests.providers import fake_remote as remote_module
from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import set_activation
from webapp.providers.registry import _discover


@pytest.fixture
def fake_registered(monkeypatch):
    """The fake provider is known to this process and to every worker it starts."""
    monkeypatch.setenv("EMBEDDED_PROVIDER_MODULES", "tests.providers.fake_provider")
    _discover.cache_clear()
    yield
    monkeypatch.delenv("EMBEDDED_PROVIDER_MODULES")
    _discover.cache_clear()


@pytest.fixture
def fake_remote():
    remote = remote_module.Remote()
    base, stop = serve_wsgi(remote_module.create_app(remote))
    remote.base = base
    remote.other_host = base.replace("127.0.0.1", "localhost")
    yield remote
    stop()


@pytest.fixture
def fake_account(app_ctx, factory, fake_registered, fake_remote):
    """fake_account(site, live=True, **settings) -> account (enabled and live on ``site``)."""
    install.enable_provider("fake")
    admin = factory.admin(email=f"fake-{uuid.uuid4().hex[:6]}@example.test", is_super=True)

    def _make(site, live: bool = True, **settings):
        result = save_account(None, company_id=admin.company_id, name=f"Fake {uuid.uuid4().hex[:5]}",
                              provider_key="fake", admin_id=admin.id, settings=settings,
                              credentials={"client_id": remote_module.CLIENT_ID,
                                           "client_secret": remote_module.CLIENT_SECRET,
                                           "base_url": f"{fake_remote.base}/api"})
        assert result.ok, result.errors
        activation = set_activation(result.account, site, enabled=True, is_live=live)
        assert activation.ok, activation.errors
        return result.account

    return _make
