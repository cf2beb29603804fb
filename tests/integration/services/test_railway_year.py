"""A year of a railway member, day by day (events, then the daily job), against SPEC's numbers."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine

from jifen.services.daily import run_daily
from jifen.services.events import apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.job_repository import JobRepository
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import reset_database
from tests.integration.services.test_events import at, ticket

START = date(2025, 1, 6)
# 19 long trips of ¥553.50 in the first months: 19 × 2,768 = 52,592 upgrade points → 3★.
TRIP_DAYS = [START + timedelta(days=1 + 4 * n) for n in range(19)]  # from the day after joining
LAST_DAY = date(2026, 6, 30)


def simulate(uow: SqlUnitOfWork, program, vault, member: int, *, until: date) -> dict[date, str]:
    """Ride on TRIP_DAYS and run the daily job every day; returns the tier on each day."""
    tiers: dict[date, str] = {}
    day = START
    while day <= until:
        if day in TRIP_DAYS:
            tid = f"T{day:%Y%m%d}"
            data = ticket(tid, departure=at(day), passenger={"member_id": member})
            for n, (type_, when, payload) in enumerate(
                (
                    ("ticket.purchased", at(day, 7), data),
                    ("ticket.travelled", at(day, 16), {"ticket_id": tid}),
                )
            ):
                raw = {
                    "id": f"{tid}-{n}",
                    "type": type_,
                    "occurred_at": when.isoformat(),
                    "data": payload,
                }
                result = apply_event(uow, program=program, vault=vault, raw=raw, received_at=when)
                assert result.status == "applied"
        run_daily(uow, program=program, as_of=day)
        with uow:
            tiers[day] = uow.members.get(member).tier.code
        day += timedelta(days=1)
    return tiers


def state(uow: SqlUnitOfWork, member: int) -> tuple[object, ...]:
    with uow:
        return (
            [(b.kind, b.available, b.pending) for b in uow.ledger.balances_of(member)],
            [
                (x.kind, x.credited_on, x.expires_on, x.original, x.remaining)
                for x in uow.ledger.lots_of(member)
            ],
            uow.members.get(member).tier,
            uow.members.tier_history(member),
        )


def test_a_year_of_travel_upgrades_expires_and_requalifies_as_the_spec_says(
    engine: Engine, uow, railway, vault, enrol_member
):
    member = enrol_member(date(1990, 3, 7))
    tiers = simulate(uow, railway, vault, member, until=LAST_DAY)

    crossing = TRIP_DAYS[18]  # the 19th trip takes the rolling sum past 50,000
    assert tiers[crossing - timedelta(days=1)] == "star2"
    assert tiers[crossing] == "star3"
    with uow:
        history = uow.members.tier_history(member)
    upgrade = history[0]
    assert (upgrade.reason, upgrade.new_code, upgrade.qualifying_points) == (
        "upgrade",
        "star3",
        19 * 2768,
    )
    assert crossing == date(2025, 3, 20)
    assert upgrade.valid_until == date(2026, 3, 19)  # valid 12 months

    # Each lot lapses 12 months after its credit: the first trip's points are gone on 2026-01-07.
    first_lapse = TRIP_DAYS[0].replace(year=2026)
    with uow:
        expired_first = [
            lot
            for lot in uow.ledger.lots_of(member)
            if lot.kind == "ride" and lot.expires_on == first_lapse
        ]
    assert [lot.remaining for lot in expired_first] == [0]

    # Not re-qualified by 2026-03-20: the rolling 12 months hold nothing, so back to 2★ at expiry.
    assert tiers[date(2026, 3, 19)] == "star3"
    assert tiers[date(2026, 3, 20)] == "star2"
    assert history[-1].reason == "downgrade"
    assert history[-1].qualifying_points == 0

    with uow:
        balances = {b.kind: b.available for b in uow.ledger.balances_of(member)}
        reminders = JobRepository(uow.connection).reminders_for(member)
    assert balances["ride"] == 0  # every ride lot has lapsed by mid-2026
    assert len(reminders) == 19  # one reminder for each lot, 30 days before it lapsed
    assert all(expires - queued == timedelta(days=30) for _k, expires, _p, queued in reminders)
    assert check_ledger(uow).ok


def test_running_the_daily_job_twice_for_a_day_changes_nothing(uow, railway, vault, enrol_member):
    member = enrol_member()
    simulate(uow, railway, vault, member, until=TRIP_DAYS[18])
    before = state(uow, member)
    again = run_daily(uow, program=railway, as_of=TRIP_DAYS[18])
    assert again.skipped == tuple(again.steps)  # every step had run
    assert state(uow, member) == before


def test_replaying_the_same_events_into_an_empty_database_gives_the_same_state(
    engine: Engine, uow, railway, vault, enrol_member
):
    member = enrol_member(date(1990, 3, 7))
    simulate(uow, railway, vault, member, until=date(2026, 4, 1))
    first = state(uow, member)

    reset_database(engine)
    replayed = enrol_member(date(1990, 3, 7))
    simulate(uow, railway, vault, replayed, until=date(2026, 4, 1))
    assert state(uow, replayed) == first
