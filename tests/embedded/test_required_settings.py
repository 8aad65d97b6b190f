"""Providers that require per-user / per-product settings refuse to push, saying what is missing."""
from __future__ import annotations

import pytest

from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import save_entity_settings, set_activation
from webapp.embedded.push import request_push, run_push
from webapp.extensions import db
from webapp.models import OrderPush
from webapp.providers import registry
from webapp.providers.base import Capabilities, Provider
from webapp.providers.context import ItemPushResult, PushResult
from webapp.providers.fields import Field, schema


class CustomerCodeMIS(Provider):
    """A stand-in for Tharstern/Midnight: customers must be mapped to External IDs."""

    key, name, description = "fake_mis", "Fake MIS", "test double"
    default_base_url = "https://mis.example.test"
    capabilities = Capabilities(push_orders=True, user_settings=True)
    credentials = schema(Field("login", "Login", required=True))
    user_settings = schema(Field("external_id", "External ID", required=True),
                           Field("active", "Active", type="bool", required=True))
    product_settings = schema(Field("product_code", "Product code", required=True))
    pushed: list = []

    def test_connection(self):
        return "ok"

    def push_order(self, ctx):
        CustomerCodeMIS.pushed.append(ctx)
        return PushResult(external_id="1", external_number=ctx.external_number,
                          items=[ItemPushResult(i.line_number, "x", i.external_number) for i in ctx.items])


@pytest.fixture
def fake_provider(monkeypatch):
    providers = {**registry.all_providers(), "fake_mis": CustomerCodeMIS}
    monkeypatch.setattr(registry, "_discover", lambda: providers)
    CustomerCodeMIS.pushed = []
    return CustomerCodeMIS


def test_push_refused_until_user_and_product_settings_are_set(app_ctx, factory, fake_provider):
    site = factory.site()
    admin = factory.admin(is_super=True)
    install.enable_provider("fake_mis")
    account = save_account(None, company_id=admin.company_id, name="MIS", provider_key="fake_mis",
                           admin_id=admin.id, credentials={"login": "x"}, settings={}).account
    set_activation(account, site, enabled=True, is_live=True)
    user = factory.site_user(site, email="buyer@example.test")
    product = factory.product(site, sku="BC")
    order = factory.order(site, paid=True, customer_email=user.email,
                          items=[{"approval": "approved", "sku": "BC", "product_id": product.id}])
    request_push(order)
    push = OrderPush.query.one()
    assert run_push(push.id) == "failed"
    db.session.expire_all()
    errors = OrderPush.query.one().errors
    assert errors[0] == "Fake MIS needs settings that are missing:"
    assert "Customer buyer@example.test: External ID is required on the user's Embedded Services tab." in errors
    assert "Customer buyer@example.test: Active must be ticked on the user's Embedded Services tab." in errors
    assert any("Product code is required on the product's Embedded Services tab" in e for e in errors)
    assert fake_provider.pushed == []
    assert save_entity_settings(account, "site_user", user.id, {"external_id": "C-42", "active": "y"}) == {}
    assert save_entity_settings(account, "product", product.id, {"product_code": "TH-BC"}) == {}
    request_push(order)
    assert run_push(push.id) == "pushed"
    [ctx] = fake_provider.pushed
    assert ctx.customer.settings == {"external_id": "C-42", "active": True}
    assert ctx.items[0].product_settings == {"product_code": "TH-BC"}
