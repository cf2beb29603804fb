"""Entitlements over HTTP: a member's list, a use (idempotent, audited) and its refusals."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.domain.calendar import period_end
from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.services.entitlements import issue_due
from jifen.storage.uow import SqlUnitOfWork

UPGRADED_ON = date(2025, 5, 10)


@pytest.fixture
def lounge(api, engine, railway, enrol_member) -> tuple[int, int]:
    """A 3★ member (upgraded on UPGRADED_ON) with their two lounge visits; (member, entitlement)."""
    uow = SqlUnitOfWork(engine)
    member = enrol_member(date(1990, 3, 7))
    with uow:
        old = uow.members.get(member).tier
        new = TierState("star3", period_end(UPGRADED_ON, 12))
        uow.members.apply_tier(
            TierDecision(member, old, new, TierChangeReason.UPGRADE, 50_000, UPGRADED_ON)
        )
        uow.commit()
    issue_due(uow, railway, UPGRADED_ON, lambda _s, _n: None)
    assert api.post("/v1/clock", {"now": "2025-06-01T12:00:00+08:00"}).status_code == 200
    [item] = api.get(f"/v1/members/{member}/entitlements", role="integrator").json()["items"]
    return member, item["entitlement_id"]


def use(api, entitlement: int, use_id: str, at: str = "2025-06-01T08:00:00+08:00", **kw):
    body = {"id": use_id, "at": at, "location": "北京南", **kw}
    return api.post(f"/v1/entitlements/{entitlement}/use", body, role="integrator")


def test_a_member_sees_their_lounge_visits_with_what_is_left(api, lounge):
    member, _ = lounge
    [item] = api.get(f"/v1/members/{member}/entitlements", role="operator").json()["items"]
    assert item["code"] == "lounge_visit"
    assert item["name"] == {"zh": "贵宾室", "en": "Lounge visit"}
    assert (item["quantity"], item["remaining"], item["status"]) == (2, 2, "active")
    assert item["valid_until"] == period_end(UPGRADED_ON, 12).isoformat()


def test_uses_count_down_and_a_retry_is_the_same_use(api, lounge):
    member, entitlement = lounge
    first = use(api, entitlement, "visit-1")
    assert first.status_code == 201
    assert first.json()["entitlement"]["remaining"] == 1
    again = use(api, entitlement, "visit-1")
    assert again.status_code == 201
    assert again.json()["entitlement"]["remaining"] == 1  # not counted twice
    [item] = api.get(f"/v1/members/{member}/entitlements").json()["items"]
    assert item["used"] == 1


def test_using_more_than_is_left_is_a_409_with_a_stable_code(api, lounge):
    _, entitlement = lounge
    assert use(api, entitlement, "visit-1").status_code == 201
    assert use(api, entitlement, "visit-2").json()["entitlement"]["status"] == "used_up"
    refused = use(api, entitlement, "visit-3")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "entitlement_used_up"


def test_the_same_id_for_another_use_is_an_idempotency_conflict(api, lounge):
    _, entitlement = lounge
    assert use(api, entitlement, "visit-1").status_code == 201
    other = use(api, entitlement, "visit-1", at="2025-06-01T09:00:00+08:00")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_a_use_before_the_issue_is_not_valid(api, lounge):
    _, entitlement = lounge
    refused = use(api, entitlement, "early", at="2025-05-01T08:00:00+08:00")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "entitlement_not_valid"


def test_each_use_is_in_the_audit_log(api, lounge):
    member, entitlement = lounge
    use(api, entitlement, "visit-1")
    rows = api.get("/v1/audit", params={"action": "entitlement.used"}).json()["items"]
    assert [(r["subject"], r["details"]["use_id"]) for r in rows] == [
        (f"member:{member}", "visit-1")
    ]


def test_only_integrators_use_entitlements_and_unknown_ones_are_404(api, lounge):
    _, entitlement = lounge
    body = {"id": "x", "at": "2025-06-01T08:00:00+08:00"}
    assert api.post(f"/v1/entitlements/{entitlement}/use", body, role="analyst").status_code == 403
    assert api.post("/v1/entitlements/999999/use", body, role="integrator").status_code == 404
    assert api.get("/v1/members/999999/entitlements").status_code == 404
