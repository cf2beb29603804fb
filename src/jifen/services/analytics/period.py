"""A report's period of program-local days, and the program facts every analytics report needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jifen.domain.errors import InvalidRequest
from jifen.programs.schema import Program
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.analytics_member_repository import MemberAnalyticsRepository
from jifen.storage.analytics_repository import AnalyticsRepository

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Period:
    """The days `start`..`end` (both included) in the program's time zone."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.start, time(0), tzinfo=self.zone)

    @property
    def until(self) -> datetime:
        """The first instant after the period (the midnight that ends `end`)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=self.zone)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def period(program: Program, start: date, end: date) -> Period:
    """The period, refused as `invalid_request` when `end` is before `start` or it is too long."""
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidRequest(
            f"The period {start}..{end} is not valid: `to` must not be before `from`, and a "
            f"report covers at most {MAX_DAYS} days.",
            start=str(start),
            end=str(end),
        )
    return Period(start, end, ZoneInfo(program.timezone))


def spendable_kinds(program: Program) -> list[str]:
    """The point kinds members can spend (not upgrade points, which only count toward tiers)."""
    return [k.code for k in program.point_kinds if k.spendable]


def rollups(uow: UnitOfWork, program: Program) -> AnalyticsRepository:
    """The rollup repository, with days in the program's time zone (inside `with uow`)."""
    return uow.analytics(ZoneInfo(program.timezone))


def member_reports(uow: UnitOfWork, program: Program) -> MemberAnalyticsRepository:
    """The member analytics repository, days in the program's time zone (inside `with uow`)."""
    return uow.member_analytics(ZoneInfo(program.timezone))
