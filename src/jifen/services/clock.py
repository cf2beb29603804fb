"""The clock use cases read: the wall clock, or a sandbox clock set through `POST /v1/clock`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from jifen.storage.uow import SqlUnitOfWork


class Clock:
    """What the server and the CLI use for every time they decide (enrolment, "today")."""

    simulated = False

    def now(self) -> datetime:
        """The current time, aware."""
        return self.real_now()

    def real_now(self) -> datetime:
        """The wall clock, even on a sandbox server: for what must follow real time.

        A signature's freshness window guards against replays, which happen in real time; a
        sandbox clock set a year away must not open (or shut) it.
        """
        return datetime.now(UTC)  # noqa: TID251 - the edge is where wall-clock time enters


class SandboxClock(Clock):
    """A clock stored in the database, so every worker of a sandbox server shares it."""

    simulated = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        """The sandbox time; the wall clock until someone sets it."""
        with SqlUnitOfWork(self.engine) as uow:  # one per call: requests run on many threads
            stored = uow.keys.clock()
        return stored or self.real_now()

    def set(self, now: datetime) -> None:
        """Move the sandbox to `now` (forwards or back)."""
        with SqlUnitOfWork(self.engine) as uow:
            uow.keys.set_clock(now)
            uow.commit()
