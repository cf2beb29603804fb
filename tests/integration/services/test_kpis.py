"""Points and member KPIs on a small railway program whose every figure is worked out by hand.

The program (Asia/Shanghai; every posting through the ledger use cases):

| when (local)      | what                                                        |
| ----------------- | ----------------------------------------------------------- |
| 2025-01-06        | A joins                                                     |
| 2025-01-10        | A: 1,000 ride points credited (lot expires 2025-02-01); 1,000 upgrade points |
| 2025-02-01 00:00  | A's 1,000 ride points expire                                |
| 2025-02-01 00:30  | A: 500 activity points (UTC: 2025-01-31 16:30 — a February point) |
| 2025-02-10        | B joins; 2025-02-12 800 ride points pending, confirmed 02-20 |
| 2025-02-25        | B redeems 300                                               |
| 2025-03-05        | C joins; 03-06 2,000 and 03-07 400 ride points               |
| 2025-03-10/12     | C holds 500 for a ticket, then the hold is released          |
| 2025-03-15        | B closes: 500 ride points forfeited                          |
| 2025-03-20        | D joins (never earns); C redeems 600                         |
| tiers             | A 2★→3★ on 02-15; C 2★→3★ on 03-08 and 3★→4★ on 03-25         |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from fractions import Fraction

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.analytics import daily_series, kpis, refresh_rollups
from jifen.services.member_status import close_member
from jifen.services.reports import summary
from jifen.storage.tables import balances
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI

HOLD = "program:held"


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Cast:
    a: int
    b: int
    c: int
    d: int


def _upgrade(uow: SqlUnitOfWork, member: int, old: str, new: str, on: date) -> None:
    with uow:
        uow.members.apply_tier(
            TierDecision(
                member_id=member,
                old=TierState(old, None),
                new=TierState(new, date(on.year + 1, on.month, on.day)),
                reason=TierChangeReason.UPGRADE,
                qualifying_points=60_000,
                decided_on=on,
            )
        )
        uow.commit()


def build(uow: SqlUnitOfWork, railway: Program, enrol_member, *, refresh_midway: bool) -> Cast:
    """The program of the module docstring; `refresh_midway` folds the rollups after February."""
    a = enrol_member(joined_at=local(date(2025, 1, 6)))
    first = ledger.credit(
        uow,
        key="a-ride",
        member_id=a,
        kind="ride",
        points=1000,
        occurred_at=local(date(2025, 1, 10)),
        expires_on=date(2025, 2, 1),
    )
    ledger.credit(
        uow,
        key="a-upgrade",
        member_id=a,
        kind="upgrade",
        points=1000,
        occurred_at=local(date(2025, 1, 10)),
        expires_on=None,
    )
    ledger.expire_lot(
        uow, key="a-expire", lot_id=first.lot_ids[0], occurred_at=local(date(2025, 2, 1), 0)
    )
    ledger.credit(
        uow,
        key="a-activity",
        member_id=a,
        kind="activity",
        points=500,
        occurred_at=local(date(2025, 2, 1), 0, 30),
        expires_on=date(2026, 2, 1),
    )
    b = enrol_member(date(1991, 4, 2), joined_at=local(date(2025, 2, 10)))
    pending = ledger.add_pending(
        uow,
        key="b-pending",
        member_id=b,
        kind="ride",
        points=800,
        occurred_at=local(date(2025, 2, 12)),
    )
    ledger.confirm_pending(
        uow,
        key="b-confirm",
        pending_id=pending.entries[-1].pending_id or 0,
        occurred_at=local(date(2025, 2, 20)),
        expires_on=date(2026, 2, 20),
    )
    ledger.spend(
        uow,
        key="b-redeem",
        member_id=b,
        kind="ride",
        points=300,
        occurred_at=local(date(2025, 2, 25)),
    )
    _upgrade(uow, a, "star2", "star3", date(2025, 2, 15))
    if refresh_midway:
        assert refresh_rollups(uow, program=railway).transactions == 7
    c = enrol_member(date(1992, 5, 3), joined_at=local(date(2025, 3, 5)))
    for key, points, day in (("c-1", 2000, 6), ("c-2", 400, 7)):
        ledger.credit(
            uow,
            key=key,
            member_id=c,
            kind="ride",
            points=points,
            occurred_at=local(date(2025, 3, day)),
            expires_on=date(2026, 3, day),
        )
    hold = ledger.spend(
        uow,
        key="c-hold",
        member_id=c,
        kind="ride",
        points=500,
        occurred_at=local(date(2025, 3, 10)),
        to_account=HOLD,
    )
    ledger.reverse(
        uow,
        key="c-release",
        transaction_id=hold.transaction_id,
        occurred_at=local(date(2025, 3, 12)),
    )
    _upgrade(uow, c, "star2", "star3", date(2025, 3, 8))
    close_member(
        uow,
        program=railway,
        member_id=b,
        reason="asked",
        actor="test",
        now=local(date(2025, 3, 15)),
    )
    d = enrol_member(date(1993, 6, 4), joined_at=local(date(2025, 3, 20)))
    ledger.spend(
        uow,
        key="c-redeem",
        member_id=c,
        kind="ride",
        points=600,
        occurred_at=local(date(2025, 3, 20)),
    )
    _upgrade(uow, c, "star3", "star4", date(2025, 3, 25))
    return Cast(a, b, c, d)


@pytest.fixture(params=["live", "refreshed", "refreshed midway"])
def program(
    request: pytest.FixtureRequest, uow: SqlUnitOfWork, railway: Program, enrol_member
) -> Cast:
    """The same program read three ways: all from the ledger, all from rollups, and half/half."""
    cast = build(uow, railway, enrol_member, refresh_midway=request.param == "refreshed midway")
    if request.param == "refreshed":
        refresh_rollups(uow, program=railway)
    return cast


# (members total, new, active, repeat),
# (issued, redeemed, expired, forfeited, outstanding, opening); no hold is open at any month's end
MONTHS = {
    (date(2025, 1, 1), date(2025, 1, 31)): ((1, 1, 1, 0), (1000, 0, 0, 0, 1000, 0)),
    # February opens with A's 1,000 ride points; March with A's 500 and B's 800 − 300.
    (date(2025, 2, 1), date(2025, 2, 28)): ((2, 1, 2, 0), (1300, 300, 1000, 0, 1000, 1000)),
    (date(2025, 3, 1), date(2025, 3, 31)): ((4, 2, 1, 1), (2400, 600, 0, 500, 2300, 1000)),
    (date(2025, 1, 1), date(2025, 3, 31)): ((4, 4, 3, 2), (4700, 900, 1000, 500, 2300, 0)),
    # Part of January and all of February: A earned once in each, so A bought again.
    (date(2025, 1, 10), date(2025, 2, 28)): ((2, 1, 2, 1), (2300, 300, 1000, 0, 1000, 0)),
}


@pytest.mark.parametrize(("period", "expected"), MONTHS.items(), ids=str)
def test_each_kpi_matches_the_hand_count(
    program: Cast,
    uow: SqlUnitOfWork,
    railway: Program,
    period,
    expected,
) -> None:
    (start, end), (people, points) = period, expected
    k = kpis(uow, program=railway, start=start, end=end)
    assert (k.members_total, k.members_new, k.members_active, k.members_repeat) == people
    assert (k.issued, k.redeemed, k.expired, k.forfeited, k.outstanding, k.opening) == points
    assert k.held == 0
    assert k.repurchase_rate == (float(Fraction(people[3], people[2])) if people[2] else 0.0)
    assert k.redemption_rate == points[1] / points[0]
    gone = points[1] + points[2]
    breakage = Fraction(points[2], gone) if gone else Fraction(0)
    assert k.breakage_rate == float(breakage)
    # No breakage estimate is stored, so every point held at the end is a liability of 1 fen
    # (100 points = ¥1), whatever the period's own breakage.
    assert k.liability_fen == points[4]


def test_february_rates_and_liability(program: Cast, uow: SqlUnitOfWork, railway: Program) -> None:
    k = kpis(uow, program=railway, start=date(2025, 2, 1), end=date(2025, 2, 28))
    assert k.redemption_rate == 300 / 1300
    assert k.breakage_rate == 1000 / 1300
    assert k.liability_fen == 1000  # 1,000 points held on 28 February, no estimate stored
    assert k.repurchase_rate == 0.0


def test_outstanding_agrees_with_the_ledger(
    program: Cast, uow: SqlUnitOfWork, railway: Program, engine: Engine
) -> None:
    """issued − redeemed − expired − forfeited − held since the start = outstanding = balances."""
    k = kpis(uow, program=railway, start=date(2024, 1, 1), end=date(2025, 12, 31))
    assert k.opening == k.held == 0
    assert k.issued - k.redeemed - k.expired - k.forfeited - k.held == k.outstanding == 2300
    b = balances.c
    with engine.connect() as connection:
        held = connection.execute(
            select(func.sum(b.available)).where(b.kind.in_(["ride", "activity"]))
        ).scalar_one()
        upgrade = connection.execute(
            select(func.sum(b.available)).where(b.kind == "upgrade")
        ).scalar_one()
    assert held == 2300
    assert upgrade == 1000  # upgrade points are never outstanding


def test_the_summary_report_reads_the_same_kpis(
    program: Cast, uow: SqlUnitOfWork, railway: Program
) -> None:
    s = summary(uow, program=railway, start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert (s.members_total, s.members_new, s.members_active) == (4, 2, 1)
    assert (s.issued, s.redeemed, s.expired, s.outstanding) == (2400, 600, 0, 2300)
    assert s.repurchase_rate == 1.0
    assert s.tiers == {"star2": 2, "star3": 1, "star4": 1, "star5": 0}  # tiers now


def test_days_are_the_programs_local_days(
    program: Cast, uow: SqlUnitOfWork, railway: Program
) -> None:
    days = {
        d.day: d
        for d in daily_series(uow, program=railway, start=date(2025, 1, 31), end=date(2025, 2, 28))
    }
    assert len(days) == 29
    assert (days[date(2025, 1, 31)].issued, days[date(2025, 1, 31)].active_members) == (0, 0)
    feb1 = days[date(2025, 2, 1)]
    assert (feb1.issued, feb1.expired, feb1.active_members, feb1.new_members) == (500, 1000, 1, 0)
    assert days[date(2025, 2, 10)].new_members == 1
    assert (days[date(2025, 2, 12)].issued, days[date(2025, 2, 20)].issued) == (0, 800)
    assert days[date(2025, 2, 20)].active_members == 1
    assert days[date(2025, 2, 25)].redeemed == 300
    assert sum(d.issued for d in days.values()) == 1300
    assert sum(d.redeemed for d in days.values()) == 300


def test_a_hold_is_held_not_redeemed_until_released(
    program: Cast, uow: SqlUnitOfWork, railway: Program
) -> None:
    march = {
        d.day: d
        for d in daily_series(uow, program=railway, start=date(2025, 3, 1), end=date(2025, 3, 31))
    }
    assert (march[date(2025, 3, 10)].held, march[date(2025, 3, 12)].held) == (500, -500)
    assert (march[date(2025, 3, 10)].redeemed, march[date(2025, 3, 12)].redeemed) == (0, 0)
    held = kpis(uow, program=railway, start=date(2025, 3, 1), end=date(2025, 3, 11))
    # March opens with 1,000 (A's 500, B's 500); C earns 2,000 + 400 and holds 500 of them.
    assert (held.opening, held.held, held.redeemed) == (1000, 500, 0)
    assert held.outstanding == 1000 + 2000 + 400 - 500
    assert march[date(2025, 3, 15)].forfeited == 500
    assert march[date(2025, 3, 6)].issued == 2000


class TestRollups:
    def test_a_second_refresh_folds_nothing(
        self, uow: SqlUnitOfWork, railway: Program, enrol_member
    ) -> None:
        build(uow, railway, enrol_member, refresh_midway=False)
        first = refresh_rollups(uow, program=railway)
        again = refresh_rollups(uow, program=railway)
        assert first.transactions > 0
        assert (again.transactions, again.watermark) == (0, first.watermark)

    def test_small_chunks_give_the_same_figures(
        self,
        uow: SqlUnitOfWork,
        railway: Program,
        enrol_member,
    ) -> None:
        build(uow, railway, enrol_member, refresh_midway=False)
        refresh_rollups(uow, program=railway, chunk=2)
        k = kpis(uow, program=railway, start=date(2025, 1, 1), end=date(2025, 3, 31))
        assert (k.issued, k.redeemed, k.expired, k.forfeited, k.outstanding) == (
            4700,
            900,
            1000,
            500,
            2300,
        )
        assert (k.members_active, k.members_repeat) == (3, 2)

    def test_a_late_posting_lands_on_its_own_day(
        self,
        uow: SqlUnitOfWork,
        railway: Program,
        enrol_member,
    ) -> None:
        """A claim (补登) posted after the refresh, for January, changes January's figures."""
        cast = build(uow, railway, enrol_member, refresh_midway=False)
        refresh_rollups(uow, program=railway)
        ledger.credit(
            uow,
            key="a-claim",
            member_id=cast.a,
            kind="ride",
            points=250,
            occurred_at=local(date(2025, 1, 20)),
            expires_on=date(2026, 1, 20),
        )
        january = (date(2025, 1, 1), date(2025, 1, 31))
        for _ in ("live", "refreshed"):
            k = kpis(uow, program=railway, start=january[0], end=january[1])
            assert (k.issued, k.outstanding, k.members_repeat) == (1250, 1250, 1)
            refresh_rollups(uow, program=railway)

    def test_a_period_backwards_is_refused(self, uow: SqlUnitOfWork, railway: Program) -> None:
        from jifen.domain.errors import InvalidRequest  # noqa: PLC0415

        with pytest.raises(InvalidRequest):
            kpis(uow, program=railway, start=date(2025, 2, 1), end=date(2025, 1, 31))
