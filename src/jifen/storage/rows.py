"""Rows: records to and from columns by name, many rows in one statement, keyed updates, pages.

Many rows go in as PostgreSQL `COPY` or SQLite `executemany`. Each value goes through its column
type's own conversion, as SQLAlchemy would send it, so a row written here reads back exactly as
one inserted through Core.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

import psycopg
from sqlalchemy import ColumnElement, Connection, CursorResult, Select, Table, and_, or_

T = TypeVar("T")


def converted(
    connection: Connection, table: Table, rows: list[dict[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows' columns, and each row's values as the driver takes them."""
    columns = list(rows[0])
    dialect = connection.dialect
    convert = [
        (i, f)
        for i, c in enumerate(columns)
        if (f := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    result = []
    for row in rows:
        line = list(values(row))
        for i, f in convert:
            if line[i] is not None:
                line[i] = f(line[i])
        result.append(tuple(line))
    return columns, result


def from_row(cls: type[T], row: object) -> T:
    """A `cls` (a dataclass with slots) made of the row's values of the same names."""
    return cls(**{name: getattr(row, name) for name in getattr(cls, "__slots__")})  # noqa: B009


def to_row(record: object) -> dict[str, Any]:
    """A dataclass with slots as the values of the columns of the same names."""
    return {name: getattr(record, name) for name in getattr(record, "__slots__")}  # noqa: B009


def inserted_id(result: CursorResult[Any]) -> int:
    """The id of the one row an `insert` statement added."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("the statement inserted no row")
    return int(key[0])


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same columns) in one statement."""
    if not rows:
        return
    columns, values = converted(connection, table, rows)
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            raise TypeError(f"PostgreSQL is reached through psycopg here, not {driver!r}")
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in values:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - schema names
    connection.exec_driver_sql(statement, values)


def update_rows(
    connection: Connection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Set the other columns of each row found by `keys` (the caller holds the rows' locks)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in keys] + list(keys)
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    names, values = converted(connection, table, [{c: row[c] for c in columns} for row in rows])
    assignments = ", ".join(f"{c} = {mark}" for c in names[: -len(keys)])
    where = " AND ".join(f"{c} = {mark}" for c in keys)
    statement = f"UPDATE {table.name} SET {assignments} WHERE {where}"  # noqa: S608 - schema names
    connection.exec_driver_sql(statement, values)


def newest_first(
    query: Select[Any],
    at: ColumnElement[Any],
    key: ColumnElement[Any],
    *,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Select[Any]:
    """`query` ordered newest first by `(at, key)`, from just after the position `before`."""
    if before is not None:
        moment, last = before
        query = query.where(or_(at < moment, and_(at == moment, key < last)))
    return query.order_by(at.desc(), key.desc()).limit(limit)
