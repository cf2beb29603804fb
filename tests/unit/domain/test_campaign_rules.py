"""Campaign rules, without a database: targeting, the bonus, the control group and uplift."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from jifen.domain.campaigns import (
    CONTROL,
    TREATED,
    CampaignRules,
    Effect,
    InvalidCampaign,
    Sample,
    Target,
    Trip,
    arm,
    bonus,
    check_rules,
    cost_fen,
    grant,
    split,
    targets,
    uplift,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 6, 1, tzinfo=SHANGHAI)
END = datetime(2025, 7, 1, tzinfo=SHANGHAI)
SATURDAY_11 = datetime(2025, 6, 7, 11, 0, tzinfo=SHANGHAI)


def rules(
    target: Target | None = None, effect: Effect | None = None, control: int = 10
) -> CampaignRules:
    return CampaignRules(
        id="summer",
        starts_at=START,
        ends_at=END,
        target=target or Target(),
        effect=effect or Effect(kind="ride", percent=50),
        control_percent=control,
    )


def trip(
    *, departure: datetime = SATURDAY_11, train: str = "G101", tier: str = "star2", base: int = 2768
) -> Trip:
    return Trip(member_id=7, tier=tier, train_number=train, departure=departure, base_points=base)


class TestTargeting:
    def test_an_open_target_takes_every_earning_trip_in_the_window(self):
        assert targets(rules(), trip())

    def test_a_trip_outside_the_window_or_earning_nothing_is_not_targeted(self):
        assert not targets(rules(), trip(departure=END))
        assert not targets(rules(), trip(departure=datetime(2025, 5, 31, 23, tzinfo=SHANGHAI)))
        assert not targets(rules(), trip(base=0))

    def test_train_prefixes_pick_the_category_or_a_train(self):
        high_speed = rules(Target(train_prefixes=("G", "d")))
        assert targets(high_speed, trip(train="G101"))
        assert targets(high_speed, trip(train="D3"))
        assert not targets(high_speed, trip(train="K1234"))
        assert targets(rules(Target(train_prefixes=("G1",))), trip(train="G101"))
        assert not targets(rules(Target(train_prefixes=("G1",))), trip(train="G201"))

    def test_off_peak_days_and_hours_are_read_on_the_program_clock(self):
        weekend_midday = rules(Target(weekdays=frozenset({6, 7}), hours=(10, 16)))
        assert targets(weekend_midday, trip())  # Saturday 11:00 Shanghai
        assert not targets(weekend_midday, trip(departure=SATURDAY_11.replace(hour=16)))
        monday = datetime(2025, 6, 9, 11, tzinfo=SHANGHAI)
        assert not targets(weekend_midday, trip(departure=monday))

    def test_members_and_tiers(self):
        assert targets(rules(Target(member_ids=frozenset({7}))), trip())
        assert not targets(rules(Target(member_ids=frozenset({8}))), trip())
        assert targets(rules(Target(tiers=frozenset({"star4", "star5"}))), trip(tier="star4"))
        assert not targets(rules(Target(tiers=frozenset({"star4"}))), trip(tier="star2"))


class TestBonusAndBudget:
    def test_percent_is_of_the_base_points_rounded_half_up(self):
        assert bonus(Effect(kind="ride", percent=50), 2768) == 1384
        assert bonus(Effect(kind="ride", percent=50), 2767) == 1384  # 1383.5 → 1384
        assert bonus(Effect(kind="ride", percent=100), 2768) == 2768

    def test_a_fixed_bonus_ignores_the_base(self):
        assert bonus(Effect(kind="ride", points=500), 2768) == 500

    def test_the_budget_cuts_the_last_bonus_to_what_is_left(self):
        assert grant(1384, budget=10_000, spent=0) == 1384
        assert grant(1384, budget=10_000, spent=9_000) == 1000
        assert grant(1384, budget=10_000, spent=10_000) == 0

    def test_cost_in_fen_is_the_redemption_value(self):
        assert cost_fen(12_345, points_per_yuan=100) == 12_345
        assert cost_fen(3, points_per_yuan=200) == 2  # 1.5 fen → 2


class TestControlGroup:
    def test_a_member_is_always_in_the_same_arm(self):
        assert {arm("summer", 42, 10) for _ in range(5)} in ({TREATED}, {CONTROL})

    def test_about_the_control_share_of_members_is_held_back(self):
        control = sum(arm("summer", m, 10) == CONTROL for m in range(1, 20_001))
        assert 1_800 <= control <= 2_200  # 10% of 20,000 within ±2%

    def test_no_control_group_at_zero_percent(self):
        assert all(arm("summer", m, 0) == TREATED for m in range(1, 1_001))

    def test_each_campaign_draws_its_own_control_group(self):
        a = {m for m in range(1, 2_001) if arm("a", m, 10) == CONTROL}
        b = {m for m in range(1, 2_001) if arm("b", m, 10) == CONTROL}
        assert a != b


class TestUplift:
    def test_welch_interval_by_hand(self):
        treated, control = Sample(), Sample()
        for value in (2, 4, 4, 6):  # mean 4, variance 8/3
            treated.add(value)
        for value in (1, 3):  # mean 2, variance 2
            control.add(value)
        result = uplift(treated, control)
        # se = sqrt((8/3)/4 + 2/2) = sqrt(5/3) = 1.290994; 1.959964 × se = 2.530302
        assert (result.treated_mean, result.control_mean, result.difference) == (4.0, 2.0, 2.0)
        assert result.ci95 == pytest.approx((-0.5303, 4.5303), abs=1e-4)
        assert result.relative == 1.0

    def test_no_interval_without_two_members_in_each_arm(self):
        treated, control = Sample(), Sample()
        treated.add(3)
        control.add(1)
        control.add(1)
        assert uplift(treated, control).ci95 is None

    def test_members_without_trips_count_as_zero(self):
        campaign = rules(control=50)
        population = range(1, 101)
        arms = split(campaign, population, {1: (2, 10_000)})
        assert arms[TREATED][0].n + arms[CONTROL][0].n == 100
        assert arms[TREATED][0].total + arms[CONTROL][0].total == 2
        assert arms[TREATED][1].total + arms[CONTROL][1].total == 10_000


class TestChecks:
    def test_every_problem_is_named(self):
        bad = CampaignRules(
            id="bad",
            starts_at=END,
            ends_at=START,
            target=Target(weekdays=frozenset({0}), hours=(16, 10), tiers=frozenset()),
            effect=Effect(kind="ride", percent=50, points=10),
            control_percent=60,
        )
        with pytest.raises(InvalidCampaign) as error:
            check_rules(bad)
        assert error.value.code == "invalid_campaign"
        assert len(error.value.details["problems"]) == 6

    def test_a_sound_campaign_passes(self):
        check_rules(rules(Target(weekdays=frozenset({6, 7}), hours=(0, 24))))
