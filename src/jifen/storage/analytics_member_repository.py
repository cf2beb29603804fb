"""Set-based SQL for member analytics: joins, tiers and their movement, cohorts, RFM segments.

Cohorts and RFM read the members' earning activity the rollups give
(`AnalyticsRepository.activity`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from jifen.storage.analytics_sql import local_day, month_of
from jifen.storage.tables import members, tier_history

SCORE_EDGES = (0.2, 0.4, 0.6, 0.8)
# (segment, condition on the recency score r and frequency score f), first match wins.
SEGMENTS: tuple[tuple[str, Any], ...] = (
    ("champions", lambda r, f: and_(r >= 4, f >= 4)),
    ("at_risk", lambda r, f: and_(r <= 2, f >= 3)),
    ("loyal", lambda r, f: f >= 3),
    ("new", lambda r, f: r >= 4),
    ("needs_attention", lambda r, f: r == 3),
    ("hibernating", lambda r, f: r <= 2),
)


def _score(cume: ColumnElement[Decimal]) -> ColumnElement[int]:
    """1 to 5 by fifths of the members, ties taking the same score."""
    whens = [(cume <= edge, n) for n, edge in enumerate(SCORE_EDGES, start=1)]
    return case(*whens, else_=5)


class MemberAnalyticsRepository:
    """Member-level reports; `since`/`until` bound a period of UTC instants, days are local."""

    def __init__(self, connection: Connection, zone: ZoneInfo) -> None:
        self.connection = connection
        self.zone = zone
        self.dialect = connection.dialect.name

    def _joined_day(self, since: datetime, until: datetime) -> ColumnElement[date]:
        return local_day(self.dialect, members.c.joined_at, self.zone, (since, until))

    def counts(self, *, since: datetime, until: datetime) -> tuple[int, int]:
        """Members who joined before `until`, and those of them who joined from `since`."""
        m = members.c
        query = select(func.count(), func.count().filter(m.joined_at >= since))
        row = self.connection.execute(query.where(m.joined_at < until)).one()
        return int(row[0]), int(row[1])

    def joined_by_day(self, *, since: datetime, until: datetime) -> dict[date, int]:
        """Members who joined, per local day."""
        day = self._joined_day(since, until)
        m = members.c
        query = (
            select(day, func.count())
            .where(and_(m.joined_at >= since, m.joined_at < until))
            .group_by(day)
        )
        return {d: int(n) for d, n in self.connection.execute(query)}

    def _tier_on(self, day: date) -> Subquery:
        """Each member's latest tier decision up to `day`: member_id, code."""
        h = tier_history.c
        order = (h.decided_on.desc(), h.id.desc())
        n = func.row_number().over(partition_by=h.member_id, order_by=order)
        ranked = select(h.member_id, h.new_code, n.label("n")).where(h.decided_on <= day)
        ranked_q = ranked.subquery()
        return (
            select(ranked_q.c.member_id, ranked_q.c.new_code.label("code"))
            .where(ranked_q.c.n == 1)
            .subquery()
        )

    def tiers_on(self, *, day: date, until: datetime, join_tier: str) -> dict[str, int]:
        """Members per tier on `day`, of those who joined before `until` (the next midnight)."""
        latest = self._tier_on(day)
        code = func.coalesce(latest.c.code, join_tier)
        query = (
            select(code, func.count())
            .select_from(members.outerjoin(latest, latest.c.member_id == members.c.id))
            .where(members.c.joined_at < until)
            .group_by(code)
        )
        return {c: int(n) for c, n in self.connection.execute(query)}

    def tier_moves(
        self, *, before: date, end: date, since: datetime, until: datetime, join_tier: str
    ) -> list[tuple[str | None, str, int]]:
        """(tier on `before` or None for members who joined in the period, tier on `end`, n)."""
        old, new = self._tier_on(before).alias("old"), self._tier_on(end).alias("new")
        m = members.c
        was = case((m.joined_at < since, func.coalesce(old.c.code, join_tier)), else_=null())
        now = func.coalesce(new.c.code, join_tier)
        joined = members.outerjoin(old, old.c.member_id == m.id).outerjoin(
            new, new.c.member_id == m.id
        )
        query = (
            select(was, now, func.count())
            .select_from(joined)
            .where(m.joined_at < until)
            .group_by(was, now)
        )
        return [(a, b, int(n)) for a, b, n in self.connection.execute(query)]

    def cohorts(
        self, *, activity: Subquery, since: datetime, until: datetime
    ) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """Members per join month in the period, and those of each who earned, per month."""
        m = members.c
        cohort = month_of(self.dialect, self._joined_day(since, until))
        joined = and_(m.joined_at >= since, m.joined_at < until)
        sizes = select(cohort, func.count()).where(joined).group_by(cohort)
        month = month_of(self.dialect, activity.c.day)
        active = (
            select(cohort, month, func.count(distinct(activity.c.member_id)))
            .select_from(members.join(activity, activity.c.member_id == m.id))
            .where(joined)
            .group_by(cohort, month)
        )
        return (
            {c: int(n) for c, n in self.connection.execute(sizes)},
            {(c, a): int(n) for c, a, n in self.connection.execute(active)},
        )

    def _recency(self, end: date, last: ColumnElement[Any]) -> ColumnElement[int]:
        if self.dialect == "postgresql":
            return type_coerce(literal(end) - last, Integer)  # date - date is whole days
        return cast(func.julianday(literal(end)) - func.julianday(last), Integer)

    def _segmented(self, activity: Subquery, end: date) -> Subquery:
        """Each earner: member_id, recency, frequency, monetary, scores r and f, and segment."""
        a = activity.c
        per_member = (
            select(
                a.member_id,
                self._recency(end, func.max(a.day)).label("recency"),
                func.sum(a.earnings).label("frequency"),
                func.sum(a.points).label("monetary"),
            )
            .group_by(a.member_id)
            .subquery()
        )
        p = per_member.c
        scored = select(
            p.member_id,
            p.recency,
            p.frequency,
            p.monetary,
            _score(func.cume_dist().over(order_by=p.recency.desc())).label("r"),
            _score(func.cume_dist().over(order_by=p.frequency)).label("f"),
        ).subquery()
        s = scored.c
        segment = case(*[(rule(s.r, s.f), name) for name, rule in SEGMENTS], else_="hibernating")
        return select(
            s.member_id, s.recency, s.frequency, s.monetary, s.r, s.f, segment.label("segment")
        ).subquery()

    def rfm(self, *, activity: Subquery, end: date) -> list[tuple[str, int, float, float, float]]:
        """(segment, members, mean recency in days, mean earnings, mean points) of earners."""
        s = self._segmented(activity, end).c
        query = select(
            s.segment,
            func.count(),
            func.avg(s.recency),
            func.avg(s.frequency),
            func.avg(s.monetary),
        ).group_by(s.segment)
        return [
            (name, int(n), float(r), float(f), float(m))
            for name, n, r, f, m in self.connection.execute(query)
        ]

    def rfm_grid(self, *, activity: Subquery, end: date) -> list[tuple[int, int, str, int, float]]:
        """(R score, F score, segment, members, mean points) of earners, per scored cell."""
        s = self._segmented(activity, end).c
        query = select(s.r, s.f, s.segment, func.count(), func.avg(s.monetary)).group_by(
            s.r, s.f, s.segment
        )
        return [
            (int(r), int(f), name, int(n), float(m))
            for r, f, name, n, m in self.connection.execute(query)
        ]

    def rfm_members(self, *, activity: Subquery, end: date) -> Select[tuple[int, str]]:
        """(member_id, segment) of every earner, scored as `rfm` scores them."""
        s = self._segmented(activity, end).c
        return select(s.member_id, s.segment)
