"""Use case: fill a database with a simulated railway program that looks lived-in.

Demo members with points carried from last year, a season of trips, mall orders, ticket
redemptions and donations, and the nightly jobs day by day (so points expire, tiers change and
entitlements are issued as the simulated days pass).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from jifen.demo import people, spending, trips
from jifen.demo.mall import place_demo_orders
from jifen.domain.calendar import local_date
from jifen.programs.schema import Program
from jifen.services.daily import run_daily
from jifen.services.events.batch import apply_batch
from jifen.services.members import MemberExists, enrol
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo wrote: members enrolled, events by outcome, daily jobs run, and spending.

    `spent` counts mall orders placed (`ordered`), tickets redeemed (`redeemed`), donations
    (`donated`) and refusals by error code.
    """

    members: int
    events: Counter[str]
    days: int
    spent: Counter[str] = field(default_factory=Counter)


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
        people.members(
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
                uow,
                program=program,
                vault=vault,
                name=person.name,
                id_type=person.id_type,
                id_number=person.id_number,
                birth_date=person.birth_date,
                phone=person.phone,
                joined_at=person.joined_at,
            )
            enrolled += 1
        except MemberExists:
            pass
    with uow:
        ids = uow.recommendations.active_member_ids(limit=members)
    spending.carry_last_year(uow, program=program, member_ids=ids, seed=seed, start=start, end=end)
    orders = place_demo_orders(
        uow, program=program, members=max(1, members // 4), seed=seed, start=start, end=end
    )
    spends = spending.plan(ids, seed=seed, start=start, end=end)
    spends.outcomes["ordered"] += orders.placed
    spends.outcomes.update(orders.refused)
    outcomes: Counter[str] = Counter()
    days = 0

    def happened(event: dict[str, Any]) -> date:
        return local_date(datetime.fromisoformat(event["occurred_at"]), program.timezone)

    stream = trips.events(cast, seed=seed, start=start, end=end)
    for day, todays in groupby(stream, key=happened):  # a day's events as one batch
        for night in _days(start + timedelta(days=days), day):  # the nights before that day
            spending.spend_on(uow, program=program, spending=spends, day=night)
            run_daily(uow, program=program, as_of=night)
            days += 1
            if progress:
                progress(str(night + timedelta(days=1)))
        results = apply_batch(
            uow,
            program=program,
            vault=vault,
            raw_events=list(todays),
            received_at=_day_end(day, program.timezone),
        )
        outcomes.update(r.status for r in results)
    for night in _days(start + timedelta(days=days), end + timedelta(days=1)):
        spending.spend_on(uow, program=program, spending=spends, day=night)
        run_daily(uow, program=program, as_of=night)
        days += 1
    return DemoSummary(enrolled, outcomes, days, spends.outcomes)


def _day_end(day: date, tz: str) -> datetime:
    """The simulated day's last moment: a day's events reach Jifen by then, all of them."""
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(tz))


def _days(first: date, until: date) -> Iterator[date]:
    """The days from `first` up to, not including, `until`."""
    for n in range((until - first).days):
        yield first + timedelta(days=n)


def _identity(person: people.DemoMember) -> dict[str, object]:
    return {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "birth_date": person.birth_date,
        "phone": person.phone,
    }
