"""Read side of the Embedded Services tabs: which accounts show a card on a site's settings
and on a product / category / site user / shipping method, and the integration data (bindings
from a sync) shown on those cards."""
from __future__ import annotations

from ..extensions import db
from ..models import Binding, Category, Product, ProviderAccount, ShippingMethod, SiteUser
from . import install
from .activation import enabled_accounts_for_site

ENTITY_MODELS = {"product": Product, "category": Category, "site_user": SiteUser, "shipping_method": ShippingMethod}
ENTITY_LABELS = {"product": "product", "category": "category", "site_user": "user",
                 "shipping_method": "shipping method"}
BINDING_KINDS = {"product": "product", "category": "category"}


def entity(entity_type: str, entity_id: int):
    """The product / category / site user / shipping method, or None."""
    model = ENTITY_MODELS.get(entity_type)
    return db.session.get(model, entity_id) if model else None


def site_accounts(site) -> list[ProviderAccount]:
    """Every account of the site's company whose provider is enabled for the install: one card
    each on the site's Embedded Services tab (enabled there or not)."""
    enabled = set(install.enabled_provider_keys())
    return [a for a in ProviderAccount.query.filter_by(company_id=site.company_id)
            .order_by(ProviderAccount.name).all() if a.provider_key in enabled]


def bindings_for(account_id: int, entity_type: str, obj) -> list[Binding]:
    kind = BINDING_KINDS.get(entity_type)
    if kind is None:
        return []
    return Binding.query.filter_by(account_id=account_id, kind=kind, local_id=obj.id).order_by(Binding.id).all()


def entity_accounts(entity_type: str, obj) -> list[tuple[ProviderAccount, list[Binding]]]:
    """Accounts enabled on the object's site whose provider declares settings for this entity
    (or holds integration data for it, from a sync), with those bindings."""
    enabled = set(install.enabled_provider_keys())
    out = []
    for account in enabled_accounts_for_site(obj.site_id):
        if account.provider_key not in enabled:
            continue
        bindings = bindings_for(account.id, entity_type, obj)
        if account.provider.schema_for(entity_type) or bindings:
            out.append((account, bindings))
    return out


def entity_settings_allowed(account: ProviderAccount, entity_type: str, site_id: int) -> bool:
    """Settings exist only while the account is enabled on the entity's site and its provider
    declares a schema for the entity."""
    return bool(account.provider.schema_for(entity_type)) and account.id in {
        a.id for a in enabled_accounts_for_site(site_id)}
