"""`flask embedded …` — stable commands for ops and scripts."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from ..schema_check import check_schema_first

embedded_cli = AppGroup("embedded", help="Embedded Services: providers, accounts, activation, push, sync.",
                        callback=check_schema_first)


def _pairs(values: tuple[str, ...], what: str) -> dict:
    out = {}
    for value in values:
        if "=" not in value:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=f"--{what}")
        key, _, val = value.partition("=")
        out[key.strip()] = val
    return out


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


@embedded_cli.command("providers")
@click.option("--json", "as_json", is_flag=True, help="machine-readable catalogue")
def providers_command(as_json: bool) -> None:
    """The provider catalogue with capabilities."""
    from ..providers.registry import all_providers
    from .install import enabled_provider_keys

    enabled = set(enabled_provider_keys())
    catalogue = [{**cls.describe(), "enabled": key in enabled} for key, cls in all_providers().items()]
    if as_json:
        click.echo(json.dumps(catalogue, indent=2, default=str))
        return
    for entry in catalogue:
        caps = ", ".join(k for k, v in entry["capabilities"].items() if v) or "—"
        click.echo(f"{entry['key']:<20} {entry['name']:<36} {'enabled' if entry['enabled'] else 'disabled':<9} {caps}")


@embedded_cli.command("enable")
@click.argument("key")
def enable_command(key: str) -> None:
    """Enable a provider for this install (KEY or 'all')."""
    from ..providers.registry import all_providers
    from .install import enable_provider

    keys = list(all_providers()) if key == "all" else [key]
    for k in keys:
        try:
            changed = enable_provider(k)
        except KeyError as exc:
            _fail(str(exc.args[0]))
        click.echo(f"{k}: {'enabled' if changed else 'already enabled'}")


@embedded_cli.command("disable")
@click.argument("key")
def disable_command(key: str) -> None:
    """Disable a provider for this install."""
    from .install import disable_provider

    click.echo(f"{key}: {'disabled' if disable_provider(key) else 'was not enabled'}")


@embedded_cli.command("account-add")
@click.option("--name", required=True)
@click.option("--provider", "provider_key", required=True)
@click.option("--admin", "admin_email", required=True, help="email of the admin user the account acts as")
@click.option("--credential", "credentials", multiple=True, help="KEY=VALUE (repeatable)")
@click.option("--setting", "settings", multiple=True, help="KEY=VALUE (repeatable)")
def account_add_command(name, provider_key, admin_email, credentials, settings) -> None:
    """Create a provider account; prints its id."""
    from ..models import Admin
    from .accounts import save_account

    admin = Admin.query.filter_by(email=admin_email.strip().lower()).first()
    if admin is None:
        _fail(f"admin: no admin with email {admin_email}")
    result = save_account(None, company_id=admin.company_id, name=name, provider_key=provider_key,
                          admin_id=admin.id, credentials=_pairs(credentials, "credential"),
                          settings=_pairs(settings, "setting"))
    if not result.ok:
        for field, message in result.errors.items():
            click.echo(f"Error: {field}: {message}", err=True)
        sys.exit(2)
    click.echo(result.account.id)


@embedded_cli.command("push")
@click.argument("order_number")
@click.option("--account", "account_id", type=int, help="only this account")
def push_command(order_number: str, account_id: int | None) -> None:
    """Queue a push of ORDER_NUMBER to its site's live accounts (refused with reasons when not eligible)."""
    from ..models import Order
    from .push import NotEligible, request_push

    order = Order.query.filter_by(number=order_number).first()
    if order is None:
        _fail(f"order: no order {order_number!r}")
    try:
        outcome = request_push(order, account_id)
    except NotEligible as exc:
        click.echo(f"Order {order_number} cannot be pushed:", err=True)
        for reason in exc.reasons:
            click.echo(f"  - {reason}", err=True)
        sys.exit(1)
    for requested in outcome:
        click.echo(f"account {requested.account.id} ({requested.account.name}): {requested.message}")


def order_status_report(order) -> dict:
    """Per account (with a push or live on the site): state, numbers, errors and, while
    waiting, why — the same rows the order's Embedded Services tab shows."""
    from .push_view import order_pushes

    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    by_item = {item.id: item for item in order.items}
    accounts = []
    for row in order_pushes(order, with_exchanges=False):
        p = row.push
        accounts.append({
            "account_id": row.account.id, "account": row.account.name, "provider": row.account.provider_key,
            "state": row.state, "live": row.live, "external_id": p and p.external_id,
            "external_number": p and p.external_number, "reference": p and p.reference,
            "pushed_at": iso(p and p.pushed_at), "attempts": p.attempts if p else 0,
            "errors": (p and p.errors) or [], "reasons": row.reasons, "external_status": p and p.external_status,
            "items": [{"number": by_item[ip.item_id].number if ip.item_id in by_item else None,
                       "external_number": ip.external_number, "external_id": ip.external_id,
                       "external_status": ip.external_status, "pushed_at": iso(ip.pushed_at)}
                      for ip in sorted(p.items, key=lambda ip: ip.item_id)] if p else [],
        })
    return {"order": order.number, "site": order.site.slug, "accounts": accounts}


