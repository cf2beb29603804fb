"""The portal's home page lists the member's entitlements with what is left, in both languages."""

from __future__ import annotations

from datetime import date

from jifen.domain.calendar import period_end
from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.programs.loader import load_preset
from jifen.services.entitlements import issue_due
from jifen.storage.uow import SqlUnitOfWork
from tests.e2e.web.test_web_portal_pages import NOW, Portal, portal, text_of

__all__ = ["portal"]  # the fixture, used below


def upgrade(portal: Portal, member: int, on: date) -> None:
    uow = SqlUnitOfWork(portal.engine)
    with uow:
        old = uow.members.get(member).tier
        new = TierState("star3", period_end(on, 12))
        uow.members.apply_tier(TierDecision(member, old, new, TierChangeReason.UPGRADE, 0, on))
        uow.commit()
    issue_due(uow, load_preset("railway"), on, lambda _s, _n: None)


def test_home_shows_lounge_visits_left_in_both_languages(portal: Portal) -> None:
    member = portal.member()
    upgrade(portal, member, NOW.date())
    portal.sign_in(member)

    home = text_of(portal.page("/portal").text)
    assert "我的权益" in home
    assert "贵宾室 2 / 2" in home
    english = text_of(portal.page("/portal?lang=en").text)
    assert "Lounge visit 2 of 2 Jan 31, 2026" in english


def test_a_member_without_entitlements_sees_no_benefits_card(portal: Portal) -> None:
    member = portal.member()
    portal.sign_in(member)
    assert "My benefits" not in portal.page("/portal?lang=en").text
