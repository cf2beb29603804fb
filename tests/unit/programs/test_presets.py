"""The shipped presets carry the SPEC's numbers (railway §4–§7, retail) and load cleanly."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.programs.loader import load_preset
from jifen.programs.schema import Program


@pytest.fixture(scope="module")
def railway() -> Program:
    return load_preset("railway")


@pytest.fixture(scope="module")
def retail() -> Program:
    return load_preset("retail")


def test_railway_basics(railway: Program) -> None:
    assert railway.code == "railway"
    assert railway.timezone == "Asia/Shanghai"
    assert railway.currency_unit == "fen"
    assert railway.enrolment.minimum_age == 12
    assert "passport" in railway.enrolment.id_types
    assert railway.claims.window_days == 90


def test_railway_point_kinds(railway: Program) -> None:
    ride, activity, upgrade = (railway.kind(code) for code in ("ride", "activity", "upgrade"))
    assert (ride.spendable, ride.counts_toward_tiers) == (True, False)
    assert (activity.spendable, activity.counts_toward_tiers) == (True, False)
    assert (upgrade.spendable, upgrade.counts_toward_tiers) == (False, True)
    assert ride.expiry.expires_on(date(2025, 3, 15)) == date(2026, 3, 15)
    assert activity.expiry.months_after_credit == 12
    assert upgrade.expiry.never


def test_railway_tiers(railway: Program) -> None:
    tiers = railway.tiers
    assert tiers.metric == "rolling_12m_upgrade_points"
    assert [(level.code, level.threshold) for level in tiers.levels] == [
        ("star2", 0),
        ("star3", 50_000),
        ("star4", 150_000),
        ("star5", 250_000),
    ]
    assert tiers.join_tier == "star2"
    assert tiers.validity_months == 12
    assert tiers.soft_landing is False
    assert tiers.grace_days == 0


def test_railway_redemption_and_beneficiaries(railway: Program) -> None:
    redemption = railway.redemption
    assert redemption.eligibility_threshold == 10_000
    assert redemption.points_per_yuan == 100
    assert redemption.change_fee_points == 1_000
    assert redemption.cancel_window_days == 30
    assert redemption.whole_ticket_only is True
    assert redemption.cash_offset_max_percent is None
    assert (railway.beneficiaries.max_count, railway.beneficiaries.wait_days) == (8, 60)


def test_railway_ride_rules_are_alternatives(railway: Program) -> None:
    rides = {rule.code: rule for rule in railway.earning_rules if rule.effect.kind == "ride"}

    assert {code: rule.effect.rate_per_yuan for code, rule in rides.items()} == {
        "ride_base_5x": 5,
        "ride_senior_15x": 15,
        "ride_youth_10x": 10,
    }
    for rule in rides.values():
        assert rule.on == "ticket.travelled"
        assert rule.exclusive_group == "ride_multiplier"
        assert rule.effect.also_credit == ("upgrade",)
        conditions = rule.conditions
        assert conditions.real_name is True
        assert conditions.train_participating is True
        assert conditions.train_international is False
        assert conditions.issue_in == ("normal",)
        assert conditions.payment_in == ("cash",)


def test_railway_age_bonuses(railway: Program) -> None:
    rules = {rule.code: rule.conditions for rule in railway.earning_rules}
    senior, youth = rules["ride_senior_15x"], rules["ride_youth_10x"]

    assert (senior.age_min, senior.age_max, senior.from_date) == (60, None, date(2025, 4, 1))
    assert senior.train_tourist is False
    assert senior.id_type_not_in == ("passport",)
    assert (youth.age_min, youth.age_max, youth.from_date) == (14, 28, date(2025, 10, 20))
    assert youth.ticket_type_not_in == ("student",)
    assert youth.id_type_not_in == ("passport",)
    assert rules["ride_base_5x"].age_min is None


def test_railway_activity_points_come_from_the_event(railway: Program) -> None:
    [activity] = [rule for rule in railway.all_earning_rules() if rule.on == "activity.completed"]

    assert activity.effect.kind == "activity"
    assert activity.effect.event_points is not None
    assert activity.effect.also_credit == ()


def test_retail_tiers_by_calendar_year(retail: Program) -> None:
    levels = retail.tiers.levels
    assert retail.tiers.metric == "calendar_year_points"
    assert [level.code for level in levels] == ["normal", "silver", "gold", "diamond"]
    assert [level.name_zh for level in levels] == ["普通会员", "银卡会员", "金卡会员", "钻石会员"]
    assert [level.benefits.earn_multiplier_percent for level in levels] == [100, 120, 150, 200]
    assert retail.tiers.join_tier == "normal"


def test_retail_earning_and_activities(retail: Program) -> None:
    rules = {rule.code: rule for rule in retail.all_earning_rules()}
    assert rules["order_base"].on == "order.paid"
    assert rules["order_base"].effect.rate_per_yuan == 1
    assert rules["birthday_double"].effect.multiplier_percent == 200
    assert rules["birthday_double"].conditions.birthday_month is True
    assert (
        rules["activity_review"].effect.fixed_points,
        rules["activity_review"].caps.per_day,
    ) == (
        10,
        50,
    )
    assert (rules["activity_share"].effect.fixed_points, rules["activity_share"].caps.per_day) == (
        5,
        20,
    )
    sign_in = rules["activity_sign_in"]
    assert sign_in.effect.event_points is not None
    assert (sign_in.effect.event_points.min_points, sign_in.effect.event_points.max_points) == (
        1,
        5,
    )
    assert sign_in.caps.per_day == 5


def test_retail_points_last_to_the_end_of_next_year(retail: Program) -> None:
    points = retail.kind("points")

    assert points.spendable
    assert points.counts_toward_tiers
    assert points.expiry.expires_on(date(2025, 1, 1)) == date(2027, 1, 1)
    assert points.expiry.expires_on(date(2025, 12, 31)) == date(2027, 1, 1)


def test_retail_cash_offset(retail: Program) -> None:
    assert retail.redemption.points_per_yuan == 100
    assert retail.redemption.cash_offset_max_percent == 50
    assert retail.redemption.eligibility_threshold == 0


def test_railway_grants_lounge_visits_by_star_and_a_birthday_coupon(railway: Program) -> None:
    grants = {grant.code: grant for grant in railway.entitlement_grants()}
    lounge = grants["lounge_visit"]
    assert [lounge.quantity_for(tier) for tier in ("star2", "star3", "star4", "star5")] == [
        0,
        2,
        4,
        6,
    ]
    assert grants["birthday_coupon"].quantity_for("star5") == 1