@embedded_cli.command("status")
@click.argument("order_number")
@click.option("--json", "as_json", is_flag=True)
def status_command(order_number: str, as_json: bool) -> None:
    """Push state of ORDER_NUMBER per account, and per item."""
    from ..models import Order

    order = Order.query.filter_by(number=order_number).first()
    if order is None:
        _fail(f"order: no order {order_number!r}")
    report = order_status_report(order)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if not report["accounts"]:
        click.echo(f"{order_number}: not pushed to any account")
    for a in report["accounts"]:
        click.echo(f"{a['account']} [{a['provider']}]: {a['state']} {a['external_number'] or ''}".rstrip())
        for line in a["errors"] + a["reasons"]:
            click.echo(f"  - {line}")
        for item in a["items"]:
            click.echo(f"  {item['number']} -> {item['external_number']} ({item['external_status'] or 'no status'})")


def run_report(run) -> dict:
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    return {"id": run.id, "account_id": run.account_id, "site": run.site.slug if run.site else None,
            "scope": run.scope, "items": run.items, "state": run.state, "started_by": run.started_by,
            "created": run.created, "updated": run.updated, "unchanged": run.unchanged, "skipped": run.skipped,
            "failed": run.failed, "progress": {"percent": run.percent, "stage": run.stage or None,
                                                "done": run.progress_done, "total": run.progress_total or None},
            "pauses": run.pauses, "resume_at": iso(run.resume_at), "waiting": run.waiting_message or None,
            "error": run.error, "queued_at": iso(run.queued_at), "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at)}


@embedded_cli.command("sync")
@click.option("--site", "site_slug", help="one site (slug)")
@click.option("--all", "all_sites", is_flag=True, help="global synchronization: every site where it is live")
@click.option("--account", "account_id", type=int, help="only this account (default: every live one)")
@click.option("--items", required=True, help="comma list of: orders,status,products,categories")
def sync_command(site_slug, all_sites, account_id, items) -> None:
    """Queue a synchronization run and print its id (one line per account)."""
    from ..extensions import db
    from ..models import ProviderAccount, Site, SiteActivation
    from .runs import RunRefused, request_run

    if bool(site_slug) == bool(all_sites):
        _fail("give exactly one of --site SITE or --all")
    wanted = [i.strip() for i in items.split(",") if i.strip()]
    site = None
    if site_slug:
        site = Site.query.filter_by(slug=site_slug).first()
        if site is None:
            _fail(f"site: no site {site_slug!r}")
    query = SiteActivation.query.filter_by(enabled=True, is_live=True)
    if site is not None:
        query = query.filter_by(site_id=site.id)
    account_ids = sorted({a.account_id for a in query.all()})
    if account_id is not None:
        if account_id not in account_ids:
            _fail(f"account: {account_id} is not enabled and live {'on ' + site.slug if site else 'on any site'}")
        account_ids = [account_id]
    if not account_ids:
        _fail("no account is enabled and live there")
    failures = 0
    for aid in account_ids:
        account = db.session.get(ProviderAccount, aid)
        try:
            run = request_run(account, wanted, started_by="cli", site=site)
            click.echo(run.id)
        except RunRefused as exc:
            click.echo(f"Error: account {aid}: {exc}", err=True)
            failures += 1
    if failures:
        sys.exit(2)


@embedded_cli.command("run")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def run_command(run_id: int, as_json: bool) -> None:
    """State and counters of a synchronization run."""
    from ..extensions import db
    from ..models import RunLogLine, SyncRun

    run = db.session.get(SyncRun, run_id)
    if run is None:
        _fail(f"run: no run {run_id}")
    report = run_report(run)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"run {run.id} [{run.scope}] {run.state}: {run.created} created, {run.updated} updated, "
               f"{run.unchanged} unchanged, {run.skipped} skipped, {run.failed} failed; {run.percent}%")
    if run.waiting_message:
        click.echo(f"  {run.waiting_message}")
    if run.error:
        click.echo(f"  error: {run.error}")
    for line in RunLogLine.query.filter_by(run_id=run.id).order_by(RunLogLine.id).limit(200):
        click.echo(f"  {line.level:<7} {line.message}")


@embedded_cli.command("demo-setup")
@click.option("--sandbox-url", required=True, help="base URL of the running provider sandbox")
@click.option("--hub-url", help="public base URL of this hub, to subscribe the demo webhook")
def demo_setup_command(sandbox_url: str, hub_url: str | None) -> None:
    """Demo only: enable every provider and wire each provider's demo account to its simulator."""
    from .demo import setup_demo_accounts

    click.echo(json.dumps(setup_demo_accounts(sandbox_url, hub_url)))


