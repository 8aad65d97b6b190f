"""Order status by polling, automatically: the entry point the maintenance job calls.

Every status_polling provider gets two account settings (webapp.providers.base
STATUS_POLL_FIELDS): the interval (default 15 min, 0 = off) and the age of pushes still
refreshed (default 30 days). When an account's interval has passed, a global status run is
requested — the same run, steps and logs as a manual Synchronize of "Update order status",
over pushes that are not final and younger than that age (status_sync.refresh_statuses).
One Redis key per account, living for the interval, makes sure every worker together
requests it once per interval.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from ..extensions import db
from ..models import ProviderAccount, SiteActivation, utcnow
from ..providers.base import STATUS_POLL_FIELDS
from . import account_status

log = logging.getLogger(__name__)

AUTOMATIC = "automatic status refresh"   # SyncRun.started_by of the runs requested here
_DEFAULTS = {f.name: f.default for f in STATUS_POLL_FIELDS}


def _setting(account: ProviderAccount, name: str) -> int:
    value = (account.settings or {}).get(name)
    try:
        return int(_DEFAULTS[name] if value in (None, "") else value)
    except (TypeError, ValueError):
        return int(_DEFAULTS[name])


def interval_minutes(account: ProviderAccount) -> int:
    return _setting(account, "status_poll_minutes")


def oldest_push(account: ProviderAccount):
    """Pushes older than this are not refreshed automatically."""
    return utcnow() - timedelta(days=_setting(account, "status_poll_max_age_days"))


def is_automatic(run) -> bool:
    return run.started_by == AUTOMATIC


def schedule_due_polls() -> int:
    """Request an automatic status run for every live polling account whose interval has
    passed; returns how many were requested. A refusal (a run already active, the account
    no longer live) waits for the next interval; one account never stops the others."""
    from ..queue import get_redis
    from .install import enabled_provider_keys
    from .runs import RunRefused, request_run

    enabled = set(enabled_provider_keys())
    live_account_ids = {a.account_id for a in SiteActivation.query.filter_by(enabled=True, is_live=True)
                        .with_entities(SiteActivation.account_id).distinct()}
    if not live_account_ids:
        return 0
    redis, requested = get_redis(), 0
    for account in ProviderAccount.query.filter(ProviderAccount.id.in_(live_account_ids))\
            .order_by(ProviderAccount.id).all():
        try:
            provider = account.provider
        except KeyError:  # the provider's module is gone from this install
            continue
        minutes = interval_minutes(account)
        if (account.provider_key not in enabled or not provider.capabilities.status_polling or minutes <= 0
                or account_status.credentials_refused(account)):
            continue
        if not redis.set(f"embedded:status-poll:{account.id}", utcnow().isoformat(), nx=True, ex=minutes * 60):
            continue  # polled within the interval
        try:
            request_run(account, ["status"], started_by=AUTOMATIC)
            requested += 1
        except RunRefused as exc:
            db.session.rollback()
            log.info("automatic status refresh of account %s not started: %s", account.id, exc)
    return requested
