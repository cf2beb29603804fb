"""SQL for the program a database runs: its validated document, versioned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from jifen.storage.tables import programs


@dataclass(frozen=True, slots=True)
class RedemptionUnlock:
    """When a member may start redeeming: spendable `kinds` together reach `threshold`."""

    threshold: int
    kinds: frozenset[str]


_UNLOCKS: dict[int, RedemptionUnlock] = {}  # by program row: a stored version never changes


class ProgramRepository:
    """Stores program versions; exactly one is active."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def active(self) -> tuple[dict[str, Any], str] | None:
        """The active program's document and source text, if a program was set up."""
        query = select(programs.c.document, programs.c.source).where(programs.c.active)
        row = self.connection.execute(query).first()
        return None if row is None else (row.document, row.source)

    def active_version(self) -> tuple[int, int] | None:
        """The active program's row id and version number: one small read, to notice a change."""
        query = select(programs.c.id, programs.c.version).where(programs.c.active)
        row = self.connection.execute(query).first()
        return None if row is None else (int(row.id), int(row.version))

    def redemption_unlock(self) -> RedemptionUnlock | None:
        """The active program's redemption threshold and spendable kinds; None without one."""
        active = self.active_version()
        if active is None:
            return None
        program_id = active[0]
        found = _UNLOCKS.get(program_id)
        if found is None:
            document = self.connection.execute(
                select(programs.c.document).where(programs.c.id == program_id)
            ).scalar_one()
            found = _UNLOCKS[program_id] = RedemptionUnlock(
                threshold=int(document["redemption"]["eligibility_threshold"]),
                kinds=frozenset(k["code"] for k in document["point_kinds"] if k["spendable"]),
            )
        return found

    def activate(self, *, code: str, document: dict[str, Any], source: str) -> int:
        """Store a new version of the program and make it active; returns the active version.

        Installing the document that is already active changes nothing.
        """
        current = self.connection.execute(
            select(programs.c.version, programs.c.document).where(
                programs.c.active, programs.c.code == code
            )
        ).first()
        if current is not None and current.document == document:
            return int(current.version)
        latest = self.connection.execute(
            select(func.max(programs.c.version)).where(programs.c.code == code)
        ).scalar_one()
        version = (latest or 0) + 1
        self.connection.execute(update(programs).values(active=False))
        self.connection.execute(
            insert(programs).values(
                code=code, version=version, document=document, source=source, active=True
            )
        )
        return version
