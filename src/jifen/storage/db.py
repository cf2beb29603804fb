"""Engines for SQLite (the embedded default, in WAL mode) and PostgreSQL, and schema upgrades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE: the write lock is taken up front,
    # so two writers never deadlock upgrading a read lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=60000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _json(value: Any) -> str:
    # JSON columns (memos, payloads, outcomes) are written on every posting and event: orjson
    # writes them several times faster than the json module, and reads them back the same.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`, configured for Jifen's transactions on either database."""
    parsed = make_url(url)
    options = {"json_serializer": _json, "json_deserializer": orjson.loads, **options}
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(
        parsed, **{"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True, **options}
    )


def reading_engine(engine: Engine) -> Engine:
    """`engine` for reads that need no transaction: on PostgreSQL without BEGIN and ROLLBACK.

    Each statement then sees the data committed when it starts, as it does in a READ COMMITTED
    transaction, PostgreSQL's default; two round trips fewer per read. SQLite keeps its own
    transaction (Jifen begins its transactions itself there).
    """
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def ping(engine: Engine) -> None:
    """Ask the database for one trivial answer; whatever the driver raises if it cannot give one."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates the database behind `engine`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def schema_is_current(engine: Engine) -> bool:
    """Whether the database has every migration this version of Jifen ships."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the newest by default); safe to run again."""
    command.upgrade(alembic_config(engine), revision)
