"""Is the database schema at the latest migration? CLI commands ask before touching a table,
so a never-migrated (or outdated) database gets one plain sentence instead of a SQLAlchemy
traceback."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

UPGRADE_FIRST = "run `flask db upgrade` first"


def schema_problem() -> str | None:
    """None when the database is at the migrations' head; otherwise what is wrong and what to do."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .extensions import db

    migrate = current_app.extensions["migrate"]
    heads = set(ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).get_heads())
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # its "Context impl …" lines would precede every command's output
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return f"the database cannot be reached ({type(exc).__name__}); check DATABASE_URL"
    finally:
        quiet.setLevel(level)
    if not current:
        return f"the database has no tables yet: {UPGRADE_FIRST}"
    if current != heads:
        return (f"the database is at migration {', '.join(sorted(current))}, the code needs "
                f"{', '.join(sorted(heads))}: {UPGRADE_FIRST}")
    return None


def require_migrated_schema() -> None:
    problem = schema_problem()
    if problem:
        raise click.ClickException(problem)


# The callback of a command group (`flask embedded …`, `flask orders …`): runs before any of
# its commands, never for --help.
check_schema_first = with_appcontext(lambda: require_migrated_schema())
