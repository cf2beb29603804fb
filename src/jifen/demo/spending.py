"""Seeded demo spending: last year's points, ticket redemptions and donations during the season.

So that the program looks lived-in: most members carry ride points from trips before the season
(a few frequent travellers carry enough upgrade points for 3★), credited on a day a year before
one of the season's days, so the daily job expires what they have not spent; members who can
afford it redeem a ticket (held, then issued) on a seeded day, and some donate activity points.
Every write has a fixed key or id, so a second run changes nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import redemption
from jifen.services.grants import grant_points
from jifen.services.mall.donations import donate
from jifen.services.redemption.tickets import TicketRequest, Train, redeem_ticket
from jifen.services.unit_of_work import UnitOfWork

CARRIED_SHARE = 0.75
"""The share of members who carry points from before the season."""
FREQUENT_SHARE = 0.08
"""The share of those who travelled enough last year to start the season at 3★."""
REDEEMING_SHARE = 0.85
DONATING_SHARE = 0.15
FARES_FEN = (5_450, 7_900, 9_650, 12_300, 15_350)
"""Short-distance fares members redeem (100 points a yuan: 5,450 to 15,350 points)."""


@dataclass(slots=True)
class Plan:
    """What each member will do on which season day; filled by `plan`, read by `spend_on`."""

    seed: int
    redeem: dict[date, list[tuple[int, int, int]]] = field(default_factory=dict)
    donate: dict[date, list[tuple[int, int]]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)


def plan(member_ids: list[int], *, seed: int, start: date, end: date) -> Plan:
    """Each member's seeded redemption day and fare, and donation day and points."""
    made = Plan(seed)
    days = (end - start).days + 1
    for member_id in member_ids:
        rng = random.Random(f"jifen-demo-spend:{seed}:{member_id}")  # noqa: S311 - demo data
        for trip in range(2):  # a member who redeems once often redeems again
            if rng.random() < REDEEMING_SHARE:
                day = start + timedelta(days=rng.randrange(days))
                made.redeem.setdefault(day, []).append((member_id, trip, rng.choice(FARES_FEN)))
        if rng.random() < DONATING_SHARE:
            day = start + timedelta(days=rng.randrange(days))
            made.donate.setdefault(day, []).append((member_id, rng.choice((100, 200, 300, 500))))
    return made


def carry_last_year(
    uow: UnitOfWork, *, program: Program, member_ids: list[int], seed: int, start: date, end: date
) -> int:
    """Credit the points members carry from before the season (a year before a season day).

    Ride and activity points expire 12 months after their credit, so each lot lapses on a day of
    the season unless spent first; frequent travellers also carry the matching upgrade points.
    Returns how many members carry points.
    """
    if not {"ride", "activity", "upgrade"} <= program.kind_codes:
        return 0  # the demo's trips and spending are the railway preset's
    days = (end - start).days + 1
    zone = ZoneInfo(program.timezone)
    ride, activity = program.kind("ride"), program.kind("activity")
    carried = 0
    for member_id in member_ids:
        rng = random.Random(f"jifen-demo-carry:{seed}:{member_id}")  # noqa: S311 - demo data
        if rng.random() >= CARRIED_SHARE:
            continue
        frequent = rng.random() < FREQUENT_SHARE
        points = rng.randint(52_000, 70_000) if frequent else rng.randint(4_000, 14_000)
        credited_on = start + timedelta(days=rng.randrange(days)) - timedelta(days=365)
        at = datetime.combine(credited_on, time(20), tzinfo=zone)
        kinds = [
            ("ride", points, ride.expiry.expires_on(credited_on)),
            ("activity", rng.randint(300, 1_500), activity.expiry.expires_on(credited_on)),
        ]
        if frequent:
            kinds.append(("upgrade", points, None))
        for kind, amount, expires_on in kinds:
            grant_points(
                uow,
                key=f"demo-carry:{seed}:{member_id}:{kind}",
                member_id=member_id,
                kind=kind,
                points=amount,
                occurred_at=at,
                expires_on=expires_on,
                memo={"demo": "points from trips before the season"},
            )
        carried += 1
    return carried


def spend_on(uow: UnitOfWork, *, program: Program, spending: Plan, day: date) -> None:
    """The day's redemptions (held, then issued at once) and donations; refusals are counted."""
    zone = ZoneInfo(program.timezone)
    for n, (member_id, trip, fare) in enumerate(spending.redeem.get(day, [])):
        now = datetime.combine(day, time(12), tzinfo=zone) + timedelta(minutes=n)
        redemption_id = f"demo-redeem-{spending.seed}-{member_id}-{trip}"
        request = TicketRequest(
            id=redemption_id,
            member_id=member_id,
            fare_fen=fare,
            train=Train(number=f"G{100 + member_id % 900}"),
            departure_at=now + timedelta(days=3, hours=-4),
            passenger_member_id=member_id,
        )
        try:
            redeem_ticket(uow, program=program, request=request, now=now)
            redemption.commit(
                uow,
                program=program,
                redemption_id=redemption_id,
                key=f"{redemption_id}:commit",
                now=now + timedelta(seconds=30),
            )
            spending.outcomes["redeemed"] += 1
        except JifenError as error:
            spending.outcomes[error.code] += 1
    charities = [c.code for c in program.charities]
    for n, (member_id, points) in enumerate(spending.donate.get(day, [])):
        if not charities:
            break
        now = datetime.combine(day, time(19), tzinfo=zone) + timedelta(minutes=n)
        try:
            donate(
                uow,
                program=program,
                donation_id=f"demo-donate-{spending.seed}-{member_id}",
                member_id=member_id,
                charity=charities[member_id % len(charities)],
                points=points,
                now=now,
            )
            spending.outcomes["donated"] += 1
        except JifenError as error:
            spending.outcomes[error.code] += 1
