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
