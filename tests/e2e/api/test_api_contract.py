"""SPEC §12 over HTTP on SQLite and PostgreSQL: keys, members, ledger, tiers, events, jobs, reports.

Every request goes through `Http`, which holds the contract that applies to all of them: no answer
is a 5xx, every failure has the one error body, and no answer or log line holds an ID number or a
phone that was sent in full.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.services import ledger
from jifen.services.keys import ROLES, revoke_key
from jifen.services.ledger_check import check_ledger
from jifen.storage.tables import members
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, Api, resident_id
from tests.integration.services.test_events import at, ticket

TRIP_POINTS = 2768  # ¥553.50 at 5× (the railway base rate)
MEMBER_FIELDS = {
    "member_id",
    "status",
    "tier",
    "balances",
    "redemption_unlocked",
    "expiring",
}


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> str:
    """An ISO time in the program's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).isoformat()


def enrolment(birth: date, serial: int, **fields: Any) -> dict[str, Any]:
    """A valid enrolment body with a resident ID and a mobile phone unique to `serial`."""
    return {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": resident_id(birth, serial),
        "birth_date": birth.isoformat(),
        "phone": f"139{serial:08d}",
        **fields,
    }


def trip(member_id: int, day: date, *, ticket_id: str | None = None) -> list[dict[str, Any]]:
    """A ticket bought on the morning of `day` and travelled that afternoon (¥553.50)."""
    tid = ticket_id or f"T{member_id}-{day:%Y%m%d}"
    data = ticket(tid, departure=at(day), passenger={"member_id": member_id})
    return [
        event(f"{tid}-buy", "ticket.purchased", at(day, 7).isoformat(), data),
        event(f"{tid}-ride", "ticket.travelled", at(day, 16).isoformat(), {"ticket_id": tid}),
    ]


def event(event_id: Any, type_: str, occurred_at: str, data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": occurred_at, "data": data}


def activity(
    event_id: str, *, member_id: int, points: int, on: date = date(2025, 1, 10)
) -> dict[str, Any]:
    """An `activity.completed` event: a survey done on the morning of `on`."""
    data = {"member_id": member_id, "activity": "survey", "points": points}
    return event(event_id, "activity.completed", at(on).isoformat(), data)


def error_of(response: httpx2.Response) -> dict[str, Any]:
    """The error of a failed response, checked against the one error body."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


@dataclass
class Http:
    """The test's client: checks every answer, remembers every body and every secret sent."""

    api: Api
    engine: Engine
    vault_keys: tuple[str, str]
    secrets: set[str] = field(default_factory=set)
    bodies: list[str] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        role: str | None = "admin",
        client: TestClient | None = None,
        **kw: Any,
    ) -> httpx2.Response:
        body = kw.get("json")
        for secret in ("id_number", "phone"):  # what an enrolment sends that must stay masked
            if isinstance(body, dict) and isinstance(body.get(secret), str):
                self.secrets.add(body[secret])
        headers = kw.pop("headers", {})
        if role is not None:
            headers = {**self.api.headers(role), **headers}
        response = (client or self.api.client).request(method, path, headers=headers, **kw)
        self.bodies.append(response.text)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error_of(response)
        return response

    def get(self, path: str, role: str | None = "admin", **kw: Any) -> httpx2.Response:
        return self.request("GET", path, role=role, **kw)

    def post(self, path: str, body: Any = None, role: str | None = "admin", **kw: Any) -> Any:
        return self.request("POST", path, role=role, json=body, **kw)

    def refused(self, response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        error = error_of(response)
        assert error["code"] == code, error
        return error

    def set_clock(self, now: str) -> None:
        response = self.post("/v1/clock", {"now": now})
        assert response.status_code == 200, response.text

    def enrol(self, birth: date = date(1990, 3, 7), *, serial: int, **fields: Any) -> int:
        response = self.post("/v1/members", enrolment(birth, serial, **fields), role="operator")
        assert response.status_code == 201, response.text
        return response.json()["member_id"]

    def events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.api.send_events(events)  # once the last has happened
        self.bodies.append(response.text)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def ride(self, member_id: int, *days: date) -> None:
        results = self.events([e for day in days for e in trip(member_id, day)])
        assert [r["status"] for r in results] == ["applied"] * len(results), results

    def member(self, member_id: int) -> dict[str, Any]:
        response = self.get(f"/v1/members/{member_id}", role="integrator")
        assert response.status_code == 200, response.text
        return response.json()

    def daily(self, as_of: date) -> dict[str, Any]:
        response = self.post("/v1/jobs/daily", {"as_of": as_of.isoformat()})
        assert response.status_code == 200, response.text
        return response.json()

    def written(self) -> tuple[dict[str, int], int]:
        """What is stored: ledger rows by table, and members."""
        with self.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(members)).scalar_one()
        return check_ledger(SqlUnitOfWork(self.engine)).counts, count

    @contextmanager
    def app(self, **settings: Any) -> Iterator[TestClient]:
        """Another app on the same database (and so the same keys), with other settings."""
        app = create_app(
            Settings(
                database_url=self.engine.url.render_as_string(hide_password=False),
                vault_keys=self.vault_keys[0],
                hash_key=self.vault_keys[1],
                **settings,
            )
        )
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
        app.state.jifen.engine.dispose()


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [r for phase in ("setup", "call") for r in caplog.get_records(phase)]
    return "\n".join(formatter.format(r) for r in records)


