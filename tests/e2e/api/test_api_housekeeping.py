"""Time guards on redemptions and the daily job's housekeeping, over HTTP (SPEC §12, issue 19).

A hold cannot be committed once its train has left (`409 departure_passed`) and the daily job
releases it; the railway cancels up to 30 days after departure (`409 cancel_window_closed`); the
statement says why pending points were voided or a hold released.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import Engine

from jifen.services.ledger_check import check_ledger
from jifen.services.portal_sign_in import create_link
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, Api
from tests.e2e.api.test_api_contract import TRIP_POINTS, Http, local
from tests.e2e.api.test_api_redemptions import UNLOCKED, held, ride_balance, rider, step
from tests.integration.services.test_events import at, ticket


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    """The API client; at the end the ledger adds up."""
    yield Http(api, engine, vault_keys)
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


def statement(http: Http, member: int) -> list[dict]:
    response = http.get(f"/v1/members/{member}/ledger?limit=100", role="integrator")
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestCommitAfterDeparture:
    def test_a_hold_cannot_be_committed_once_its_train_has_left(self, http: Http):
        member = rider(http, 601)
        held(http, "r-on-time", member)
        held(http, "r-too-late", member)

        http.set_clock(local(2025, 6, 20, 7, 59))
        assert step(http, "r-on-time", "commit").json()["status"] == "committed"
        http.set_clock(local(2025, 6, 20, 8, 0))  # the train leaves
        error = http.refused(step(http, "r-too-late", "commit"), 409, "departure_passed")
        assert "release" in error["message"]
        assert http.get("/v1/redemptions/r-too-late").json()["status"] == "held"

        released = step(http, "r-too-late", "release")  # giving points back is always allowed
        assert released.json()["status"] == "released"
        assert ride_balance(http, member) == UNLOCKED - 3000


class TestCancelWindow:
    def test_the_railway_cancels_up_to_thirty_days_after_departure_and_no_later(self, http: Http):
        member = rider(http, 602)
        for rid in ("r-c1", "r-c2"):
            held(http, rid, member)
            step(http, rid, "commit")
        assert ride_balance(http, member) == UNLOCKED - 6000

        http.set_clock(local(2025, 7, 20, 23, 59))  # the 30th day after 20 June
        cancelled = step(http, "r-c1", "cancel", {"id": "c1", "reason": "force_majeure"})
        assert cancelled.json()["points_returned"] == 3000
        http.set_clock(local(2025, 7, 21, 0, 0))
        late = step(http, "r-c2", "cancel", {"id": "c2", "reason": "force_majeure"})
        error = http.refused(late, 409, "cancel_window_closed")
        assert error["details"]["window_days"] == 30
        assert http.get("/v1/redemptions/r-c2").json()["status"] == "committed"
        assert ride_balance(http, member) == UNLOCKED - 3000


class TestStaleHolds:
    def test_a_hold_whose_train_has_left_is_released_by_the_daily_job_and_no_longer_blocks_erasure(
        self, http: Http
    ):
        member = rider(http, 603)
        held(http, "r-stale", member)
        http.set_clock(local(2025, 6, 21, 10))
        erase = f"/v1/members/{member}/erase"
        http.refused(http.post(erase, {"reason": "Member asked"}), 409, "open_redemptions")

        report = http.daily(date(2025, 6, 21))
        assert report["steps"]["stale_holds"] == {"holds_released": 1, "points_released": 3000}
        assert http.get("/v1/redemptions/r-stale").json()["status"] == "released"
        assert ride_balance(http, member) == UNLOCKED
        erased = http.post(erase, {"reason": "Member asked"})
        assert erased.status_code == 200, erased.text


def _no_show_and_stale_hold(http: Http, serial: int) -> int:
    """A member with a ticket bought and never travelled and a hold whose train left."""
    member = rider(http, serial)
    data = ticket("NS", departure=at(date(2025, 6, 20)), passenger={"member_id": member})
    bought = http.events(
        [
            {
                "id": "NS-buy",
                "type": "ticket.purchased",
                "occurred_at": local(2025, 6, 1),
                "data": data,
            }
        ]
    )
    assert bought[0]["status"] == "applied", bought
    held(http, "r-gone", member)
    http.set_clock(local(2025, 9, 19, 1))
    http.daily(date(2025, 9, 19))  # 91 days after departure: no claim can confirm the ticket
    return member


class TestStatement:
    def test_the_statement_shows_not_travelled_voids_and_released_holds_with_their_reason(
        self, http: Http
    ):
        member = _no_show_and_stale_hold(http, 604)
        assert http.member(member)["balances"]["pending"] == 0
        items = statement(http, member)
        voided = [i for i in items if i.get("reason") == "not_travelled"]
        assert [(i["type"], i["account"], i["points"]) for i in voided] == [
            ("void", "pending", -TRIP_POINTS)
        ]
        assert voided[0]["ticket_id"] == "NS"
        released = [i for i in items if i.get("reason") == "departure_passed"]
        # One line per lot the hold is given back to (2,768 + 232): the first two, oldest first.
        assert [(i["type"], i["points"], i["redemption_id"]) for i in released] == [
            ("reversal", 232, "r-gone"),
            ("reversal", TRIP_POINTS, "r-gone"),
        ]

    def test_the_portal_history_says_why_points_were_voided_or_given_back(self, http: Http):
        member = _no_show_and_stale_hold(http, 605)
        now = datetime(2025, 9, 19, 1, tzinfo=SHANGHAI)
        token = create_link(SqlUnitOfWork(http.engine), member_id=member, now=now)
        assert http.api.client.get(f"/portal/login/{token}", follow_redirects=False).is_redirect
        page = http.api.client.get("/portal/history?lang=en").text
        words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
        assert "Voided · Ride points Reason: Not travelled: no claim can confirm" in words
        assert "Hold released · Ride points Reason: The train had left" in words
        chinese = http.api.client.get("/portal/history?lang=zh_CN").text
        assert "未乘车" in chinese
        assert "列车已开出" in chinese
