"""The one place a use-case gets a provider client for an account (models never do)."""
from __future__ import annotations

from ..models import ProviderAccount
from ..providers.base import Provider


def client_for(account: ProviderAccount) -> Provider:
    """A provider instance bound to the account's credentials and settings, with the install's
    timeouts and rate-limit overrides and the shared Redis limiter."""
    client = account.provider.for_account(account)
    # The status it was built under: a success on a verified account then writes nothing
    # (account_status.call_succeeded).
    client.account_status = account.auth_state
    return client
