"""SQL for the program a database runs: its validated document, versioned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, func, insert, select, update

from jifen.storage.tables import programs


@dataclass(frozen=True, slots=True)
class RedemptionUnlock:
    """When a member may start redeeming: spendable `kinds` together reach `threshold`."""

    threshold: int
    kinds: frozenset[str]


_UNLOCKS: WeakKeyDictionary[Engine, dict[tuple[int, int], RedemptionUnlock | None]] = (
    WeakKeyDictionary()
)


class ProgramRepository:
    """Stores program versions; exactly one is active."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._unlock: tuple[RedemptionUnlock | None] | None = None  # read once per transaction

    def active(self) -> tuple[dict[str, Any], str] | None:
        """The active program's document and source text, if a program was set up."""
        query = select(programs.c.document, programs.c.source).where(programs.c.active)
        row = self.connection.execute(query).first()
        return None if row is None else (row.document, row.source)

    def active_version(self, *, lock: bool = False) -> tuple[int, int] | None:
        """The active program's row id and version number: one small read, to notice a change.

        `lock` holds the active row until the transaction ends, so that a concurrent activation
        waits (and then finds another version active).
        """
        query = select(programs.c.id, programs.c.version).where(programs.c.active)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else (int(row.id), int(row.version))

    def document(self, program_id: int) -> dict[str, Any]:
        """The document of one stored version (a version never changes once stored)."""
        query = select(programs.c.document).where(programs.c.id == program_id)
        return self.connection.execute(query).scalar_one()

    def redemption_unlock(self) -> RedemptionUnlock | None:
        """The active program's redemption threshold and spendable kinds; None without one.

        Read once per unit of work (a repository lives for one transaction), however many
        postings of the transaction raise a balance; and from the document only once per stored
        version and engine (a version never changes once stored), since reading inside the
        document costs far more than finding the active version.
        """
        if self._unlock is None:
            version = self.active_version()
            known = _UNLOCKS.setdefault(self.connection.engine, {})
            if version is not None and version not in known:
                known[version] = self._read_redemption_unlock(version[0])
            self._unlock = (None if version is None else known[version],)
        return self._unlock[0]

    def _read_redemption_unlock(self, program_id: int) -> RedemptionUnlock | None:
        document = programs.c.document
        query = select(
            document[("redemption", "eligibility_threshold")].as_integer(),
            document["point_kinds"],
        ).where(programs.c.id == program_id)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        threshold, kinds = row
        return RedemptionUnlock(
            threshold=int(threshold or 0),
            kinds=frozenset(k["code"] for k in kinds if k["spendable"]),
        )

    def activate(self, *, code: str, document: dict[str, Any], source: str) -> int:
        """Store a new version of the program and make it active; returns the active version.

        Installing the document that is already active changes nothing.
        """
        self._unlock = None
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