@embedded_cli.command("ops")
@click.option("--json", "as_json", is_flag=True)
def ops_command(as_json: bool) -> None:
    """Workers, queues, scheduled and failed jobs, maintenance, health, stuck pushes."""
    from ..ops.machinery import snapshot

    shot = snapshot()
    if as_json:
        click.echo(json.dumps(shot.as_dict(), indent=2))
        return
    click.echo(f"database: {shot.database}   redis: {shot.redis}   scheduler: {shot.scheduler_holder or '-'}")
    maintenance = shot.maintenance or {}
    click.echo(f"maintenance last ran: {maintenance.get('at', '-')}  recovered: {maintenance.get('recovered', '-')}")
    click.echo(f"workers ({len(shot.workers)}):")
    for w in shot.workers:
        click.echo(f"  {w.name} {w.hostname} pid={w.pid} {w.state} queues={','.join(w.queues)} "
                   f"job={w.current_job or '-'} heartbeat={w.seconds_since_heartbeat}s ago")
    click.echo("queues:")
    for q in shot.queues:
        click.echo(f"  {q.name}: waiting {q.depth} (oldest {q.oldest_age_seconds}s), running {q.running}, "
                   f"scheduled {q.scheduled}, failed {q.failed}")
    for job in shot.failed:
        click.echo(f"  failed {job.id} [{job.queue}] {job.description}: {job.error}")
    for push in shot.stuck_pushes:
        click.echo(f"  stuck push #{push['push_id']} ({push['account']}) lease expired {push['lease_expired_at']}")


def _account_or_fail(account_id: int):
    from ..extensions import db
    from ..models import ProviderAccount

    account = db.session.get(ProviderAccount, account_id)
    if account is None:
        _fail(f"account: no account {account_id}")
    return account


@embedded_cli.command("test")
@click.option("--account", "account_id", type=int, required=True)
def test_command(account_id: int) -> None:
    """Run the account's connection test now; print the provider's answer (exit 1 on failure)."""
    from .accounts import run_connection_test

    account = _account_or_fail(account_id)
    run_connection_test(account.id)
    ok = account.test_state == "ok"
    click.echo(f"{account.name} ({account.provider.name}): {'OK' if ok else 'FAILED'} — {account.test_message}",
               err=not ok)
    sys.exit(0 if ok else 1)


@embedded_cli.command("settings")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--site", "site_slug")
@click.option("--product", "sku")
@click.option("--category", "category_name")
@click.option("--user", "user_email")
@click.option("--shipping-method", "method_name")
@click.argument("pairs", nargs=-1)
def settings_command(account_id, site_slug, sku, category_name, user_email, method_name, pairs) -> None:
    """Set an entity's settings for an account: K=V… (the same validation as the form)."""
    from .settings_ops import set_settings

    chosen = [(kind, value) for kind, value in (("site", site_slug), ("product", sku), ("category", category_name),
                                                ("site_user", user_email), ("shipping_method", method_name)) if value]
    if len(chosen) != 1:
        _fail("give exactly one of --site, --product, --category, --user, --shipping-method")
    if not pairs:
        _fail("give at least one KEY=VALUE")
    account = _account_or_fail(account_id)
    outcomes = set_settings(account, *chosen[0], _pairs(pairs, "settings"))
    for outcome in outcomes:
        if outcome.ok:
            click.echo(f"{outcome.where}: saved")
        for name, message in outcome.errors.items():
            click.echo(f"Error: {outcome.where}: {name}: {message}", err=True)
    sys.exit(0 if all(o.ok for o in outcomes) else 2)


@embedded_cli.command("map-import")
@click.option("--account", "account_id", type=int, required=True)
@click.argument("csv_file", type=click.File("rb"))
def map_import_command(account_id: int, csv_file) -> None:
    """Import product settings from a CSV (sku + the provider's product setting columns)."""
    from .settings_ops import import_product_map

    account = _account_or_fail(account_id)
    report = import_product_map(account, csv_file.read())
    for line, reason in report.errors:
        click.echo(f"Error: line {line}: {reason}", err=True)
    click.echo(f"{report.rows} row(s) read, {report.saved} product setting(s) saved, {len(report.errors)} error(s).")
    sys.exit(0 if report.ok else 1)


@embedded_cli.command("release-push")
@click.argument("order_number")
@click.option("--account", "account_id", type=int, required=True)
@click.option("--admin", "admin_email", required=True, help="the account manager releasing it (recorded in History)")
def release_push_command(order_number: str, account_id: int, admin_email: str) -> None:
    """Release a push stuck in "pushing": it becomes failed ("released by ADMIN") and can be pushed again."""
    from ..models import Admin, Order, OrderPush
    from .push_release import ReleaseRefused, release_stuck_push

    order = Order.query.filter_by(number=order_number).first()
    admin = Admin.query.filter_by(email=admin_email.strip().lower()).first()
    if order is None:
        _fail(f"order: no order {order_number!r}")
    if admin is None or not admin.active or not admin.can_access(order.site):
        _fail(f"admin: no active admin {admin_email!r} with access to {order.site.slug}")
    try:
        release_stuck_push(OrderPush.query.filter_by(order_id=order.id, account_id=account_id).first(), admin)
    except ReleaseRefused as exc:
        _fail(str(exc))
    click.echo(f"order {order_number} account {account_id}: released by {admin.email} (now failed)")


from . import cli_live  # noqa: E402,F401  (activate, push-backlog: registered on embedded_cli)
