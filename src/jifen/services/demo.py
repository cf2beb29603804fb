"""Use case: fill a database with a simulated railway program (demo members, a season of trips)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jifen.domain.calendar import local_date
from jifen.programs.schema import Program
from jifen.services import demo_data
from jifen.services.daily import run_daily
from jifen.services.events import apply_event
from jifen.services.members import MemberExists, enrol
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo wrote: members enrolled, events by outcome, daily jobs run."""

    members: int
    events: Counter[str]
    days: int


def run_demo(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    members: int,
    start: date,
    end: date,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Enrol `members` demo members, then live `start`..`end` day by day: events, daily job.

    Deterministic for a seed; running it again enrols nobody new and applies no event twice.
    """
    cast = list(
        demo_data.members(
            count=members,
            seed=seed,
            joined_from=start - timedelta(days=400),
            joined_to=start - timedelta(days=1),
        )
    )
    enrolled = 0
    for person in cast:
        try:
            enrol(
                uow, program=program, vault=vault, joined_at=person.joined_at, **_identity(person)
            )
            enrolled += 1
        except MemberExists:
            pass
    outcomes: Counter[str] = Counter()
    day, days = start, 0
    for event in demo_data.events(cast, seed=seed, start=start, end=end):
        happened = local_date(datetime.fromisoformat(event["occurred_at"]), program.timezone)
        while day < happened:  # the night's job runs before the next day's events
            run_daily(uow, program=program, as_of=day)
            day, days = day + timedelta(days=1), days + 1
            if progress:
                progress(str(day))
        outcomes[apply_event(uow, program=program, vault=vault, raw=event).status] += 1
    while day <= end:
        run_daily(uow, program=program, as_of=day)
        day, days = day + timedelta(days=1), days + 1
    return DemoSummary(enrolled, outcomes, days)


def _identity(person: demo_data.DemoMember) -> dict[str, object]:
    return {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "birth_date": person.birth_date,
        "phone": person.phone,
    }
