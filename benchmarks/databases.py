"""Fresh PostgreSQL databases for one run, created and dropped, with the railway program in them.

The server comes from `JIFEN_BENCH_POSTGRES_URL` (default: the local one, as the tests use);
every database is named `jifen_bench_<random>` and dropped at the end, even after a failure.
"""

from __future__ import annotations

import os
import uuid
from types import TracebackType
from typing import Self

from sqlalchemy import Engine, NullPool, create_engine, func, select, text
from sqlalchemy.engine import make_url

from jifen.programs.loader import load_preset
from jifen.programs.schema import Program
from jifen.services.programs import install_program
from jifen.storage.db import upgrade
from jifen.storage.tables import metadata
from jifen.storage.uow import SqlUnitOfWork

ADMIN_URL = os.environ.get(
    "JIFEN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class Postgres:
    """Creates databases on one server for the run and drops every one of them on exit."""

    def __init__(self, admin_url: str = ADMIN_URL) -> None:
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self.created: list[str] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for name in list(self.created):
            self._drop(name)
        self._admin.dispose()

    def version(self) -> str:
        """The server's version, e.g. `15.19 (Debian 15.19-0+deb12u1)`."""
        with self._admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())

    def create(self, *, template: str | None = None) -> str:
        """A new, empty database (or a copy of `template`'s URL); returns its SQLAlchemy URL."""
        name = f"jifen_bench_{uuid.uuid4().hex[:12]}"
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{make_url(template).database}"'
        with self._admin.connect() as connection:
            connection.execute(text(statement))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database this run created."""
        self._drop(str(make_url(url).database))

    def _drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)


def conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg's own connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def install_railway(engine: Engine) -> Program:
    """Migrate the database behind `engine` and make the railway preset its active program."""
    upgrade(engine)
    program = load_preset("railway")
    install_program(SqlUnitOfWork(engine), program=program, source="preset:railway")
    return program


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of Jifen's schema."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }
