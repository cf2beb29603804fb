"""Days and periods for accounting: program-local days, their bounds, and the refusals."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program

MAX_JOURNAL_DAYS = 366
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


class InvalidPeriod(JifenError):
    """A date or period accounting cannot report on (reversed, too long, out of range)."""

    code = "invalid_period"
    status = 422


def check_day(day: date, name: str = "as_of") -> date:
    """Refuse days outside 1900–2200 (a typo, not a period anyone closes)."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidPeriod(
            f"`{name}` must be a date from {EARLIEST} to {LATEST}, not {day}.", **{name: str(day)}
        )
    return day


def check_period(start: date, end: date) -> None:
    """Refuse a journal period that is reversed or longer than `MAX_JOURNAL_DAYS`."""
    check_day(start, "from")
    check_day(end, "to")
    if end < start or (end - start).days + 1 > MAX_JOURNAL_DAYS:
        raise InvalidPeriod(
            f"The period {start}..{end} is not valid: `to` must not be before `from`, and a "
            f"journal covers at most {MAX_JOURNAL_DAYS} days (export a year at a time).",
            start=str(start),
            end=str(end),
        )


def day_start(program: Program, day: date) -> datetime:
    """Midnight at the start of `day` in the program's time zone."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(program.timezone))


def end_of_day(program: Program, day: date) -> datetime:
    """The first instant after `day` in the program's time zone (exclusive bound)."""
    return day_start(program, day + timedelta(days=1))


def spendable_kinds(program: Program) -> list[str]:
    """The point kinds that count: spendable ones (tier-only kinds are never a liability)."""
    return sorted(k.code for k in program.point_kinds if k.spendable)
