"""Entitlements: what a tier start or a birthday issues, for how long, and when a use is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jifen.domain.entitlements import (
    Entitlement,
    EntitlementGrant,
    EntitlementNotValid,
    EntitlementState,
    EntitlementUsedUp,
    Trigger,
    check_use,
    due,
    is_birthday,
    state_on,
)
from jifen.domain.tiers import TierState

LOUNGE = EntitlementGrant(
    code="lounge_visit",
    trigger=Trigger.TIER_START,
    quantities=(("star3", 2), ("star4", 4), ("star5", 6)),
    valid_days=365,
)
BIRTHDAY = EntitlementGrant(
    code="birthday_coupon",
    trigger=Trigger.BIRTHDAY,
    quantities=(("star4", 1), ("star5", 1)),
    valid_days=30,
)
GRANTS = (LOUNGE, BIRTHDAY)
STAR5 = TierState("star5", date(2026, 4, 30))


def held(**changes: object) -> Entitlement:
    base = Entitlement(
        id=7,
        member_id=1,
        code="lounge_visit",
        tier_code="star5",
        trigger=Trigger.TIER_START,
        issued_for=date(2025, 5, 1),
        issued_on=date(2025, 5, 1),
        valid_until=date(2026, 4, 30),
        quantity=6,
        used=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_tier_start_issues_that_tiers_lounge_visits_until_the_tier_ends() -> None:
    [issue] = due(GRANTS, member_id=1, tier=STAR5, trigger=Trigger.TIER_START, on=date(2025, 5, 1))
    assert (issue.code, issue.quantity, issue.tier_code) == ("lounge_visit", 6, "star5")
    # 365 days from 1 May 2025 would reach 30 April 2026, the tier's last day as well.
    assert issue.valid_until == date(2026, 4, 30)


def test_validity_never_outlasts_the_tier_period() -> None:
    short = TierState("star4", date(2025, 6, 30))
    [issue] = due(GRANTS, member_id=1, tier=short, trigger=Trigger.TIER_START, on=date(2025, 5, 1))
    assert (issue.quantity, issue.valid_until) == (4, date(2025, 6, 30))


def test_a_tier_the_program_gives_nothing_gets_nothing() -> None:
    star2 = TierState("star2", None)
    assert (
        due(GRANTS, member_id=1, tier=star2, trigger=Trigger.TIER_START, on=date(2025, 5, 1)) == []
    )
    assert due(GRANTS, member_id=1, tier=star2, trigger=Trigger.BIRTHDAY, on=date(2025, 5, 1)) == []


def test_a_birthday_issues_the_coupon_for_its_own_validity() -> None:
    [issue] = due(GRANTS, member_id=1, tier=STAR5, trigger=Trigger.BIRTHDAY, on=date(2025, 9, 9))
    assert (issue.code, issue.quantity, issue.valid_until) == (
        "birthday_coupon",
        1,
        date(2025, 10, 8),
    )


def test_an_expired_tier_issues_nothing() -> None:
    assert due(GRANTS, member_id=1, tier=STAR5, trigger=Trigger.BIRTHDAY, on=date(2026, 5, 1)) == []


def test_those_born_on_29_february_celebrate_on_28_february_in_other_years() -> None:
    leap = date(2000, 2, 29)
    assert is_birthday(leap, date(2025, 2, 28))
    assert not is_birthday(leap, date(2024, 2, 28))
    assert is_birthday(leap, date(2024, 2, 29))
    assert not is_birthday(date(2000, 3, 1), date(2025, 2, 28))


def test_an_entitlement_is_active_while_something_is_left_and_its_tier_holds() -> None:
    day = date(2025, 6, 1)
    assert state_on(held(), day=day, tier_code="star5") is EntitlementState.ACTIVE
    assert state_on(held(used=6), day=day, tier_code="star5") is EntitlementState.USED_UP
    assert state_on(held(), day=date(2026, 5, 1), tier_code="star5") is EntitlementState.EXPIRED
    assert state_on(held(), day=day, tier_code="star4") is EntitlementState.LAPSED
    lapsed = held(lapsed_on=date(2025, 7, 1))
    assert state_on(lapsed, day=date(2025, 7, 1), tier_code="star5") is EntitlementState.LAPSED
    # A use reported late, from before the lapse, still counts.
    assert state_on(lapsed, day=day, tier_code="star4") is EntitlementState.ACTIVE


def test_using_more_than_is_left_is_refused_with_its_own_code() -> None:
    with pytest.raises(EntitlementUsedUp) as refused:
        check_use(held(used=6), day=date(2025, 6, 1), tier_code="star5")
    assert refused.value.code == "entitlement_used_up"
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("day", "tier"),
    [(date(2025, 4, 30), "star5"), (date(2026, 5, 1), "star5"), (date(2025, 6, 1), "star3")],
    ids=["before issue", "after validity", "after the tier changed"],
)
def test_a_use_outside_the_entitlements_life_is_refused(day: date, tier: str) -> None:
    with pytest.raises(EntitlementNotValid):
        check_use(held(), day=day, tier_code=tier)
