"""`flask embedded activate` and `push-backlog`: the site card's twins, same checks (going
live is guarded by go_live warnings until --confirm; the backlog run is the card's "Push them")."""
from __future__ import annotations

import sys

import click

from .cli import _fail, embedded_cli


def _account_and_site(account_id: int, site_slug: str):
    from ..extensions import db
    from ..models import ProviderAccount, Site

    account = db.session.get(ProviderAccount, account_id)
    site = Site.query.filter_by(slug=site_slug).first()
    if account is None:
        _fail(f"account: no account {account_id}")
    if site is None:
        _fail(f"site: no site {site_slug!r}")
    return account, site


@embedded_cli.command("activate")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--site", "site_slug", required=True)
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--live/--not-live", "is_live", default=None)
@click.option("--confirm", is_flag=True, help="go live despite the warnings (failing or untested account, "
                                              "store id the provider does not know)")
def activate_command(account_id, site_slug, enabled, is_live, confirm) -> None:
    """Enable / go live with an account on a site."""
    from . import go_live
    from .activation import set_activation
    from .webhooks import webhook_url

    account, site = _account_and_site(account_id, site_slug)
    if enabled is False and is_live is None:
        is_live = False
    result = set_activation(account, site, enabled=enabled, is_live=is_live, guarded=not confirm)
    if result.warnings:
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        click.echo("Nothing saved: going live needs --confirm (or fix the above).", err=True)
        sys.exit(3)
    if not result.ok:
        for field, message in result.errors.items():
            click.echo(f"Error: {field}: {message}", err=True)
        sys.exit(2)
    a = result.activation
    click.echo(f"account {account.id} on {site.slug}: enabled={a.enabled} live={a.is_live}")
    if result.went_live:
        from flask import current_app

        public = current_app.config.get("PUBLIC_URL")
        state = go_live.subscribe_on_going_live(account, webhook_url(account) if public else "")
        if state not in (None, "ok", "queued"):
            click.echo(f"Webhook: not subscribed at {account.provider.name} (set PUBLIC_URL, or subscribe on the "
                       f"account page).")
        elif state == "queued":
            click.echo(f"Webhook: subscription at {account.provider.name} queued.")
        backlog = go_live.backlog_count(account, site)
        if backlog:
            click.echo(f"{backlog} order(s) of the last {go_live.BACKLOG_DAYS} days are eligible and not pushed: "
                       f"flask embedded push-backlog --account {account.id} --site {site.slug}")


@embedded_cli.command("push-backlog")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--site", "site_slug", required=True)
@click.option("--days", type=int, default=30, show_default=True, help="how far back (1-90)")
@click.option("--dry-run", is_flag=True, help="only count them")
def push_backlog_command(account_id, site_slug, days, dry_run) -> None:
    """Push the orders that qualified before the site went live (a run, like the card's "Push them")."""
    from . import go_live
    from .runs import RunRefused

    account, site = _account_and_site(account_id, site_slug)
    if dry_run:
        if not 1 <= days <= go_live.MAX_BACKLOG_DAYS:
            _fail(f"days: must be between 1 and {go_live.MAX_BACKLOG_DAYS}")
        click.echo(f"{go_live.backlog_count(account, site, days)} order(s) eligible and not pushed")
        return
    try:
        run = go_live.request_backlog_run(account, site, "cli", days=days)
    except RunRefused as exc:
        _fail(str(exc))
    click.echo(f"run {run.id} queued: {run.checkpoint.get('expected')} order(s) to push "
               f"(flask embedded run {run.id})")
