"""SQL building blocks shared by the analytics repositories: program-local days and months.

A ledger time is stored in UTC; a report counts it on the program's local day. PostgreSQL converts
with its own time-zone database. SQLite has none, so the zone's UTC offsets over the span in
question are worked out here and written into the query (one expression for a zone without
daylight saving, such as Asia/Shanghai; a CASE over the transitions otherwise).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, case, cast, func, literal, type_coerce
from sqlalchemy.sql.elements import ColumnElement

STEP = timedelta(minutes=15)


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def offsets(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, timedelta]]:
    """The zone's UTC offset from `lo` on, with each instant up to `hi` where it changes."""
    lo, hi = lo.astimezone(UTC), hi.astimezone(UTC)
    segments = [(lo, _offset(zone, lo))]
    day = lo
    while day < hi:
        following = day + timedelta(days=1)
        if _offset(zone, following) != segments[-1][1]:
            at = day
            while _offset(zone, at) == segments[-1][1]:
                at += STEP
            segments.append((at, _offset(zone, at)))
        day = following
    return segments


def _sqlite_date(column: ColumnElement[datetime], offset: timedelta) -> ColumnElement[str]:
    minutes = int(offset.total_seconds() // 60)
    return func.date(column, f"{minutes:+d} minutes")


def local_day(
    dialect: str,
    column: ColumnElement[datetime],
    zone: ZoneInfo,
    span: tuple[datetime, datetime] | None,
) -> ColumnElement[date]:
    """The program-local date of a stored UTC time (`span`: the times it may take, for SQLite)."""
    if dialect == "postgresql":
        return cast(func.timezone(zone.key, column), Date)
    lo, hi = span or (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))
    segments = offsets(zone, lo, hi)
    if len(segments) == 1:
        return type_coerce(_sqlite_date(column, segments[0][1]), Date)
    whens = [
        (column < literal(start, type_=column.type), _sqlite_date(column, before))
        for (_, before), (start, _) in pairwise(segments)
    ]
    return type_coerce(case(*whens, else_=_sqlite_date(column, segments[-1][1])), Date)


def month_of(dialect: str, day: ColumnElement[date]) -> ColumnElement[str]:
    """`YYYY-MM` of a date column or expression."""
    if dialect == "postgresql":
        return func.to_char(day, "YYYY-MM")
    return type_coerce(func.strftime("%Y-%m", day), String)
