"""One member per ID number, whatever ID type is claimed (issue 19), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select, update

from jifen.domain.tiers import TierState
from jifen.programs.schema import Program
from jifen.services.members import MemberExists, enrol
from jifen.storage.crypto import IdentityVault
from jifen.storage.member_repository import IdentityTaken
from jifen.storage.tables import members
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id
from tests.integration.services.test_events import at, ticket

BORN = date(1990, 3, 7)
NUMBER = resident_id(BORN, 109)  # ends in X


def enrolment(id_type: str, id_number: str = NUMBER) -> dict[str, str]:
    return {"name": "张三", "id_type": id_type, "id_number": id_number, "birth_date": "1990-03-07"}


def member_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(members)).scalar_one()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (enrolment("resident_id"), enrolment("passport")),
        (enrolment("passport"), enrolment("resident_id")),
        (enrolment("passport", NUMBER.lower()), enrolment("resident_id")),
        (enrolment("resident_id"), enrolment("passport", f"  {NUMBER.lower()} ")),
    ],
    ids=["resident ID, then passport", "passport, then resident ID", "case", "spaces"],
)
def test_the_same_id_number_under_another_id_type_is_member_exists(
    api: Api, engine: Engine, first: dict[str, str], second: dict[str, str]
):
    api.post("/v1/clock", {"now": "2025-05-01T09:00:00+08:00"})
    assert api.post("/v1/members", first).status_code == 201

    response = api.post("/v1/members", second)

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "member_exists"
    assert member_count(engine) == 1


def test_an_erased_members_number_can_enrol_again(api: Api, engine: Engine):
    api.post("/v1/clock", {"now": "2025-05-01T09:00:00+08:00"})
    erased = api.post("/v1/members", enrolment("resident_id")).json()["member_id"]
    assert api.post(f"/v1/members/{erased}/erase", {"reason": "Asked"}).status_code == 200

    again = api.post("/v1/members", enrolment("passport"))

    assert again.status_code == 201, again.text
    with engine.connect() as connection:
        hashes = connection.execute(select(members.c.number_hash).order_by(members.c.id)).all()
    assert hashes[0].number_hash is None  # erasure keeps no hash of the number either


def test_a_member_enrolled_before_number_hashes_still_blocks_their_number(
    uow: SqlUnitOfWork, engine: Engine, railway: Program, vault: IdentityVault
):
    first = enrol_as(uow, railway, vault, "resident_id")
    with engine.begin() as connection:  # as a member enrolled before migration 0011 is stored
        connection.execute(update(members).values(number_hash=None))

    with pytest.raises(MemberExists):
        enrol_as(uow, railway, vault, "passport")

    assert member_count(engine) == 1
    assert enrol_as(uow, railway, vault, "passport", resident_id(BORN, 322)) != first


def test_the_database_refuses_a_second_member_with_the_same_number_hash(
    uow: SqlUnitOfWork, vault: IdentityVault
):
    def add(id_type: str) -> int:
        return uow.members.add(
            name="张三",
            id_type=id_type,
            id_number_enc=vault.encrypt(NUMBER),
            id_hash=vault.lookup_hash(id_type, NUMBER),
            number_hash=vault.number_hash(NUMBER),
            phone_enc=None,
            phone_hash=None,
            birth_date=BORN,
            joined_at=T0,
            tier=TierState("star2", None),
        )

    with uow:
        add("resident_id")
        uow.commit()
    with pytest.raises(IdentityTaken), uow:  # as when two enrolments race past the lookup
        add("passport")


def test_riders_named_by_identity_are_still_found(api: Api):
    api.post("/v1/clock", {"now": "2025-05-02T12:00:00+08:00"})
    member = api.post("/v1/members", enrolment("resident_id")).json()["member_id"]
    rider = {"id_type": "resident_id", "id_number": NUMBER.lower()}
    data = ticket("T1", departure=at(date(2025, 5, 10)), passenger=rider)
    bought = at(date(2025, 5, 2)).isoformat()
    event = {"id": "e1", "type": "ticket.purchased", "occurred_at": bought, "data": data}

    [result] = api.post("/v1/events", {"events": [event]}).json()["results"]

    assert result["status"] == "applied", result
    assert api.get(f"/v1/members/{member}").json()["balances"]["pending"] > 0


def enrol_as(
    uow: SqlUnitOfWork, program: Program, vault: IdentityVault, id_type: str, number: str = NUMBER
) -> int:
    return enrol(
        uow,
        program=program,
        vault=vault,
        name="张三",
        id_type=id_type,
        id_number=number,
        birth_date=BORN,
        phone=None,
        joined_at=T0,
    ).member_id
