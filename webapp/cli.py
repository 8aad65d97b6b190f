"""Flask CLI commands for ops: demo data, order import, admins."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from .schema_check import check_schema_first, require_migrated_schema

orders_cli = AppGroup("orders", help="Storefront orders.", callback=check_schema_first)


@orders_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_orders(path: str) -> None:
    """Import a JSON list of storefront orders (see README for the format)."""
    from .storefront.importer import import_orders_file

    report = import_orders_file(path)
    for line in report.lines():
        click.echo(line)
    if report.rejected:
        sys.exit(1)


@orders_cli.command("list")
@click.option("--site", "site_slug", help="one site (slug); default every site")
@click.option("--push", "push_state", type=click.Choice(["failed", "waiting", "in_flight", "pushed", "none"]),
              help="Embedded Services state, as the orders lists' filter")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_orders(site_slug, push_state, limit, as_json) -> None:
    """Newest orders with their Embedded Services state per live account (the lists' column)."""
    from .embedded.push_view import list_cells
    from .models import Site
    from .storefront import queries

    site_ids = [i for (i,) in Site.query.with_entities(Site.id)]
    site = Site.query.filter_by(slug=site_slug).first() if site_slug else None
    if site_slug and site is None:
        raise click.ClickException(f"Unknown site {site_slug!r}.")
    page = queries.orders_page(queries.OrderFilter(site_ids=site_ids, site_id=site.id if site else None,
                                                   push_state=push_state), 1, per_page=limit)
    cells = list_cells(page.items)
    rows = [{"number": o.number, "site": o.site.slug, "status": o.status, "push_state": o.push_state,
             "accounts": [{"account": c.account_name, "state": c.state, "external_status": c.external_status,
                           "why": c.why} for c in cells.get(o.id, [])]} for o in page.items]
    if as_json:
        click.echo(json.dumps({"total": page.total, "capped": page.capped,
                               "orders": rows}, indent=2))
        return
    qualifier = "more than " if page.capped else ""
    click.echo(f"{qualifier}{page.total} orders; showing {len(rows)}")
    for row in rows:
        detail = "; ".join(f"{a['account']}: {a['state']}" + (f" ({a['external_status']})" if a["external_status"] else "")
                           + (f" - {a['why']}" if a["why"] else "") for a in row["accounts"])
        click.echo(f"{row['number']} [{row['site']}] {row['status']} · {row['push_state']}"
                   + (f" · {detail}" if detail else ""))


def register_cli(app: Flask) -> None:
    from .embedded.cli import embedded_cli

    app.cli.add_command(orders_cli)
    app.cli.add_command(embedded_cli)

    @app.cli.command("seed-demo")
    @click.option("--reset", is_flag=True, help="delete the demo's orders, pushes, runs and logs first")
    def seed_demo_command(reset: bool) -> None:
        """Create (or refresh) the demo company; safe to run again. --reset starts the demo over."""
        from .storefront.demo import reset_demo, seed_demo

        require_migrated_schema()
        summary = reset_demo() if reset else seed_demo()
        click.echo(json.dumps(summary, indent=2))

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--super", "is_super", is_flag=True)
    @click.option("--site", "sites", multiple=True, help="site slug the admin may access")
    def create_admin_command(email, name, password, is_super, sites):
        """Create an admin of the (single) company."""
        from .extensions import db
        from .models import Admin, Company, Site

        require_migrated_schema()
        company = Company.query.first()
        if company is None:
            raise click.ClickException("No company yet: run `flask seed-demo` or import one first.")
        if Admin.query.filter_by(email=email.lower()).first():
            raise click.ClickException(f"An admin with email {email} already exists.")
        admin = Admin(company=company, email=email.lower(), name=name, is_super=is_super)
        admin.set_password(password)
        for slug in sites:
            site = Site.query.filter_by(slug=slug).first()
            if site is None:
                raise click.ClickException(f"Unknown site {slug!r}.")
            admin.sites.append(site)
        db.session.add(admin)
        db.session.commit()
        click.echo(admin.id)
