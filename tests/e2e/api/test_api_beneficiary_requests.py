"""Naming beneficiaries at the edges, on SQLite and PostgreSQL: the caller's `id` is the
idempotency key, and only an active member may name anyone (issue 19, items 17 and 19)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from jifen.services.ledger_check import check_ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.e2e.api.test_api_beneficiaries import add, listed, member_on, person
from tests.e2e.api.test_api_contract import Http, local


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    session = Http(api, engine, vault_keys)
    yield session
    assert check_ledger(SqlUnitOfWork(engine)).ok


def test_the_same_id_with_another_person_is_a_conflict_and_names_no_one(http: Http):
    member = member_on(http, local(2025, 6, 1), 801)
    first = add(http, member, person("ben-1", 1))
    assert first.status_code == 201, first.text
    again = add(http, member, person("ben-1", 1))
    assert (again.status_code, again.json()) == (201, first.json())

    http.refused(add(http, member, person("ben-1", 2)), 409, "idempotency_conflict")
    assert [b["beneficiary_id"] for b in listed(http, member)] == [first.json()["beneficiary_id"]]


def test_the_same_id_for_another_member_is_a_conflict(http: Http):
    member = member_on(http, local(2025, 6, 1), 802)
    other = http.enrol(serial=803)
    assert add(http, member, person("ben-2", 3)).status_code == 201
    http.refused(add(http, other, person("ben-2", 3)), 409, "idempotency_conflict")
    assert listed(http, other) == []


def test_a_frozen_member_cannot_name_a_beneficiary_until_unfrozen(http: Http):
    member = member_on(http, local(2025, 6, 1), 804)
    named = add(http, member, person("ben-3", 4))
    assert named.status_code == 201, named.text
    freeze = http.post(f"/v1/members/{member}/freeze", {"reason": "Review"}, role="operator")
    assert freeze.status_code == 200, freeze.text

    error = http.refused(add(http, member, person("ben-4", 5)), 409, "member_not_active")
    assert error["details"]["status"] == "frozen"
    assert len(listed(http, member)) == 1
    # A resend of a request made before the freeze still answers as it did.
    assert add(http, member, person("ben-3", 4)).json() == named.json()

    assert http.post(f"/v1/members/{member}/unfreeze", role="operator").status_code == 200
    assert add(http, member, person("ben-4", 5)).status_code == 201
    assert len(listed(http, member)) == 2


def test_a_closed_member_cannot_name_a_beneficiary(http: Http):
    member = member_on(http, local(2025, 6, 1), 805)
    close = http.post(f"/v1/members/{member}/close", {"reason": "Asked to"}, role="operator")
    assert close.status_code == 200, close.text
    error = http.refused(add(http, member, person("ben-5", 6)), 409, "member_not_active")
    assert error["details"]["status"] == "closed"
    assert listed(http, member) == []
