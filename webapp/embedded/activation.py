"""Per-site activation (Enable / IsLive) and per-entity provider settings."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app

from ..extensions import db
from ..models import ENTITY_TYPES, EntitySetting, ProviderAccount, Site, SiteActivation
from . import push_summary
from .accounts import invalid_credentials_message

log = logging.getLogger(__name__)


@dataclass
class ActivationResult:
    activation: SiteActivation | None
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # going live needs a confirmation (go_live)
    went_live: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.warnings


def activation_for(account: ProviderAccount, site: Site) -> SiteActivation | None:
    return SiteActivation.query.filter_by(account_id=account.id, site_id=site.id).first()


def set_activation(account: ProviderAccount, site: Site, *, enabled: bool | None = None,
                   is_live: bool | None = None, settings: dict | None = None,
                   guarded: bool = False) -> ActivationResult:
    """Enable/disable, go live or not, and save site-level settings. IsLive needs Enable.
    ``guarded`` (the admin's web form and CLI until confirmed): switching IsLive on with
    go_live warnings saves nothing and returns them."""
    # Built from ids, not relationships, so an invalid new row never cascades into the session.
    activation = activation_for(account, site) or SiteActivation(account_id=account.id, site_id=site.id, settings={})
    enabled = activation.enabled if enabled is None else enabled
    is_live = activation.is_live if is_live is None else is_live
    errors: dict[str, str] = {}
    if is_live and not enabled:
        errors["is_live"] = "Enable the integration before making it live."
    if enabled and not account.admin.can_access(site):
        errors["enabled"] = invalid_credentials_message(account.admin, site)
    values = activation.settings or {}
    if settings is not None:
        values, setting_errors = account.provider.site_settings.clean(
            settings, existing=activation.settings,
            allow_loopback=current_app.config["ALLOW_LOOPBACK_PROVIDER_URLS"])
        errors.update({f"settings.{k}": v for k, v in setting_errors.items()})
    if errors:
        return ActivationResult(activation if activation.id else None, errors)
    went_live = bool(is_live and enabled and not (activation.enabled and activation.is_live))
    if guarded and went_live:
        from .go_live import warnings

        found = warnings(account, site, values)
        if found:
            log.info("going live refused until confirmed account=%s site=%s: %s", account.id, site.id, found)
            return ActivationResult(activation if activation.id else None, warnings=found)
    was_live = bool(activation.enabled and activation.is_live)
    activation.enabled, activation.is_live, activation.settings = enabled, (is_live and enabled), values
    db.session.add(activation)
    if was_live != activation.is_live:  # the site's orders gain or lose an account they wait for
        db.session.flush()
        push_summary.refresh_sites([site.id])
    db.session.commit()
    return ActivationResult(activation, went_live=went_live)


def enabled_accounts_for_site(site_id: int) -> list[ProviderAccount]:
    return (ProviderAccount.query.join(SiteActivation)
            .filter(SiteActivation.site_id == site_id, SiteActivation.enabled.is_(True))
            .order_by(ProviderAccount.name).all())


def live_activations_for_site(site_id: int) -> list[SiteActivation]:
    return (SiteActivation.query.filter_by(site_id=site_id, enabled=True, is_live=True)
            .order_by(SiteActivation.account_id).all())


def entity_settings(account_id: int, entity_type: str, entity_id: int) -> dict:
    row = EntitySetting.query.filter_by(account_id=account_id, entity_type=entity_type, entity_id=entity_id).first()
    return dict(row.values) if row else {}


def save_entity_settings(account: ProviderAccount, entity_type: str, entity_id: int,
                         data: dict) -> dict[str, str]:
    """Validate against the provider's declared schema for that entity; returns errors."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(entity_type)
    row = EntitySetting.query.filter_by(account_id=account.id, entity_type=entity_type,
                                        entity_id=entity_id).first()
    values, errors = account.provider.schema_for(entity_type).clean(
        data, existing=row.values if row else None,
        allow_loopback=current_app.config["ALLOW_LOOPBACK_PROVIDER_URLS"])
    if errors:
        return errors
    if row is None:
        row = EntitySetting(account_id=account.id, entity_type=entity_type, entity_id=entity_id)
        db.session.add(row)
    row.values = values
    db.session.commit()
    return {}
