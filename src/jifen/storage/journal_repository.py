"""The command journal's SQL: entries appended in the writer's transaction, read back in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from jifen.storage.rows import insert_rows
from jifen.storage.tables import journal


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A command as applied: its name, its arguments (JSON-ready) and the instant it acted at."""

    command: str
    args: dict[str, Any]
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """A journal entry as stored, with its place in the order (`seq`)."""

    seq: int
    entry: JournalEntry


class JournalRepository:
    """Appends to and reads the journal; nothing here updates or deletes an entry."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, entry: JournalEntry) -> None:
        """Append one entry, in the caller's transaction."""
        self.add_all([entry])

    def add_all(self, entries: Sequence[JournalEntry]) -> None:
        """Append `entries` in order with one statement (a batch of events writes them at once).

        The batch goes through `COPY` on PostgreSQL, which numbers the rows in the order given.
        """
        if len(entries) == 1:
            (entry,) = entries
            values = {"command": entry.command, "args": entry.args, "at": entry.at}
            self.connection.execute(insert(journal).values(**values))
        elif entries:
            rows = [{"command": e.command, "args": e.args, "at": e.at} for e in entries]
            insert_rows(self.connection, journal, rows)

    def read(self, *, after: int, limit: int) -> list[Recorded]:
        """Up to `limit` entries after sequence number `after`, oldest first."""
        j = journal.c
        query = select(j.id, j.command, j.args, j.at).where(j.id > after).order_by(j.id)
        rows = self.connection.execute(query.limit(limit))
        return [Recorded(r.id, JournalEntry(r.command, r.args, r.at)) for r in rows]

    def count(self) -> int:
        """How many entries the journal holds."""
        return int(self.connection.execute(select(func.count()).select_from(journal)).scalar_one())
