"""The server's clock: the wall clock, or a sandbox clock set through `POST /v1/clock`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from jifen.storage.uow import UnitOfWork


class Clock:
    """What the API uses for every time it decides itself (enrolment, "today")."""

    simulated = False

    def now(self) -> datetime:
        """The current time, aware."""
        return datetime.now(UTC)  # noqa: TID251 - the edge is where wall-clock time enters


class SandboxClock(Clock):
    """A clock stored in the database, so every worker of a sandbox server shares it."""

    simulated = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        """The sandbox time; the wall clock until someone sets it."""
        with UnitOfWork(self.engine) as uow:  # one per call: requests run on many threads
            stored = uow.keys.clock()
        return stored or super().now()

    def set(self, now: datetime) -> None:
        """Move the sandbox to `now` (forwards or back)."""
        with UnitOfWork(self.engine) as uow:
            uow.keys.set_clock(now)
            uow.commit()
