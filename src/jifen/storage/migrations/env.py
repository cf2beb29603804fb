"""Alembic environment: migrates the engine handed over by `jifen.storage.db.upgrade`."""

from __future__ import annotations

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from jifen.config import get_settings
from jifen.storage.db import make_engine
from jifen.storage.tables import metadata
from jifen.storage.types import UTCDateTime


def render_item(type_: str, obj: object, _context: AutogenContext) -> str | Literal[False]:
    """Write Jifen's types as plain SQLAlchemy types: migrations import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


engine = context.config.attributes.get("engine") or make_engine(get_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
