"""Accounting on SQLite and PostgreSQL: hand-computed ledgers, their liability and journal."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time

import pytest
from sqlalchemy import Engine, select

from jifen.domain.accounting import BREAKAGE_IN_ADVANCE, CONTRACT_LIABILITY
from jifen.domain.errors import IdempotencyConflict
from jifen.domain.ledger import PROGRAM_FORFEITED
from jifen.programs.schema import Program
from jifen.services import accounting, ledger
from jifen.services.accounting import InvalidPeriod
from jifen.services.redemption import PROGRAM_HELD
from jifen.storage.accounting_repository import AccountingRepository
from jifen.storage.db import make_engine
from jifen.storage.tables import breakage_estimates
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI

D1, D2, D3, D4 = (date(2025, 1, d) for d in (6, 7, 8, 9))
FAR = date(2026, 1, 6)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def credit(uow: SqlUnitOfWork, member: int, points: int, *, on: date, expires: date, kind="ride"):
    key = f"c-{member}-{on}-{points}-{kind}"
    return ledger.credit(
        uow,
        key=key,
        member_id=member,
        kind=kind,
        points=points,
        occurred_at=at(on),
        expires_on=expires,
    )


def spend(uow: SqlUnitOfWork, member: int, points: int, *, on: date, to: str = "program:redeemed"):
    return ledger.spend(
        uow,
        key=f"s-{member}-{on}-{points}-{to}",
        member_id=member,
        kind="ride",
        points=points,
        occurred_at=at(on),
        to_account=to,
    )


def set_rate(uow: SqlUnitOfWork, bps: int, *, as_of: date) -> int:
    """Store an estimate with a chosen rate (the journal test fixes the rate by hand)."""
    from jifen.domain.accounting import BreakageFigures  # noqa: PLC0415

    with uow:
        stored = AccountingRepository(uow.connection).add_estimate(
            key=f"test-{bps}-{as_of}",
            as_of=as_of,
            figures=BreakageFigures("test", bps, 10_000, bps, ()),
            inputs={},
        )
        uow.commit()
    return stored.version


@pytest.fixture
def small_ledger(uow: SqlUnitOfWork, new_member: Callable[[], int]) -> tuple[int, int]:
    """1,000 ride points issued on D1 (800 to A, 200 to B expiring D3); A redeems 300 on D2,
    B's 200 expire on D3, A redeems 500 on D4. 100 upgrade points to A never count."""
    a, b = new_member(), new_member()
    credit(uow, a, 800, on=D1, expires=FAR)
    credit(uow, b, 200, on=D1, expires=D3)
    credit(uow, a, 100, on=D1, expires=FAR, kind="upgrade")
    spend(uow, a, 300, on=D2)
    lot = _lots(uow, b)[0].id
    ledger.expire_lot(uow, key="x-b", lot_id=lot, occurred_at=at(D3, 0))
    spend(uow, a, 500, on=D4)
    return a, b


def _lots(uow: SqlUnitOfWork, member: int):
    with uow:
        return uow.ledger.lots_of(member)


def lines(day) -> list[tuple[str, str, int]]:
    return [(li.debit.code, li.credit.code, li.amount_fen) for li in day.lines]


