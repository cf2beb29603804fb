"""Console member search and the member page, on SQLite and PostgreSQL, in both languages.

`Floor` (used by the other console page tests too) sets a scene through the API as integrators
and operators would: members enrolled on 2025-03-01, a trip and an activity on 2025-03-05, and
the sandbox clock at 2025-03-10 noon.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, resident_id
from tests.e2e.conftest import form_token, sign_in
from tests.integration.services.test_events import at, ticket

JOINED = "2025-03-01T09:00:00+08:00"
NOW = "2025-03-10T12:00:00+08:00"
TRIP_DAY = date(2025, 3, 5)
TRIP_POINTS = 2768  # ¥553.50 at 5×, half-up
PHONE = "13812345678"
FORM_ID = re.compile(r'name="form_id" value="([^"]+)-adjust"')


class Floor:
    """Members and points set up through the API, and a signed-in console to look at them."""

    def __init__(self, api: Api, console: TestClient) -> None:
        self.api, self.console = api, console
        self.n = 0
        self.clock(JOINED)

    def clock(self, now: str) -> None:
        assert self.api.post("/v1/clock", {"now": now}).status_code == 200

    def enrol(self, serial: int, phone: str | None = None) -> tuple[int, str]:
        """A member born 1990-03-07 with ID number serial `serial`; returns (id, ID number)."""
        number = resident_id(date(1990, 3, 7), serial)
        body = {"name": "张三", "id_type": "resident_id", "id_number": number}
        body |= {"birth_date": "1990-03-07", "phone": phone}
        response = self.api.post("/v1/members", body, role="operator")
        assert response.status_code == 201, response.text
        return response.json()["member_id"], number

    def events(self, *events: dict[str, Any]) -> None:
        response = self.api.send_events(list(events))
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * len(events)

    def event(self, type_: str, when: Any, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {"id": f"ev-{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}

    def ride(self, member_id: int, ticket_id: str, day: date = TRIP_DAY) -> None:
        data = ticket(ticket_id, departure=at(day), passenger={"member_id": member_id})
        bought = self.event("ticket.purchased", at(day, 7), data)
        self.events(bought, self.event("ticket.travelled", at(day, 16), {"ticket_id": ticket_id}))

    def activity(self, member_id: int, points: int, day: date = TRIP_DAY) -> None:
        data = {"member_id": member_id, "activity": "survey", "points": points}
        self.events(self.event("activity.completed", at(day, 12), data))

    def adjust(
        self,
        member_id: int,
        points: int | str,
        *,
        kind: str = "goodwill",
        reason: str = "Delayed train G1",
        client: TestClient | None = None,
        form_id: str | None = None,
    ) -> Any:
        """Send the member page's adjustment form as a browser would; returns the next page."""
        client = client or self.console
        html = client.get(f"/console/members/{member_id}").text
        match = FORM_ID.search(html)
        assert match, "the member page has no adjustment form"
        data = {
            "csrf_token": form_token(html),
            "form_id": form_id or f"{match.group(1)}-adjust",
            "kind": kind,
            "point_kind": "ride",
            "points": str(points),
            "reason": reason,
        }
        return client.post(f"/console/members/{member_id}/adjustments", data=data)


@pytest.fixture
def floor(api: Api, console: TestClient) -> Floor:
    """The scene's API and an admin's console."""
    return Floor(api, console)


@pytest.fixture
def operator(api: Api, console_user: Callable[..., str]) -> Callable[[str], TestClient]:
    """A second browser signed in as a new console user of `role`."""
    clients: list[TestClient] = []

    def make(role: str, name: str | None = None) -> TestClient:
        client = TestClient(api.client.app, raise_server_exceptions=False)
        sign_in(client, console_user(name or f"{role}{len(clients)}", role))
        clients.append(client)
        return client

    return make


def balance(html: str, kind: str) -> str:
    """The figure shown for a balance on the member page."""
    match = re.search(rf'data-balance="{kind}">([^<]*)<', html)
    assert match, f"no {kind} balance on the page"
    return match.group(1)


def test_a_member_is_found_by_number_with_identity_masked(floor: Floor) -> None:
    member_id, number = floor.enrol(501, PHONE)
    page = floor.console.get("/console/members", params={"q": str(member_id)})
    assert page.status_code == 200
    assert f'href="/console/members/{member_id}"' in page.text
    assert f"{number[:4]}**********{number[-4:]}" in page.text
    assert "138****5678" in page.text
    assert number not in page.text
    assert PHONE not in page.text


def test_a_member_is_found_by_exact_phone_or_id_number_only(floor: Floor) -> None:
    member_id, number = floor.enrol(502, PHONE)
    floor.enrol(503)
    link = f'href="/console/members/{member_id}"'
    assert link in floor.console.get("/console/members", params={"q": "138 1234 5678"}).text
    assert link in floor.console.get("/console/members", params={"q": number.lower()}).text
    partial = floor.console.get("/console/members", params={"q": number[:-1]})
    assert link not in partial.text
    assert "没有匹配的会员" in partial.text
    assert number[:-1] not in partial.text.replace(f'value="{number[:-1]}"', "")


def test_the_member_page_shows_balances_lots_and_the_rules_behind_each_credit(
    floor: Floor,
) -> None:
    member_id, number = floor.enrol(504, PHONE)
    floor.ride(member_id, "T1")
    floor.activity(member_id, 300)
    floor.clock(NOW)
    page = floor.console.get(f"/console/members/{member_id}")
    assert page.status_code == 200
    assert balance(page.text, "ride") == "2,768"
    assert balance(page.text, "activity") == "300"
    assert balance(page.text, "tier_points") == "2,768"
    assert "2026年3月5日" in page.text  # both lots lapse 12 months after the trip day
    assert "乘车积分 5 倍: 2,768" in page.text  # the rule behind the ride credit
    assert "再获得 47,232 分可升至三星会员" in page.text  # 50,000 − 2,768
    assert number not in page.text
    assert PHONE not in page.text


def test_the_member_page_speaks_english(floor: Floor) -> None:
    member_id, _number = floor.enrol(505)
    floor.ride(member_id, "T1")
    page = floor.console.get(f"/console/members/{member_id}?lang=en").text
    assert f"Member {member_id}" in page
    assert "Ride points 5× for everyone: 2,768" in page
    assert "Adjust points" in page
    assert "积分调整" not in page


def test_an_unknown_member_number_says_so(floor: Floor) -> None:
    page = floor.console.get("/console/members/999")
    assert page.status_code == 404
    assert "没有会员号为 999 的会员" in page.text


def test_text_that_is_no_number_phone_or_id_asks_again(floor: Floor) -> None:
    page = floor.console.get("/console/members", params={"q": "张三"})
    assert page.status_code == 200
    assert "请按会员号、手机号或证件号搜索" in page.text


def test_an_analyst_may_not_look_members_up(
    floor: Floor, operator: Callable[[str], TestClient]
) -> None:
    member_id, _number = floor.enrol(506)
    analyst = operator("analyst")
    page = analyst.get(f"/console/members/{member_id}")
    assert page.status_code == 403
    assert "您的角色（分析师）不能打开此页面或执行此操作" in page.text
    assert "张三" not in page.text
    assert 'href="/console/members"' not in analyst.get("/console").text
