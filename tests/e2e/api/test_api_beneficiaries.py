"""Beneficiaries (受让人) over HTTP, on SQLite and PostgreSQL (SPEC §7, §12).

Railway preset: up to 8 besides the member, real-name checked, effective 60 days after being added,
waiting ones count toward the 8, removal at any time, re-adding restarts the wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from jifen.domain.identity import check_character, mask_id_number
from jifen.services.ledger_check import check_ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api, resident_id
from tests.e2e.api.test_api_contract import Http, enrolment, local
from tests.e2e.api.test_api_redemptions import UNLOCKED, redeem, ride_balance, rider, ticket_body

BORN = date(1988, 8, 8)


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    """The API client; at the end no full ID number has leaked and the ledger adds up."""
    session = Http(api, engine, vault_keys)
    yield session
    assert not {s for s in session.secrets for body in session.bodies if s in body}
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


def person(rid: str, serial: int, **fields: Any) -> dict[str, Any]:
    """A beneficiary with a resident ID born on 8 August 1988, unique to `serial`."""
    return {
        "id": rid,
        "name": "李四",
        "id_type": "resident_id",
        "id_number": resident_id(BORN, serial),
        **fields,
    }


def member_on(http: Http, day: str, serial: int) -> int:
    http.set_clock(day)
    return http.enrol(serial=serial)


def add(http: Http, member: int, body: dict[str, Any], role: str = "integrator") -> Any:
    return http.post(f"/v1/members/{member}/beneficiaries", body, role=role)


def added(http: Http, member: int, body: dict[str, Any]) -> dict[str, Any]:
    response = add(http, member, body)
    assert response.status_code == 201, response.text
    return response.json()


def listed(http: Http, member: int, **params: Any) -> list[dict[str, Any]]:
    response = http.get(f"/v1/members/{member}/beneficiaries", role="operator", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def remove(http: Http, member: int, beneficiary: int, role: str = "operator") -> Any:
    path = f"/v1/members/{member}/beneficiaries/{beneficiary}"
    return http.request("DELETE", path, role=role)


class TestAdding:
    def test_a_beneficiary_is_effective_sixty_days_after_being_added(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 600)
        body = person("b-1", 1)
        first = added(http, member, body)
        assert first["effective_from"] == "2025-07-31"
        assert (first["status"], first["added_on"], first["removed_on"]) == (
            "waiting",
            "2025-06-01",
            None,
        )
        number = body["id_number"]
        assert first["id_number"] == number[:4] + "*" * 10 + number[-4:]
        assert first["name"] == "李四"

        again = add(http, member, body)
        assert again.status_code == 201
        assert again.json() == first
        assert [b["beneficiary_id"] for b in listed(http, member)] == [first["beneficiary_id"]]

        http.set_clock(local(2025, 7, 30, 23, 59))
        assert listed(http, member)[0]["status"] == "waiting"
        http.set_clock(local(2025, 7, 31, 0, 0))
        assert listed(http, member)[0]["status"] == "effective"

    def test_the_real_name_check_reads_the_birth_date_from_the_number(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 601)
        assert added(http, member, person("b-dated", 2, birth_date=BORN.isoformat()))
        error = http.refused(
            add(http, member, person("b-wrong", 3, birth_date="1990-01-01")),
            422,
            "invalid_identity",
        )
        assert error["details"]["field"] == "birth_date"
        number = resident_id(BORN, 4)
        wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
        error = http.refused(
            add(http, member, person("b-check", 4, id_number=wrong_check)), 422, "invalid_identity"
        )
        assert error["details"]["field"] == "id_number"
        body = person("b-date", 5, id_number=_with_day("110101", "19880231", 5))
        http.refused(add(http, member, body), 422, "invalid_identity")
        passport = {
            "id": "b-pp",
            "name": "John Smith",
            "id_type": "passport",
            "id_number": "E12345678",
        }
        assert added(http, member, passport)["id_number"] == mask_id_number("E12345678")
        for bad in ({"id_type": "library_card"}, {"name": ""}, {"birth_date": "1988-13-01"}):
            http.refused(add(http, member, person("b-bad", 6, **bad)), 422, "validation_error")
        assert len(listed(http, member)) == 2

    def test_the_member_cannot_name_themself(self, http: Http):
        http.set_clock(local(2025, 6, 1))
        me = enrolment(BORN, 602)
        member = http.enrol(BORN, serial=602)
        body = {
            "id": "b-me",
            "name": me["name"],
            "id_type": "resident_id",
            "id_number": me["id_number"],
        }
        http.refused(add(http, member, body), 422, "beneficiary_is_member")
        assert listed(http, member) == []

    def test_the_same_person_under_another_name_is_a_conflict(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 603)
        added(http, member, person("b-x", 7))
        http.refused(add(http, member, person("b-x", 7, name="王五")), 409, "idempotency_conflict")

    def test_an_unknown_member_has_no_beneficiaries(self, http: Http):
        http.set_clock(local(2025, 6, 1))
        http.refused(add(http, 999_999, person("b-0", 8)), 404, "not_found")
        http.refused(http.get("/v1/members/999999/beneficiaries"), 404, "not_found")


class TestLimit:
    def test_eight_at_most_waiting_ones_included(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 610)
        ids = [added(http, member, person(f"b-{n}", 10 + n))["beneficiary_id"] for n in range(8)]
        error = http.refused(add(http, member, person("b-9", 30)), 409, "beneficiary_limit")
        assert error["details"]["limit"] == 8
        http.set_clock(local(2025, 9, 1))  # all eight effective now: still eight
        http.refused(add(http, member, person("b-9", 30)), 409, "beneficiary_limit")
        assert add(http, member, person("b-0", 10)).status_code == 201  # a resend is no new one

        assert remove(http, member, ids[0]).status_code == 200
        ninth = added(http, member, person("b-9", 30))
        assert (ninth["status"], ninth["effective_from"]) == ("waiting", "2025-10-31")
        http.refused(add(http, member, person("b-10", 31)), 409, "beneficiary_limit")
        assert len(listed(http, member)) == 8
        response = http.get(f"/v1/members/{member}/beneficiaries")
        assert response.json()["max_count"] == 8


class TestRemoval:
    def test_removal_at_any_time_and_adding_back_restarts_the_wait(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 620)
        first = added(http, member, person("b-r", 40))
        http.set_clock(local(2025, 8, 1))
        assert listed(http, member)[0]["status"] == "effective"

        removed = remove(http, member, first["beneficiary_id"])
        assert removed.status_code == 200, removed.text
        assert (removed.json()["status"], removed.json()["removed_on"]) == ("removed", "2025-08-01")
        http.set_clock(local(2025, 8, 2))
        assert remove(http, member, first["beneficiary_id"]).json()["removed_on"] == "2025-08-01"
        assert listed(http, member) == []
        history = listed(http, member, include_removed="true")
        assert [(b["beneficiary_id"], b["status"]) for b in history] == [
            (first["beneficiary_id"], "removed")
        ]

        back = added(http, member, person("b-r-again", 40))
        assert back["beneficiary_id"] != first["beneficiary_id"]
        assert (back["status"], back["effective_from"]) == ("waiting", "2025-10-01")

    def test_only_the_members_own_beneficiaries_can_be_removed(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 621)
        other = http.enrol(serial=622)
        theirs = added(http, other, person("b-o", 41))["beneficiary_id"]
        http.refused(remove(http, member, theirs), 404, "not_found")
        http.refused(remove(http, member, 999_999), 404, "not_found")
        assert len(listed(http, other)) == 1


class TestRoles:
    def test_integrators_and_operators_manage_beneficiaries_and_others_may_not(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 630)
        for role in ("analyst", "partner"):
            http.refused(add(http, member, person("b-role", 50), role=role), 403, "forbidden")
            path = f"/v1/members/{member}/beneficiaries"
            http.refused(http.get(path, role=role), 403, "forbidden")
            http.refused(remove(http, member, 1, role=role), 403, "forbidden")
        for role in ("integrator", "operator"):
            assert add(http, member, person(f"b-{role}", 51), role=role).status_code == 201


class TestRedeemingForABeneficiary:
    def test_a_waiting_beneficiary_is_refused_then_rides_after_sixty_days(self, http: Http):
        member = rider(http, 640)  # the clock at 1 June 2025
        beneficiary = added(http, member, person("b-ride", 60))["beneficiary_id"]
        departure = local(2025, 8, 10, 8)
        body = ticket_body(
            "r-ben", member, passenger={"beneficiary_id": beneficiary}, departure_at=departure
        )
        error = http.refused(redeem(http, body), 409, "beneficiary_not_effective")
        assert error["details"]["effective_from"] == "2025-07-31"
        assert ride_balance(http, member) == UNLOCKED

        http.set_clock(local(2025, 7, 30, 12))
        http.refused(redeem(http, body), 409, "beneficiary_not_effective")
        http.set_clock(local(2025, 7, 31, 9))
        created = redeem(http, body)
        assert created.status_code == 201, created.text
        assert ride_balance(http, member) == UNLOCKED - 3000
        seen = http.get("/v1/redemptions/r-ben").json()
        assert seen["passenger"] == {"member_id": None, "beneficiary_id": beneficiary}

        remove(http, member, beneficiary)
        later = {**body, "id": "r-ben-2"}
        error = http.refused(redeem(http, later), 409, "beneficiary_not_effective")
        assert error["details"]["status"] == "removed"
        assert redeem(http, body).json() == created.json()  # a resend still gets its first result

    def test_another_members_beneficiary_is_not_found(self, http: Http):
        member = rider(http, 641)
        other = http.enrol(serial=642)
        theirs = added(http, other, person("b-t", 61))["beneficiary_id"]
        body = ticket_body("r-t", member, passenger={"beneficiary_id": theirs})
        http.refused(redeem(http, body), 404, "not_found")


class TestDailyJob:
    def test_the_daily_job_counts_the_beneficiaries_whose_wait_ends(self, http: Http):
        member = member_on(http, local(2025, 6, 1), 650)
        first = added(http, member, person("b-d1", 70))
        added(http, member, person("b-d2", 71))
        remove(http, member, first["beneficiary_id"])
        http.set_clock(local(2025, 6, 2))
        added(http, member, person("b-d3", 72))

        run = http.daily(date(2025, 7, 31))
        assert run["steps"]["beneficiaries"] == {"beneficiaries_effective": 1}
        assert http.daily(date(2025, 8, 1))["steps"]["beneficiaries"] == {
            "beneficiaries_effective": 1
        }
        again = http.daily(date(2025, 7, 31))
        assert "beneficiaries" in again["skipped"]
        assert again["steps"] == run["steps"]


def _with_day(region: str, day: str, serial: int) -> str:
    """A resident ID number whose birth-date digits are `day`, valid or not, with its check."""
    body = f"{region}{day}{serial:03d}"
    return body + check_character(body)
