"""Going live on a site, guarded, and what going live leaves to do:

- warnings before IsLive is switched on (the account's status is not verified, or a store id
  the provider says it does not know), which the admin confirms or fixes — web and CLI alike;
- the webhook subscription of providers that have one, requested when the account goes live;
- the backlog: orders of the last days that qualified before the site went live (automatic
  pushes happen when an order changes, so they would never go) — counted for the site card and
  pushed by a site run of the "orders" stage limited to them (logs, runs table, resumable; the
  push state machine keeps a second run or click from creating a second external order).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from itertools import islice

from redis.exceptions import RedisError
from sqlalchemy import exists, tuple_

from ..models import PUSH_WAITING, Order, OrderPush, ProviderAccount, Site, SiteActivation, SyncRun, utcnow
from . import account_status
from .pickers import picker_options
from .push_view import eligible_not_pushed
from .runs import RunRefused, request_run

log = logging.getLogger(__name__)

BACKLOG_DAYS = 30
BACKLOG_SHOWN = 500  # the card counts this far ("more than 500"); the run pushes them all
MAX_BACKLOG_DAYS = 90


# ---- the guard -------------------------------------------------------------------------------

def warnings(account: ProviderAccount, site: Site, site_settings: dict) -> list[str]:
    """Why going live now is risky; empty when it is not."""
    out = []
    status = account_status.describe(account)
    if status.state == account_status.FAILING:
        out.append(f"{account.name} is failing: {status.label.split(': ', 1)[-1]}"
                   f"{f' — {status.reason}' if status.reason else ''}. Orders pushed now will fail.")
    elif status.state == account_status.CHANGED:
        out.append(f"{account.name}'s credentials changed and have not been tested since. "
                   f"Test the connection first.")
    elif status.state != account_status.OK:
        out.append(f"{account.name}'s connection has never been tested. Test the connection first.")
    out += unknown_values(account, site_settings)
    return out


def unknown_values(account: ProviderAccount, site_settings: dict) -> list[str]:
    """Values of picker fields (a store id, …) the provider's own list does not have. A site
    value overrides the account's field of the same name, so that one is checked instead."""
    provider, out = account.provider, []
    checks = [("site", f, site_settings.get(f.name)) for f in provider.site_settings if f.picker]
    overridden = {f.name for _, f, value in checks if value not in (None, "")}
    checks += [("account", f, (account.settings or {}).get(f.name)) for f in provider.account_settings
               if f.picker and f.name not in overridden]
    for entity, f, value in checks:
        if value in (None, ""):
            continue
        options = picker_options(account, entity, f.name)
        if options.error:
            out.append(f"The {f.label} {value} could not be checked with {provider.name}: {options.error}")
        elif str(value) not in {v for v, _ in options.options}:
            known = ", ".join(f"{label} ({v})" for v, label in options.options[:10]) or "none"
            out.append(f"{provider.name} does not know the {f.label} {value} (it has: {known}).")
    return out


# ---- webhook subscription --------------------------------------------------------------------

def subscription_state(account: ProviderAccount) -> str | None:
    """None when the provider has no subscription API; else ok | queued | failed | none."""
    if not account.provider.capabilities.webhook_subscribe:
        return None
    return (account.webhook_subscription or {}).get("state") or "none"


def subscribe_on_going_live(account: ProviderAccount, target_url: str) -> str | None:
    """Ask for the subscription unless it is done or under way; the card shows the outcome
    (and a button when it is not subscribed). Without a public address nothing is asked."""
    from .accounts import request_webhook_subscription

    state = subscription_state(account)
    if state in (None, "ok", "queued") or not target_url:
        return state
    try:
        request_webhook_subscription(account, target_url)
    except RedisError:
        log.exception("webhook subscription of account %s could not be queued", account.id)
    return subscription_state(account)


# ---- the backlog -----------------------------------------------------------------------------

def _candidates(account: ProviderAccount, site: Site, days: int):
    """Paid orders of the window with no push for the account, or only a waiting one."""
    pushed = exists().where(OrderPush.order_id == Order.id, OrderPush.account_id == account.id,
                            OrderPush.state != PUSH_WAITING)
    return (Order.query.filter(Order.site_id == site.id, Order.placed_at >= utcnow() - timedelta(days=days),
                               Order.paid.is_(True), ~pushed)
            .order_by(Order.placed_at, Order.id))


def iter_backlog(account: ProviderAccount, site: Site, days: int = BACKLOG_DAYS, chunk: int = 200):
    """The orders the order tab calls "qualified before the site went live" (push_view), oldest
    first, read a chunk at a time (keyset on placed_at, id) so a caller may stop early."""
    after = None
    while True:
        query = _candidates(account, site, days)
        if after is not None:
            query = query.filter(tuple_(Order.placed_at, Order.id) > after)
        orders = query.limit(chunk).all()
        if not orders:
            return
        pushes = {p.order_id: p for p in OrderPush.query.filter(OrderPush.account_id == account.id,
                                                                OrderPush.order_id.in_([o.id for o in orders]))}
        yield from (o for o in orders if eligible_not_pushed(o, pushes.get(o.id)))
        after = (orders[-1].placed_at, orders[-1].id)


def backlog_count(account: ProviderAccount, site: Site, days: int = BACKLOG_DAYS, cap: int | None = None) -> int:
    """How many; at most ``cap`` (the site card stops there: a site that goes live with
    thousands of waiting orders must not make every view of the card check each of them)."""
    return sum(1 for _ in islice(iter_backlog(account, site, days), cap))


def active_backlog_run(account: ProviderAccount, site: Site) -> SyncRun | None:
    run = SyncRun.query.filter_by(account_id=account.id, site_id=site.id).filter(
        SyncRun.active_key.isnot(None)).first()
    return run if run is not None and (run.checkpoint or {}).get("backlog") else None


def request_backlog_run(account: ProviderAccount, site: Site, started_by: str,
                        days: int = BACKLOG_DAYS) -> SyncRun:
    """Start the run pushing the backlog (web button and CLI twin: same checks)."""
    if not 1 <= int(days) <= MAX_BACKLOG_DAYS:
        raise RunRefused(f"Days must be between 1 and {MAX_BACKLOG_DAYS}.")
    activation = SiteActivation.query.filter_by(account_id=account.id, site_id=site.id).first()
    if activation is None or not (activation.enabled and activation.is_live):
        raise RunRefused(f"{account.name} is not enabled and live on {site.name}.")
    if not account.provider.capabilities.push_orders:
        raise RunRefused(f"{account.provider.name} does not receive orders.")
    count = backlog_count(account, site, days)
    if not count:
        raise RunRefused(f"No order of the last {days} days on {site.name} is waiting for {account.name}.")
    since = (utcnow() - timedelta(days=days)).isoformat()
    return request_run(account, ["orders"], started_by, site=site,
                       options={"backlog": True, "since": since, "expected": count})
