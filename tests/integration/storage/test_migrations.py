"""Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from jifen.storage.db import upgrade
from jifen.storage.tables import metadata


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrading_again_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
