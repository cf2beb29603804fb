"""Finding a member by identity or phone, and changing the phone, over HTTP (SPEC §12).

An integrator told `409 member_exists` finds the member id with `POST /v1/members/lookup`; the
identity travels in the body, never in the URL, and an answer names the member id and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select

from jifen.storage.tables import audit_log
from tests.conftest import Api, resident_id
from tests.e2e.api.test_api_contract import Http

BIRTH = date(1990, 3, 7)


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    """The API client; at the end no full ID number or phone sent has come back in any answer."""
    session = Http(api, engine, vault_keys)
    yield session
    assert not {s for s in session.secrets for body in session.bodies if s in body}


def lookup(http: Http, body: dict[str, Any], role: str = "integrator") -> Any:
    return http.post("/v1/members/lookup", body, role=role)


def patch(http: Http, member_id: int, body: dict[str, Any], role: str = "operator") -> Any:
    return http.request("PATCH", f"/v1/members/{member_id}", role=role, json=body)


class TestLookup:
    def test_finds_the_member_by_the_identity_they_enrolled_with(self, http: Http) -> None:
        member = http.enrol(serial=101, phone="13812345678")
        http.enrol(serial=102)
        body = {"id_type": "resident_id", "id_number": resident_id(BIRTH, 101)}

        found = lookup(http, body)

        assert found.status_code == 200, found.text
        assert found.json() == {"member_id": member}

    def test_the_member_exists_answer_leads_to_the_lookup(self, http: Http) -> None:
        member = http.enrol(serial=103)
        again = http.post("/v1/members", _enrolment(103), role="integrator")
        error = http.refused(again, 409, "member_exists")
        assert "/v1/members/lookup" in error["message"]
        assert error["details"]["lookup"] == "POST /v1/members/lookup"

        found = lookup(http, {"id_type": "resident_id", "id_number": resident_id(BIRTH, 103)})
        assert found.json() == {"member_id": member}

    def test_the_number_is_found_whatever_type_is_claimed(self, http: Http) -> None:
        member = http.enrol(serial=104)
        body = {"id_type": "passport", "id_number": resident_id(BIRTH, 104).lower()}

        assert lookup(http, body).json() == {"member_id": member}

    def test_finds_the_member_by_phone_however_it_is_written(self, http: Http) -> None:
        member = http.enrol(serial=105, phone="13912345678")

        found = lookup(http, {"phone": "139-1234-5678"})

        assert found.status_code == 200, found.text
        assert found.json() == {"member_id": member}

    def test_no_match_is_a_404_that_repeats_nothing_sent(self, http: Http) -> None:
        http.enrol(serial=106, phone="13700000001")
        number = resident_id(BIRTH, 107)

        by_id = lookup(http, {"id_type": "resident_id", "id_number": number})
        by_phone = lookup(http, {"phone": "13700000002"})

        for answer in (by_id, by_phone):
            http.refused(answer, 404, "member_not_found")
            assert number not in answer.text
            assert "13700000002" not in answer.text

    def test_a_phone_two_members_gave_names_neither(self, http: Http) -> None:
        http.enrol(serial=108, phone="13600000001")
        http.enrol(serial=109, phone="13600000001")

        error = http.refused(lookup(http, {"phone": "13600000001"}), 409, "phone_shared")

        assert "member_id" not in error["details"]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"id_type": "resident_id"},
            {"id_number": "110101199003071233"},
            {"phone": "13812345678", "id_type": "resident_id", "id_number": "1"},
            {"phone": "13812345678", "name": "张三"},
        ],
    )
    def test_asks_for_one_identity_or_one_phone(self, http: Http, body: dict[str, Any]) -> None:
        http.refused(lookup(http, body), 422, "validation_error")

    @pytest.mark.parametrize("role", ["analyst", "partner"])
    def test_only_operators_and_integrators_may_look_up(self, http: Http, role: str) -> None:
        http.enrol(serial=110, phone="13500000001")

        refused = lookup(http, {"phone": "13500000001"}, role=role)

        http.refused(refused, 403, "forbidden")
        assert "member_id" not in refused.text

    def test_the_identity_is_never_in_a_url(self, http: Http) -> None:
        paths = http.get("/openapi.json").json()["paths"]

        assert list(paths["/v1/members/lookup"]) == ["post"]
        assert not [p for p in paths if "lookup" in p and "{" in p]


class TestChangePhone:
    def test_the_new_phone_finds_the_member_and_the_old_one_no_longer_does(
        self, http: Http
    ) -> None:
        member = http.enrol(serial=120, phone="13811112222")

        changed = patch(http, member, {"phone": "13933334444"})

        assert changed.status_code == 200, changed.text
        assert changed.json() == {"member_id": member, "phone": "139****4444", "changed": True}
        assert lookup(http, {"phone": "13933334444"}).json() == {"member_id": member}
        http.refused(lookup(http, {"phone": "13811112222"}), 404, "member_not_found")
        assert http.member(member)["phone"] == "139****4444"

    def test_the_change_is_audited_with_masked_numbers(self, http: Http, engine: Engine) -> None:
        member = http.enrol(serial=121, phone="13811113333")

        patch(http, member, {"phone": "13944445555"}, role="integrator")

        with engine.connect() as connection:
            rows = connection.execute(
                select(audit_log).where(audit_log.c.subject == f"member:{member}")
            ).all()
        assert [r.action for r in rows] == ["member.phone_changed"]
        assert rows[0].actor == http.api.keys["integrator"].split("_")[1]  # the key's prefix
        assert rows[0].details == {
            "before": {"phone": "138****3333"},
            "after": {"phone": "139****5555"},
        }

    def test_the_same_phone_again_changes_nothing(self, http: Http, engine: Engine) -> None:
        member = http.enrol(serial=122, phone="13811114444")

        again = patch(http, member, {"phone": "138 1111 4444"})

        assert again.json() == {"member_id": member, "phone": "138****4444", "changed": False}
        subject = audit_log.c.subject == f"member:{member}"
        with engine.connect() as connection:
            assert not connection.execute(select(audit_log.c.id).where(subject)).all()

    def test_a_member_enrolled_without_a_phone_can_be_given_one(self, http: Http) -> None:
        member = http.enrol(serial=123, phone=None)

        assert patch(http, member, {"phone": "+85291234567"}).json()["changed"] is True
        assert lookup(http, {"phone": "+85291234567"}).json() == {"member_id": member}

    @pytest.mark.parametrize(
        "body",
        [
            {"phone": "13900000000", "name": "李四"},
            {"id_number": "110101199003071233"},
            {"name": "李四"},
        ],
    )
    def test_name_and_id_cannot_be_changed(self, http: Http, body: dict[str, Any]) -> None:
        member = http.enrol(serial=124, phone="13811115555")

        error = http.refused(patch(http, member, body), 422, "validation_error")

        assert "only `phone` can be changed" in error["message"]
        assert http.member(member)["name"] == "张三"
        assert http.member(member)["phone"] == "138****5555"

    def test_a_phone_enrolment_would_refuse_is_refused(self, http: Http) -> None:
        member = http.enrol(serial=125)

        error = http.refused(patch(http, member, {"phone": "2468013"}), 422, "invalid_identity")

        assert error["details"]["field"] == "phone"

    def test_an_unknown_member_is_not_found(self, http: Http) -> None:
        http.refused(patch(http, 999_999, {"phone": "13900000000"}), 404, "not_found")

    def test_a_closed_member_keeps_their_phone(self, http: Http) -> None:
        member = http.enrol(serial=126, phone="13811116666")
        closed = http.post(
            f"/v1/members/{member}/close", {"reason": "member asked"}, role="operator"
        )
        assert closed.status_code == 200, closed.text

        http.refused(patch(http, member, {"phone": "13900000001"}), 409, "member_closed")

    @pytest.mark.parametrize("role", ["analyst", "partner"])
    def test_only_operators_and_integrators_may_change_it(self, http: Http, role: str) -> None:
        member = http.enrol(serial=127, phone="13811117777")

        http.refused(patch(http, member, {"phone": "13900000002"}, role=role), 403, "forbidden")


def _enrolment(serial: int) -> dict[str, Any]:
    return {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": resident_id(BIRTH, serial),
        "birth_date": BIRTH.isoformat(),
    }