@pytest.fixture
def http(
    api: Api, engine: Engine, vault_keys: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> Iterator[Http]:
    """The API client of every test here; at the end, no full ID number or phone has leaked."""
    for name in ("jifen", "uvicorn", "uvicorn.error", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    session = Http(api, engine, vault_keys)
    yield session
    leaks = {s for s in session.secrets for body in session.bodies if s in body}
    assert not leaks, f"responses hold {len(leaks)} full ID numbers or phones"
    logged = _logged(caplog)
    assert not {s for s in session.secrets if s in logged}, "a log line holds an identity"


# -- keys and roles -------------------------------------------------------------------------------
ENROL = enrolment(date(1985, 5, 5), 900)
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/v1/members", ENROL, {"operator", "integrator"}),
    ("GET", "/v1/members/1", None, {"operator", "integrator"}),
    ("GET", "/v1/members/1/ledger", None, {"operator", "integrator"}),
    ("GET", "/v1/members/1/tiers", None, {"operator", "integrator"}),
    ("POST", "/v1/events", {"events": [{"id": "e-roles"}]}, {"integrator"}),
    ("POST", "/v1/jobs/daily", {"as_of": "2025-01-01"}, set()),
    ("GET", "/v1/reports/summary?from=2025-01-01&to=2025-01-31", None, {"analyst"}),
    ("POST", "/v1/clock", {"now": local(2025, 1, 1)}, set()),
    ("GET", "/v1/clock", None, set(ROLES)),
]


class TestKeys:
    def test_every_route_needs_a_valid_live_key(self, http: Http, engine: Engine):
        admin = http.api.keys["admin"]
        prefix = admin.split("_")[1]
        bad = {
            "none": {},
            "empty bearer": {"Authorization": "Bearer "},
            "other scheme": {"Authorization": f"Basic {admin}"},
            "not a key": {"Authorization": "Bearer nonsense"},
            "unknown prefix": {"Authorization": "Bearer jf_00000000_" + "a" * 43},
            "wrong secret": {"Authorization": f"Bearer jf_{prefix}_{'b' * 43}"},
            "huge": {"Authorization": "Bearer jf_" + "x" * 10_000},
        }
        for method, path, body, _roles in ROUTES:
            for headers in bad.values():
                response = http.request(method, path, role=None, headers=headers, json=body)
                http.refused(response, 401, "unauthorized")

        assert http.get("/v1/clock").status_code == 200
        revoke_key(SqlUnitOfWork(engine), prefix=prefix, now=datetime(2025, 1, 2, tzinfo=SHANGHAI))
        for method, path, body, _roles in ROUTES:
            http.refused(http.request(method, path, json=body), 401, "unauthorized")
        assert http.get("/v1/clock", role="operator").status_code == 200  # other keys live on

    def test_each_role_may_do_only_what_its_routes_allow(self, http: Http):
        for method, path, body, roles in ROUTES:
            for role in ROLES:
                response = http.request(method, path, role=role, json=body)
                if role == "admin" or role in roles:
                    assert response.status_code not in {401, 403}, (method, path, role)
                else:
                    error = http.refused(response, 403, "forbidden")
                    assert error["details"] == {"role": role}

    def test_unknown_paths_and_methods_answer_with_the_error_body(self, http: Http):
        http.refused(http.get("/v1/nowhere"), 404, "not_found")
        http.refused(http.request("DELETE", "/v1/clock"), 405, "method_not_allowed")


# -- members --------------------------------------------------------------------------------------
class TestEnrolment:
    def test_a_new_member_is_created_in_the_join_tier(self, http: Http):
        response = http.post("/v1/members", enrolment(date(1990, 3, 7), 101), role="integrator")
        assert response.status_code == 201
        body = response.json()
        assert set(body) >= {"member_id", "tier"}
        assert isinstance(body["member_id"], int)
        assert body["tier"] == {"code": "star2", "valid_until": None}

    def test_refusals_name_the_problem_and_write_nothing(self, http: Http):
        body = enrolment(date(1990, 3, 7), 102)
        http.enrol(serial=102)
        before = http.written()

        error = http.refused(http.post("/v1/members", body), 409, "member_exists")
        assert (
            error["details"]["id_number"]
            == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
        )
        lower = {**enrolment(date(1990, 3, 7), 102), "id_number": body["id_number"].lower()}
        http.refused(http.post("/v1/members", lower), 409, "member_exists")

        wrong_check = body["id_number"][:17] + ("0" if body["id_number"][17] != "0" else "1")
        error = http.refused(
            http.post("/v1/members", {**body, "id_number": wrong_check}), 422, "invalid_identity"
        )
        assert error["details"]["field"] == "id_number"
        for field_name in ("name", "id_type", "id_number", "birth_date"):
            missing = {k: v for k, v in enrolment(date(1990, 3, 7), 103).items() if k != field_name}
            error = http.refused(http.post("/v1/members", missing), 422, "validation_error")
            assert field_name in error["message"]
        for id_type in ("drivers_licence", "", 7, None):
            wrong = enrolment(date(1990, 3, 7), 104, id_type=id_type)
            http.refused(http.post("/v1/members", wrong), 422, "validation_error")
        extra = enrolment(date(1990, 3, 7), 105, vip=True)
        http.refused(http.post("/v1/members", extra), 422, "validation_error")
        assert http.written() == before

    def test_age_is_taken_on_the_simulated_day(self, http: Http):
        birth = date(2014, 6, 1)  # 12 by the wall clock of this test's writing, 11 in the sandbox
        body = enrolment(birth, 106)
        http.set_clock(local(2026, 5, 31, 23, 30))
        error = http.refused(http.post("/v1/members", body), 422, "under_age")
        assert error["details"]["age"] == 11
        http.set_clock(local(2026, 6, 1, 0, 30))  # the birthday, though still 31 May in UTC
        assert http.post("/v1/members", body).status_code == 201


class TestMemberView:
    def test_fields_balances_and_the_unlock_at_ten_thousand_points(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=110)
        seen = http.member(member)
        assert set(seen) >= MEMBER_FIELDS
        assert seen["member_id"] == member
        assert seen["status"] == "active"
        assert seen["tier"] == {"code": "star2", "valid_until": None}
        assert seen["balances"] == {"ride": 0, "activity": 0, "pending": 0, "upgrade_12m": 0}
        assert seen["redemption_unlocked"] is False
        assert seen["expiring"] == []

        http.ride(member, date(2025, 1, 10), date(2025, 1, 11), date(2025, 1, 12))
        http.set_clock(local(2025, 2, 1))
        seen = http.member(member)
        assert seen["balances"]["ride"] == 3 * TRIP_POINTS == 8304
        assert seen["redemption_unlocked"] is False
        http.ride(member, date(2025, 1, 13))
        seen = http.member(member)
        assert seen["balances"] == {
            "ride": 4 * TRIP_POINTS,
            "activity": 0,
            "pending": 0,
            "upgrade_12m": 4 * TRIP_POINTS,
        }
        assert seen["balances"]["ride"] == 11_072
        assert seen["redemption_unlocked"] is True

        bought = trip(member, date(2025, 2, 1))[0]
        survey = activity("act-1", member_id=member, points=50, on=date(2025, 2, 1))
        assert [r["status"] for r in http.events([bought, survey])] == ["applied"] * 2
        balances = http.member(member)["balances"]
        assert (balances["pending"], balances["activity"]) == (TRIP_POINTS, 50)

    def test_expiring_covers_the_next_90_days_of_the_simulated_clock(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=111)
        days = [date(2025, 1, 10), date(2025, 1, 11), date(2025, 1, 12), date(2025, 1, 13)]
        http.ride(member, *days)

        http.set_clock(local(2025, 10, 11, 23, 0))  # + 90 days = 2026-01-09: nothing yet
        assert http.member(member)["expiring"] == []
        http.set_clock(local(2025, 10, 12, 0, 30))  # + 90 days = 2026-01-10: the first lot
        seen = http.member(member)
        assert seen["expiring"] == [{"date": "2026-01-10", "kind": "ride", "points": TRIP_POINTS}]
        http.set_clock(local(2025, 10, 20))
        seen = http.member(member)
        assert [(x["date"], x["points"]) for x in seen["expiring"]] == [
            (d.replace(year=2026).isoformat(), TRIP_POINTS) for d in days
        ]
        assert seen["balances"]["upgrade_12m"] == 4 * TRIP_POINTS
        assert all(set(x) == {"date", "kind", "points"} for x in seen["expiring"])

        # On 2026-01-11 two lots have lapsed (the daily job has not run): they cannot be spent.
        http.set_clock(local(2026, 1, 11, 10))
        seen = http.member(member)
        assert seen["balances"]["ride"] == 2 * TRIP_POINTS
        assert [x["date"] for x in seen["expiring"]] == ["2026-01-12", "2026-01-13"]
        assert seen["balances"]["upgrade_12m"] == 2 * TRIP_POINTS

    def test_an_unknown_member_is_not_found(self, http: Http):
        for path in ("/v1/members/424242", "/v1/members/424242/ledger", "/v1/members/424242/tiers"):
            error = http.refused(http.get(path), 404, "not_found")
            assert error["details"] == {"member_id": 424242}
        for bad in ("0", "-1", "abc", "1.5", str(10**30)):
            http.refused(http.get(f"/v1/members/{bad}"), 422, "validation_error")


class TestStatement:
    @pytest.fixture
    def member(self, http: Http) -> int:
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=120)
        http.ride(member, date(2025, 1, 10), date(2025, 1, 11), date(2025, 1, 12))
        survey = activity("act-7", member_id=member, points=30, on=date(2025, 1, 13))
        assert http.events([survey])[0]["status"] == "applied"
        return member

    def _page(self, http: Http, member: int, **params: Any) -> dict[str, Any]:
        response = http.get(f"/v1/members/{member}/ledger", role="operator", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def test_items_are_newest_first_and_pages_walk_without_gaps(self, http: Http, member: int):
        whole = self._page(http, member, limit=500)
        items = whole["items"]
        assert whole["next_cursor"] is None
        assert len(items) == 3 * 4 + 1  # per trip: pending, confirm (two legs), upgrade credit
        for item in items:
            assert set(item) >= {"at", "kind", "points", "type", "event_id"}
            assert isinstance(item["points"], int)
        times = [datetime.fromisoformat(x["at"]) for x in items]
        assert all(t.tzinfo is not None for t in times)
        assert times == sorted(times, reverse=True)
        assert items[0] == items[0] | {"kind": "activity", "points": 30, "event_id": "act-7"}
        first_trip = {
            x["event_id"] for x in items if x["event_id"].startswith(f"T{member}-20250110")
        }
        assert first_trip == {f"T{member}-20250110-buy", f"T{member}-20250110-ride"}
        assert sum(x["points"] for x in items if x["kind"] == "ride") == 3 * TRIP_POINTS

        for limit in (1, 2):
            walked, cursor, pages = [], None, 0
            while True:
                page = self._page(
                    http, member, limit=limit, **({"cursor": cursor} if cursor else {})
                )
                assert 1 <= len(page["items"]) <= limit
                walked += page["items"]
                pages += 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert walked == items
            assert pages == -(-len(items) // limit)

    def test_a_cursor_not_given_out_or_a_limit_out_of_range_is_refused(
        self, http: Http, member: int
    ):
        path = f"/v1/members/{member}/ledger"
        for cursor in ("garbage", "!!!!", "é", "ZS0x", "eDU", "%00", "e" * 64):
            response = http.get(path, params={"cursor": cursor})
            assert 400 <= response.status_code < 500
            assert error_of(response)["code"] == "invalid_request", cursor
        http.refused(http.get(path, params={"cursor": "e" * 65}), 422, "validation_error")
        for limit in ("0", "-1", "501", "x", str(10**30)):
            http.refused(http.get(path, params={"limit": limit}), 422, "validation_error")


class TestTierHistory:
    def test_nineteen_long_trips_reach_star3_with_the_reason_and_figures(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=130)
        days = [date(2025, 1, 10) + timedelta(days=n) for n in range(19)]
        http.ride(member, *days)
        history = http.get(f"/v1/members/{member}/tiers", role="operator").json()
        assert history["items"] == []
        assert history["tier"] == {"code": "star2", "valid_until": None}

        job = http.daily(days[-1])
        assert job["steps"]["tiers"]["changes"] == {"upgrade": 1}
        history = http.get(f"/v1/members/{member}/tiers", role="integrator").json()
        assert history["member_id"] == member
        assert history["tier"] == {"code": "star3", "valid_until": "2026-01-27"}
        assert history["items"] == [
            {
                "decided_on": "2025-01-28",
                "old": "star2",
                "new": "star3",
                "valid_until": "2026-01-27",
                "reason": "upgrade",
                "qualifying_points": 19 * TRIP_POINTS,
            }
        ]
        assert http.member(member)["tier"] == {"code": "star3", "valid_until": "2026-01-27"}


# -- events ---------------------------------------------------------------------------------------
class TestEvents:
    def test_a_thousand_events_each_get_a_result_in_order(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=140)
        batch = [{"id": f"bad-{n}", "type": "ticket.teleported"} for n in range(1000)]
        batch[500] = trip(member, date(2025, 1, 10))[0]
        results = http.events(batch)
        assert [r["id"] for r in results] == [e["id"] for e in batch]
        assert [r["status"] for r in results].count("applied") == 1
        assert results[500]["status"] == "applied"
        assert {r["error"]["code"] for r in results if r["status"] == "rejected"} == {
            "invalid_event"
        }
        assert http.member(member)["balances"]["pending"] == TRIP_POINTS

    def test_a_batch_of_none_or_over_a_thousand_is_refused_whole(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=141)
        before = http.written()
        batch = [*trip(member, date(2025, 1, 10)), *({"id": f"x{n}"} for n in range(999))]
        assert len(batch) == 1001
        for body in ({"events": batch}, {"events": []}, {}, {"events": "x"}, {"events": None}):
            http.refused(http.post("/v1/events", body), 422, "validation_error")
        assert http.written() == before

    def test_one_bad_event_sinks_no_other_and_a_repeat_is_a_duplicate(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=142)
        day = date(2025, 1, 10)
        buy, ride = trip(member, day, ticket_id="T1")
        changed_buy = {**buy, "data": {**buy["data"], "fare_fen": 10}}
        stranger = trip(999_999, day, ticket_id="T2")[0]
        refund = event("refund-T1", "ticket.refunded", at(day, 18).isoformat(), {"ticket_id": "T1"})
        bad_fare = event(
            "bad-fare",
            "ticket.travelled",
            at(day, 16).isoformat(),
            {"ticket_id": "X", "fare_fen": "x"},
        )
        no_id = {"type": "ticket.travelled", "occurred_at": at(day).isoformat(), "data": {}}
        batch = [buy, buy, changed_buy, stranger, bad_fare, no_id, ride, refund]
        results = http.events(batch)
        assert [(r["id"], r["status"]) for r in results] == [
            ("T1-buy", "applied"),
            ("T1-buy", "duplicate"),
            ("T1-buy", "rejected"),
            ("T2-buy", "rejected"),
            ("bad-fare", "rejected"),
            (None, "rejected"),
            ("T1-ride", "applied"),
            ("refund-T1", "rejected"),
        ]
        codes = [r["error"]["code"] if r["status"] == "rejected" else None for r in results]
        assert codes == [
            None,
            None,
            "idempotency_conflict",
            "rider_not_member",
            "invalid_event",
            "invalid_event",
            None,
            "ticket_conflict",
        ]
        for result in results:
            if result["status"] == "rejected":
                assert set(result["error"]) == {"code", "message", "details"}
            else:
                assert result.get("error") is None
        once = http.member(member)["balances"]
        assert once["ride"] == TRIP_POINTS
        written = http.written()

        again = http.events([buy, ride])
        assert [r["status"] for r in again] == ["duplicate", "duplicate"]
        assert http.member(member)["balances"] == once
        assert http.written() == written


# -- jobs -----------------------------------------------------------------------------------------
class TestDailyJob:
    def test_running_a_day_twice_skips_every_step_and_changes_nothing(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=150)
        http.ride(member, date(2025, 1, 10), date(2025, 2, 10))
        first = http.daily(date(2026, 1, 10))
        assert first["as_of"] == "2026-01-10"
        assert first["skipped"] == []
        assert first["steps"]["expire"] == {"lots_expired": 1, "points_expired": TRIP_POINTS}
        http.set_clock(local(2026, 1, 10, 12))
        seen = http.member(member)
        assert seen["balances"]["ride"] == TRIP_POINTS
        written = http.written()

        second = http.daily(date(2026, 1, 10))
        assert second["skipped"] == list(second["steps"])  # every step had run
        assert {"no_shows", "stale_holds", "expire", "tiers", "reminders"} <= set(second["steps"])
        assert second["steps"] == first["steps"]
        assert http.written() == written
        assert http.member(member) == seen


# -- reports --------------------------------------------------------------------------------------
class TestSummary:
    def _summary(self, http: Http, start: str, end: str) -> dict[str, Any]:
        response = http.get(
            "/v1/reports/summary", role="analyst", params={"from": start, "to": end}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def test_a_small_program_adds_up_by_hand(self, http: Http, engine: Engine):
        http.set_clock(local(2025, 1, 1))
        a = http.enrol(serial=160)
        http.set_clock(local(2025, 3, 1))
        b = http.enrol(serial=161)
        http.set_clock(local(2025, 3, 11))  # the trips reach the server after they happen
        http.ride(a, date(2025, 1, 10), date(2025, 2, 10))
        http.ride(b, date(2025, 3, 10))
        # No redemption endpoint yet: redeem 1,000 of b's points through the ledger itself.
        ledger.spend(
            SqlUnitOfWork(engine),
            key="redeem-b",
            member_id=b,
            kind="ride",
            points=1000,
            occurred_at=datetime(2025, 4, 1, 10, tzinfo=SHANGHAI),
        )
        assert http.daily(date(2026, 1, 10))["steps"]["expire"]["points_expired"] == TRIP_POINTS

        # (members total, new, active), (issued, redeemed, expired, outstanding), repurchase
        expected = {
            ("2025-01-01", "2025-02-28"): ((1, 1, 1), (5536, 0, 0, 5536), 1.0),
            ("2025-03-01", "2025-12-31"): ((2, 1, 1), (2768, 1000, 0, 7304), 0.0),
            ("2026-01-01", "2026-01-31"): ((2, 0, 0), (0, 0, 2768, 4536), 0.0),
        }
        outstanding = 0
        for (start, end), (people, points, repurchase) in expected.items():
            report = self._summary(http, start, end)
            assert set(report) >= {
                "members",
                "points",
                "repurchase_rate",
                "breakage_rate",
                "liability_fen",
                "tiers",
            }
            assert report["members"] == dict(zip(("total", "new", "active"), people, strict=True))
            p = report["points"]
            assert p == dict(
                zip(("issued", "redeemed", "expired", "outstanding"), points, strict=True),
                forfeited=0,
                held=0,
                opening=outstanding,  # each period opens with what the last one left
            )
            assert p["opening"] + p["issued"] - p["redeemed"] - p["expired"] == p["outstanding"]
            outstanding = p["outstanding"]
            assert report["repurchase_rate"] == repurchase
            assert report["tiers"] == {"star2": 2, "star3": 0, "star4": 0, "star5": 0}
            gone = p["redeemed"] + p["expired"]
            breakage = Fraction(p["expired"], gone) if gone else Fraction(0)
            assert report["breakage_rate"] == float(breakage)
            # 100 points = ¥1, so a point is worth 1 fen; no breakage estimate is stored, so
            # the liability is every point members hold at the end.
            assert report["liability_fen"] == p["outstanding"]

        whole = self._summary(http, "2025-01-01", "2026-01-31")
        assert whole["members"] == {"total": 2, "new": 2, "active": 2}
        assert whole["points"] == {
            "issued": 8304,
            "redeemed": 1000,
            "expired": 2768,
            "outstanding": 4536,
            "forfeited": 0,
            "held": 0,
            "opening": 0,
        }
        assert whole["repurchase_rate"] == 0.5
        assert whole["breakage_rate"] == 2768 / 3768
        assert whole["liability_fen"] == 4536  # the balance sheet's: the period's rate is not in it

    def test_a_period_that_makes_no_sense_is_refused(self, http: Http):
        path = "/v1/reports/summary"
        http.refused(
            http.get(path, params={"from": "2025-02-01", "to": "2025-01-31"}),
            422,
            "invalid_request",
        )
        for params in (
            {"from": "2025-01-01"},
            {"from": "2025-02-30", "to": "2025-03-01"},
            {"from": "0001-01-01", "to": "2025-03-01"},
            {"from": "2025-01-01", "to": "99999-01-01"},
        ):
            http.refused(http.get(path, params=params), 422, "validation_error")
        http.refused(
            http.get(path, params={"from": "1900-01-01", "to": "2200-12-31"}),
            422,
            "invalid_request",
        )


# -- the sandbox clock ----------------------------------------------------------------------------
class TestClock:
    def test_setting_the_clock_moves_what_the_server_decides(self, http: Http):
        for role in ROLES:
            seen = http.get("/v1/clock", role=role)
            assert seen.status_code == 200
            assert seen.json()["simulated"] is True
        answer = http.post("/v1/clock", {"now": "2025-07-01T12:00:00+08:00"}).json()
        moment = datetime(2025, 7, 1, 12, tzinfo=SHANGHAI)
        assert datetime.fromisoformat(answer["now"]) == moment
        assert datetime.fromisoformat(http.get("/v1/clock", role="analyst").json()["now"]) == moment
        member = http.enrol(serial=170)
        assert datetime.fromisoformat(http.member(member)["joined_at"]) == moment

        for now in ("2025-07-01T12:00:00", "garbage", None, []):
            http.refused(http.post("/v1/clock", {"now": now}), 422, "validation_error")
        assert datetime.fromisoformat(http.get("/v1/clock").json()["now"]) == moment

    def test_a_server_on_real_time_has_no_clock_to_set(self, http: Http):
        http.set_clock(local(2025, 7, 1))
        with http.app(simulated_clock=False) as client:
            error = http.refused(
                http.post("/v1/clock", {"now": local(2030, 1, 1)}, client=client),
                404,
                "not_found",
            )
            assert "simulated" in error["message"]
            seen = http.request("GET", "/v1/clock", client=client, role="partner").json()
            assert seen["simulated"] is False
        assert http.get("/v1/clock").json()["now"].startswith("2025-07-01")


# -- bad input ------------------------------------------------------------------------------------
class TestBadInput:
    def test_malformed_json_is_a_400(self, http: Http):
        before = http.written()
        for path in ("/v1/members", "/v1/events", "/v1/jobs/daily", "/v1/clock"):
            for raw in (b"{", b'{"events": [', b"{'a': 1}", b"\xff\xfe{}", b"nul"):
                response = http.request(
                    "POST", path, content=raw, headers={"Content-Type": "application/json"}
                )
                http.refused(response, 400, "malformed_json")
        assert http.written() == before

    def test_json_the_parser_chokes_on_is_still_a_4xx(self, http: Http):
        before = http.written()
        for raw in ("[" * 100_000 + "]" * 100_000, '{"as_of": ' + "9" * 5000 + "}"):
            response = http.request(
                "POST", "/v1/jobs/daily", content=raw, headers={"Content-Type": "application/json"}
            )
            assert 400 <= response.status_code < 500, response.text
        for body in ([], "x", 1, None):
            http.refused(http.post("/v1/jobs/daily", body), 422, "validation_error")
        assert http.written() == before

    def test_a_body_over_the_limit_is_a_413(self, http: Http):
        small = {"events": [{"id": "e", "type": "x", "data": "y" * 100}]}
        big = {"events": [{"id": "e", "type": "x", "data": "y" * 3000}]}
        with http.app(max_body_bytes=2048) as client:
            ok = http.request("POST", "/v1/events", client=client, json=small, role="integrator")
            assert ok.status_code == 200
            too_big = http.request("POST", "/v1/events", client=client, json=big)
            http.refused(too_big, 413, "payload_too_large")

            def chunks() -> Iterator[bytes]:
                yield json.dumps(big).encode()

            streamed = http.request("POST", "/v1/events", client=client, content=chunks())
            http.refused(streamed, 413, "payload_too_large")

    def test_absurd_values_are_refused_and_write_nothing(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=180)
        before = http.written()
        huge = 10**30
        for path in (
            f"/v1/members/{huge}",
            f"/v1/members/{huge}/ledger",
            f"/v1/members/{huge}/tiers",
        ):
            http.refused(http.get(path), 422, "validation_error")
        for birth in ("99999-01-01", "1800-01-01", "2025-02-30", "1990-3-7x"):
            body = {**enrolment(date(1990, 3, 7), 181), "birth_date": birth}
            http.refused(http.post("/v1/members", body), 422, "validation_error")
        for as_of in ("2025-02-30", "99999-12-31", "0001-01-01", "", 20250101.5):
            http.refused(http.post("/v1/jobs/daily", {"as_of": as_of}), 422, "validation_error")
        for now in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
            http.refused(http.post("/v1/clock", {"now": now}), 422, "validation_error")

        for name in ("张\x00三", "\x07", "a\nb"):
            body = enrolment(date(1990, 3, 7), 182, name=name)
            http.refused(http.post("/v1/members", body), 422, "validation_error")

        buy = trip(member, date(2025, 1, 10))[0]
        absurd = [
            {**buy, "id": "fare", "data": {**buy["data"], "fare_fen": 10**40}},
            {**buy, "id": "departs", "data": {**buy["data"], "departure_at": "99999-01-01"}},
            {**buy, "id": "x" * 201},
            activity("points", member_id=member, points=10**40),
            activity("minus", member_id=member, points=-5),
            {**buy, "id": "rider", "data": {**buy["data"], "passenger": {"member_id": huge}}},
            activity("member", member_id=huge, points=5),
        ]
        results = http.events(absurd)
        assert [r["status"] for r in results] == ["rejected"] * len(absurd), results
        assert {r["error"]["code"] for r in results} == {"invalid_event"}
        assert http.written() == before

    def test_absurd_event_values_are_rejected_not_a_server_error(self, http: Http):
        http.set_clock(local(2025, 1, 1))
        member = http.enrol(serial=183)
        before = http.written()
        buy, ride = trip(member, date(2025, 1, 10))
        year_9999 = {
            "departure_at": "9999-12-31T08:00:00+08:00",
            "arrival_at": "9999-12-31T12:00:00+08:00",
        }
        absurd = [
            {**buy, "id": "late", "occurred_at": "9999-12-31T23:59:59-12:00"},
            {**buy, "id": "early", "occurred_at": "0001-01-01T00:00:00+14:00"},
            {
                **ride,
                "id": "claim",
                "occurred_at": "9999-12-31T20:00:00+08:00",
                "data": {**buy["data"], **year_9999},
            },
            {**buy, "id": "nul\x00"},
            {**buy, "id": "nul-ticket", "data": {**buy["data"], "ticket_id": "T\x00"}},
        ]
        for one in absurd:  # one at a time: a server error fails the whole batch
            assert http.events([one])[0]["status"] == "rejected"
        assert http.written() == before


# -- privacy --------------------------------------------------------------------------------------
class TestPrivacy:
    def test_no_answer_or_log_holds_a_full_id_number_or_phone(
        self, http: Http, caplog: pytest.LogCaptureFixture
    ):
        http.set_clock(local(2025, 1, 1))
        body = enrolment(date(1990, 3, 7), 190, phone="138-1234-5678")
        http.secrets.add("13812345678")
        created = http.post("/v1/members", body, role="integrator")
        member = created.json()["member_id"]
        http.post("/v1/members", body)  # 409, naming the identity masked
        passport = {
            **body,
            "id_type": "passport",
            "id_number": "E12345678",
            "phone": "+85261234567",
        }
        abroad = http.post("/v1/members", passport).json()["member_id"]
        assert (http.member(abroad)["id_number"], http.member(abroad)["phone"]) == (
            "E******78",
            "+85*******67",
        )
        http.post("/v1/members", {**body, "id_number": body["id_number"][:17] + "Y"})
        http.post("/v1/members", {**body, "id_number": "1" * 41})
        http.post("/v1/members", enrolment(date(2020, 1, 1), 191))  # under age
        http.post("/v1/members", {**body, "phone": "12345678901234567890"})

        day = date(2025, 1, 10)
        by_identity = {"id_type": "resident_id", "id_number": body["id_number"]}
        unknown = {"id_type": "resident_id", "id_number": resident_id(date(1980, 1, 1), 192)}
        http.secrets.add(unknown["id_number"])
        results = http.events(
            [
                event(
                    "p1",
                    "ticket.purchased",
                    at(day, 7).isoformat(),
                    ticket("P1", departure=at(day), passenger=by_identity),
                ),
                event(
                    "p2",
                    "ticket.purchased",
                    at(day, 7).isoformat(),
                    ticket("P2", departure=at(day), passenger=unknown),
                ),
                event(
                    "p3",
                    "ticket.purchased",
                    at(day, 7).isoformat(),
                    ticket("P3", departure=at(day), passenger={**unknown, "id_type": 5}),
                ),
            ]
        )
        assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
        seen = http.member(member)
        assert seen["id_number"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
        assert seen["phone"] == "138****5678"
        http.get(f"/v1/members/{member}/ledger")
        http.get(f"/v1/members/{member}/tiers")

        assert len(http.secrets) >= 5
        for secret in http.secrets:
            assert not any(secret in text for text in http.bodies)
            assert secret not in _logged(caplog)
