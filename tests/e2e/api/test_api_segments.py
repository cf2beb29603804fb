"""Member segments over HTTP: set by operators (audited), scored by the daily job (RFM), shown on
the member, and matched by earning rules (`segment_in`) and campaign targets, on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.programs.schema import EarningRule, Program
from jifen.services.keys import ROLES, create_key
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id
from tests.e2e.conftest import sign_in
from tests.integration.services.test_events import at, ticket

DAY = date(2025, 5, 10)
EVENING = "2025-05-10T20:00:00+08:00"
VIP_BONUS = EarningRule.model_validate(
    {
        "code": "vip_survey_bonus",
        "name": "Surveys by VIPs: 100 more",
        "on": "activity.completed",
        "conditions": {"segment_in": ["vip"]},
        "effect": {"kind": "activity", "fixed_points": 100},
    }
)


@pytest.fixture
def http(engine: Engine, vault_keys: tuple[str, str], railway: Program) -> Iterator[Desk]:
    """The API on the railway program with a 100-point survey bonus for the `vip` segment."""
    program = railway.model_copy(update={"earning_rules": (*railway.earning_rules, VIP_BONUS)})
    install_program(SqlUnitOfWork(engine), program=program, source="test")
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        vault_keys=vault_keys[0],
        hash_key=vault_keys[1],
        simulated_clock=True,
        rate_limits="default=100000/100000",
    )
    keys = {
        role: create_key(SqlUnitOfWork(engine), role=role, label="test", now=T0).token
        for role in ROLES
    }
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        desk = Desk(Api(client, keys))
        desk.clock("2025-05-01T09:00:00+08:00")
        yield desk
    app.state.jifen.engine.dispose()


class Desk:
    def __init__(self, api: Api) -> None:
        self.api, self.n, self.serial = api, 0, 100

    def clock(self, now: str) -> None:
        assert self.api.post("/v1/clock", {"now": now}).status_code == 200

    def enrol(self) -> int:
        self.serial += 1
        body = {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": resident_id(date(1990, 3, 7), self.serial),
            "birth_date": "1990-03-07",
        }
        response = self.api.post("/v1/members", body, role="operator")
        assert response.status_code == 201, response.text
        return response.json()["member_id"]

    def put(self, member_id: int, segments: Any, role: str = "operator") -> Any:
        return self.api.client.put(
            f"/v1/members/{member_id}/segments",
            json={"segments": segments},
            headers=self.api.headers(role),
        )

    def member(self, member_id: int) -> dict[str, Any]:
        response = self.api.get(f"/v1/members/{member_id}", role="operator")
        assert response.status_code == 200, response.text
        return response.json()

    def event(self, type_: str, when: Any, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {"id": f"ev-{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}

    def survey(self, member_id: int, points: int = 10) -> dict[str, Any]:
        data = {"member_id": member_id, "activity": "survey", "points": points}
        return self.event("activity.completed", at(DAY, 12), data)

    def send(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.api.post("/v1/events", {"events": list(events)}, role="integrator")
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results] == ["applied"] * len(events), results
        return results


def test_an_operator_sets_a_members_segments_and_the_member_shows_them(http: Desk) -> None:
    member = http.enrol()
    assert http.member(member)["segments"] == []

    response = http.put(member, ["vip", "business", "vip"])

    assert response.status_code == 200, response.text
    assert response.json() == {
        "member_id": member,
        "segments": ["business", "vip"],
        "assigned": ["business", "vip"],
        "rfm": None,
    }
    assert http.member(member)["segments"] == ["business", "vip"]
    audited = http.api.get("/v1/audit", params={"subject": f"member:{member}"}).json()["items"]
    assert [(a["action"], a["details"]) for a in audited] == [
        ("member.segments_set", {"before": [], "after": ["business", "vip"]})
    ]
    assert http.put(member, []).json()["segments"] == []
    assert http.member(member)["segments"] == []


def test_the_console_member_page_shows_the_members_segments(http: Desk, console_user) -> None:
    member = http.enrol()
    http.put(member, ["business", "vip"])
    sign_in(http.api.client, console_user("ops", "operator"))

    page = http.api.client.get(f"/console/members/{member}?lang=en")

    assert page.status_code == 200
    assert "Segments: business, vip" in page.text


def test_segments_are_set_by_operators_for_members_that_exist_with_plain_names(
    http: Desk,
) -> None:
    member = http.enrol()
    assert http.put(member, ["vip"], role="analyst").status_code == 403
    assert http.put(member, ["vip"], role="integrator").status_code == 403
    assert http.put(999_999, ["vip"]).json()["error"]["code"] == "not_found"
    for bad in (["VIP"], ["\u202evip"], [""], "vip", [1]):
        response = http.put(member, bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"
    assert http.member(member)["segments"] == []


def test_an_earning_rule_for_a_segment_pays_members_in_it_one_at_a_time_and_in_batches(
    http: Desk,
) -> None:
    vip, other = http.enrol(), http.enrol()
    http.put(vip, ["vip"])
    http.clock(EVENING)

    http.send(http.survey(vip))  # one event: applied on its own
    http.send(http.survey(other))
    http.send(http.survey(vip), http.survey(other))  # a batch: the bulk path

    assert http.member(vip)["balances"]["activity"] == 2 * (10 + 100)
    assert http.member(other)["balances"]["activity"] == 2 * 10


def test_the_daily_job_puts_each_earner_in_an_rfm_segment_a_campaign_can_aim_at(
    http: Desk,
) -> None:
    earner, idle = http.enrol(), http.enrol()
    http.clock(EVENING)
    http.send(http.survey(earner))
    http.clock("2025-05-12T09:00:00+08:00")
    job = http.api.post("/v1/jobs/daily", {"as_of": "2025-05-12"})
    assert job.status_code == 200, job.text

    # The only earner is the most recent and most frequent: a champion.
    assert http.member(earner)["segments"] == ["champions"]
    assert http.member(idle)["segments"] == []

    campaign = {
        "id": "champions-bonus",
        "name": "Champions ride double",
        "starts_at": "2025-05-12T00:00:00+08:00",
        "ends_at": "2025-06-01T00:00:00+08:00",
        "budget_points": 100_000,
        "effect": {"kind": "ride", "percent": 100},
        "target": {"segments": ["champions"]},
        "control_percent": 0,
    }
    response = http.api.post("/v1/campaigns", campaign, role="operator")
    assert response.status_code == 201, response.text
    trip_day = date(2025, 5, 20)
    http.clock("2025-05-20T20:00:00+08:00")
    for member, ticket_id in ((earner, "T-1"), (idle, "T-2")):
        data = ticket(ticket_id, departure=at(trip_day), passenger={"member_id": member})
        http.send(http.event("ticket.purchased", at(trip_day, 7), data))
        http.send(http.event("ticket.travelled", at(trip_day, 16), {"ticket_id": ticket_id}))

    assert http.member(earner)["balances"]["ride"] == 2 * 2768  # base and the campaign's bonus
    assert http.member(idle)["balances"]["ride"] == 2768
