"""Small SQL helpers for the batch paths (sync pages, status chunks, bulk push chunks)."""
from __future__ import annotations

from sqlalchemy import JSON, any_, bindparam, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from ..extensions import db


def any_of(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one short statement
    whatever the count. A 500-item IN list is a new statement text every page, which psycopg
    parses anew each time (measured: the larger part of a PostgreSQL re-sync's CPU)."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _unnested(table, rows: list[dict], columns) -> list | None:
    """One ``unnest(CAST(:array AS type[]))`` per column (a JSON column's value must be the same
    in every row: it goes as one value). None when a column cannot travel as an array."""
    exprs = []
    for name in columns:
        column, values = table.c[name], [row[name] for row in rows]
        if isinstance(column.type, NullType):
            return None
        if isinstance(column.type, JSON):
            if any(value != values[0] for value in values):
                return None
            exprs.append(cast(bindparam(None, values[0], type_=column.type), column.type).label(name))
        else:
            array = ARRAY(column.type)
            exprs.append(func.unnest(cast(bindparam(None, values, type_=array), array)).label(name))
    return exprs


def insert_rows(table, rows: list[dict]) -> None:
    """INSERT of many rows (same keys each). On PostgreSQL one ``INSERT … SELECT unnest(…)``:
    one short statement the server plans once, instead of an executemany of as many INSERTs
    as rows (measured: the larger part of a bulk chunk's database time there). Elsewhere
    (SQLite, in process) the executemany."""
    if not rows:
        return
    if len(rows) > 1 and db.session.get_bind().dialect.name == "postgresql":
        columns = list(rows[0])
        exprs = _unnested(table, rows, columns)
        if exprs is not None:
            db.session.execute(table.insert().from_select(columns, select(*exprs)))
            return
    db.session.execute(table.insert(), rows)


def update_rows(table, rows: list[dict], **same) -> None:
    """UPDATE many rows by id: ``rows`` = {"b_id": id, column: value…} (same keys each),
    ``same`` = values set on every row. On PostgreSQL one ``UPDATE … FROM unnest(…)``;
    elsewhere an executemany (``WHERE id = :b_id``)."""
    if not rows:
        return
    if len(rows) > 1 and db.session.get_bind().dialect.name == "postgresql":
        columns = [name for name in rows[0] if name != "b_id"]
        exprs = _unnested(table, rows, columns)
        if exprs is not None:
            ids = ARRAY(table.c.id.type)
            values = select(func.unnest(cast(bindparam(None, [row["b_id"] for row in rows], type_=ids), ids))
                            .label("b_id"), *exprs).subquery("v")
            db.session.execute(update(table).where(table.c.id == values.c.b_id)
                               .values(**{name: values.c[name] for name in columns}, **same))
            return
    db.session.execute(update(table).where(table.c.id == bindparam("b_id")).values(**same), rows)


# What the per-page lookups filter on: ANALYZE reads these columns only (a third of the time
# of the whole tables, measured: the bindings' JSON is not sampled).
ANALYZED = {"bindings": "account_id, site_id, kind, external_id", "products": "site_id, sku"}


def analyze(*tables: str) -> None:
    """ANALYZE these tables' lookup columns now (PostgreSQL; SQLite plans by its indexes).
    SKIP_LOCKED: a table another session is analyzing is left to it; never waited for."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE (SKIP_LOCKED) " + ", ".join(f"{t} ({ANALYZED[t]})" for t in tables)))
        db.session.commit()
