"""Calendar maths for points and tiers: months, lot expiry, rolling windows, local dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_ONE_DAY = timedelta(days=1)


def days_in_month(year: int, month: int) -> int:
    """The number of days in `month` (1–12) of `year`, leap years included."""
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - _ONE_DAY).day


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months (negative goes back), clamped to the month's end.

    2025-01-31 + 1 is 2025-02-28; 2024-02-29 + 12 is 2025-02-28; 2025-03-31 - 1 is 2025-02-28.
    """
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, days_in_month(year, month)))


def period_end(start: date, months: int) -> date:
    """The last day of a period of `months` calendar months that begins on `start`.

    A tier gained on 2025-03-15 and valid for 12 months is valid through 2026-03-14.
    """
    if months < 1:
        msg = f"A period lasts at least one month, not {months}."
        raise ValueError(msg)
    return add_months(start, months) - _ONE_DAY


def lot_expiry(
    credited_on: date,
    *,
    months_after_credit: int | None = None,
    end_of_year_after: int | None = None,
) -> date | None:
    """The first day a lot credited on `credited_on` can no longer be spent; None if never.

    - `months_after_credit=12` (railway, "valid for 12 months from the day it is credited"): a lot
      credited 2025-03-15 is spendable through 2026-03-14, so 2026-03-15 is returned.
    - `end_of_year_after=1` (retail, "valid to the end of the next calendar year"): a lot
      credited 2025-06-01 is spendable through 2026-12-31, so 2027-01-01 is returned; 0 means
      the end of the year of credit.
    - Neither: the lot never expires. Both at once is refused, as the rule would be ambiguous.
    """
    if months_after_credit is not None and end_of_year_after is not None:
        msg = "A lot expires either some months after credit or at a year end, not both."
        raise ValueError(msg)
    if months_after_credit is not None:
        if months_after_credit < 1:
            msg = f"A lot is valid for at least one month, not {months_after_credit}."
            raise ValueError(msg)
        return add_months(credited_on, months_after_credit)
    if end_of_year_after is not None:
        if end_of_year_after < 0:
            msg = f"A lot cannot expire before the year it is credited in ({end_of_year_after})."
            raise ValueError(msg)
        return date(credited_on.year + end_of_year_after + 1, 1, 1)
    return None


def rolling_window_start(as_of: date, months: int) -> date:
    """The first day of "the last `months` months" that end on `as_of`, both days included.

    A day `d` is in the window when `as_of` comes before `add_months(d, months)`, so points leave
    the window on the very day a lot credited with them would expire (`lot_expiry`). As of
    2026-03-14 the last 12 months start on 2025-03-15; as of 2025-02-28 they start on 2024-03-01.
    """
    if months < 1:
        msg = f"A rolling window covers at least one month, not {months}."
        raise ValueError(msg)
    # add_months(as_of, -months) is never inside the window; clamping at month ends can leave up to
    # three more days outside it (2024-01-29..31 for a one-month window ending 2024-02-28).
    start = add_months(as_of, -months) + _ONE_DAY
    while add_months(start, months) <= as_of:
        start += _ONE_DAY
    return start


def local_datetime(moment: datetime, tz: str) -> datetime:
    """The aware `moment` as wall-clock time in the IANA zone `tz` (e.g. `Asia/Shanghai`)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"A moment needs a time zone to be placed on a calendar; got naive {moment!r}."
        raise ValueError(msg)
    return moment.astimezone(ZoneInfo(tz))


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of the aware `moment` in the IANA zone `tz`."""
    return local_datetime(moment, tz).date()
