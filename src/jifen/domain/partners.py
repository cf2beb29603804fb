"""Partner arithmetic: miles into points, what a month of partner points costs, month bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date

from jifen.domain.calendar import add_months
from jifen.domain.errors import InvalidRequest

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class MilesRate:
    """`points` points for every `miles` miles; fractions of a point are dropped (rounded down)."""

    miles: int
    points: int

    def __post_init__(self) -> None:
        if self.miles <= 0 or self.points <= 0:
            msg = f"A miles rate needs positive miles and points, not {self.miles}:{self.points}."
            raise InvalidRequest(msg, field="rate")

    def points_for(self, miles: int) -> int:
        """Whole points for `miles`: 10 miles at 3:2 give 6 points (6.67 rounded down)."""
        return miles * self.points // self.miles

    @classmethod
    def parse(cls, text: str) -> MilesRate:
        """`"10:7"` is 7 points for every 10 miles; `"1:2"` is 2 points a mile."""
        miles, sep, points = text.partition(":")
        if not sep or not miles.strip().isdigit() or not points.strip().isdigit():
            msg = f"Write a miles rate as MILES:POINTS, such as 10:7, not {text!r}."
            raise InvalidRequest(msg, field="rate")
        return cls(int(miles), int(points))


def amount_owed_fen(points: int, price_per_1000_points_fen: int) -> int:
    """What `points` cost at a price per 1,000 points, in fen, half-up (away from zero).

    12,345 points at 8,000 fen per 1,000 points is 98,760 fen; 1,001 points at 5 fen per 1,000
    is 5.005 fen, so 5; 1,100 points at 5 is 5.5, so 6. A negative net (more reversed than
    credited in the month) gives a negative amount: a credit to the partner.
    """
    sign = -1 if points < 0 else 1
    return sign * ((2 * abs(points) * price_per_1000_points_fen + 1000) // 2000)


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of `YYYY-MM` and the first day of the month after."""
    found = MONTH.match(month)
    if found is None:
        msg = f"A month is written YYYY-MM, such as 2025-11, not {month!r}."
        raise InvalidRequest(msg, field="month")
    year, number = int(found.group(1)), int(found.group(2))
    if not MINYEAR <= year < MAXYEAR:  # the month after December 9999 has no date
        msg = f"A month from {MINYEAR:04d}-01 to {MAXYEAR - 1:04d}-12 is needed, not {month!r}."
        raise InvalidRequest(msg, field="month")
    start = date(year, number, 1)
    return start, add_months(start, 1)


def month_of(day: date) -> str:
    """The `YYYY-MM` a day falls in."""
    return f"{day:%Y-%m}"
