"""Small SQL helpers for the batch paths (sync pages, status chunks)."""
from __future__ import annotations

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db


def any_of(column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one short statement
    whatever the count. A 500-item IN list is a new statement text every page, which psycopg
    parses anew each time (measured: the larger part of a PostgreSQL re-sync's CPU)."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
