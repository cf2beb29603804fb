"""The program a worker serves: the active version, noticed within seconds of its activation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services.programs import NoProgram, ServedProgram, active_served
from jifen.storage.uow import SqlUnitOfWork


@dataclass(frozen=True, slots=True)
class _Checked:
    served: ServedProgram
    at: float  # on the monotonic clock


class ProgramCache:
    """Holds the active program; at most every `interval` seconds a small read checks its version.

    A new version installed by the CLI (or another worker) is served from the next check on, with
    no restart; between checks a request costs nothing. Several threads may check at once: each
    reads the committed version, and whichever finishes last is kept.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.interval, self.clock = engine, interval, clock
        self._checked: _Checked | None = None

    def fresh(self) -> ServedProgram | None:
        """The program served, if checked within the interval (no database read)."""
        checked = self._checked
        if checked is None or self.clock() - checked.at >= self.interval:
            return None
        return checked.served

    def current(self) -> ServedProgram:
        """The active program, checking its version when the last check is older than `interval`.

        Raises `NoProgram` when the database has none.
        """
        served = self.fresh()
        if served is not None:
            return served
        now = self.clock()
        known = self._checked.served if self._checked else None
        served = active_served(SqlUnitOfWork(self.engine), known=known)
        self._checked = _Checked(served, now)
        return served

    def forget(self) -> None:
        """Check the version on the next request (this worker just activated a new one)."""
        self._checked = None

    def program(self) -> Program:
        """The active program itself."""
        return self.current().program


__all__ = ["NoProgram", "ProgramCache"]
