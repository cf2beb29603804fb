"""The daily job issues entitlements at tier starts and birthdays, once; they lapse with a tier."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from jifen.domain.calendar import period_end
from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.programs.loader import load_preset
from jifen.services.daily import run_daily
from jifen.services.entitlements import issue_due, member_entitlements
from jifen.storage.tables import notifications
from jifen.storage.uow import SqlUnitOfWork

UPGRADED_ON = date(2025, 5, 10)
RAILWAY = load_preset("railway")


def set_tier(uow: SqlUnitOfWork, member: int, code: str, on: date, reason=TierChangeReason.UPGRADE):
    with uow:
        old = uow.members.get(member).tier
        new = TierState(code, period_end(on, 12))
        uow.members.apply_tier(TierDecision(member, old, new, reason, 0, on))
        uow.commit()


def issue(uow: SqlUnitOfWork, program, day: date) -> dict:
    return issue_due(uow, program, day, lambda _step, _n: None)


def held(
    uow: SqlUnitOfWork, member: int, today: date
) -> list[tuple[str, str, int, int, date, str]]:
    return [
        (
            h.entitlement.code,
            h.entitlement.tier_code,
            h.entitlement.quantity,
            h.entitlement.remaining,
            h.entitlement.valid_until,
            str(h.state),
        )
        for h in member_entitlements(uow, program=RAILWAY, member_id=member, now=_noon(today))
    ]


def _noon(day: date) -> datetime:
    """Midday in Shanghai on `day`, as the instant services take (04:00 UTC)."""
    return datetime.combine(day, time(4), tzinfo=UTC)


def test_an_upgrade_to_5_stars_issues_six_lounge_visits_until_the_tier_ends(
    uow, railway, enrol_member
):
    member = enrol_member(date(1990, 3, 7))
    set_tier(uow, member, "star5", UPGRADED_ON)

    figures = issue(uow, railway, UPGRADED_ON)

    assert figures["issued"] == {"lounge_visit": 1}
    tier_end = period_end(UPGRADED_ON, 12)
    assert held(uow, member, UPGRADED_ON) == [("lounge_visit", "star5", 6, 6, tier_end, "active")]
    assert tier_end - UPGRADED_ON < timedelta(days=366)


def test_running_the_step_again_issues_nothing_more(uow, railway, enrol_member):
    member = enrol_member(date(1990, 3, 7))
    set_tier(uow, member, "star4", UPGRADED_ON)
    issue(uow, railway, UPGRADED_ON)

    again = issue(uow, railway, UPGRADED_ON)

    assert again["issued"] == {}
    assert len(held(uow, member, UPGRADED_ON)) == 1
    with uow:
        topics = uow.connection.execute(
            notifications.select().where(notifications.c.topic == "entitlement.issued")
        ).all()
    assert len(topics) == 1  # one notification, however often the step runs


def test_a_birthday_at_4_stars_brings_a_coupon_valid_30_days(uow, railway, enrol_member):
    member = enrol_member(date(1990, 3, 7))
    other = enrol_member(date(1990, 3, 8))
    set_tier(uow, member, "star4", UPGRADED_ON)
    set_tier(uow, other, "star4", UPGRADED_ON)
    birthday = date(2026, 3, 7)

    figures = issue(uow, railway, birthday)

    assert figures["issued"] == {"birthday_coupon": 1}
    assert held(uow, member, birthday)[0] == (
        "birthday_coupon",
        "star4",
        1,
        1,
        date(2026, 4, 5),
        "active",
    )
    assert held(uow, other, birthday) == []  # born the day after


def test_a_star2_member_has_no_entitlements(uow, railway, enrol_member):
    member = enrol_member(date(1990, 3, 7))
    issue(uow, railway, date(2026, 3, 7))
    assert held(uow, member, date(2026, 3, 7)) == []


def test_a_downgrade_lapses_the_old_tiers_visits_and_issues_the_new_tiers(
    uow, railway, enrol_member
):
    member = enrol_member(date(1990, 3, 7))
    set_tier(uow, member, "star4", UPGRADED_ON)
    issue(uow, railway, UPGRADED_ON)
    down = period_end(UPGRADED_ON, 12) + timedelta(days=1)
    set_tier(uow, member, "star3", down, TierChangeReason.DOWNGRADE)

    figures = issue(uow, railway, down)

    assert figures["issued"] == {"lounge_visit": 1}
    assert held(uow, member, down) == [
        ("lounge_visit", "star3", 2, 2, period_end(down, 12), "active"),
        ("lounge_visit", "star4", 4, 4, period_end(UPGRADED_ON, 12), "lapsed"),
    ]


def test_an_upgrade_mid_period_lapses_what_the_lower_tier_gave(uow, railway, enrol_member):
    member = enrol_member(date(1990, 3, 7))
    set_tier(uow, member, "star3", UPGRADED_ON)
    issue(uow, railway, UPGRADED_ON)
    later = date(2025, 8, 1)
    set_tier(uow, member, "star5", later)

    figures = issue(uow, railway, later)

    assert figures["lapsed"] == 1
    states = {tier: state for _code, tier, _q, _r, _v, state in held(uow, member, later)}
    assert states == {"star5": "active", "star3": "lapsed"}


def test_the_daily_job_has_an_entitlements_step(uow, railway, enrol_member):
    enrol_member(date(1990, 3, 7))
    report = run_daily(uow, program=railway, as_of=UPGRADED_ON)
    assert list(report.steps).index("entitlements") == list(report.steps).index("tiers") + 1
    assert report.steps["entitlements"] == {"lapsed": 0, "issued": {}}
