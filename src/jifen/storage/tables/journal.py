"""The command journal: every write that changes a member's points or state, in order."""

from __future__ import annotations

from sqlalchemy import JSON, Column, String, Table

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

# Append-only. `args` are the command's arguments as JSON, identity fields encrypted with the
# vault (never masked, never plain); `at` is the instant the command was applied at (the time it
# was given, not a clock read), null for a command that takes no time (a program installed).
journal = Table(
    "journal",
    metadata,
    Column("id", Id, primary_key=True),
    Column("command", String(40), nullable=False),
    Column("args", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=True),
)
