"""Corrections and risk over HTTP, on SQLite and PostgreSQL: adjustments, freeze, close, audit.

Every test ends with the ledger audit (SPEC §2 invariants 1–3) passing on the database it ran on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.services.keys import create_key, revoke_key
from jifen.services.ledger_check import check_ledger
from jifen.services.members import MemberNotActive, require_active_member
from jifen.storage.tables import adjustments, ledger_entries, ledger_transactions, lots
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id
from tests.integration.services.test_events import at, ticket

JOINED = "2025-05-01T09:00:00+08:00"
TODAY = "2025-05-11T10:00:00+08:00"
TRIP_DAY = date(2025, 5, 10)
TRIP_POINTS = 2768  # ¥553.50 at 5×


class Desk:
    """An operator's desk: the API, the database behind it, and a few shortcuts."""

    def __init__(self, api: Api, engine: Engine) -> None:
        self.api, self.engine = api, engine
        self.serial = 100
        self.n = 0

    # -- keys and time ---------------------------------------------------------------------------
    def prefix(self, role: str) -> str:
        return self.api.keys[role].split("_")[1]

    def second_operator(self, name: str = "operator2") -> str:
        """Another operator key, stored under `name` in the api's keys; returns its prefix."""
        key = create_key(SqlUnitOfWork(self.engine), role="operator", label=name, now=T0)
        self.api.keys[name] = key.token
        return key.prefix

    def clock(self, now: str) -> None:
        assert self.api.post("/v1/clock", {"now": now}).status_code == 200

    # -- members and points ----------------------------------------------------------------------
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

    def events(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.api.send_events(list(events))
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def event(self, type_: str, when: Any, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {"id": f"ev-{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}

    def buy(self, member_id: int, ticket_id: str, day: date = TRIP_DAY) -> dict[str, Any]:
        data = ticket(ticket_id, departure=at(day), passenger={"member_id": member_id})
        return self.event("ticket.purchased", at(day, 7), data)

    def travel(self, ticket_id: str, day: date = TRIP_DAY) -> dict[str, Any]:
        return self.event("ticket.travelled", at(day, 16), {"ticket_id": ticket_id})

    def activity(self, member_id: int, points: int, day: date = TRIP_DAY) -> dict[str, Any]:
        data = {"member_id": member_id, "activity": "survey", "points": points}
        return self.event("activity.completed", at(day, 12), data)

    def ride(self, member_id: int, ticket_id: str) -> None:
        results = self.events(self.buy(member_id, ticket_id), self.travel(ticket_id))
        assert [r["status"] for r in results] == ["applied", "applied"], results

    def member(self, member_id: int) -> dict[str, Any]:
        response = self.api.get(f"/v1/members/{member_id}", role="operator")
        assert response.status_code == 200, response.text
        return response.json()

    def balances(self, member_id: int) -> dict[str, int]:
        return self.member(member_id)["balances"]

    # -- corrections -----------------------------------------------------------------------------
    def adjust(self, member_id: int, body: dict[str, Any], role: str = "operator") -> Any:
        return self.api.post(f"/v1/members/{member_id}/adjustments", body, role=role)

    def decide(self, adjustment_id: str, verb: str, role: str, decision: str = "d1") -> Any:
        path = f"/v1/adjustments/{adjustment_id}/{verb}"
        return self.api.post(path, {"id": f"{adjustment_id}-{decision}"}, role=role)

    def audit(self, role: str = "admin", **query: Any) -> Any:
        return self.api.get("/v1/audit", role=role, params=query)

    def audit_rows(self, **query: Any) -> list[dict[str, Any]]:
        response = self.audit(limit=500, **query)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    # -- the database ----------------------------------------------------------------------------
    def account_total(self, account: str) -> int:
        query = select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
            ledger_entries.c.account == account
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def count(self, table: Any) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def check(self) -> None:
        report = check_ledger(SqlUnitOfWork(self.engine))
        assert report.ok, report.violations


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


@pytest.fixture
def desk(api: Api, engine: Engine) -> Iterator[Desk]:
    """A desk with the clock on the joining day; the ledger must pass its audit at the end."""
    d = Desk(api, engine)
    d.clock(JOINED)
    yield d
    d.check()


def body(adjustment_id: str, kind: str, points: int, **fields: Any) -> dict[str, Any]:
    return {"id": adjustment_id, "kind": kind, "points": points, "reason": "Checked", **fields}


# -- adjustments -----------------------------------------------------------------------------------
class TestAdjustments:
    def test_adding_points_credits_a_lot_that_expires_as_the_kind_says(self, desk: Desk):
        member = desk.enrol()
        desk.clock(TODAY)
        response = desk.adjust(member, body("a1", "goodwill", 500))
        assert response.status_code == 201, response.text
        out = response.json()
        assert out["status"] == "applied"
        assert (out["member_id"], out["kind"], out["point_kind"], out["points"]) == (
            member,
            "goodwill",
            "ride",
            500,
        )
        assert (out["balance_before"], out["balance_after"]) == (0, 500)
        assert out["requested_by"] == desk.prefix("operator")
        assert out["requested_at"] == TODAY
        assert out["decided_by"] is None
        assert out["transaction_id"] is not None
        assert desk.balances(member)["ride"] == 500

        response = desk.adjust(member, body("a2", "compensation", 300, point_kind="activity"))
        assert response.status_code == 201, response.text
        assert desk.balances(member)["activity"] == 300
        with desk.engine.connect() as connection:
            credited = connection.execute(
                select(lots.c.kind, lots.c.credited_on, lots.c.expires_on).order_by(lots.c.id)
            ).all()
        assert [tuple(row) for row in credited] == [
            ("ride", date(2025, 5, 11), date(2026, 5, 11)),
            ("activity", date(2025, 5, 11), date(2026, 5, 11)),
        ]
        assert desk.account_total("program:adjusted") == -800

    def test_a_claw_back_takes_points_and_is_refused_when_the_member_is_short(self, desk: Desk):
        member = desk.enrol()
        desk.ride(member, "T1")
        desk.clock(TODAY)
        response = desk.adjust(member, body("c1", "clawback", -1000))
        assert response.status_code == 201, response.text
        assert (response.json()["balance_before"], response.json()["balance_after"]) == (
            TRIP_POINTS,
            TRIP_POINTS - 1000,
        )
        assert desk.balances(member)["ride"] == TRIP_POINTS - 1000
        assert desk.account_total("program:adjusted") == 1000

        written = desk.count(ledger_transactions), desk.count(adjustments)
        refused = error(
            desk.adjust(member, body("c2", "correction", -5000)), 409, "insufficient_points"
        )
        assert refused["details"]["needed"] == 5000
        assert (desk.count(ledger_transactions), desk.count(adjustments)) == written
        assert desk.balances(member)["ride"] == TRIP_POINTS - 1000
        listed = desk.api.get(f"/v1/members/{member}/adjustments", role="operator").json()
        assert [a["adjustment_id"] for a in listed["items"]] == ["c1"]

    def test_refuses_adjustments_that_make_no_sense(self, desk: Desk):
        member = desk.enrol()
        cases = [
            (body("x1", "goodwill", -5), 422, "invalid_request"),
            (body("x2", "clawback", 5), 422, "invalid_request"),
            (body("x3", "correction", 0), 422, "invalid_request"),
            (body("x4", "correction", 5, point_kind="miles"), 422, "invalid_request"),
            (body("x5", "bonus", 5), 422, "validation_error"),
            ({**body("x6", "correction", 5), "reason": ""}, 422, "validation_error"),
            ({**body("x7", "correction", 5), "reason": "   "}, 422, "invalid_request"),
            ({"id": "x8", "kind": "correction", "points": 5}, 422, "validation_error"),
        ]
        for request, status, code in cases:
            error(desk.adjust(member, request), status, code)
        error(desk.adjust(999_999, body("x9", "goodwill", 5)), 404, "not_found")
        assert desk.count(adjustments) == 0

    def test_resending_returns_the_first_result_and_another_body_conflicts(self, desk: Desk):
        member = desk.enrol()
        first = desk.adjust(member, body("r1", "goodwill", 700))
        again = desk.adjust(member, body("r1", "goodwill", 700))
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert desk.balances(member)["ride"] == 700
        assert desk.count(ledger_transactions) == 1

        for changed in (
            body("r1", "goodwill", 701),
            body("r1", "compensation", 700),
            body("r1", "goodwill", 700, point_kind="activity"),
            {**body("r1", "goodwill", 700), "reason": "Other"},
        ):
            error(desk.adjust(member, changed), 409, "idempotency_conflict")
        other = desk.enrol()
        error(desk.adjust(other, body("r1", "goodwill", 700)), 409, "idempotency_conflict")
        # Naming the default point kind is the same request as leaving it out.
        explicit = desk.adjust(member, body("r1", "goodwill", 700, point_kind="ride"))
        assert explicit.status_code == 201
        assert explicit.json() == first.json()

        held = desk.adjust(member, body("r2", "goodwill", 20_000))
        held_again = desk.adjust(member, body("r2", "goodwill", 20_000))
        assert (held.status_code, held_again.status_code) == (202, 202)
        assert held_again.json() == held.json()

    def test_the_threshold_itself_needs_no_approval(self, desk: Desk):
        member = desk.enrol()
        assert desk.adjust(member, body("t1", "goodwill", 10_000)).status_code == 201
        # Another key: one key's adjustments to a member add up within 24 hours, not all keys'.
        assert desk.adjust(member, body("t2", "clawback", -10_000), role="admin").status_code == 201
        assert desk.adjust(member, body("t3", "goodwill", 10_001)).status_code == 202
        assert desk.balances(member)["ride"] == 0


class TestApproval:
    def test_a_large_adjustment_is_posted_only_when_another_operator_approves(self, desk: Desk):
        member = desk.enrol()
        second = desk.second_operator()
        desk.clock(TODAY)
        held = desk.adjust(member, body("big", "compensation", 15_000))
        assert held.status_code == 202, held.text
        assert held.json()["status"] == "pending_approval"
        assert held.json()["transaction_id"] is None
        assert desk.balances(member)["ride"] == 0
        assert desk.count(ledger_transactions) == 0

        queue = desk.api.get(
            "/v1/adjustments", role="operator", params={"status": "pending_approval"}
        )
        assert [a["adjustment_id"] for a in queue.json()["items"]] == ["big"]

        error(desk.decide("big", "approve", "operator"), 403, "same_approver")
        error(desk.decide("big", "reject", "operator"), 403, "same_approver")
        assert desk.balances(member)["ride"] == 0

        desk.clock("2025-05-12T15:00:00+08:00")
        approved = desk.decide("big", "approve", "operator2")
        assert approved.status_code == 200, approved.text
        out = approved.json()
        assert out["status"] == "applied"
        assert out["decided_by"] == second
        assert out["decided_at"] == "2025-05-12T15:00:00+08:00"
        assert (out["balance_before"], out["balance_after"]) == (0, 15_000)
        assert desk.balances(member)["ride"] == 15_000
        with desk.engine.connect() as connection:
            credited_on = connection.execute(select(lots.c.credited_on)).scalar_one()
        assert credited_on == date(2025, 5, 12)

        # The same decision again is its first result; any other decision is refused, and
        # another decision under the first decision's id is an idempotency conflict.
        assert desk.decide("big", "approve", "operator2", decision="d2").json() == out
        error(desk.decide("big", "reject", "operator2"), 409, "idempotency_conflict")
        error(desk.decide("big", "reject", "operator2", decision="d3"), 409, "adjustment_decided")
        error(desk.decide("big", "approve", "admin", decision="d4"), 409, "adjustment_decided")
        assert desk.balances(member)["ride"] == 15_000
        assert desk.count(ledger_transactions) == 1
        queue = desk.api.get(
            "/v1/adjustments", role="operator", params={"status": "pending_approval"}
        )
        assert queue.json()["items"] == []

    def test_a_rejected_adjustment_posts_nothing(self, desk: Desk):
        member = desk.enrol()
        desk.second_operator()
        desk.ride(member, "T1")
        written = desk.count(ledger_transactions)
        held = desk.adjust(member, body("no", "goodwill", 20_000))
        assert held.status_code == 202
        rejected = desk.decide("no", "reject", "operator2")
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["status"] == "rejected"
        assert rejected.json()["transaction_id"] is None
        assert desk.decide("no", "reject", "operator2").json() == rejected.json()
        error(desk.decide("no", "approve", "admin", decision="d2"), 409, "adjustment_decided")
        assert desk.balances(member)["ride"] == TRIP_POINTS
        assert desk.count(ledger_transactions) == written
        error(desk.decide("nothing-here", "approve", "operator2"), 404, "not_found")

    def test_an_approved_claw_back_the_member_cannot_cover_stays_pending(self, desk: Desk):
        member = desk.enrol()
        desk.second_operator()
        desk.adjust(member, body("g1", "goodwill", 10_000))
        assert desk.adjust(member, body("c1", "clawback", -8_000)).status_code == 202
        # Covered when asked for; then another key's claw-back leaves the member 5,000.
        assert desk.adjust(member, body("c0", "clawback", -5_000), role="admin").status_code == 201
        error(desk.decide("c1", "approve", "operator2"), 409, "insufficient_points")
        listed = desk.api.get(f"/v1/members/{member}/adjustments", role="operator").json()
        assert {a["adjustment_id"]: a["status"] for a in listed["items"]} == {
            "g1": "applied",
            "c0": "applied",
            "c1": "pending_approval",
        }
        desk.adjust(member, body("g2", "goodwill", 5_000), role="admin")
        approved = desk.decide("c1", "approve", "operator2")
        assert approved.status_code == 200, approved.text
        assert (approved.json()["balance_before"], approved.json()["balance_after"]) == (
            10_000,
            2_000,
        )
        assert desk.account_total("program:adjusted") == -2_000


# -- freezing and closing --------------------------------------------------------------------------
class TestFreeze:
    def test_a_frozen_member_keeps_the_balance_but_neither_earns_nor_spends(self, desk: Desk):
        member = desk.enrol()
        desk.ride(member, "T1")
        response = desk.api.post(
            f"/v1/members/{member}/freeze", {"reason": "Refund pattern"}, role="operator"
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "member_id": member,
            "status": "frozen",
            "previous": "active",
            "changed": True,
            "forfeited": {},
            "voided_pending": 0,
        }
        seen = desk.member(member)
        assert seen["status"] == "frozen"
        assert seen["balances"]["ride"] == TRIP_POINTS

        results = desk.events(desk.buy(member, "T2", date(2025, 5, 12)), desk.activity(member, 50))
        assert [(r["status"], r["error"]["code"]) for r in results] == [
            ("rejected", "member_not_active"),
            ("rejected", "member_not_active"),
        ]
        with SqlUnitOfWork(desk.engine) as uow, pytest.raises(MemberNotActive):
            require_active_member(uow, member)
        assert desk.balances(member)["ride"] == TRIP_POINTS

        again = desk.api.post(f"/v1/members/{member}/freeze", {"reason": "Again"}, role="operator")
        assert again.json()["changed"] is False
        # Freeze, then claw back: an operator can still correct a frozen member.
        assert desk.adjust(member, body("fc", "clawback", -768)).status_code == 201
        assert desk.balances(member)["ride"] == 2000

        thawed = desk.api.post(f"/v1/members/{member}/unfreeze", role="operator")
        assert thawed.status_code == 200, thawed.text
        assert (thawed.json()["status"], thawed.json()["previous"]) == ("active", "frozen")
        assert (
            desk.api.post(f"/v1/members/{member}/unfreeze", role="operator").json()["changed"]
            is False
        )
        desk.ride(member, "T3")
        assert desk.balances(member)["ride"] == 2000 + TRIP_POINTS
        with SqlUnitOfWork(desk.engine) as uow:
            assert require_active_member(uow, member).status == "active"

    def test_unknown_members_and_missing_reasons_are_refused(self, desk: Desk):
        error(desk.api.post("/v1/members/999999/freeze", {"reason": "x"}), 404, "not_found")
        error(desk.api.post("/v1/members/999999/unfreeze"), 404, "not_found")
        error(desk.api.post("/v1/members/999999/close", {"reason": "x"}), 404, "not_found")
        member = desk.enrol()
        error(desk.api.post(f"/v1/members/{member}/freeze", {}), 422, "validation_error")
        error(desk.api.post(f"/v1/members/{member}/close"), 422, "validation_error")
        assert desk.member(member)["status"] == "active"


class TestClose:
    def test_closing_forfeits_the_balance_and_voids_pending_points_for_good(self, desk: Desk):
        member = desk.enrol()
        desk.ride(member, "T1")
        pending = desk.events(desk.buy(member, "T2", date(2025, 5, 20)), desk.activity(member, 500))
        assert [r["status"] for r in pending] == ["applied", "applied"]
        desk.clock(TODAY)
        before = desk.balances(member)
        assert before == {
            "ride": TRIP_POINTS,
            "activity": 500,
            "pending": TRIP_POINTS,
            "upgrade_12m": TRIP_POINTS,
        }
        response = desk.api.post(
            f"/v1/members/{member}/close", {"reason": "Member asked to leave"}, role="operator"
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "member_id": member,
            "status": "closed",
            "previous": "active",
            "changed": True,
            "forfeited": {"activity": 500, "ride": TRIP_POINTS},
            "voided_pending": TRIP_POINTS,
        }
        seen = desk.member(member)
        assert seen["status"] == "closed"
        assert {k: seen["balances"][k] for k in ("ride", "activity", "pending")} == {
            "ride": 0,
            "activity": 0,
            "pending": 0,
        }
        assert desk.account_total("program:forfeited") == before["ride"] + before["activity"]

        for path, request in (
            ("unfreeze", None),
            ("close", {"reason": "Again"}),
            ("freeze", {"reason": "Too late"}),
        ):
            error(desk.api.post(f"/v1/members/{member}/{path}", request), 409, "member_closed")
        error(desk.adjust(member, body("after", "goodwill", 5)), 409, "member_closed")
        results = desk.events(desk.activity(member, 10, date(2025, 5, 11)))
        assert results[0]["error"]["code"] == "member_not_active"
        assert desk.account_total("program:forfeited") == before["ride"] + before["activity"]

    def test_a_held_adjustment_of_a_closed_member_cannot_be_approved(self, desk: Desk):
        member = desk.enrol()
        desk.second_operator()
        assert desk.adjust(member, body("h1", "goodwill", 50_000)).status_code == 202
        desk.api.post(f"/v1/members/{member}/close", {"reason": "Fraud"}, role="operator")
        error(desk.decide("h1", "approve", "operator2"), 409, "member_closed")
        assert desk.decide("h1", "reject", "operator2").json()["status"] == "rejected"


# -- roles -----------------------------------------------------------------------------------------
class TestRoles:
    def test_only_operators_and_admins_correct_and_only_admins_read_the_audit(self, desk: Desk):
        member = desk.enrol()
        writes = [
            (f"/v1/members/{member}/adjustments", body("role-1", "goodwill", 5)),
            ("/v1/adjustments/role-1/approve", {"id": "d"}),
            ("/v1/adjustments/role-1/reject", {"id": "d"}),
            (f"/v1/members/{member}/freeze", {"reason": "x"}),
            (f"/v1/members/{member}/unfreeze", {"reason": "x"}),
            (f"/v1/members/{member}/close", {"reason": "x"}),
        ]
        reads = [f"/v1/members/{member}/adjustments", "/v1/adjustments"]
        for role in ("integrator", "analyst", "partner"):
            for path, request in writes:
                assert error(desk.api.post(path, request, role=role), 403, "forbidden")[
                    "details"
                ] == {"role": role}
            for path in reads:
                error(desk.api.get(path, role=role), 403, "forbidden")
        for role in ("operator", "integrator", "analyst", "partner"):
            error(desk.audit(role=role), 403, "forbidden")
        for path, request in writes:
            error(desk.api.client.post(path, json=request), 401, "unauthorized")
        error(desk.api.client.get("/v1/audit"), 401, "unauthorized")

        assert desk.adjust(member, body("role-1", "goodwill", 5), role="admin").status_code == 201
        assert desk.api.get("/v1/adjustments", role="admin").status_code == 200
        assert desk.api.get("/v1/adjustments", role="operator").status_code == 200
        assert desk.audit().status_code == 200
        assert desk.member(member)["status"] == "active"


# -- the audit log ---------------------------------------------------------------------------------
class TestAudit:
    def test_every_correction_and_status_change_is_audited_with_who_why_and_before_after(
        self, desk: Desk
    ):
        member = desk.enrol()
        operator, second = desk.prefix("operator"), desk.second_operator()
        subject = f"member:{member}"
        desk.ride(member, "T1")
        desk.clock(TODAY)
        desk.adjust(member, body("a-small", "goodwill", 232))
        desk.adjust(member, body("a-big", "correction", -3000, reason="Duplicate trip"))
        resend = body("a-big", "correction", -3000, reason="Duplicate trip")
        assert desk.adjust(member, resend).status_code == 201  # a resend: no second row
        assert desk.decide("a-big", "approve", "operator2").status_code == 409  # refused: no row
        desk.adjust(member, body("a-huge", "goodwill", 50_000))
        desk.decide("a-huge", "reject", "operator2")
        # -3000 is under the threshold, so it applied at once; an adjustment over it waits (a
        # claw-back of more than the member holds would be refused at once, not audited).
        desk.adjust(member, body("a-over", "goodwill", 10_001))
        desk.api.post(f"/v1/members/{member}/freeze", {"reason": "Review"}, role="operator")
        desk.api.post(f"/v1/members/{member}/freeze", {"reason": "Again"}, role="operator")
        desk.api.post(f"/v1/members/{member}/unfreeze", {"reason": "Cleared"}, role="admin")
        desk.api.post(f"/v1/members/{member}/close", {"reason": "Left"}, role="operator")

        rows = list(reversed(desk.audit_rows(subject=subject)))
        assert [(r["action"], r["actor"]) for r in rows] == [
            ("adjustment.applied", operator),
            ("adjustment.applied", operator),
            ("adjustment.requested", operator),
            ("adjustment.rejected", second),
            ("adjustment.requested", operator),
            ("member.frozen", operator),
            ("member.unfrozen", desk.prefix("admin")),
            ("member.closed", operator),
        ]
        assert all(r["subject"] == subject and r["at"] == TODAY for r in rows)
        small, big, huge, rejected, _over, frozen, unfrozen, closed = rows
        assert small["details"] | {"transaction_id": None} == {
            "adjustment_id": "a-small",
            "kind": "goodwill",
            "point_kind": "ride",
            "points": 232,
            "reason": "Checked",
            "status": "applied",
            "requested_by": operator,
            "transaction_id": None,
            "before": {"balance": TRIP_POINTS},
            "after": {"balance": TRIP_POINTS + 232},
        }
        assert big["details"]["reason"] == "Duplicate trip"
        assert (big["details"]["before"], big["details"]["after"]) == (
            {"balance": 3000},
            {"balance": 0},
        )
        assert huge["details"]["status"] == "pending_approval"
        assert huge["details"]["after"] == {"balance": None}
        assert rejected["details"]["status"] == "rejected"
        assert rejected["details"]["decision_id"] == "a-huge-d1"
        assert frozen["details"]["reason"] == "Review"
        assert frozen["details"]["before"]["status"] == "active"
        assert frozen["details"]["after"]["status"] == "frozen"
        assert frozen["details"]["after"]["balances"] == frozen["details"]["before"]["balances"]
        assert unfrozen["details"]["reason"] == "Cleared"
        assert closed["details"]["before"]["balances"]["ride"] == {"available": 0, "pending": 0}
        assert closed["details"]["forfeited"] == {}
        assert closed["details"]["after"]["status"] == "closed"

    def test_approvals_and_forfeits_show_their_figures(self, desk: Desk):
        member = desk.enrol()
        second = desk.second_operator()
        desk.adjust(member, body("big", "goodwill", 12_345))
        desk.decide("big", "approve", "operator2")
        desk.api.post(f"/v1/members/{member}/close", {"reason": "Left"}, role="operator")
        approved, closed = (
            desk.audit_rows(action="adjustment.approved"),
            desk.audit_rows(action="member.closed"),
        )
        assert [r["actor"] for r in approved] == [second]
        assert approved[0]["details"]["before"] == {"balance": 0}
        assert approved[0]["details"]["after"] == {"balance": 12_345}
        assert approved[0]["details"]["requested_by"] == desk.prefix("operator")
        assert closed[0]["details"]["before"]["balances"]["ride"]["available"] == 12_345
        assert closed[0]["details"]["after"]["balances"]["ride"]["available"] == 0
        assert closed[0]["details"]["forfeited"] == {"ride": 12_345}

    def test_keys_made_and_revoked_are_audited(self, desk: Desk):
        made = desk.audit_rows(action="key.created")
        assert {r["details"]["role"] for r in made} == {
            "admin",
            "operator",
            "integrator",
            "analyst",
            "partner",
        }
        assert {r["actor"] for r in made} == {"system"}
        prefix = desk.prefix("partner")
        revoke_key(SqlUnitOfWork(desk.engine), prefix=prefix, now=T0, actor="cli")
        revoked = desk.audit_rows(action="key.revoked")
        assert [(r["subject"], r["actor"], r["details"]["role"]) for r in revoked] == [
            (f"key:{prefix}", "cli", "partner")
        ]

    def test_the_log_reads_by_period_a_page_at_a_time(self, desk: Desk):
        member = desk.enrol()
        for day in (11, 12, 13):
            desk.clock(f"2025-05-{day}T23:30:00+08:00")
            desk.adjust(member, body(f"p{day}", "goodwill", day))
        subject = f"member:{member}"
        mine = desk.audit_rows(subject=subject)
        assert [r["details"]["adjustment_id"] for r in mine] == ["p13", "p12", "p11"]
        assert mine[0]["at"] == "2025-05-13T23:30:00+08:00"
        one_day = desk.audit_rows(subject=subject, **{"from": "2025-05-12", "to": "2025-05-12"})
        assert [r["details"]["adjustment_id"] for r in one_day] == ["p12"]
        since = desk.audit_rows(subject=subject, **{"from": "2025-05-12"})
        assert [r["details"]["adjustment_id"] for r in since] == ["p13", "p12"]

        seen, cursor = [], None
        while True:
            query = {"limit": 2, "subject": subject} | ({"cursor": cursor} if cursor else {})
            page = desk.audit(**query).json()
            seen += [r["details"]["adjustment_id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["p13", "p12", "p11"]

        error(desk.audit(**{"from": "2025-05-13", "to": "2025-05-12"}), 422, "invalid_request")
        error(desk.audit(cursor="nonsense"), 422, "invalid_request")
        error(desk.audit(limit=0), 422, "validation_error")


def test_a_trip_bought_before_a_freeze_earns_nothing_while_frozen(api):
    api.post("/v1/clock", {"now": "2025-05-01T09:00:00+08:00"})
    body = {
        "name": "张三",
        "id_type": "resident_id",
        "birth_date": "1990-03-07",
        "id_number": resident_id(date(1990, 3, 7), 654),
    }
    member = api.post("/v1/members", body).json()["member_id"]
    day = date(2025, 5, 10)
    bought = {
        "id": "b1",
        "type": "ticket.purchased",
        "occurred_at": at(day, 7).isoformat(),
        "data": ticket("T1", departure=at(day), passenger={"member_id": member}),
    }
    assert api.send_events([bought]).json()["results"][0]["status"] == "applied"
    assert api.post(f"/v1/members/{member}/freeze", {"reason": "abuse"}, role="operator").is_success
    travel = {
        "id": "t1",
        "type": "ticket.travelled",
        "occurred_at": at(day, 16).isoformat(),
        "data": {"ticket_id": "T1"},
    }
    [result] = api.send_events([travel]).json()["results"]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "member_not_active"
    api.post(f"/v1/members/{member}/unfreeze", {"reason": "cleared"}, role="operator")
    [again] = api.send_events([travel]).json()["results"]
    assert again["status"] == "applied"
