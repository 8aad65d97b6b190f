"""Who may manage a provider account.

An account is company-wide and may serve several sites; its credentials act for all of them.
Managing it — editing, deleting, testing the connection (which sends the secret to the
configured URL), reading its webhook token or key, subscribing its webhook, reading its
account-level exchanges, releasing a stuck push, running a global synchronization — needs a
company-wide admin or an admin with access to every site the account serves. Any admin of the
company may still see that the account exists and use it on their own sites.
"""
from __future__ import annotations

from ..models import Admin, ProviderAccount, SiteActivation


def served_site_ids(account: ProviderAccount) -> set[int]:
    """Every site the account holds an activation for (enabled or not: its settings live there)."""
    return {site_id for (site_id,) in SiteActivation.query.with_entities(SiteActivation.site_id)
            .filter(SiteActivation.account_id == account.id)}


def can_manage(admin: Admin, account: ProviderAccount) -> bool:
    if admin is None or not getattr(admin, "is_authenticated", True) or account.company_id != admin.company_id:
        return False
    if admin.is_super:
        return True
    return served_site_ids(account) <= {site.id for site in admin.sites}


def manageable_account_ids(admin: Admin) -> set[int] | None:
    """Ids of the company's accounts ``admin`` may manage; None means all of them."""
    if admin.is_super:
        return None
    mine = {site.id for site in admin.sites}
    blocked = {account_id for account_id, site_id in SiteActivation.query.join(ProviderAccount).with_entities(
        SiteActivation.account_id, SiteActivation.site_id).filter(ProviderAccount.company_id == admin.company_id)
        if site_id not in mine}
    ids = {account_id for (account_id,) in ProviderAccount.query.with_entities(ProviderAccount.id)
           .filter(ProviderAccount.company_id == admin.company_id)}
    return ids - blocked
