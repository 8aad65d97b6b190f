"""Small SQL helpers for the batch paths (sync pages, status chunks, bulk push chunks)."""
from __future__ import annotations

import functools
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Text, any_, bindparam, cast, func, select, text, true, update
from sqlalchemy import column as sa_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def _on_postgresql() -> bool:
    return dialect_name() == "postgresql"


def any_of(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one short statement
    whatever the count. A 500-item IN list is a new statement text every page, which psycopg
    parses anew each time (measured: the larger part of a PostgreSQL re-sync's CPU). The array
    goes as an array parameter, not as text cast to one: the planner cannot fold that cast
    (array_in is not immutable), so it would plan for an array of unknown size — sequential
    scans, 150-200 ms per status chunk (bench/status_sync)."""
    values = list(values)
    if _on_postgresql():
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def ids_in(column, name: str):
    """``column`` in the list given later as the parameter ``name`` (``execute(stmt, {name:
    [...]})``): any_of for a statement built once and reused. Building a statement and its
    cache key cost 0.3-0.7 ms a call, as much as running a chunk's lookup (bench/status_sync);
    a reused statement keeps its key. Call it when the statement is built (it reads the
    session's database)."""
    if _on_postgresql():
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _json_value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent in a JSON record set")


def _records(table, rows: list[dict], dialect) -> str:
    """The rows as one JSON text, each value as its column type binds it for this database
    (UTCDateTime → naive UTC; SQLite's DateTime → its stored text); JSON columns nest as they
    are. A value shared by every row (a chunk's ``now``) is processed, and made JSON, once."""
    processors = {name: None if isinstance(table.c[name].type, JSON) else table.c[name].type.bind_processor(dialect)
                  for name in rows[0] if name in table.c}
    last: dict = {}
    records = []
    for row in rows:
        record = {}
        for name, value in row.items():
            process = processors.get(name)
            if process is not None and value is not None:
                seen = last.get(name)
                if seen is None or seen[0] is not value:
                    bound = process(value)
                    if isinstance(bound, (datetime, date, Decimal)):  # as JSON text once, not per row
                        bound = _json_value(bound)
                    seen = last[name] = (value, bound)
                value = seen[1]
            record[name] = value
        records.append(record)
    return json.dumps(records, default=_json_value, separators=(",", ":"))


_ROWS = "bulk_rows"  # the JSON parameter of the statements below


def _recordset(table, columns: tuple[str, ...], key: str | None, dialect: str):
    """The rows as a derived table ``v`` with ``columns`` (and ``key``, an id), read from one
    JSON parameter by the database's JSON functions: PostgreSQL ``json_to_recordset(…) AS
    v(column type, …)``, SQLite ``json_each``. One statement whatever the count of rows, one
    JSON text built by the json module's C encoder — instead of an executemany binding every
    value through its type in Python (SQLite, ~10 ms a bulk chunk) or one Python-dumped array
    per column (psycopg: ~1 µs a value, datetimes ~6 µs), bench/status_sync."""
    payload = bindparam(_ROWS, type_=Text)
    names = columns + ((key,) if key else ())
    if dialect == "postgresql":
        defs = [sa_column(name, table.c[name].type if name != key else table.c.id.type) for name in names]
        return (func.json_to_recordset(cast(payload, JSON)).table_valued(*defs)
                .render_derived(name="v", with_types=True))
    each = func.json_each(payload).table_valued("value")
    # ->> gives a JSON value as SQLite stores it (text, number, 0/1, NULL); -> keeps a JSON
    # column's value as JSON text, as SQLAlchemy stores it.
    return select(*((each.c.value.op("->")(f"$.{name}") if name != key and isinstance(table.c[name].type, JSON)
                     else each.c.value.op("->>")(f"$.{name}")).label(name) for name in names)).subquery("v")


# The statements are built once per shape and reused with new parameters: building one (and
# its cache key) cost ~1 ms, more than running it (bench/status_sync, SQLite).
@functools.lru_cache(maxsize=256)
def _insert_statement(table, columns: tuple[str, ...], returning: tuple, skip_conflicts_on: tuple, dialect: str):
    stmt = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table) if skip_conflicts_on \
        else table.insert()
    if skip_conflicts_on:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        stmt = stmt.returning(*returning)
    values = _recordset(table, columns, None, dialect)
    # WHERE true: SQLite reads "SELECT … FROM … ON CONFLICT" as a join's ON without it
    return stmt.from_select(list(columns), select(*(values.c[name] for name in columns)).where(true()))


@functools.lru_cache(maxsize=256)
def _update_statement(table, columns: tuple[str, ...], same: tuple[str, ...], dialect: str):
    values = _recordset(table, columns, "b_id", dialect)
    return (update(table).where(table.c.id == values.c.b_id)
            .values(**{name: values.c[name] for name in columns},
                    **{name: bindparam(f"same_{name}", type_=table.c[name].type) for name in same}))


def insert_rows(table, rows: list[dict], *, returning=(), skip_conflicts_on=()) -> list:
    """INSERT of many rows (same keys each): one ``INSERT … SELECT … FROM`` the rows as one
    JSON parameter (``_recordset``). ``skip_conflicts_on``: the columns of a unique key; a row
    that would break it is not inserted (ON CONFLICT DO NOTHING). Returns the ``returning``
    columns of the rows inserted."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect
    stmt = _insert_statement(table, tuple(rows[0]), tuple(returning), tuple(skip_conflicts_on), dialect.name)
    result = db.session.execute(stmt, {_ROWS: _records(table, rows, dialect)})
    return result.all() if returning else []


def update_rows(table, rows: list[dict], **same) -> None:
    """UPDATE many rows by id: ``rows`` = {"b_id": id, column: value…} (same keys each),
    ``same`` = values set on every row. One ``UPDATE … FROM`` the rows as one JSON parameter."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect
    stmt = _update_statement(table, tuple(name for name in rows[0] if name != "b_id"), tuple(same), dialect.name)
    db.session.execute(stmt, {_ROWS: _records(table, rows, dialect), **{f"same_{k}": v for k, v in same.items()}})


# What the per-page lookups filter on: ANALYZE reads these columns only (a third of the time
# of the whole tables, measured: the bindings' JSON is not sampled).
ANALYZED = {"bindings": "account_id, site_id, kind, external_id", "products": "site_id, sku"}


def analyze(*tables: str) -> None:
    """ANALYZE these tables' lookup columns now (PostgreSQL; SQLite plans by its indexes).
    SKIP_LOCKED: a table another session is analyzing is left to it; never waited for."""
    if _on_postgresql():
        db.session.execute(text("ANALYZE (SKIP_LOCKED) " + ", ".join(f"{t} ({ANALYZED[t]})" for t in tables)))
        db.session.commit()

