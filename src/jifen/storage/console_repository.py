"""SQL for the console's lists: a member's redemptions and orders, recent orders, job runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from jifen.storage.mall_repository import MallOrder
from jifen.storage.mall_repository import _order as order_record
from jifen.storage.redemption_repository import RedemptionRecord
from jifen.storage.rows import from_row
from jifen.storage.tables import job_runs, mall_orders, redemptions


@dataclass(frozen=True, slots=True)
class JobRun:
    """One finished step of a job for a day, with the figures it recorded."""

    job: str
    as_of: date
    step: str
    figures: dict[str, Any]


class ConsoleRepository:
    """Lists the console shows beside what the other repositories already read."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def redemptions_of(self, member_id: int, *, limit: int) -> list[RedemptionRecord]:
        """The member's redemptions, newest first."""
        r = redemptions.c
        query = (
            select(redemptions)
            .where(r.member_id == member_id)
            .order_by(r.created_at.desc(), r.id.desc())
            .limit(limit)
        )
        return [from_row(RedemptionRecord, row) for row in self.connection.execute(query)]

    def recent_orders(self, *, limit: int) -> list[MallOrder]:
        """Every member's mall orders, newest first."""
        o = mall_orders.c
        query = select(mall_orders).order_by(o.created_at.desc(), o.id.desc()).limit(limit)
        return [order_record(row) for row in self.connection.execute(query)]

    def order_counts(self) -> dict[str, tuple[int, int]]:
        """Orders and the points they carry, per status."""
        o = mall_orders.c
        query = select(o.status, func.count(), func.coalesce(func.sum(o.points), 0)).group_by(
            o.status
        )
        return {
            status: (int(n), int(points)) for status, n, points in self.connection.execute(query)
        }

    def job_runs(self, *, days: int) -> list[JobRun]:
        """The finished steps of the latest `days` days any job ran for, newest day first."""
        j = job_runs.c
        latest = select(j.as_of).group_by(j.as_of).order_by(j.as_of.desc()).limit(days).subquery()
        query = (
            select(j.job, j.as_of, j.step, j.figures)
            .where(j.as_of.in_(select(latest.c.as_of)))
            .order_by(j.as_of.desc(), j.id)
        )
        return [
            JobRun(job, as_of, step, dict(figures or {}))
            for job, as_of, step, figures in self.connection.execute(query)
        ]
