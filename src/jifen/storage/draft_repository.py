"""SQL for program drafts: a whole program document waiting for a second admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from jifen.storage.rows import from_row, to_row
from jifen.storage.tables import program_drafts


@dataclass(frozen=True, slots=True)
class DraftRecord:
    """A program draft as stored: the YAML as written, its validated `document`, who and when.

    `based_on` is the row id of the program version that was active when it was proposed (its
    version number `based_on_version`);
    `version` is the program version it became once activated; `previewed_at` when its what-if
    was last run (it cannot be activated before).
    """

    id: str
    yaml: str
    document: dict[str, Any]
    request_hash: str
    based_on: int
    based_on_version: int
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    version: int | None = None
    previewed_at: datetime | None = None


class DraftTaken(Exception):
    """Another request stored a draft under this id first (the unit of work is spoilt)."""


class DraftRepository:
    """Stores program drafts and their decisions."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, draft_id: str, *, lock: bool = False) -> DraftRecord | None:
        """A draft by its id; `lock` holds its row until the transaction ends."""
        query = select(program_drafts).where(program_drafts.c.id == draft_id)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else from_row(DraftRecord, row)

    def add(self, record: DraftRecord) -> None:
        """Store a new draft; `DraftTaken` when a concurrent request stored its id first."""
        try:
            self.connection.execute(insert(program_drafts).values(**to_row(record)))
        except IntegrityError as error:
            raise DraftTaken(record.id) from error

    def decide(self, record: DraftRecord) -> None:
        """Store a draft's decision: its status, who decided, when, and the version it became."""
        self.connection.execute(
            update(program_drafts)
            .where(program_drafts.c.id == record.id)
            .values(
                status=record.status,
                decided_by=record.decided_by,
                decided_at=record.decided_at,
                version=record.version,
            )
        )

    def mark_previewed(self, draft_id: str, *, at: datetime) -> None:
        """Record that the draft's what-if was run at `at`."""
        self.connection.execute(
            update(program_drafts).where(program_drafts.c.id == draft_id).values(previewed_at=at)
        )

    def newest(self, *, limit: int) -> list[DraftRecord]:
        """The most recently proposed drafts, newest first."""
        query = (
            select(program_drafts)
            .order_by(program_drafts.c.proposed_at.desc(), program_drafts.c.id.desc())
            .limit(limit)
        )
        return [from_row(DraftRecord, row) for row in self.connection.execute(query)]