class TestLiability:
    def test_values_spendable_points_held_at_the_end_of_each_day(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        held = [
            accounting.liability(uow, program=railway, as_of=d).figures.outstanding
            for d in (date(2025, 1, 5), D1, D2, D3, D4)
        ]
        assert held == [0, 1000, 700, 500, 0]

    def test_applies_the_estimate_in_force_and_says_which(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        version = set_rate(uow, 2000, as_of=D1)
        before = accounting.liability(uow, program=railway, as_of=date(2024, 12, 31))
        report = accounting.liability(uow, program=railway, as_of=D2)
        assert (before.estimate, before.figures.rate_bps) == (None, 0)
        assert report.estimate is not None
        assert report.estimate.version == version
        # 700 points × 1 fen = 700 fen; × (1 − 20%) = 560 fen
        assert (report.figures.value_fen, report.figures.liability_fen) == (700, 560)
        assert report.figures.expected_breakage_fen == 140

    def test_points_held_by_an_open_redemption_are_still_owed(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        a = new_member()
        credit(uow, a, 1000, on=D1, expires=FAR)
        spend(uow, a, 400, on=D2, to=PROGRAM_HELD)
        assert accounting.liability(uow, program=railway, as_of=D2).figures.outstanding == 1000

    def test_refuses_dates_nobody_closes_books_on(
        self, uow: SqlUnitOfWork, railway: Program
    ) -> None:
        with pytest.raises(InvalidPeriod) as error:
            accounting.liability(uow, program=railway, as_of=date(1800, 1, 1))
        assert error.value.code == "invalid_period"


class TestJournal:
    def test_hand_computed_days_at_a_twenty_percent_breakage_estimate(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        set_rate(uow, 2000, as_of=D1)
        journal = accounting.journal(uow, program=railway, start=D1, end=D4)
        flows = [(d.flows["issued"], d.flows["redeemed"], d.flows["expired"]) for d in journal.days]
        assert flows == [(1000, 0, 0), (0, 300, 0), (0, 0, 200), (0, 500, 0)]
        assert [lines(d) for d in journal.days] == [
            [("6001", "2401", 800)],
            [("2401", "6001", 240), ("2402", "6051", 60)],
            [("2401", "2402", 160)],
            [("2401", "6001", 400), ("2402", "6051", 100)],
        ]
        assert [d.closing_liability_fen for d in journal.days] == [800, 560, 400, 0]

    def test_with_an_accurate_estimate_both_liability_accounts_end_at_zero(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        set_rate(uow, 2000, as_of=D1)
        journal = accounting.journal(uow, program=railway, start=D1, end=D4)
        balance = {CONTRACT_LIABILITY.code: 0, BREAKAGE_IN_ADVANCE.code: 0}
        for day in journal.days:
            for li in day.lines:
                for account, sign in ((li.credit.code, 1), (li.debit.code, -1)):
                    if account in balance:
                        balance[account] += sign * li.amount_fen
        assert balance == {"2401": 0, "2402": 0}

    def test_every_day_balances_and_2401_closes_at_the_liability(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        set_rate(uow, 1234, as_of=D1)
        set_rate(uow, 2345, as_of=D3)
        journal = accounting.journal(uow, program=railway, start=D1, end=D4)
        rows = list(csv.DictReader(io.StringIO(accounting.journal_csv(journal))))
        for day in journal.days:
            of_day = [r for r in rows if r["date"] == str(day.day)]
            assert sum(int(r["debit_fen"]) for r in of_day) == sum(
                int(r["credit_fen"]) for r in of_day
            )
            liability = accounting.liability(uow, program=railway, as_of=day.day)
            assert day.closing_liability_fen == liability.figures.liability_fen
        # D3: the estimate rose to 23.45% on 700 points held: 700 × 11.11% = 77.77 → 78 fen
        remeasured = [li for li in journal.days[2].lines if "estimate changed" in li.description]
        assert [(li.debit.code, li.credit.code, li.amount_fen) for li in remeasured] == [
            ("2401", "6051", 78)
        ]

    def test_a_day_reads_the_same_whatever_period_it_is_exported_in(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        set_rate(uow, 3333, as_of=D1)
        whole = accounting.journal(uow, program=railway, start=D1, end=D4)
        last = accounting.journal(uow, program=railway, start=D4, end=D4)
        assert last.days == whole.days[-1:]

    def test_breakage_rounds_per_month_without_drift(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        a = new_member()
        credit(uow, a, 100, on=date(2025, 1, 30), expires=FAR)
        days = [date(2025, 1, 30), date(2025, 1, 31), *(date(2025, 2, d) for d in (1, 2, 3))]
        for day in days:
            spend(uow, a, 1, on=day)
        set_rate(uow, 3333, as_of=date(2025, 1, 1))
        whole = accounting.journal(uow, program=railway, start=days[0], end=days[-1])
        february = accounting.journal(uow, program=railway, start=days[2], end=days[-1])

        def breakage(day) -> int:
            return sum(li.amount_fen for li in day.lines if li.credit.code == "6051")

        # 1 point = 1 fen, 33.33% of it each day: January 0.67 → 1 fen, February 1.00 → 1 fen
        assert [breakage(d) for d in whole.days] == [0, 1, 0, 1, 0]
        assert february.days == whole.days[2:]

    def test_forfeited_points_leave_the_liability(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        a = new_member()
        credit(uow, a, 1000, on=D1, expires=FAR)
        spend(uow, a, 1000, on=D2, to=PROGRAM_FORFEITED)
        day = accounting.journal(uow, program=railway, start=D2, end=D2).days[0]
        assert day.flows["forfeited"] == 1000
        # no estimate: nothing was recognised in advance, so the lapse is breakage revenue now
        assert lines(day) == [("2401", "6051", 1000)]
        set_rate(uow, 2000, as_of=D1)
        day = accounting.journal(uow, program=railway, start=D2, end=D2).days[0]
        assert lines(day) == [("2401", "2402", 800)]

    def test_csv_has_one_debit_and_one_credit_row_per_entry(
        self, uow: SqlUnitOfWork, railway: Program, small_ledger: tuple[int, int]
    ) -> None:
        version = set_rate(uow, 2000, as_of=D1)
        journal = accounting.journal(uow, program=railway, start=D2, end=D2)
        rows = list(csv.reader(io.StringIO(accounting.journal_csv(journal))))
        liability, advance = CONTRACT_LIABILITY.name, BREAKAGE_IN_ADVANCE.name
        v, why = str(version), "Breakage recognised with redemptions"
        assert rows[0] == [
            "date",
            "entry",
            "account_code",
            "account_name",
            "debit_fen",
            "credit_fen",
            "description",
            "points",
            "estimate_version",
            "breakage_bps",
        ]
        assert [r[:7] for r in rows[1:]] == [
            ["2025-01-07", "JF-20250107-01", "2401", liability, "240", "0", "Points redeemed"],
            ["2025-01-07", "JF-20250107-01", "6001", "Revenue", "0", "240", "Points redeemed"],
            ["2025-01-07", "JF-20250107-02", "2402", advance, "60", "0", why],
            [
                "2025-01-07",
                "JF-20250107-02",
                "6051",
                "Other revenue – loyalty breakage",
                "0",
                "60",
                why,
            ],
        ]
        assert {tuple(r[7:]) for r in rows[1:]} == {("300", v, "2000")}

    @pytest.mark.parametrize(
        ("start", "end"), [(D2, D1), (date(2024, 1, 1), date(2025, 1, 1)), (date(1, 1, 1), D1)]
    )
    def test_refuses_bad_periods(
        self, uow: SqlUnitOfWork, railway: Program, start: date, end: date
    ) -> None:
        with pytest.raises(InvalidPeriod):
            accounting.journal(uow, program=railway, start=start, end=end)


def cohort_ledger(uow: SqlUnitOfWork, new_member: Callable[[], int]) -> tuple[int, int]:
    """January 2024: A and B each get 6,000 (six months' validity) and redeem 4,500; the rest
    expires (A's on 10 July, B's on 15 July). June 2024: C gets 1,000, still open."""
    a, b, c = new_member(), new_member(), new_member()
    credit(uow, a, 6000, on=date(2024, 1, 10), expires=date(2024, 7, 10))
    credit(uow, b, 6000, on=date(2024, 1, 15), expires=date(2024, 7, 15))
    credit(uow, c, 1000, on=date(2024, 6, 1), expires=date(2025, 6, 1))
    spend(uow, a, 4500, on=date(2024, 3, 1))
    spend(uow, b, 4500, on=date(2024, 3, 2))
    for member, day in ((a, date(2024, 7, 10)), (b, date(2024, 7, 15))):
        lot = _lots(uow, member)[0].id
        ledger.expire_lot(uow, key=f"x-{member}", lot_id=lot, occurred_at=at(day, 0))
    return a, b


class TestEstimate:
    def test_closed_cohorts_give_the_rate(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        cohort_ledger(uow, new_member)
        stored = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        # January: 3,000 expired of 12,000 settled = 25%; June is still open and left out
        assert (stored.method, stored.rate_bps, stored.numerator, stored.denominator) == (
            "closed_cohorts",
            2500,
            3000,
            12000,
        )
        assert [c["month"] for c in stored.inputs["cohorts"]] == ["2024-01"]

    def test_falls_back_to_history_while_a_cohort_is_open(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        cohort_ledger(uow, new_member)
        stored = accounting.estimate(uow, program=railway, as_of=date(2024, 7, 12))
        # B's lot still open on 12 July: 1,500 expired (A) of 10,500 settled = 14.29%
        assert (stored.method, stored.rate_bps) == ("history_to_date", 1429)

    def test_a_lot_past_its_expiry_counts_as_broken_before_the_daily_job_runs(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        a = new_member()
        credit(uow, a, 12_000, on=date(2024, 1, 10), expires=date(2024, 7, 10))
        spend(uow, a, 9000, on=date(2024, 3, 1))
        stored = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        assert (stored.method, stored.rate_bps) == ("closed_cohorts", 2500)

    def test_points_given_back_by_a_cancelled_redemption_are_not_counted_as_used(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        a = new_member()
        credit(uow, a, 12_000, on=date(2024, 1, 10), expires=date(2024, 7, 10))
        spend(uow, a, 12_000, on=date(2024, 1, 11))
        ledger.credit(
            uow,
            key="cancelled",
            member_id=a,
            kind="ride",
            points=4_000,
            occurred_at=at(date(2024, 1, 12)),
            expires_on=date(2024, 7, 12),
            source="program:redeemed",
        )
        stored = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        # 12,000 redeemed, 4,000 came back (net use 8,000) and lapsed: 4,000 of 12,000 = 33.33%
        assert stored.inputs["cohorts"][0] | {"closed": True} == {
            "month": "2024-01",
            "lots": 2,
            "open_lots": 0,
            "used": 8_000,
            "broken": 4_000,
            "closed": True,
        }
        assert stored.rate_bps == 3333

    def test_versions_are_appended_and_never_rewritten(
        self, uow: SqlUnitOfWork, engine: Engine, railway: Program, new_member: Callable[[], int]
    ) -> None:
        first = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        assert (first.version, first.method, first.rate_bps) == (1, "no_history", 0)
        again = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        assert again == first
        cohort_ledger(uow, new_member)
        second = accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1))
        assert (second.version, second.rate_bps) == (2, 2500)
        with engine.connect() as connection:
            rows = connection.execute(
                select(breakage_estimates.c.version, breakage_estimates.c.rate_bps).order_by(
                    breakage_estimates.c.version
                )
            ).all()
        assert [tuple(r) for r in rows] == [(1, 0), (2, 2500)]
        assert accounting.current_breakage_estimate(uow, as_of=date(2024, 9, 1)) == second
        assert accounting.current_breakage_estimate(uow, as_of=date(2024, 7, 31)) is None

    def test_a_key_used_for_other_figures_is_a_conflict(
        self, uow: SqlUnitOfWork, railway: Program, new_member: Callable[[], int]
    ) -> None:
        accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1), key="aug")
        cohort_ledger(uow, new_member)
        with pytest.raises(IdempotencyConflict):
            accounting.estimate(uow, program=railway, as_of=date(2024, 8, 1), key="aug")


@pytest.mark.postgres_only
def test_concurrent_estimates_store_one_version_per_figures(
    engine: Engine, railway: Program, new_member: Callable[[], int]
) -> None:
    from tests.integration.services.test_ledger_concurrency import run_together  # noqa: PLC0415

    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    try:
        cohort_ledger(SqlUnitOfWork(wide), new_member)
        results = run_together(
            8,
            lambda i: accounting.estimate(
                SqlUnitOfWork(wide), program=railway, as_of=date(2024, 8, 1) if i % 2 else D1
            ),
        )
    finally:
        wide.dispose()
    assert not [r for r in results if isinstance(r, Exception)], results
    by_day = {(r.as_of, r.version) for r in results}
    assert len(by_day) == 2  # one version per day's figures, however many callers raced
    assert sorted(v for _, v in by_day) == [1, 2]
