"""The unit of work: one database transaction that rolls back unless a use case commits it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from jifen.storage.ledger_audit import LedgerAudit
from jifen.storage.ledger_repository import LedgerRepository


class UnitOfWork:
    """A connection and transaction per `with`; `commit()` keeps the work, else it is undone."""

    ledger: LedgerRepository
    audit: LedgerAudit

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        self._connection = self.engine.connect()
        self._connection.begin()
        self.ledger = LedgerRepository(self._connection)
        self.audit = LedgerAudit(self._connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None  # noqa: S101 - entered before exit
        try:
            self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None

    def commit(self) -> None:
        """Keep everything done in this unit of work."""
        assert self._connection is not None  # noqa: S101 - only inside `with`
        self._connection.commit()
