"""Member KPIs: tier mix on a day, tier movement over a period, monthly cohorts, RFM segments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from jifen.programs.schema import Program
from jifen.services.analytics.period import member_reports, period, rollups, spendable_kinds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.analytics_member_repository import SEGMENTS

INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class TierShare:
    """Members in one tier on a day, and their share of all members who had joined by then."""

    code: str
    members: int
    share: float


@dataclass(frozen=True, slots=True)
class TierMove:
    """Members who were in `from_code` the day before the period and in `to_code` at its end.

    `from_code` is None for members who joined during the period.
    """

    from_code: str | None
    to_code: str
    members: int


@dataclass(frozen=True, slots=True)
class TierMovement:
    """The tier movement matrix of a period, with members who moved up, down or stayed."""

    start: date
    end: date
    tiers: tuple[str, ...]
    moves: tuple[TierMove, ...]
    upgraded: int
    downgraded: int
    kept: int
    joined: int


@dataclass(frozen=True, slots=True)
class Cohort:
    """Members who joined in `month` (`YYYY-MM`), and how many of them earned in each month since.

    `active[k]` counts the members of the cohort who earned in the k-th month after `month`
    (`active[0]` is the month they joined), up to the month of the period's end.
    """

    month: str
    members: int
    active: tuple[int, ...]

    @property
    def retention(self) -> tuple[float, ...]:
        """`active` as shares of the cohort."""
        return tuple(n / self.members if self.members else 0.0 for n in self.active)


@dataclass(frozen=True, slots=True)
class RfmSegment:
    """Members in one RFM segment and their means: days since they last earned, earnings, points.

    The `inactive` segment (members who had joined by the end and earned nothing in the
    period) has no means: they are None.
    """

    name: str
    members: int
    recency_days: float | None
    frequency: float | None
    points: float | None


@dataclass(frozen=True, slots=True)
class RfmCell:
    """Earners with recency score `r` and frequency score `f` (1–5 each), as `rfm` scores them.

    `segment` is the segment the two scores name; `points` the cell's mean points earned.
    """

    r: int
    f: int
    segment: str
    members: int
    points: float


def _order(program: Program, codes: set[str]) -> tuple[str, ...]:
    known = [level.code for level in program.tiers.levels]
    return tuple(known + sorted(codes - set(known)))


def tier_mix(uow: UnitOfWork, *, program: Program, on: date) -> tuple[TierShare, ...]:
    """Members per tier at the end of day `on` (every tier of the program, zeros included)."""
    p = period(program, on, on)
    with uow:
        counts = member_reports(uow, program).tiers_on(
            day=on, until=p.until, join_tier=program.tiers.join_tier
        )
    total = sum(counts.values())
    return tuple(
        TierShare(code, counts.get(code, 0), counts.get(code, 0) / total if total else 0.0)
        for code in _order(program, set(counts))
    )


def tier_movement(uow: UnitOfWork, *, program: Program, start: date, end: date) -> TierMovement:
    """Members by tier the day before `start` × tier at the end of `end`."""
    p = period(program, start, end)
    with uow:
        rows = member_reports(uow, program).tier_moves(
            before=start - timedelta(days=1),
            end=end,
            since=p.since,
            until=p.until,
            join_tier=program.tiers.join_tier,
        )
    tiers = _order(program, {c for a, b, _ in rows for c in (a, b) if c is not None})
    rank = {code: n for n, code in enumerate(tiers)}
    moves = tuple(
        TierMove(a, b, n)
        for a, b, n in sorted(rows, key=lambda r: (r[0] is not None, rank.get(r[0] or "", -1)))
    )
    up = sum(m.members for m in moves if m.from_code and rank[m.to_code] > rank[m.from_code])
    down = sum(m.members for m in moves if m.from_code and rank[m.to_code] < rank[m.from_code])
    kept = sum(m.members for m in moves if m.from_code == m.to_code)
    joined = sum(m.members for m in moves if m.from_code is None)
    return TierMovement(start, end, tiers, moves, up, down, kept, joined)


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def cohorts(uow: UnitOfWork, *, program: Program, start: date, end: date) -> tuple[Cohort, ...]:
    """Members who joined in each month of the period, and who of them earned month by month."""
    p = period(program, start, end)
    with uow:
        activity = rollups(uow, program).activity(
            kinds=spendable_kinds(program), start=start, end=end
        )
        sizes, active = member_reports(uow, program).cohorts(
            activity=activity, since=p.since, until=p.until
        )
    last = f"{end:%Y-%m}"
    return tuple(
        Cohort(month, sizes[month], tuple(active.get((month, m), 0) for m in _months(month, last)))
        for month in sorted(sizes)
    )


def rfm(uow: UnitOfWork, *, program: Program, start: date, end: date) -> tuple[RfmSegment, ...]:
    """Members who earned in the period by RFM segment, then those who did not (`inactive`).

    Recency is the days from the last day a member earned to `end`; frequency the earning
    transactions; monetary the spendable points earned. Recency and frequency are scored 1–5
    by fifths of the earners (ties share a score) and the scores name the segment
    (docs/metrics.md has the table).
    """
    p = period(program, start, end)
    with uow:
        activity = rollups(uow, program).activity(
            kinds=spendable_kinds(program), start=start, end=end
        )
        members = member_reports(uow, program)
        rows = {row[0]: row for row in members.rfm(activity=activity, end=end)}
        total, _ = members.counts(since=p.since, until=p.until)
    segments = [
        RfmSegment(name, *rows[name][1:]) if name in rows else RfmSegment(name, 0, None, None, None)
        for name, _ in SEGMENTS
    ]
    earners = sum(s.members for s in segments)
    segments.append(RfmSegment(INACTIVE, total - earners, None, None, None))
    return tuple(segments)


def rfm_grid(uow: UnitOfWork, *, program: Program, start: date, end: date) -> tuple[RfmCell, ...]:
    """Earners of the period per recency × frequency score, the cells `rfm` groups into segments.

    Only cells with members are returned, by R then F.
    """
    period(program, start, end)
    with uow:
        activity = rollups(uow, program).activity(
            kinds=spendable_kinds(program), start=start, end=end
        )
        rows = member_reports(uow, program).rfm_grid(activity=activity, end=end)
    return tuple(RfmCell(*row) for row in sorted(rows))
