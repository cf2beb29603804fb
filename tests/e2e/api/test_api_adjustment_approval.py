"""The second-approver rule over HTTP, on SQLite and PostgreSQL (issue 19, item 18).

Railway preset: threshold 10,000 points. It holds for the sum of one key's adjustments to one
member within 24 hours, not for each alone; an `upgrade` adjustment (a tier-qualifying kind that
cannot be spent) always waits; a claw-back of more than the member holds is refused at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.api.test_api_adjustments import TODAY, Desk, body, error

LATER = "2025-05-12T09:59:00+08:00"  # 23 h 59 min after TODAY
NEXT_DAY = "2025-05-12T10:00:00+08:00"  # 24 h after TODAY


@pytest.fixture
def desk(api: Api, engine: Engine) -> Iterator[Desk]:
    d = Desk(api, engine)
    d.clock(TODAY)
    yield d
    d.check()


def statuses(desk: Desk, member: int) -> dict[str, str]:
    response = desk.api.get(f"/v1/members/{member}/adjustments", role="operator")
    assert response.status_code == 200, response.text
    return {a["adjustment_id"]: a["status"] for a in response.json()["items"]}


def test_two_adjustments_under_the_threshold_that_pass_it_together_wait_for_approval(desk: Desk):
    member = desk.enrol()
    assert desk.adjust(member, body("g1", "goodwill", 9_999)).status_code == 201
    second = desk.adjust(member, body("g2", "goodwill", 9_999))
    assert second.status_code == 202, second.text
    assert second.json()["status"] == "pending_approval"
    assert desk.balances(member)["ride"] == 9_999
    # Either way counts: a claw-back adds its size to the sum too.
    assert desk.adjust(member, body("c1", "correction", -1)).status_code == 202

    desk.second_operator()
    assert desk.decide("g2", "approve", "operator2").status_code == 200
    assert desk.balances(member)["ride"] == 19_998


def test_the_sum_is_per_key_per_member_and_over_24_hours(desk: Desk):
    member, other = desk.enrol(), desk.enrol()
    assert desk.adjust(member, body("a1", "goodwill", 9_000)).status_code == 201
    assert desk.adjust(other, body("a2", "goodwill", 9_000)).status_code == 201
    assert desk.adjust(member, body("a3", "goodwill", 9_000), role="admin").status_code == 201
    desk.clock(LATER)
    assert desk.adjust(member, body("a4", "goodwill", 1_001)).status_code == 202
    desk.clock(NEXT_DAY)  # a1 is 24 hours old and out; a4, pending, still counts
    assert desk.adjust(member, body("a5", "goodwill", 8_999)).status_code == 201
    assert statuses(desk, member) == {
        "a1": "applied",
        "a3": "applied",
        "a4": "pending_approval",
        "a5": "applied",
    }


def test_a_rejected_adjustment_does_not_count_toward_the_sum(desk: Desk):
    member = desk.enrol()
    assert desk.adjust(member, body("big", "goodwill", 20_000)).status_code == 202
    assert desk.adjust(member, body("small", "goodwill", 500)).status_code == 202
    desk.second_operator()
    assert desk.decide("big", "reject", "operator2").status_code == 200
    assert desk.adjust(member, body("after", "goodwill", 500)).status_code == 201
    assert desk.balances(member)["ride"] == 500


def test_an_upgrade_adjustment_waits_for_a_second_approver_whatever_its_size(desk: Desk):
    member = desk.enrol()
    held = desk.adjust(member, body("up", "goodwill", 10, point_kind="upgrade"))
    assert held.status_code == 202, held.text
    assert desk.balances(member)["upgrade_12m"] == 0
    desk.second_operator()
    approved = desk.decide("up", "approve", "operator2")
    assert approved.status_code == 200, approved.text
    assert desk.balances(member)["upgrade_12m"] == 10


def test_a_claw_back_larger_than_the_balance_is_refused_at_once_not_queued(desk: Desk):
    member = desk.enrol()
    desk.second_operator()
    assert desk.adjust(member, body("g", "goodwill", 5_000), role="operator2").status_code == 201
    refused = error(desk.adjust(member, body("c", "clawback", -20_000)), 409, "insufficient_points")
    assert (refused["details"]["needed"], refused["details"]["available"]) == (20_000, 5_000)
    assert statuses(desk, member) == {"g": "applied"}
    queue = desk.api.get("/v1/adjustments", role="operator", params={"status": "pending_approval"})
    assert queue.json()["items"] == []
