"""Points and member KPIs over a period, and the same figures day by day.

Every figure is defined in docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from jifen.domain.ledger import MEMBER_AVAILABLE, PROGRAM_EXPIRED, PROGRAM_FORFEITED
from jifen.domain.ledger import PROGRAM_REDEEMED as REDEEMED
from jifen.programs.schema import Program
from jifen.services.accounting.liability import value_points
from jifen.services.analytics.period import member_reports, period, rollups, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork

HELD = "program:held"  # points held by an open ticket redemption
CHARITY = "charity:"
FIRST_DAY = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class PointFlows:
    """Spendable points moved in a period.

    `issued − redeemed − expired − forfeited − held` is the change in `outstanding` over the
    period; `held` is the net change in points held by open redemptions (a release or a commit
    takes points off it).
    """

    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    forfeited: int = 0
    held: int = 0

    @property
    def outstanding_change(self) -> int:
        """How much the members' spendable balances grew (or, negative, shrank)."""
        return self.issued - self.redeemed - self.expired - self.forfeited - self.held


@dataclass(frozen=True, slots=True)
class Kpis:
    """The KPIs of a period of program-local days (`start`..`end`, both included).

    The points add up: `opening + issued − redeemed − expired − forfeited − held = outstanding`
    (`opening` is 0 for a period from the program's first day); docs/metrics.md.
    """

    start: date
    end: date
    members_total: int
    members_new: int
    members_active: int
    members_repeat: int
    issued: int
    redeemed: int
    expired: int
    forfeited: int
    outstanding: int
    redemption_rate: float
    breakage_rate: float
    repurchase_rate: float
    liability_fen: int
    held: int
    opening: int


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One program-local day: points moved, members who joined, members who earned."""

    day: date
    issued: int
    redeemed: int
    expired: int
    forfeited: int
    new_members: int
    active_members: int
    held: int


def flows(rows: Iterable[tuple[str, str, int]], kinds: Iterable[str]) -> PointFlows:
    """Sum (account, kind, net points) rows of spendable `kinds` into the five flows.

    Redeemed points are those on `program:redeemed` or donated (`charity:*`); held ones those
    on `program:held` (open redemptions, until committed or released); issued points are
    everything else that reached members' available balances, net (so a credit reversed or a
    negative correction takes points off issued).
    """
    spendable = set(kinds)
    out: dict[str, int] = defaultdict(int)
    for account, kind, points in rows:
        if kind not in spendable:
            continue
        if account == REDEEMED or account.startswith(CHARITY):
            out["redeemed"] += points
        elif account == HELD:
            out["held"] += points
        elif account == PROGRAM_EXPIRED:
            out["expired"] += points
        elif account == PROGRAM_FORFEITED:
            out["forfeited"] += points
        elif account == MEMBER_AVAILABLE:
            out["available"] += points
    gone = out["redeemed"] + out["expired"] + out["forfeited"] + out["held"]
    return PointFlows(
        out["available"] + gone, out["redeemed"], out["expired"], out["forfeited"], out["held"]
    )


def points_held(rows: Iterable[tuple[str, str, int]], kinds: Iterable[str]) -> tuple[int, int]:
    """Members' spendable balances and points held by open redemptions, as `(outstanding, held)`.

    `rows` are (account, kind, net points) and cover everything up to the day in question.
    """
    spendable = set(kinds)
    totals: dict[str, int] = defaultdict(int)
    for account, kind, points in rows:
        if kind in spendable and account in (MEMBER_AVAILABLE, HELD):
            totals[account] += points
    return totals[MEMBER_AVAILABLE], totals[HELD]


def rate(part: int, whole: int) -> Fraction:
    """`part / whole`, or 0 when the whole is 0."""
    return Fraction(part, whole) if whole else Fraction(0)


def kpis(uow: UnitOfWork, *, program: Program, start: date, end: date) -> Kpis:
    """Members, points, rates and liability for `start`..`end` (see docs/metrics.md).

    The liability is the balance sheet's at the end of `end`: what members hold then (spendable
    or held), valued with the stored breakage estimate in force that day, exactly as
    `jifen.services.accounting.liability` values it — whatever day the period starts.
    """
    p = period(program, start, end)
    kinds = spendable_kinds(program)
    with uow:
        repo = rollups(uow, program)
        ledger = repo.points(start=FIRST_DAY, end=end)
        moved = flows(((a, k, n) for day, a, k, n in ledger if day >= start), kinds)
        before = points_held(((a, k, n) for day, a, k, n in ledger if day < start), kinds)
        outstanding, held = points_held(((a, k, n) for _, a, k, n in ledger), kinds)
        active, again = repo.earners(kinds=kinds, start=start, end=end)
        total, new = member_reports(uow, program).counts(since=p.since, until=p.until)
        valued, _ = value_points(
            uow.accounting,
            program=program,
            as_of=end,
            points=outstanding + held,
        )
    breakage = rate(moved.expired, moved.expired + moved.redeemed)
    return Kpis(
        start=start,
        end=end,
        members_total=total,
        members_new=new,
        members_active=active,
        members_repeat=again,
        issued=moved.issued,
        redeemed=moved.redeemed,
        expired=moved.expired,
        forfeited=moved.forfeited,
        outstanding=outstanding,
        redemption_rate=float(rate(moved.redeemed, moved.issued)) if moved.issued > 0 else 0.0,
        breakage_rate=float(breakage),
        repurchase_rate=float(rate(again, active)),
        liability_fen=valued.liability_fen,
        held=held,
        opening=sum(before),
    )


def daily_series(
    uow: UnitOfWork, *, program: Program, start: date, end: date
) -> tuple[DayFigures, ...]:
    """Each day of `start`..`end`: points moved, and members who joined and who earned."""
    p = period(program, start, end)
    kinds = spendable_kinds(program)
    with uow:
        repo = rollups(uow, program)
        per_day: dict[date, list[tuple[str, str, int]]] = defaultdict(list)
        for day, account, kind, points in repo.points(start=start, end=end):
            per_day[day].append((account, kind, points))
        active = repo.earners_by_day(kinds=kinds, start=start, end=end)
        joined = member_reports(uow, program).joined_by_day(since=p.since, until=p.until)
    series = []
    for day in p.days():
        f = flows(per_day.get(day, ()), kinds)
        series.append(
            DayFigures(
                day,
                f.issued,
                f.redeemed,
                f.expired,
                f.forfeited,
                joined.get(day, 0),
                active.get(day, 0),
                f.held,
            )
        )
    return tuple(series)
