"""Small SQL helpers for the batch paths (sync pages, status chunks)."""
from __future__ import annotations

from sqlalchemy import any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def any_of(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one short statement
    whatever the count. A 500-item IN list is a new statement text every page, which psycopg
    parses anew each time (measured: the larger part of a PostgreSQL re-sync's CPU)."""
    values = list(values)
    if _postgres():
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


# What the per-page lookups filter on: ANALYZE reads these columns only (a third of the time
# of the whole tables, measured: the bindings' JSON is not sampled).
ANALYZED = {"bindings": "account_id, site_id, kind, external_id", "products": "site_id, sku"}


def analyze(*tables: str) -> None:
    """ANALYZE these tables' lookup columns now (PostgreSQL; SQLite plans by its indexes).
    SKIP_LOCKED: a table another session is analyzing is left to it; never waited for."""
    if _postgres():
        db.session.execute(text("ANALYZE (SKIP_LOCKED) " + ", ".join(f"{t} ({ANALYZED[t]})" for t in tables)))
        db.session.commit()


def insert_rows(table, rows: list[dict]) -> None:
    """INSERT plain rows (every row with the same keys). On PostgreSQL one statement whatever
    the count — ``INSERT … SELECT * FROM unnest(:col1, :col2, …)``, one array per column — in
    place of an executemany: psycopg pipelines an executemany but still binds, sends and
    executes each row as a statement of its own (a 10,000-product first sync sent 20,000)."""
    if not rows:
        return
    if len(rows) < 2 or not _postgres():
        db.session.execute(table.insert(), rows)
        return
    names = list(rows[0])
    arrays = [bindparam(f"new_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
              for name in names]
    source = func.unnest(*arrays).table_valued(*names).render_derived(name="new_rows")
    db.session.execute(table.insert().from_select(names, select(*source.c)))
