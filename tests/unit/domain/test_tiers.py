"""Tiers: the daily upgrade, requalification (保级), grace and downgrade of a member's tier."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.tiers import (
    Progress,
    TierChangeReason,
    TierDecision,
    TierLevel,
    TierPolicy,
    TierState,
    decide_tier,
    progress,
    tier_for,
)

RAILWAY_LEVELS = (
    TierLevel("star2", 0),
    TierLevel("star3", 50_000),
    TierLevel("star4", 150_000),
    TierLevel("star5", 250_000),
)
RAILWAY = TierPolicy(levels=RAILWAY_LEVELS, validity_months=12)
SOFT_LANDING = replace(RAILWAY, soft_landing=True)
WITH_GRACE = replace(RAILWAY, grace_days=30)
JOIN = TierState("star2", None)


def decide(policy: TierPolicy, current: TierState, points: int, as_of: date) -> TierDecision | None:
    return decide_tier(policy, member_id=7, current=current, qualifying_points=points, as_of=as_of)


def decided(policy: TierPolicy, current: TierState, points: int, as_of: date) -> TierDecision:
    decision = decide(policy, current, points, as_of)
    assert decision is not None
    return decision


class TestPolicy:
    def test_railway_members_join_at_star2_for_ever(self) -> None:
        assert RAILWAY.join_state() == TierState("star2", None)

    @pytest.mark.parametrize(
        ("points", "code"),
        [
            (0, "star2"),
            (49_999, "star2"),
            (50_000, "star3"),
            (149_999, "star3"),
            (150_000, "star4"),
            (250_000, "star5"),
            (9_000_000, "star5"),
            (-10, "star2"),
        ],
    )
    def test_tier_for_is_the_highest_threshold_reached(self, points: int, code: str) -> None:
        assert tier_for(RAILWAY, points).code == code

    def test_refuses_no_levels(self) -> None:
        with pytest.raises(ValueError, match="at least one level"):
            TierPolicy(levels=(), validity_months=12)

    @pytest.mark.parametrize("second", [0, -1], ids=["equal", "lower"])
    def test_refuses_thresholds_that_do_not_increase(self, second: int) -> None:
        levels = (TierLevel("basic", 0), TierLevel("silver", second))

        with pytest.raises(ValueError, match="must increase"):
            TierPolicy(levels=levels, validity_months=12)

    def test_refuses_a_code_used_twice(self) -> None:
        levels = (TierLevel("gold", 0), TierLevel("gold", 10))

        with pytest.raises(ValueError, match="unique"):
            TierPolicy(levels=levels, validity_months=12)

    @pytest.mark.parametrize(
        "changes",
        [{"validity_months": 0}, {"grace_days": -1}, {"window_months": 0}],
        ids=["validity", "grace", "window"],
    )
    def test_refuses_periods_that_make_no_sense(self, changes: dict[str, int]) -> None:
        with pytest.raises(ValueError, match=r"cannot be negative|at least one month"):
            replace(RAILWAY, **changes)

    def test_refuses_a_tier_the_program_does_not_have(self) -> None:
        with pytest.raises(ValueError, match="Unknown tier 'gold'"):
            decide(RAILWAY, TierState("gold", None), 0, date(2025, 3, 15))


class TestUpgrade:
    def test_50000_upgrade_points_make_a_star2_member_star3_for_12_months(self) -> None:
        decision = decided(RAILWAY, JOIN, 50_000, date(2025, 3, 15))

        assert decision == TierDecision(
            member_id=7,
            old=JOIN,
            new=TierState("star3", date(2026, 3, 14)),
            reason=TierChangeReason.UPGRADE,
            qualifying_points=50_000,
            decided_on=date(2025, 3, 15),
        )
        assert decision.reason == "upgrade"

    def test_star2_member_jumps_straight_to_star5(self) -> None:
        decision = decided(RAILWAY, JOIN, 250_000, date(2025, 3, 15))

        assert decision.new == TierState("star5", date(2026, 3, 14))

    def test_upgrade_during_a_valid_period_starts_a_new_period(self) -> None:
        star3 = TierState("star3", date(2026, 3, 14))

        decision = decided(RAILWAY, star3, 150_000, date(2025, 9, 1))

        assert decision.reason is TierChangeReason.UPGRADE
        assert decision.new == TierState("star4", date(2026, 8, 31))

    def test_upgrade_on_a_month_end_is_valid_to_the_day_before_the_clamped_date(self) -> None:
        monthly = replace(RAILWAY, validity_months=1)

        assert decided(monthly, JOIN, 50_000, date(2025, 1, 31)).new.valid_until == date(
            2025, 2, 27
        )

    def test_upgrade_on_a_leap_day_is_valid_through_february_27(self) -> None:
        decision = decided(RAILWAY, JOIN, 50_000, date(2024, 2, 29))

        assert decision.new.valid_until == date(2025, 2, 27)

    def test_too_few_points_leave_a_star2_member_as_is(self) -> None:
        assert decide(RAILWAY, JOIN, 49_999, date(2025, 3, 15)) is None

    def test_join_tier_never_lapses(self) -> None:
        assert decide(RAILWAY, JOIN, 0, date(2099, 12, 31)) is None


class TestReassessment:
    star4 = TierState("star4", date(2026, 3, 14))

    def test_a_valid_tier_is_kept_whatever_the_points_until_its_last_day(self) -> None:
        assert decide(RAILWAY, self.star4, 0, date(2025, 9, 1)) is None
        assert decide(RAILWAY, self.star4, 0, date(2026, 3, 14)) is None

    def test_at_expiry_a_member_who_still_qualifies_is_kept_for_a_new_period(self) -> None:
        decision = decided(RAILWAY, self.star4, 160_000, date(2026, 3, 15))

        assert decision.reason is TierChangeReason.REQUALIFIED
        assert decision.new == TierState("star4", date(2027, 3, 14))

    def test_at_expiry_a_member_who_earned_more_moves_up(self) -> None:
        decision = decided(RAILWAY, self.star4, 260_000, date(2026, 3, 15))

        assert decision.reason is TierChangeReason.UPGRADE
        assert decision.new == TierState("star5", date(2027, 3, 14))

    def test_at_expiry_a_member_drops_to_the_tier_the_points_support(self) -> None:
        decision = decided(RAILWAY, self.star4, 60_000, date(2026, 3, 15))

        assert decision.reason is TierChangeReason.DOWNGRADE
        assert decision.new == TierState("star3", date(2027, 3, 14))
        assert decision.qualifying_points == 60_000

    def test_without_soft_landing_a_member_drops_straight_to_star2(self) -> None:
        decision = decided(
            RAILWAY, TierState("star5", date(2026, 3, 14)), 10_000, date(2026, 3, 15)
        )

        assert decision.reason is TierChangeReason.DOWNGRADE
        assert decision.new == JOIN

    def test_a_late_run_reassesses_from_the_day_it_runs(self) -> None:
        decision = decided(RAILWAY, self.star4, 160_000, date(2026, 3, 20))

        assert decision.new == TierState("star4", date(2027, 3, 19))

    def test_daily_runs_reassess_on_the_first_day_after_the_period(self) -> None:
        state, day = JOIN, date(2025, 3, 15)
        history = []
        for _ in range(800):
            points = 50_000 if day < date(2025, 6, 1) else 0
            decision = decide(RAILWAY, state, points, day)
            if decision is not None:
                history.append((decision.decided_on, decision.reason, decision.new))
                state = decision.new
            day += timedelta(days=1)

        assert history == [
            (date(2025, 3, 15), "upgrade", TierState("star3", date(2026, 3, 14))),
            (date(2026, 3, 15), "downgrade", JOIN),
        ]


class TestSoftLanding:
    def test_soft_landing_drops_one_level_at_each_expiry(self) -> None:
        state = TierState("star5", date(2026, 3, 14))
        steps = []
        day = date(2026, 3, 15)
        while (decision := decide(SOFT_LANDING, state, 0, day)) is not None:
            steps.append((decision.reason, decision.new))
            state = decision.new
            day = (state.valid_until or day) + timedelta(days=1)

        assert steps == [
            ("downgrade", TierState("star4", date(2027, 3, 14))),
            ("downgrade", TierState("star3", date(2028, 3, 14))),
            ("downgrade", JOIN),
        ]

    def test_soft_landing_never_drops_below_what_the_points_support(self) -> None:
        star5 = TierState("star5", date(2026, 3, 14))

        decision = decided(SOFT_LANDING, star5, 200_000, date(2026, 3, 15))

        assert decision.new.code == "star4"


class TestGrace:
    star3 = TierState("star3", date(2026, 3, 14))

    def test_a_member_who_does_not_requalify_first_gets_a_grace(self) -> None:
        decision = decided(WITH_GRACE, self.star3, 10_000, date(2026, 3, 15))

        assert decision.reason is TierChangeReason.GRACE
        assert decision.new == TierState("star3", date(2026, 4, 13), in_grace=True)

    def test_the_tier_is_kept_during_the_grace(self) -> None:
        in_grace = TierState("star3", date(2026, 4, 13), in_grace=True)

        assert decide(WITH_GRACE, in_grace, 10_000, date(2026, 4, 13)) is None

    def test_after_the_grace_the_member_is_downgraded_not_graced_again(self) -> None:
        in_grace = TierState("star3", date(2026, 4, 13), in_grace=True)

        decision = decided(WITH_GRACE, in_grace, 10_000, date(2026, 4, 14))

        assert decision.reason is TierChangeReason.DOWNGRADE
        assert decision.new == JOIN

    def test_reaching_the_threshold_during_the_grace_requalifies_from_that_day(self) -> None:
        in_grace = TierState("star3", date(2026, 4, 13), in_grace=True)

        decision = decided(WITH_GRACE, in_grace, 50_000, date(2026, 4, 1))

        assert decision.reason is TierChangeReason.REQUALIFIED
        assert decision.new == TierState("star3", date(2027, 3, 31))

    def test_a_run_catching_up_after_the_grace_would_have_ended_downgrades_at_once(self) -> None:
        decision = decided(WITH_GRACE, self.star3, 10_000, date(2026, 5, 1))

        assert decision.reason is TierChangeReason.DOWNGRADE

    def test_a_member_who_requalifies_at_expiry_gets_no_grace(self) -> None:
        decision = decided(WITH_GRACE, self.star3, 50_000, date(2026, 3, 15))

        assert decision.reason is TierChangeReason.REQUALIFIED
        assert not decision.new.in_grace


class TestIdempotence:
    @pytest.mark.parametrize(
        ("policy", "current", "points", "as_of"),
        [
            (RAILWAY, JOIN, 50_000, date(2025, 3, 15)),
            (RAILWAY, JOIN, 300_000, date(2025, 3, 15)),
            (RAILWAY, TierState("star4", date(2026, 3, 14)), 160_000, date(2026, 3, 15)),
            (RAILWAY, TierState("star4", date(2026, 3, 14)), 60_000, date(2026, 3, 15)),
            (SOFT_LANDING, TierState("star5", date(2026, 3, 14)), 0, date(2026, 3, 15)),
            (WITH_GRACE, TierState("star3", date(2026, 3, 14)), 0, date(2026, 3, 15)),
            (
                WITH_GRACE,
                TierState("star3", date(2026, 4, 13), in_grace=True),
                0,
                date(2026, 4, 14),
            ),
        ],
        ids=["upgrade", "jump", "requalify", "downgrade", "soft", "grace", "after-grace"],
    )
    def test_deciding_again_after_applying_a_decision_changes_nothing(
        self, policy: TierPolicy, current: TierState, points: int, as_of: date
    ) -> None:
        first = decided(policy, current, points, as_of)

        assert decide(policy, first.new, points, as_of) is None


class TestProgress:
    def test_tells_how_many_points_are_missing_for_the_next_tier(self) -> None:
        star3 = TierState("star3", date(2026, 3, 14))

        assert progress(RAILWAY, current=star3, qualifying_points=137_600) == Progress(
            next_code="star4", points_needed=12_400
        )

    def test_counts_from_the_tier_the_points_already_support(self) -> None:
        assert progress(RAILWAY, current=JOIN, qualifying_points=160_000) == Progress(
            "star5", 90_000
        )

    def test_a_member_about_to_drop_still_sees_the_next_tier_up(self) -> None:
        star4 = TierState("star4", date(2026, 3, 14))

        assert progress(RAILWAY, current=star4, qualifying_points=0) == Progress("star5", 250_000)

    def test_there_is_no_next_tier_at_the_top(self) -> None:
        star5 = TierState("star5", date(2026, 3, 14))

        assert progress(RAILWAY, current=star5, qualifying_points=0) is None
        assert progress(RAILWAY, current=JOIN, qualifying_points=300_000) is None


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))
policies = st.builds(
    TierPolicy,
    levels=st.just(RAILWAY_LEVELS),
    validity_months=st.integers(min_value=1, max_value=24),
    grace_days=st.integers(min_value=0, max_value=60),
    soft_landing=st.booleans(),
)


@st.composite
def tier_states(draw: st.DrawFn, as_of: date) -> TierState:
    level = draw(st.sampled_from(RAILWAY_LEVELS))
    if level.code == "star2":
        return JOIN
    offset = draw(st.integers(min_value=-400, max_value=400))
    return TierState(level.code, as_of + timedelta(days=offset), in_grace=draw(st.booleans()))


@given(policy=policies, data=st.data(), as_of=days, points=st.integers(0, 400_000))
def test_deciding_repeatedly_on_one_day_settles_within_two_steps(
    policy: TierPolicy, data: st.DataObject, as_of: date, points: int
) -> None:
    state = data.draw(tier_states(as_of))
    supported = tier_for(policy, points)
    decisions: list[TierDecision] = []
    for _ in range(3):
        decision = decide(policy, state, points, as_of)
        if decision is None:
            break
        decisions.append(decision)
        state = decision.new

    assert len(decisions) <= 1, "the second evaluation on the same day must change nothing"
    for decision in decisions:
        assert decision.new != decision.old
        assert not decision.new.expired(as_of)
        assert decision.new.in_grace == (decision.reason is TierChangeReason.GRACE)
        new_rank = policy.rank(decision.new.code)
        if decision.reason is TierChangeReason.UPGRADE:
            assert decision.new.code == supported.code
            assert supported.threshold <= points
            assert new_rank > policy.rank(decision.old.code)
        if decision.reason is TierChangeReason.DOWNGRADE:
            assert policy.rank(supported.code) <= new_rank < policy.rank(decision.old.code)
