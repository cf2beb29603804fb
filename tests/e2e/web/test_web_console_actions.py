"""Acting on a member from the console: adjustments with approval, freeze, CSRF and roles."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.e2e.conftest import form_token
from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import NOW, Floor, balance

floor = scene.floor  # the fixtures, shared with the member page tests
operator = scene.operator

LARGE = 20_000  # above the railway preset's approval threshold of 10,000


def test_an_adjustment_posts_once_and_the_page_shows_the_new_balance(floor: Floor) -> None:
    member_id, _number = floor.enrol(601)
    floor.ride(member_id, "T1")
    floor.clock(NOW)
    page = floor.adjust(member_id, 500)
    assert page.status_code == 200
    assert "已调整 +500 分；当前余额 3,268。" in page.text  # 2,768 + 500
    assert balance(page.text, "ride") == "3,268"
    assert "Delayed train G1" in page.text  # the reason, beside the ledger line


def test_sending_the_same_form_twice_applies_it_once(floor: Floor) -> None:
    member_id, _number = floor.enrol(602)
    first = floor.adjust(member_id, 500, form_id="form-1-adjust")
    again = floor.adjust(member_id, 500, form_id="form-1-adjust")
    assert balance(first.text, "ride") == "500"
    assert balance(again.text, "ride") == "500"
    assert again.text.count('data-adjustment="applied"') == 1


def test_a_large_adjustment_waits_for_a_second_person(
    floor: Floor, operator: Callable[..., TestClient]
) -> None:
    member_id, _number = floor.enrol(603)
    waiting = floor.adjust(member_id, LARGE, reason="Lost trips in March")
    assert "+20,000 分的调整需等待另一人审批" in waiting.text
    assert balance(waiting.text, "ride") == "0"
    assert "须由另一人审批。" in waiting.text  # no approve button for the one who asked
    adjustment = re.search(r'action="/console/adjustments/([^/"]+)/approve"', waiting.text)
    assert adjustment is None

    second = operator("operator", "ops2")
    page = second.get(f"/console/members/{member_id}").text
    adjustment = re.search(r'action="/console/adjustments/([^/"]+)/approve"', page)
    assert adjustment
    data = {"csrf_token": form_token(page), "form_id": "decision-1"}
    done = second.post(f"/console/adjustments/{adjustment.group(1)}/approve", data=data)
    assert "已批准并入账。" in done.text
    assert balance(done.text, "ride") == "20,000"
    assert "console:ops2" in done.text  # decided by


def test_the_person_who_asked_cannot_approve_by_posting_the_form(floor: Floor) -> None:
    member_id, _number = floor.enrol(604)
    floor.adjust(member_id, LARGE, form_id="big-1-adjust")
    token = form_token(floor.console.get(f"/console/members/{member_id}").text)
    data = {"csrf_token": token, "form_id": "decision-1"}
    refused = floor.console.post("/console/adjustments/big-1-adjust/approve", data=data)
    assert "此调整由您发起，须由另一人批准或驳回。" in refused.text
    assert balance(floor.console.get(f"/console/members/{member_id}").text, "ride") == "0"


def test_a_clawback_of_more_than_the_balance_is_refused_on_the_page(floor: Floor) -> None:
    member_id, _number = floor.enrol(605)
    floor.ride(member_id, "T1")
    page = floor.adjust(member_id, -3000, kind="clawback")
    assert page.status_code == 200
    assert "该会员此类积分只有 2768 分，需要 3000 分。" in page.text
    assert balance(page.text, "ride") == "2,768"


def test_points_that_are_not_a_number_are_refused_without_an_error_page(floor: Floor) -> None:
    member_id, _number = floor.enrol(606)
    page = floor.adjust(member_id, "lots")
    assert page.status_code == 200
    assert "积分须为整数" in page.text
    wrong_way = floor.adjust(member_id, -5, kind="goodwill")
    assert "关怀和补偿只能加分" in wrong_way.text


def test_freezing_and_unfreezing_is_audited_with_the_console_user(floor: Floor) -> None:
    member_id, _number = floor.enrol(607)
    page = floor.console.get(f"/console/members/{member_id}").text
    data = {"csrf_token": form_token(page), "reason": "Earn-then-refund pattern"}
    frozen = floor.console.post(f"/console/members/{member_id}/freeze", data=data)
    assert 'data-status="frozen"' in frozen.text
    assert "该会员现为已冻结状态。" in frozen.text
    audit = floor.console.get("/console/audit", params={"subject": f"member:{member_id}"}).text
    assert "冻结会员" in audit
    assert "console:chief" in audit
    assert "Earn-then-refund pattern" in audit
    data = {"csrf_token": form_token(frozen.text), "reason": ""}
    active = floor.console.post(f"/console/members/{member_id}/unfreeze", data=data)
    assert 'data-status="active"' in active.text


def test_freezing_needs_a_reason(floor: Floor) -> None:
    member_id, _number = floor.enrol(608)
    token = form_token(floor.console.get(f"/console/members/{member_id}").text)
    page = floor.console.post(
        f"/console/members/{member_id}/freeze", data={"csrf_token": token, "reason": " "}
    )
    assert "请填写冻结原因。" in page.text
    assert 'data-status="active"' in page.text


def test_every_console_form_refuses_a_post_without_the_session_token(floor: Floor) -> None:
    member_id, _number = floor.enrol(609)
    floor.adjust(member_id, LARGE, form_id="big-2-adjust")
    posts = {
        f"/console/members/{member_id}/adjustments": {
            "form_id": "forged-1",
            "kind": "goodwill",
            "points": "500",
            "reason": "forged",
        },
        "/console/adjustments/big-2-adjust/approve": {"form_id": "forged-2"},
        "/console/adjustments/big-2-adjust/reject": {"form_id": "forged-3"},
        f"/console/members/{member_id}/freeze": {"reason": "forged"},
        f"/console/members/{member_id}/unfreeze": {"reason": "forged"},
        "/console/jobs/daily": {"as_of": "2025-03-09"},
    }
    for path, data in posts.items():
        response = floor.console.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 403, path
        assert "csrf_failed" in response.text
    page = floor.console.get(f"/console/members/{member_id}").text
    assert balance(page, "ride") == "0"
    assert 'data-adjustment="pending_approval"' in page
    assert 'data-status="active"' in page
    assert "2025-03-09" not in floor.console.get("/console/jobs").text


def test_an_analyst_cannot_adjust_even_with_a_valid_token(
    floor: Floor, operator: Callable[..., TestClient]
) -> None:
    member_id, _number = floor.enrol(610)
    analyst = operator("analyst")
    token = form_token(analyst.get("/console").text)
    data = {"csrf_token": token, "form_id": "a-1", "kind": "goodwill", "points": "500"}
    refused = analyst.post(f"/console/members/{member_id}/adjustments", data=data | {"reason": "x"})
    assert refused.status_code == 403
    assert balance(floor.console.get(f"/console/members/{member_id}").text, "ride") == "0"
