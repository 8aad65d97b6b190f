"""Which providers this install may use (switched on by sales/ops, not by admins)."""
from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..models import EnabledProvider
from ..providers.registry import all_providers


def enabled_provider_keys() -> list[str]:
    available = all_providers()
    configured = set(current_app.config.get("EMBEDDED_PROVIDERS") or [])
    if "all" in configured:
        configured = set(available)
    stored = {row.key for row in EnabledProvider.query.all()}
    return [key for key in available if key in configured | stored]


def enabled_providers() -> dict:
    available = all_providers()
    return {key: available[key] for key in enabled_provider_keys()}


def is_enabled(key: str) -> bool:
    # The install's configuration answers without a query (every webhook asks).
    configured = current_app.config.get("EMBEDDED_PROVIDERS") or []
    if key in all_providers() and (key in configured or "all" in configured):
        return True
    return key in enabled_provider_keys()


def enable_provider(key: str) -> bool:
    """Returns False when it was already enabled."""
    if key not in all_providers():
        raise KeyError(f"unknown provider {key!r}; known: {', '.join(all_providers())}")
    if db.session.get(EnabledProvider, key):
        return False
    db.session.add(EnabledProvider(key=key))
    db.session.commit()
    return True


def disable_provider(key: str) -> bool:
    row = db.session.get(EnabledProvider, key)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


def menu_visible() -> bool:
    return bool(enabled_provider_keys())
