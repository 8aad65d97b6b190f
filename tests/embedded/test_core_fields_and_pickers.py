"""§8: a provider requires and validates core values (site MIS ID digits only, product and
shipping-method Integration IDs) with "push refused" reasons; picker fields list the
provider's values and stay typed-in when the provider cannot answer."""
from __future__ import annotations

import pytest

from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import set_activation
from webapp.embedded.pickers import picker_options
from webapp.embedded.push import request_push, run_push
from webapp.extensions import db
from webapp.models import OrderPush
from webapp.providers import errors as pe
from webapp.providers import registry
from webapp.providers.base import Capabilities, Provider
from webapp.providers.context import ItemPushResult, PushResult
from webapp.providers.fields import Field, schema
from webapp.providers.requirements import CoreRequirement


class CoreMIS(Provider):
    key, name = "core_mis", "Core MIS"
    default_base_url = "https://mis.example.test"
    capabilities = Capabilities(push_orders=True)
    credentials = schema(Field("login", "Login", required=True))
    core_requirements = (CoreRequirement("site", "mis_id", r"\d+", "digits only"),
                         CoreRequirement("product", "integration_id"),
                         CoreRequirement("shipping_method", "integration_id"))
    product_settings = schema(Field("offer", "Offer", picker="list_offers", max_length=40))
    offers_fail = False

    def list_offers(self):
        if CoreMIS.offers_fail:
            raise pe.ProviderConnectError("Could not connect to mis.example.test.")
        return [("OF-1", "Offer one"), ("OF-2", "Offer two")]

    def push_order(self, ctx):
        return PushResult(external_id="1", external_number=ctx.external_number,
                          items=[ItemPushResult(i.line_number, "x", i.external_number) for i in ctx.items])


@pytest.fixture
def core_account(app_ctx, factory, monkeypatch):
    providers = {**registry.all_providers(), "core_mis": CoreMIS}
    monkeypatch.setattr(registry, "_discover", lambda: providers)
    CoreMIS.offers_fail = False
    install.enable_provider("core_mis")
    admin = factory.admin(is_super=True)
    site = factory.site(mis_id="12a")
    account = save_account(None, company_id=admin.company_id, name="Core", provider_key="core_mis",
                           admin_id=admin.id, credentials={"login": "x"}, settings={}).account
    assert set_activation(account, site, enabled=True, is_live=True).ok
    return account, site, admin


def test_push_refused_with_the_core_values_reasons_until_fixed(core_account, factory):
    account, site, _ = core_account
    product = factory.product(site, sku="BC")
    method = factory.shipping_method(site, name="Courier")
    order = factory.order(site, paid=True, items=[{"approval": "approved", "sku": "BC", "product_id": product.id,
                                                   "shipping_method_id": method.id}])
    request_push(order)
    push = OrderPush.query.one()
    assert run_push(push.id) == "failed"
    db.session.refresh(push)
    assert push.error_kind == "configuration"
    assert push.errors[1:] == [
        f"Site {site.name}: MIS ID '12a' is not valid for Core MIS (digits only).",
        f"Item {order.items[0].number} (BC): Integration ID is missing; Core MIS needs it (the product's settings).",
        "Shipping method 'Courier': Integration ID is missing; Core MIS needs it (the shipping method's settings)."]
    site.mis_id, product.integration_id, method.integration_id = "1204", "P-77", "COUR"
    db.session.commit()
    request_push(order)
    assert run_push(push.id) == "pushed"


def test_core_requirements_are_in_the_catalogue():
    described = CoreMIS.describe()["core_requirements"]
    assert described[0] == {"entity": "site", "attribute": "mis_id", "regex": r"\d+", "rule": "digits only",
                            "label": "MIS ID"}
    with pytest.raises(ValueError):
        CoreRequirement("site", "colour")


def test_picker_lists_the_providers_values_cached_and_falls_back_to_typing(core_account, client, login, factory):
    account, site, admin = core_account
    assert picker_options(account, "product", "offer").options == [("OF-1", "Offer one"), ("OF-2", "Offer two")]
    CoreMIS.offers_fail = True
    assert picker_options(account, "product", "offer").options[0] == ("OF-1", "Offer one")   # cached for all
    failed = picker_options(account, "product", "offer", refresh=True)
    assert failed.options == [] and "type the value instead" in failed.error
    with pytest.raises(KeyError):
        picker_options(account, "product", "nope")
    login(admin)
    html = client.get(f"/preferences/embedded/accounts/{account.id}/picker/product/offer").get_data(as_text=True)
    assert '<option value="OF-1">Offer one</option>' in html
    assert client.get(f"/preferences/embedded/accounts/{account.id}/picker/product/colour").status_code == 404
    # a value not in the list is still accepted (typed in), validated as usual
    values, errors = CoreMIS.product_settings.clean({"offer": "OF-NEW"})
    assert values == {"offer": "OF-NEW"} and not errors
    product = factory.product(site, sku="PK")
    page = client.get(f"/sites/{site.slug}/products/{product.id}/embedded").get_data(as_text=True)
    picker_id = f"embedded-entity-product-{account.id}-picker-offer"
    assert f'list="{picker_id}"' in page and f'id="{picker_id}"' in page
