"""The recommender's pure parts on tiny hand-made histories with hand-computed answers."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from jifen.demo.mall import GROUPS, basket
from jifen.domain.offpeak import off_peak, route_habits, suggest
from jifen.domain.recommend import (
    Holdout,
    Scored,
    co_occurrence,
    hit_rate,
    leave_last_out,
    most_popular,
    popularity,
    similar_items,
    without,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HISTORIES = [
    {"tea", "pot"},
    {"tea", "pot"},
    {"tea", "cup"},
    {"phone", "cable"},
    {"phone", "cable"},
    {"phone", "cable", "umbrella"},
    {"umbrella"},
    {"umbrella"},
]


def test_popularity_counts_each_member_once():
    assert popularity([["tea", "tea", "pot"], ["tea"]]) == {"tea": 2, "pot": 1}


def test_co_occurrence_counts_members_holding_both():
    pairs = co_occurrence(HISTORIES)
    assert pairs[("pot", "tea")] == 2
    assert pairs[("cup", "tea")] == 1
    assert pairs[("cable", "phone")] == 3
    assert ("cup", "pot") not in pairs


def test_recommends_what_holders_of_the_same_item_bought_then_fills_with_popular():
    counts, pairs = popularity(HISTORIES), co_occurrence(HISTORIES)
    top = similar_items({"tea"}, pairs=pairs, counts=counts, k=3)
    # pot: 2 / sqrt(3 * 2) = 0.816497; cup: 1 / sqrt(3 * 1) = 0.57735; then the most popular
    # item not yet named (cable, phone and umbrella are each held by 3: by name, cable).
    assert top == [Scored("pot", 0.816497), Scored("cup", 0.57735), Scored("cable", 0.0)]
    assert most_popular(counts, k=2, exclude={"tea"}) == [
        Scored("cable", 3.0),
        Scored("phone", 3.0),
    ]


def test_a_bestseller_does_not_win_merely_by_being_everywhere():
    histories = [{"a", "b"}, {"a", "b", "best"}, {"a", "best"}, {"a", "best"}]
    histories += [{"best"}] * 6
    counts, pairs = popularity(histories), co_occurrence(histories)
    top = similar_items({"a"}, pairs=pairs, counts=counts, k=2)
    # b: 2 / sqrt(4 * 2) = 0.707107 beats best: 3 / sqrt(4 * 9) = 0.5 though best co-occurs more.
    assert top == [Scored("b", 0.707107), Scored("best", 0.5)]


def test_leaves_out_owned_items_and_keeps_to_the_allowed_ones():
    counts, pairs = popularity(HISTORIES), co_occurrence(HISTORIES)
    top = similar_items({"tea", "pot"}, pairs=pairs, counts=counts, k=5, allowed={"cup", "phone"})
    assert [s.item for s in top] == ["cup", "phone"]


def test_leave_last_out_holds_out_the_latest_item_of_members_with_two_or_more():
    timelines = {2: ["a"], 1: ["a", "b", "c"]}
    cases = leave_last_out(timelines)
    assert cases == [Holdout(1, frozenset({"a", "b"}), "c")]
    assert without(timelines, cases) == {1: {"a", "b"}, 2: {"a"}}


def test_hit_rate_counts_held_out_items_in_the_top_k():
    cases = [Holdout(1, frozenset({"a"}), "b"), Holdout(2, frozenset({"a"}), "c")]
    ranked = [Scored("b", 2.0), Scored("x", 1.0), Scored("c", 0.5)]
    result = hit_rate(cases, lambda _: ranked, k=2)
    assert (result.hits, result.cases, result.rate) == (1, 2, 0.5)
    assert hit_rate([], lambda _: ranked, k=2).rate == 0.0


def test_peak_hours_carry_half_the_departures_and_quiet_days_are_below_average():
    # 100 departures: 50 at 08:00 on Mondays, 30 at 18:00 and 10 each at 12:00 and 22:00 on Fridays.
    quiet = off_peak({(0, 8): 50, (4, 18): 30, (4, 12): 10, (4, 22): 10})
    assert quiet.hours == {12, 18, 22}  # 08:00 alone carries half
    assert quiet.days == {1, 2, 3, 5, 6}  # Monday has 50 and Friday 50, above 100 / 7 each
    assert quiet.share(8) == 0.5


def test_suggests_the_usual_train_at_its_usual_time_on_the_next_quiet_day():
    quiet = off_peak({(0, 8): 50, (4, 18): 30, (4, 12): 10, (4, 22): 10})
    monday = datetime(2025, 12, 1, 8, 5, tzinfo=SHANGHAI)
    trips = [("G1", monday), ("G1", monday.replace(day=8)), ("G1", monday.replace(hour=9))]
    trips.append(("D5", monday.replace(day=15, hour=12, minute=0)))
    habits = route_habits(trips, k=5)
    assert [(h.route, h.trips, h.usual) for h in habits] == [
        ("G1", 3, time(8, 5)),
        ("D5", 1, time(12)),
    ]
    first = suggest(habits[0], quiet, after=date(2025, 12, 1), zone=SHANGHAI)
    assert first.suggested_departure == datetime(2025, 12, 2, 8, 5, tzinfo=SHANGHAI)  # Tuesday
    assert "08:00 is a peak hour (50% of departures)" in first.reason
    second = suggest(habits[1], quiet, after=date(2025, 12, 4), zone=SHANGHAI)  # a Thursday
    assert second.suggested_departure == datetime(2025, 12, 6, 12, tzinfo=SHANGHAI)  # Saturday
    assert "Saturday is an off-peak day and 12:00 is an off-peak hour (10%" in second.reason


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_demo_basket_leans_to_one_taste_and_never_repeats(seed):
    skus = basket(random.Random(seed), orders=7)
    assert len(set(skus)) == 7
    groups = {sku.split("-")[1] for sku in skus} - {"BEST"}
    assert len(groups) == 1
    assert groups <= set(GROUPS)
