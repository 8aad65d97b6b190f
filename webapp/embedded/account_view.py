"""Read side of Preferences › Embedded Services: the account list, the provider catalogue,
an account's page (masked settings, recent exchanges, active sites) and its test panel."""
from __future__ import annotations

from datetime import timedelta

from ..models import Admin, ProviderAccount, ProviderExchange, SiteActivation, utcnow
from ..providers.errors import ERROR_KINDS
from ..providers.fields import Schema

CAPABILITY_LABELS = {
    "push_orders": "Push orders", "bulk_push": "Bulk push", "idempotent_push": "Idempotent push",
    "order_lookup": "Order lookup", "status_webhook": "Status by webhook", "status_polling": "Status polling",
    "product_sync": "Product sync", "category_sync": "Category sync", "user_settings": "User settings",
    "shipping_method_mapping": "Shipping-method mapping", "webhook_subscribe": "Webhook subscription",
}
SCHEMA_LABELS = {"site": "Site", "product": "Product", "category": "Category", "site_user": "User",
                 "shipping_method": "Shipping method"}
POLLING_STATES = ("queued", "running")
STALE_TEST_AFTER = timedelta(seconds=60)
EXCHANGES_SHOWN = 20


def company_accounts(company_id: int) -> list[ProviderAccount]:
    return ProviderAccount.query.filter_by(company_id=company_id).order_by(ProviderAccount.name).all()


def active_admins(company_id: int) -> list[Admin]:
    return Admin.query.filter_by(company_id=company_id, active=True).order_by(Admin.name, Admin.email).all()


def catalogue_entry(provider) -> dict:
    """A provider's declaration, with its capabilities and setting levels in words."""
    info = provider.describe()
    info["capability_labels"] = [CAPABILITY_LABELS.get(k, k.replace("_", " ").capitalize())
                                 for k, on in info["capabilities"].items() if on]
    info["setting_levels"] = [label for entity, label in SCHEMA_LABELS.items() if info.get(entity)]
    return info


def display_rows(schema: Schema, values: dict, mask_all: bool = False) -> list[tuple]:
    """(field, text) pairs for read-only views; secrets masked (every value but URLs when
    ``mask_all``: an API key is for account managers only), choices shown by label."""
    shown = schema.masked(values, everything=mask_all)
    rows = []
    for f in schema:
        value = shown.get(f.name)
        if f.type == "choice" and value is not None:
            value = dict(f.choices).get(value, value)
        elif f.type == "bool":
            value = "Yes" if value else "No"
        rows.append((f, value))
    return rows


def recent_exchanges(account: ProviderAccount) -> list[ProviderExchange]:
    """The account's own calls (connection tests, webhook subscriptions), newest first."""
    return (ProviderExchange.query.filter_by(account_id=account.id, subject_type="account")
            .order_by(ProviderExchange.id.desc()).limit(EXCHANGES_SHOWN).all())


def enabled_sites(account: ProviderAccount) -> list[SiteActivation]:
    return sorted((a for a in account.activations if a.enabled), key=lambda a: a.site.name.lower())


def test_panel(account: ProviderAccount, queue_error: str = "") -> dict:
    """State of the connection-test panel; it polls while the test is queued or running."""
    polling = account.test_state in POLLING_STATES and not queue_error
    stale = bool(polling and account.test_started_at and utcnow() - account.test_started_at > STALE_TEST_AFTER)
    return {"account": account, "polling": polling, "stale": stale, "queue_error": queue_error,
            # Slower polls once it looks like no worker is running.
            "poll_delay": "5s" if stale else "1s",
            "error_label": ERROR_KINDS.get(account.test_code or "", ERROR_KINDS["unknown"])}
