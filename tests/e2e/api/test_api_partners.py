"""Partners over HTTP on SQLite and PostgreSQL: terms, awards and exchanges under a partner's key,
reversals, and the monthly settlement, as a partner and the operator's finance team see them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from jifen.services.keys import create_key
from jifen.services.ledger_check import check_ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id

HOTEL = {
    "code": "hotel",
    "name": "Jinjiang Hotels",
    "point_kind": "activity",
    "max_points_per_award": 5000,
    "max_points_per_member_day": 8000,
    "max_points_per_month": 20000,
    "price_per_1000_points_fen": 7500,
    "exchange": {"miles": 10, "points": 7},
    "min_miles": 100,
}


class Desk:
    """The API with a partner key for `hotel` (and one for `air`), and a member."""

    def __init__(self, api: Api, engine: Engine) -> None:
        self.api, self.engine = api, engine
        assert self.api.post("/v1/clock", {"now": "2025-11-03T10:00:00+08:00"}).status_code == 200
        assert self.api.post("/v1/partners", HOTEL).status_code == 201
        assert self.api.post("/v1/partners", {**HOTEL, "code": "air"}).status_code == 201
        for code in ("hotel", "air"):
            key = create_key(
                SqlUnitOfWork(engine), role="partner", label=code, now=T0, partner_code=code
            )
            self.api.keys[code] = key.token
        self.serial = 200

    def enrol(self) -> int:
        self.serial += 1
        body = {
            "name": "李四",
            "id_type": "resident_id",
            "id_number": resident_id(date(1988, 6, 1), self.serial),
            "birth_date": "1988-06-01",
        }
        response = self.api.post("/v1/members", body, role="operator")
        assert response.status_code == 201, response.text
        return response.json()["member_id"]

    def activity(self, member_id: int) -> int:
        return self.api.get(f"/v1/members/{member_id}").json()["balances"]["activity"]

    def post(self, path: str, body: dict[str, Any], role: str = "hotel") -> Any:
        return self.api.post(path, body, role=role)


@pytest.fixture
def desk(api: Api, engine: Engine) -> Iterator[Desk]:
    desk = Desk(api, engine)
    yield desk
    assert check_ledger(SqlUnitOfWork(engine)).ok


def code_of(response: Any) -> str:
    return response.json()["error"]["code"]


def test_a_partner_awards_points_that_the_member_sees(desk: Desk):
    member = desk.enrol()
    body = {"id": "stay-1", "member_id": member, "points": 3000, "reason": "2 nights"}
    response = desk.post("/v1/partner/awards", body)
    assert response.status_code == 201, response.text
    award = response.json()
    assert (award["type"], award["points"], award["partner"], award["day"]) == (
        "award",
        3000,
        "hotel",
        "2025-11-03",
    )
    assert desk.activity(member) == 3000
    again = desk.post("/v1/partner/awards", body)
    assert (again.status_code, again.json()) == (201, award)
    assert desk.activity(member) == 3000
    ledger = desk.api.get(f"/v1/members/{member}/ledger").json()["items"]
    assert [(x["kind"], x["points"]) for x in ledger] == [("activity", 3000)]


def test_miles_are_exchanged_at_the_rate_rounded_down(desk: Desk):
    member = desk.enrol()
    response = desk.post("/v1/partner/exchanges", {"id": "m-1", "member_id": member, "miles": 1005})
    assert response.status_code == 201, response.text
    assert (response.json()["miles"], response.json()["points"]) == (1005, 703)
    low = desk.post("/v1/partner/exchanges", {"id": "m-2", "member_id": member, "miles": 99})
    assert (low.status_code, code_of(low)) == (422, "miles_below_minimum")
    assert desk.activity(member) == 703


def test_limits_refuse_with_a_clear_code_and_change_nothing(desk: Desk):
    member = desk.enrol()
    big = desk.post(
        "/v1/partner/awards", {"id": "a-1", "member_id": member, "points": 5001, "reason": "x"}
    )
    assert (big.status_code, code_of(big)) == (409, "partner_limit_exceeded")
    assert big.json()["error"]["details"]["limit"] == "per_award"
    for i, points in enumerate((5000, 3000)):
        body = {"id": f"a-{i + 2}", "member_id": member, "points": points, "reason": "stay"}
        assert desk.post("/v1/partner/awards", body).status_code == 201
    day = desk.post(
        "/v1/partner/awards", {"id": "a-9", "member_id": member, "points": 1, "reason": "x"}
    )
    assert (day.status_code, day.json()["error"]["details"]["limit"]) == (409, "per_member_day")
    assert desk.activity(member) == 8000


def test_a_suspended_partner_and_a_frozen_member_are_refused(desk: Desk):
    member = desk.enrol()
    frozen = desk.api.post(f"/v1/members/{member}/freeze", {"reason": "review"}, role="operator")
    assert frozen.status_code == 200
    body = {"id": "a-1", "member_id": member, "points": 100, "reason": "stay"}
    refused = desk.post("/v1/partner/awards", body)
    assert (refused.status_code, code_of(refused)) == (409, "member_not_active")
    suspended = desk.api.post(
        "/v1/partners/hotel/status", {"status": "suspended", "reason": "ended"}
    )
    assert suspended.json()["status"] == "suspended"
    other = desk.enrol()
    inactive = desk.post("/v1/partner/awards", {**body, "member_id": other})
    assert (inactive.status_code, code_of(inactive)) == (409, "partner_inactive")
    assert (desk.activity(member), desk.activity(other)) == (0, 0)


def test_only_a_key_bound_to_a_partner_acts_and_only_for_it(desk: Desk):
    member = desk.enrol()
    body = {"id": "a-1", "member_id": member, "points": 100, "reason": "stay"}
    for role in ("partner", "admin", "integrator"):  # unbound partner key, admin, other roles
        assert desk.post("/v1/partner/awards", body, role=role).status_code == 403
    assert desk.api.client.post("/v1/partner/awards", json=body).status_code == 401
    assert desk.post("/v1/partner/awards", body, role="air").status_code == 201
    # Ids are each partner's own: the same id under hotel is a new award, and air's cannot be
    # reversed by hotel.
    assert desk.post("/v1/partner/awards", body).status_code == 201
    assert desk.activity(member) == 200
    undo = {"id": "u-1", "operation_id": "a-1", "reason": "cancelled"}
    assert desk.post("/v1/partner/reversals", undo).status_code == 201
    assert desk.activity(member) == 100
    own = desk.api.get("/v1/partners", role="air").json()["items"]
    assert [p["code"] for p in own] == ["air"]
    assert (
        desk.api.get("/v1/partners/hotel/settlement?month=2025-11", role="air").status_code == 403
    )
    assert desk.api.post("/v1/partners", {**HOTEL, "code": "x1"}, role="hotel").status_code == 403


def test_the_monthly_settlement_for_finance_and_for_the_partner(desk: Desk):
    one, two = desk.enrol(), desk.enrol()
    for op_id, member, points in (("a-1", one, 3000), ("a-2", two, 2000)):
        body = {"id": op_id, "member_id": member, "points": points, "reason": "stay"}
        assert desk.post("/v1/partner/awards", body).status_code == 201
    assert (
        desk.post(
            "/v1/partner/exchanges", {"id": "m-1", "member_id": two, "miles": 1005}
        ).status_code
        == 201
    )
    undo = {"id": "u-1", "operation_id": "a-2", "reason": "stay cancelled"}
    assert desk.post("/v1/partner/reversals", undo).status_code == 201
    assert desk.api.post("/v1/clock", {"now": "2025-12-01T00:00:00+08:00"}).status_code == 200
    body = {"id": "a-3", "member_id": one, "points": 4000, "reason": "stay"}
    assert desk.post("/v1/partner/awards", body).status_code == 201  # December's

    for role in ("analyst", "hotel"):
        response = desk.api.get("/v1/partners/hotel/settlement?month=2025-11", role=role)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "partner": "hotel",
            "name": "Jinjiang Hotels",
            "month": "2025-11",
            "awards": {"count": 2, "points": 5000},
            "exchanges": {"count": 1, "points": 703, "miles": 1005},
            "reversals": {"count": 1, "points": 2000},
            "net_points": 3703,  # 5,000 + 703 − 2,000
            "price_per_1000_points_fen": 7500,
            "amount_fen": 27773,  # 3,703 × 7.5 = 27,772.5, half-up
        }
    bad = desk.api.get("/v1/partners/hotel/settlement?month=2025-13", role="analyst")
    assert (bad.status_code, code_of(bad)) == (422, "validation_error")
    year_zero = desk.api.get("/v1/partners/hotel/settlement?month=0000-01", role="analyst")
    assert (year_zero.status_code, code_of(year_zero)) == (422, "invalid_request")  # no year 0
    assert desk.api.get("/v1/partners/nobody/settlement?month=2025-11").status_code == 404


def test_partner_terms_are_refused_when_they_make_no_sense_or_clash(desk: Desk):
    clash = desk.api.post("/v1/partners", {**HOTEL, "name": "Other"})
    assert (clash.status_code, code_of(clash)) == (409, "partner_exists")
    assert desk.api.post("/v1/partners", HOTEL).status_code == 201  # the same terms again
    upgrade = desk.api.post("/v1/partners", {**HOTEL, "code": "x2", "point_kind": "upgrade"})
    assert (upgrade.status_code, code_of(upgrade)) == (422, "invalid_request")
    listed = desk.api.get("/v1/partners", role="analyst").json()["items"]
    assert [(p["code"], p["exchange"]) for p in listed] == [
        ("air", {"miles": 10, "points": 7}),
        ("hotel", {"miles": 10, "points": 7}),
    ]


def test_partners_keys_and_the_settlement_from_the_command_line(desk: Desk, tmp_path: Path):
    member = desk.enrol()
    body = {"id": "a-1", "member_id": member, "points": 3000, "reason": "stay"}
    assert desk.post("/v1/partner/awards", body).status_code == 201
    assert (
        desk.post(
            "/v1/partner/exchanges", {"id": "m-1", "member_id": member, "miles": 1005}
        ).status_code
        == 201
    )
    url = desk.engine.url.render_as_string(hide_password=False)
    added = jifen(
        tmp_path,
        url,
        "partners",
        "add",
        "spa",
        "--name",
        "Spa",
        "--price-per-1000-fen",
        "9000",
        "--rate",
        "1:2",
    )
    assert added.returncode == 0, added.stdout + added.stderr
    listed = jifen(tmp_path, url, "partners", "list")
    assert "spa" in listed.stdout
    assert "1:2" in listed.stdout
    made = jifen(tmp_path, url, "keys", "create", "--role", "partner", "--partner", "spa")
    assert made.returncode == 0, made.stdout + made.stderr
    prefix = made.stdout.strip().splitlines()[-1].split("_")[1]
    keys = [
        line for line in jifen(tmp_path, url, "keys", "list").stdout.splitlines() if prefix in line
    ]
    assert len(keys) == 1
    assert "spa" in keys[0]
    unbound = jifen(tmp_path, url, "keys", "create", "--role", "analyst", "--partner", "spa")
    assert unbound.returncode == 1
    assert "invalid_request" in unbound.stdout
    csv_out = jifen(
        tmp_path, url, "partners", "settlement", "hotel", "--month", "2025-11", "--format", "csv"
    )
    assert csv_out.returncode == 0, csv_out.stdout + csv_out.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [
        (r["awards"], r["exchange_points"], r["net_points"], r["amount_fen"]) for r in rows
    ] == [
        ("1", "703", "3703", "27773")  # 3,703 × 7.5 fen = 27,772.5, half-up
    ]
    table = jifen(tmp_path, url, "partners", "settlement", "hotel", "--month", "2025-11")
    assert "Owed: 27,773 fen (¥277.73)" in table.stdout
    unknown = jifen(tmp_path, url, "partners", "settlement", "nobody", "--month", "2025-11")
    assert unknown.returncode == 1
    assert "not_found" in unknown.stdout


def jifen(folder: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env.update({"JIFEN_DATABASE_URL": url, "COLUMNS": "200"})
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
