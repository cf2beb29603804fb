"""The earning-rule engine: SPEC railway numbers, exclusive groups, caps, multipliers, calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jifen.domain.earning_rules import EarningRule
from jifen.domain.rules import EventFacts, MemberFacts, Pricing, price_event, ride_points
from jifen.programs import schema
from jifen.programs.loader import load_preset

RAILWAY_RULES = load_preset("railway").all_earning_rules()
RETAIL_RULES = load_preset("retail").all_earning_rules()
FARE = 55_350  # ¥553.50


def travel(*, on: date = date(2025, 11, 1), fare_fen: int = FARE, **changes: Any) -> EventFacts:
    event = EventFacts(
        type="ticket.travelled",
        occurred_at=datetime(on.year, on.month, on.day, 9, 30),  # noqa: DTZ001 - local time
        fare_fen=fare_fen,
        ticket_type="adult",
        train_participating=True,
        train_international=False,
        train_tourist=False,
        issue="normal",
        payment="cash",
        real_name=True,
    )
    return replace(event, **changes)


def member(*, born: date, id_type: str = "resident_id", **changes: Any) -> MemberFacts:
    return replace(MemberFacts(member_id=7, birth_date=born, id_type=id_type), **changes)


def ride(event: EventFacts, rider: MemberFacts) -> int:
    pricing = price_event(rules=RAILWAY_RULES, event=event, member=rider)
    assert pricing.points.get("upgrade") == pricing.points.get("ride")
    return pricing.points.get("ride", 0)


def make_rule(code: str, **fields: Any) -> EarningRule:
    """A rule as a program file would write it (name = code, 5× the fare unless told)."""
    data: dict[str, Any] = {
        "code": code,
        "name": code,
        "on": "ticket.travelled",
        "effect": {"kind": "ride", "rate_per_yuan": 5},
    }
    return schema.EarningRule.model_validate(data | fields).record()


ADULT = date(1985, 6, 1)
SENIOR = date(1960, 1, 15)  # 65 in 2025
YOUNG = date(2005, 3, 3)  # 20 in 2025


class TestRailwayPreset:
    def test_fare_at_5x_is_half_up_to_a_whole_point(self) -> None:
        assert ride_points(FARE, 5) == 2_768
        assert ride(travel(), member(born=ADULT)) == 2_768

    def test_explains_the_credit(self) -> None:
        pricing = price_event(rules=RAILWAY_RULES, event=travel(), member=member(born=ADULT))

        assert pricing.points == {"ride": 2_768, "upgrade": 2_768}
        own, upgrade = pricing.lines
        assert own.rule_code == "ride_base_5x"
        assert "¥553.50 × 5 = 2,768 ride points" in own.explanation
        assert (upgrade.kind, upgrade.points, upgrade.mirrored) == ("upgrade", 2_768, True)
        assert pricing.by_rule() == {"ride_base_5x": 2_768}

    def test_senior_gets_15x_from_2025_04_01(self) -> None:
        senior = member(born=SENIOR)

        assert ride(travel(on=date(2025, 4, 1)), senior) == 8_303
        assert ride(travel(on=date(2025, 3, 31)), senior) == 2_768

    def test_senior_gets_5x_on_a_tourist_train(self) -> None:
        assert ride(travel(train_tourist=True), member(born=SENIOR)) == 2_768

    def test_senior_with_a_passport_gets_5x(self) -> None:
        assert ride(travel(), member(born=SENIOR, id_type="passport")) == 2_768

    def test_young_member_gets_10x_from_2025_10_20(self) -> None:
        young = member(born=YOUNG)

        assert ride(travel(on=date(2025, 10, 20)), young) == 5_535
        assert ride(travel(on=date(2025, 10, 19)), young) == 2_768

    def test_young_member_gets_5x_on_a_student_ticket(self) -> None:
        assert ride(travel(ticket_type="student"), member(born=YOUNG)) == 2_768

    def test_young_member_with_a_passport_gets_5x(self) -> None:
        assert ride(travel(), member(born=YOUNG, id_type="passport")) == 2_768

    @pytest.mark.parametrize(
        ("born", "expected"),
        [
            (date(1965, 11, 1), 8_303),  # 60 on the travel date
            (date(1965, 11, 2), 2_768),  # 59, turns 60 the next day
            (date(1997, 11, 2), 5_535),  # 28, turns 29 the next day
            (date(1996, 11, 1), 2_768),  # 29 on the travel date
            (date(2011, 11, 1), 5_535),  # 14 on the travel date
            (date(2011, 11, 2), 2_768),  # 13, turns 14 the next day
        ],
    )
    def test_age_is_taken_on_the_travel_date(self, born: date, expected: int) -> None:
        assert ride(travel(on=date(2025, 11, 1)), member(born=born)) == expected

    def test_a_member_whose_birth_date_was_erased_earns_the_base_rate(self) -> None:
        erased = replace(member(born=SENIOR), birth_date=None)

        assert ride(travel(on=date(2025, 11, 1)), erased) == 2_768

    @pytest.mark.parametrize(
        "changes",
        [
            {"real_name": False},
            {"train_participating": False},
            {"train_international": True},
            {"issue": "substitute"},
            {"issue": "on_board"},
            {"payment": "points"},
            {"train_participating": None},
        ],
    )
    def test_nothing_for_tickets_that_do_not_earn(self, changes: dict[str, Any]) -> None:
        pricing = price_event(
            rules=RAILWAY_RULES, event=travel(**changes), member=member(born=SENIOR)
        )

        assert pricing == Pricing(points={}, lines=())

    def test_other_event_types_earn_nothing_from_ride_rules(self) -> None:
        purchase = travel(type="ticket.purchased")

        assert (
            price_event(rules=RAILWAY_RULES, event=purchase, member=member(born=ADULT)).points == {}
        )

    def test_activity_points_are_what_the_event_reports(self) -> None:
        event = EventFacts(
            type="activity.completed",
            occurred_at=datetime(2025, 5, 1, 10),  # noqa: DTZ001
            activity="survey",
            points=200,
        )

        pricing = price_event(rules=RAILWAY_RULES, event=event, member=member(born=ADULT))

        assert pricing.points == {"activity": 200}


class TestExclusiveGroups:
    def test_the_rule_giving_most_points_wins(self) -> None:
        rules = [
            make_rule("five", exclusive_group="x", priority=30),
            make_rule("fifteen", exclusive_group="x", effect={"kind": "ride", "rate_per_yuan": 15}),
            make_rule("ten", exclusive_group="x", effect={"kind": "ride", "rate_per_yuan": 10}),
        ]

        pricing = price_event(rules=rules, event=travel(), member=member(born=ADULT))

        assert [line.rule_code for line in pricing.lines] == ["fifteen"]
        assert pricing.points == {"ride": 8_303}
        assert "best of exclusive group x" in pricing.lines[0].explanation

    def test_a_tie_goes_to_the_higher_priority(self) -> None:
        rules = [
            make_rule("low", exclusive_group="x", priority=1),
            make_rule("high", exclusive_group="x", priority=9),
        ]

        pricing = price_event(rules=rules, event=travel(), member=member(born=ADULT))

        assert [line.rule_code for line in pricing.lines] == ["high"]

    def test_caps_count_before_choosing(self) -> None:
        rules = [
            make_rule("five", exclusive_group="x"),
            make_rule(
                "capped_fifteen",
                exclusive_group="x",
                effect={"kind": "ride", "rate_per_yuan": 15},
                caps={"per_event": 1_000},
            ),
        ]

        pricing = price_event(rules=rules, event=travel(), member=member(born=ADULT))

        assert pricing.by_rule() == {"five": 2_768}

    def test_rules_outside_a_group_add_up(self) -> None:
        rules = [
            make_rule("five"),
            make_rule("bonus", effect={"kind": "ride", "fixed_points": 100}),
        ]

        pricing = price_event(rules=rules, event=travel(), member=member(born=ADULT))

        assert pricing.points == {"ride": 2_868}


class TestCaps:
    def test_per_event_cap(self) -> None:
        rules = [make_rule("five", caps={"per_event": 1_000})]

        pricing = price_event(rules=rules, event=travel(), member=member(born=ADULT))

        assert pricing.points == {"ride": 1_000}
        assert "capped at 1,000 per event" in pricing.lines[0].explanation

    def test_per_day_cap_counts_what_the_rule_gave_today(self) -> None:
        rules = [make_rule("five", caps={"per_day": 3_000})]
        rider = member(born=ADULT, earned_today={"five": 2_500, "other": 99_999})

        pricing = price_event(rules=rules, event=travel(), member=rider)

        assert pricing.points == {"ride": 500}
        assert "2,500 already earned" in pricing.lines[0].explanation

    def test_per_month_cap_leaves_nothing_once_reached(self) -> None:
        rules = [make_rule("five", caps={"per_month": 3_000})]
        rider = member(born=ADULT, earned_this_month={"five": 3_000})

        pricing = price_event(rules=rules, event=travel(), member=rider)

        assert pricing.points == {}
        assert pricing.lines[0].points == 0

    def test_retail_review_daily_cap(self) -> None:
        review = EventFacts(
            type="activity.completed",
            occurred_at=datetime(2025, 5, 1, 10),  # noqa: DTZ001
            activity="review",
        )
        rider = member(born=ADULT, earned_today={"activity_review": 45})

        pricing = price_event(rules=RETAIL_RULES, event=review, member=rider)

        assert pricing.points == {"points": 5}


class TestRetailPreset:
    def order(self, *, fen: int, on: date = date(2025, 1, 5)) -> EventFacts:
        moment = datetime(on.year, on.month, on.day, 12)  # noqa: DTZ001
        return EventFacts(type="order.paid", occurred_at=moment, fare_fen=fen)

    def test_one_point_per_yuan(self) -> None:
        pricing = price_event(
            rules=RETAIL_RULES, event=self.order(fen=12_345), member=member(born=ADULT)
        )

        assert pricing.points == {"points": 123}

    def test_tier_and_birthday_multipliers_add_up(self) -> None:
        gold = member(born=date(1990, 1, 20), tier="gold")

        pricing = price_event(rules=RETAIL_RULES, event=self.order(fen=10_000), member=gold)

        assert pricing.by_rule() == {
            "order_base": 100,
            "tier_gold_bonus": 50,
            "birthday_double": 100,
        }
        assert pricing.points == {"points": 250}

    def test_no_birthday_double_without_a_birth_date(self) -> None:
        erased = replace(member(born=date(1990, 1, 20), tier="normal"), birth_date=None)

        pricing = price_event(rules=RETAIL_RULES, event=self.order(fen=10_000), member=erased)

        assert pricing.points == {"points": 100}

    def test_birthday_double_only_in_the_birthday_month(self) -> None:
        normal = member(born=date(1990, 2, 1), tier="normal")

        pricing = price_event(rules=RETAIL_RULES, event=self.order(fen=10_000), member=normal)

        assert pricing.points == {"points": 100}

    def test_sign_in_points_are_kept_within_their_range(self) -> None:
        def sign_in(points: int) -> dict[str, int]:
            event = EventFacts(
                type="activity.completed",
                occurred_at=datetime(2025, 5, 1, 8),  # noqa: DTZ001
                activity="sign_in",
                points=points,
            )
            return price_event(rules=RETAIL_RULES, event=event, member=member(born=ADULT)).points

        assert sign_in(3) == {"points": 3}
        assert sign_in(9) == {"points": 5}
        assert sign_in(0) == {}

    def test_unknown_activity_earns_nothing(self) -> None:
        event = EventFacts(
            type="activity.completed",
            occurred_at=datetime(2025, 5, 1, 8),  # noqa: DTZ001
            activity="dance",
            points=5,
        )

        assert price_event(rules=RETAIL_RULES, event=event, member=member(born=ADULT)).points == {}


class TestConditions:
    def test_date_range_is_inclusive(self) -> None:
        rules = [make_rule("may", conditions={"from_date": "2025-05-01", "to_date": "2025-05-31"})]

        def earns(day: date) -> bool:
            return bool(
                price_event(rules=rules, event=travel(on=day), member=member(born=ADULT)).points
            )

        assert [earns(date(2025, 4, 30)), earns(date(2025, 5, 1))] == [False, True]
        assert [earns(date(2025, 5, 31)), earns(date(2025, 6, 1))] == [True, False]

    def test_weekdays_are_iso(self) -> None:
        rules = [make_rule("weekend", conditions={"weekdays": [6, 7]})]

        saturday = price_event(
            rules=rules, event=travel(on=date(2025, 11, 1)), member=member(born=ADULT)
        )
        monday = price_event(
            rules=rules, event=travel(on=date(2025, 11, 3)), member=member(born=ADULT)
        )

        assert (bool(saturday.points), bool(monday.points)) == (True, False)

    @pytest.mark.parametrize(("hour", "earns"), [(21, False), (22, True), (2, True), (6, False)])
    def test_hours_may_run_past_midnight(self, hour: int, earns: bool) -> None:
        rules = [make_rule("night", conditions={"hours": [22, 6]})]
        event = replace(travel(), occurred_at=datetime(2025, 11, 1, hour, 15))  # noqa: DTZ001

        assert (
            bool(price_event(rules=rules, event=event, member=member(born=ADULT)).points) is earns
        )

    def test_segments_and_tiers(self) -> None:
        rules = [make_rule("vip", conditions={"segment_in": ["vip"], "tier_in": ["star4"]})]

        def earns(rider: MemberFacts) -> bool:
            return bool(price_event(rules=rules, event=travel(), member=rider).points)

        assert earns(member(born=ADULT, tier="star4", segments=frozenset({"vip", "commuter"})))
        assert not earns(member(born=ADULT, tier="star3", segments=frozenset({"vip"})))
        assert not earns(member(born=ADULT, tier="star4"))


KINDS = ("ride", "bonus")


EFFECTS = st.one_of(
    st.tuples(st.just("earn"), st.builds(dict, rate_per_yuan=st.integers(1, 20))),
    st.tuples(st.just("earn"), st.builds(dict, fixed_points=st.integers(1, 500))),
    st.tuples(
        st.just("earn"),
        st.builds(
            dict,
            event_points=st.builds(
                dict, min_points=st.integers(1, 5), max_points=st.integers(5, 50)
            ),
        ),
    ),
    st.tuples(st.just("multiply"), st.builds(dict, multiplier_percent=st.integers(101, 300))),
)
CAPS = st.fixed_dictionaries(
    {},
    optional={
        "per_event": st.integers(1, 5_000),
        "per_day": st.integers(1, 5_000),
        "per_month": st.integers(1, 50_000),
    },
)


@st.composite
def rules_strategy(draw: st.DrawFn) -> list[EarningRule]:
    """Rules of two kinds; alternatives in a group share kind and family, as programs must."""
    rules = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(KINDS))
        family, effect = draw(EFFECTS)
        rules.append(
            make_rule(
                f"r{index}",
                priority=draw(st.integers(-5, 5)),
                exclusive_group=f"{family}_{kind}" if draw(st.booleans()) else None,
                effect={"kind": kind, **effect},
                caps=draw(CAPS),
            )
        )
    return rules


events = st.builds(
    travel,
    fare_fen=st.integers(-10_000, 10_000_000),
    points=st.integers(-10, 100),
)
members = st.builds(
    member,
    born=st.dates(date(1920, 1, 1), date(2020, 12, 31)),
    earned_today=st.dictionaries(st.sampled_from(["r0", "r1", "r2"]), st.integers(-10, 6_000)),
    earned_this_month=st.dictionaries(st.sampled_from(["r0", "r3"]), st.integers(-10, 60_000)),
)


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy(), event=events, rider=members)
def test_pricing_is_never_negative_and_groups_never_sum(
    rules: list[EarningRule], event: EventFacts, rider: MemberFacts
) -> None:
    pricing = price_event(rules=rules, event=event, member=rider)

    assert all(line.points >= 0 for line in pricing.lines)
    assert all(points > 0 for points in pricing.points.values())
    groups = {rule.code: rule.exclusive_group for rule in rules}
    applied = [groups[line.rule_code] for line in pricing.lines if not line.mirrored]
    grouped = [group for group in applied if group is not None]
    assert len(grouped) == len(set(grouped))
    for rule in rules:
        if rule.exclusive_group and rule.exclusive_group.startswith("earn"):
            alone = price_event(rules=[rule], event=event, member=rider).by_rule()
            assert alone.get(rule.code, 0) <= pricing.by_rule().get(
                _winner(pricing, groups, rule.exclusive_group), 0
            )


def _winner(pricing: Pricing, groups: dict[str, str | None], group: str) -> str:
    return next(line.rule_code for line in pricing.lines if groups[line.rule_code] == group)
