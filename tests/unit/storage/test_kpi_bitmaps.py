"""The monthly earner bitmaps: once and twice across batches and months (pure, no database)."""

from __future__ import annotations

from datetime import date

from jifen.storage.analytics_months import Earners
from jifen.storage.analytics_repository import whole_months


def members(bits: int) -> set[int]:
    return {n for n in range(bits.bit_length()) if bits >> n & 1}


def test_two_earnings_in_one_batch_make_a_repeat() -> None:
    e = Earners.of([(3, 1), (5, 2), (9, 1), (9, 1)])
    assert (members(e.once), members(e.twice)) == ({3, 5, 9}, {5, 9})


def test_one_earning_in_each_of_two_batches_makes_a_repeat() -> None:
    january, february = Earners.of([(1, 1), (2, 1)]), Earners.of([(2, 1), (7, 1)])
    both = january.then(february)
    assert (members(both.once), members(both.twice)) == ({1, 2, 7}, {2})
    assert both.once.bit_count() == 3


def test_nothing_then_something_is_something() -> None:
    some = Earners.of([(4, 3)])
    assert Earners().then(some) == some == some.then(Earners())


def test_whole_months_inside_a_period() -> None:
    assert [m for m, _, _ in whole_months(date(2025, 1, 15), date(2025, 4, 30))] == [
        "2025-02",
        "2025-03",
        "2025-04",
    ]
    assert whole_months(date(2025, 2, 1), date(2025, 2, 27)) == []
    assert whole_months(date(2024, 12, 1), date(2025, 1, 31))[1] == (
        "2025-01",
        date(2025, 1, 1),
        date(2025, 1, 31),
    )
