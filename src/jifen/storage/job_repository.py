"""Set-based SQL for the daily job: due lots and their expiry, tier candidates, reminders, steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from jifen.storage.tables import (
    job_runs,
    lots,
    members,
    reminders,
)


class JobRepository:
    """Queries of the daily job, each over the whole membership at once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def step_done(self, *, job: str, as_of: date, step: str) -> dict[str, Any] | None:
        """The figures of a step already completed for this day, if it was."""
        j = job_runs.c
        query = select(j.figures).where(and_(j.job == job, j.as_of == as_of, j.step == step))
        return self.connection.execute(query).scalar_one_or_none()

    def finish_step(self, *, job: str, as_of: date, step: str, figures: dict[str, Any]) -> None:
        """Record that a step completed for this day, with what it did."""
        self.connection.execute(
            insert(job_runs).values(job=job, as_of=as_of, step=step, figures=figures)
        )

    def due_lots(
        self, *, kinds: Sequence[str], as_of: date, after_id: int, limit: int
    ) -> list[int]:
        """Ids of lots of these kinds whose expiry date has come and that still hold points."""
        l_ = lots.c
        query = (
            select(l_.id)
            .where(
                and_(
                    l_.kind.in_(list(kinds)),
                    l_.expires_on <= as_of,
                    l_.remaining > 0,
                    l_.id > after_id,
                )
            )
            .order_by(l_.id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())

    def tier_candidates(
        self,
        *,
        kinds: Sequence[str],
        since: date,
        as_of: date,
        thresholds: Sequence[tuple[str, int]],
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[tuple[int, str, date | None, bool, int]]:
        """Members whose tier may change today, with their qualifying points.

        A member is a candidate when the points in the window support a higher tier than the
        current one, or the current tier has lapsed, or the member is in a grace period.
        Returns `(member_id, tier_code, valid_until, in_grace, points)` rows.
        """
        l_, m = lots.c, members.c
        points = (
            select(l_.member_id, func.sum(l_.remaining).label("points"))
            .where(and_(l_.kind.in_(list(kinds)), l_.credited_on >= since, l_.credited_on <= as_of))
            .group_by(l_.member_id)
            .subquery()
        )
        qualifying = func.coalesce(points.c.points, 0)
        supported = case(
            *[
                (qualifying >= threshold, rank)
                for rank, (_code, threshold) in reversed(list(enumerate(thresholds)))
            ],
            else_=0,
        )
        current = case(
            *[(m.tier_code == code, rank) for rank, (code, _t) in enumerate(thresholds)], else_=0
        )
        query = (
            select(m.id, m.tier_code, m.tier_valid_until, m.tier_in_grace, qualifying)
            .select_from(members.outerjoin(points, points.c.member_id == m.id))
            .where(
                and_(
                    m.id > after_id,
                    m.status == "active",
                    m.tier_code.is_not(None),
                    or_(supported > current, m.tier_valid_until < as_of, m.tier_in_grace),
                )
            )
            .order_by(m.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [tuple(row) for row in self.connection.execute(query)]

    def tiers_expiring(
        self, *, kinds: Sequence[str], since: date, after: date, until: date
    ) -> list[tuple[int, str, date, int]]:
        """Active members whose tier's last valid day is in `(after, until]`, with their points.

        Returns `(member_id, tier_code, valid_until, qualifying_points)` rows, the points being
        those of `kinds` credited from `since` to `after`, in one pass over the lots.
        """
        l_, m = lots.c, members.c
        points = (
            select(l_.member_id, func.sum(l_.remaining).label("points"))
            .where(and_(l_.kind.in_(list(kinds)), l_.credited_on >= since, l_.credited_on <= after))
            .group_by(l_.member_id)
            .subquery()
        )
        query = (
            select(m.id, m.tier_code, m.tier_valid_until, func.coalesce(points.c.points, 0))
            .select_from(members.outerjoin(points, points.c.member_id == m.id))
            .where(
                and_(
                    m.status == "active",
                    m.tier_code.is_not(None),
                    m.tier_valid_until > after,
                    m.tier_valid_until <= until,
                )
            )
            .order_by(m.id)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in self.connection.execute(query)]

    def queue_reminders(self, *, kinds: Sequence[str], as_of: date, until: date) -> int:
        """Queue one reminder per member, kind and expiry date in `(as_of, until]`, once each.

        Returns how many reminders were queued on `as_of`.
        """
        l_ = lots.c
        due = (
            select(
                l_.member_id,
                l_.kind,
                l_.expires_on,
                func.sum(l_.remaining),
                literal(as_of, Date),
            )
            .where(
                and_(
                    l_.kind.in_(list(kinds)),
                    l_.expires_on > as_of,
                    l_.expires_on <= until,
                    l_.remaining > 0,
                )
            )
            .group_by(l_.member_id, l_.kind, l_.expires_on)
        )
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        columns = ["member_id", "kind", "expires_on", "points", "queued_on"]
        statement = (
            dialect.insert(reminders)
            .from_select(columns, due)
            .on_conflict_do_nothing(index_elements=["member_id", "kind", "expires_on"])
        )
        self.connection.execute(statement)
        queued = select(func.count()).where(reminders.c.queued_on == as_of)
        return int(self.connection.execute(queued).scalar_one())

    def reminders_for(self, member_id: int) -> list[tuple[str, date, int, date]]:
        """A member's queued reminders: `(kind, expires_on, points, queued_on)`."""
        r = reminders.c
        query = (
            select(r.kind, r.expires_on, r.points, r.queued_on)
            .where(r.member_id == member_id)
            .order_by(r.expires_on, r.kind)
        )
        return [tuple(row) for row in self.connection.execute(query)]
