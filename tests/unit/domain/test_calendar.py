"""Calendar maths: calendar months, lot expiry, rolling windows and local dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.calendar import (
    add_months,
    days_in_month,
    local_date,
    local_datetime,
    lot_expiry,
    period_end,
    rolling_window_start,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 15), 1, date(2025, 4, 15)),
        (date(2025, 3, 15), 12, date(2026, 3, 15)),
        (date(2025, 11, 30), 2, date(2026, 1, 30)),
        (date(2025, 3, 15), -3, date(2024, 12, 15)),
        (date(2025, 3, 15), 0, date(2025, 3, 15)),
    ],
)
def test_add_months_moves_by_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 8, 31), 1, date(2025, 9, 30)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_add_months_from_a_leap_day_lands_on_february_28_in_a_common_year() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)


def test_days_in_month_knows_leap_years() -> None:
    assert days_in_month(2024, 2) == 29
    assert days_in_month(2025, 2) == 28
    assert days_in_month(1900, 2) == 28
    assert days_in_month(2000, 2) == 29
    assert days_in_month(2025, 12) == 31


@given(day=days, months=st.integers(min_value=-240, max_value=240))
def test_add_months_lands_in_the_right_month_and_never_after_the_same_day(
    day: date, months: int
) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, days_in_month(moved.year, moved.month))


def test_period_end_is_the_day_before_the_same_day_months_later() -> None:
    assert period_end(date(2025, 3, 15), 12) == date(2026, 3, 14)
    assert period_end(date(2025, 1, 1), 12) == date(2025, 12, 31)
    assert period_end(date(2024, 2, 29), 12) == date(2025, 2, 27)


def test_period_end_refuses_a_period_shorter_than_a_month() -> None:
    with pytest.raises(ValueError, match="at least one month"):
        period_end(date(2025, 3, 15), 0)


def test_railway_lot_expires_the_day_after_twelve_months_of_validity() -> None:
    expires = lot_expiry(date(2025, 3, 15), months_after_credit=12)

    assert expires == date(2026, 3, 15)
    assert expires - timedelta(days=1) == date(2026, 3, 14)


def test_railway_lot_credited_on_a_leap_day_expires_on_february_28() -> None:
    assert lot_expiry(date(2024, 2, 29), months_after_credit=12) == date(2025, 2, 28)


def test_railway_lot_credited_on_january_31_for_one_month_expires_at_february_end() -> None:
    assert lot_expiry(date(2025, 1, 31), months_after_credit=1) == date(2025, 2, 28)


def test_retail_lot_is_spendable_to_the_end_of_the_next_calendar_year() -> None:
    assert lot_expiry(date(2025, 6, 1), end_of_year_after=1) == date(2027, 1, 1)
    assert lot_expiry(date(2025, 12, 31), end_of_year_after=1) == date(2027, 1, 1)
    assert lot_expiry(date(2025, 1, 1), end_of_year_after=0) == date(2026, 1, 1)


def test_lot_without_an_expiry_rule_never_expires() -> None:
    assert lot_expiry(date(2025, 6, 1)) is None


def test_lot_expiry_refuses_two_rules_at_once() -> None:
    with pytest.raises(ValueError, match="not both"):
        lot_expiry(date(2025, 6, 1), months_after_credit=12, end_of_year_after=1)


@pytest.mark.parametrize(
    "kwargs", [{"months_after_credit": 0}, {"end_of_year_after": -1}], ids=["months", "years"]
)
def test_lot_expiry_refuses_a_rule_that_expires_at_or_before_credit(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="lot"):
        lot_expiry(date(2025, 6, 1), **kwargs)


def test_last_twelve_months_start_the_day_after_the_same_date_a_year_before() -> None:
    assert rolling_window_start(date(2026, 3, 14), 12) == date(2025, 3, 15)
    assert rolling_window_start(date(2025, 12, 31), 12) == date(2025, 1, 1)


def test_last_twelve_months_ending_on_a_month_end_are_whole_calendar_months() -> None:
    assert rolling_window_start(date(2025, 2, 28), 12) == date(2024, 3, 1)
    assert rolling_window_start(date(2025, 4, 30), 1) == date(2025, 4, 1)
    assert rolling_window_start(date(2025, 2, 28), 1) == date(2025, 2, 1)


def test_the_leap_day_leaves_the_window_when_its_lot_would_expire() -> None:
    assert rolling_window_start(date(2025, 2, 27), 12) == date(2024, 2, 28)
    assert rolling_window_start(date(2025, 2, 28), 12) == date(2024, 3, 1)
    assert lot_expiry(date(2024, 2, 29), months_after_credit=12) == date(2025, 2, 28)


def test_last_twelve_months_ending_on_a_leap_day_start_on_march_1() -> None:
    assert rolling_window_start(date(2024, 2, 29), 12) == date(2023, 3, 1)
    assert rolling_window_start(date(2024, 3, 1), 12) == date(2023, 3, 2)


@given(as_of=days, months=st.integers(min_value=1, max_value=36))
def test_a_day_is_in_the_window_exactly_while_a_lot_credited_that_day_is_spendable(
    as_of: date, months: int
) -> None:
    start = rolling_window_start(as_of, months)
    last_outside = start - timedelta(days=1)

    assert start <= as_of
    assert as_of < add_months(start, months)
    assert as_of >= add_months(last_outside, months)


def test_rolling_window_refuses_less_than_a_month() -> None:
    with pytest.raises(ValueError, match="at least one month"):
        rolling_window_start(date(2025, 3, 15), 0)


def test_local_date_uses_the_wall_clock_of_the_program_zone() -> None:
    late_evening_utc = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)

    assert local_date(late_evening_utc, "Asia/Shanghai") == date(2025, 3, 15)
    assert local_date(late_evening_utc, "UTC") == date(2025, 3, 14)


def test_local_datetime_keeps_the_instant_and_changes_the_wall_clock() -> None:
    moment = datetime(2025, 3, 14, 23, 59, tzinfo=timezone(timedelta(hours=-5)))

    local = local_datetime(moment, "Asia/Shanghai")

    assert local == moment
    assert (local.date(), local.hour, local.minute) == (date(2025, 3, 15), 12, 59)
    assert local.utcoffset() == timedelta(hours=8)


def test_local_date_refuses_a_naive_moment() -> None:
    naive = datetime(2025, 3, 15, 8, 0)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="naive"):
        local_date(naive, "Asia/Shanghai")
