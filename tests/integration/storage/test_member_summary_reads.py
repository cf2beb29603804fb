"""The member summary's reads: the member with its balances, and its lots summed, a query each."""

from __future__ import annotations

from datetime import date, datetime

from jifen.services import ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI

TODAY, HORIZON, SINCE = date(2025, 3, 1), date(2025, 5, 30), date(2025, 1, 1)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)


def test_lots_are_summed_as_lapsed_lapsing_and_credited_in_the_window(
    uow: SqlUnitOfWork, enrol_member
):
    member = enrol_member()
    lots = [  # kind, points, credited on, expires on
        ("ride", 100, date(2025, 1, 10), TODAY),  # void from today: lapsed, not spendable
        ("ride", 200, date(2025, 1, 20), date(2025, 3, 2)),
        ("activity", 50, date(2025, 2, 1), date(2025, 3, 2)),
        ("ride", 300, date(2025, 2, 1), HORIZON),  # the horizon's day is included
        ("ride", 400, date(2025, 2, 1), date(2025, 5, 31)),  # beyond the horizon
        ("upgrade", 1000, date(2024, 12, 1), None),  # credited before the window
        ("upgrade", 500, date(2025, 2, 10), None),
        ("upgrade", 70, date(2025, 3, 2), None),  # credited after today
    ]
    for n, (kind, points, credited, expires) in enumerate(lots):
        ledger.credit(
            uow,
            key=f"lot-{n}",
            member_id=member,
            kind=kind,
            points=points,
            occurred_at=noon(credited),
            expires_on=expires,
        )

    with uow:
        figures = uow.members.lot_figures(member, today=TODAY, horizon=HORIZON, since=SINCE)

    assert figures.lapsed == {"ride": 100}
    assert figures.lapsing == [
        (date(2025, 3, 2), "activity", 50),
        (date(2025, 3, 2), "ride", 200),
        (HORIZON, "ride", 300),
    ]
    assert figures.credited == {"ride": 1000, "activity": 50, "upgrade": 500}


def test_a_member_without_lots_has_nothing_to_sum(uow: SqlUnitOfWork, enrol_member):
    member = enrol_member()

    with uow:
        figures = uow.members.lot_figures(member, today=TODAY, horizon=HORIZON, since=SINCE)

    assert (figures.credited, figures.lapsing, figures.lapsed) == ({}, [], {})


def test_a_member_comes_with_a_balance_per_kind_held(uow: SqlUnitOfWork, enrol_member):
    member, other = enrol_member(), enrol_member()
    for kind, points in (("upgrade", 40), ("ride", 30)):
        ledger.credit(
            uow,
            key=f"c-{kind}",
            member_id=member,
            kind=kind,
            points=points,
            occurred_at=noon(TODAY),
            expires_on=None,
        )

    with uow:
        found = uow.members.with_balances(member)
        bare = uow.members.with_balances(other)
        missing = uow.members.with_balances(other + 1000)

    assert found is not None
    record, held = found
    assert record.id == member
    assert [(b.member_id, b.kind, b.available, b.pending) for b in held] == [
        (member, "ride", 30, 0),
        (member, "upgrade", 40, 0),
    ]
    assert bare is not None
    assert bare[0].id == other
    assert bare[1] == []
    assert missing is None
