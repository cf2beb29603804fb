"""Privacy rights over HTTP on SQLite and PostgreSQL: export, erasure, and vault key rotation.

The export is the one answer allowed to hold a member's ID number and phone in full; every other
answer (the erasure's included) is checked, as in the contract tests, to hold none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.programs.schema import Program
from jifen.services import privacy
from jifen.services.ledger_check import check_ledger
from jifen.services.members import NoMatchingMember, enrol, lookup_member
from jifen.services.notifications import add_endpoint
from jifen.storage.crypto import IdentityVault, VaultKeyError
from jifen.storage.privacy_repository import PrivacyRepository
from jifen.storage.tables import beneficiaries, ledger_entries, members, webhook_endpoints
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api, resident_id
from tests.e2e.api.test_api_contract import Http, enrolment, local
from tests.integration.services.test_events import at, ticket

BORN = date(1990, 3, 7)
JOINED = local(2025, 5, 1)
TODAY = local(2025, 6, 1)
BIG_FARE = 1_000_000  # ¥10,000 at 5×: 50,000 ride points, enough for 3★ and to unlock redemption


class Desk(Http):
    """The contract test client, with a member who has done a bit of everything."""

    def export(self, member_id: int, role: str = "operator") -> httpx2.Response:
        # Straight to the client: the export is the one answer allowed to hold the full values.
        headers = self.api.headers(role)
        response = self.api.client.get(f"/v1/members/{member_id}/export", headers=headers)
        assert response.status_code < 500, response.text
        return response

    def exported(self, member_id: int) -> dict[str, Any]:
        response = self.export(member_id)
        assert response.status_code == 200, response.text
        return response.json()

    def erase(self, member_id: int, reason: str = "Member asked", role: str = "admin") -> Any:
        return self.post(f"/v1/members/{member_id}/erase", {"reason": reason}, role=role)

    def ok(self, response: httpx2.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()

    def busy_member(self, serial: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """A member with trips, pending points, a tier, a beneficiary, a redemption, orders …"""
        self.set_clock(JOINED)
        body = enrolment(BORN, serial)
        member = self.enrol(BORN, serial=serial)
        identity = {"id_type": "resident_id", "id_number": body["id_number"]}
        # The rider named by identity, as a ticket office knows them.
        big = ticket(
            f"B{serial}", fare_fen=BIG_FARE, departure=at(date(2025, 5, 10)), passenger=identity
        )
        later = ticket(f"L{serial}", departure=at(date(2025, 7, 1)), passenger=identity)
        results = self.events(
            [
                _event(f"{serial}-b", "ticket.purchased", at(date(2025, 5, 9)), big),
                _event(
                    f"{serial}-t",
                    "ticket.travelled",
                    at(date(2025, 5, 10), 16),
                    {"ticket_id": f"B{serial}"},
                ),
                _event(f"{serial}-l", "ticket.purchased", at(date(2025, 5, 12)), later),
                _event(
                    f"{serial}-a",
                    "activity.completed",
                    at(date(2025, 5, 12)),
                    {"member_id": member, "activity": "survey", "points": 2000},
                ),
            ]
        )
        assert {r["status"] for r in results} == {"applied"}, results
        self.daily(date(2025, 5, 11))  # 50,000 upgrade points: 3★
        self.set_clock(TODAY)
        person = {
            "id": f"ben-{serial}",
            "name": "李四",
            "id_type": "resident_id",
            "id_number": resident_id(date(1988, 8, 8), serial),
        }
        self.ok(self.post(f"/v1/members/{member}/beneficiaries", person, role="operator"), 201)
        adjustment = {"id": f"adj-{serial}", "kind": "goodwill", "points": 500, "reason": "Delay"}
        self.ok(self.post(f"/v1/members/{member}/adjustments", adjustment, role="operator"), 201)
        rid = f"rdm-{serial}"
        redemption = {
            "id": rid,
            "member_id": member,
            "type": "ticket",
            "passenger": {"member_id": member},
            "fare_fen": 3000,
            "train": {"number": "G1"},
            "departure_at": local(2025, 6, 20, 8),
        }
        self.ok(self.post("/v1/redemptions", redemption, role="integrator"), 201)
        self.ok(self.post(f"/v1/redemptions/{rid}/commit", {"id": f"{rid}-c"}, role="operator"))
        self.post(
            "/v1/mall/products", {"sku": "MUG", "name": "Mug", "price_points": 100, "stock": 9}
        )
        order = {"id": f"order-{serial}", "member_id": member, "sku": "MUG", "quantity": 1}
        self.ok(self.post("/v1/mall/orders", order, role="integrator"), 201)
        grant = {"id": f"grant-{serial}", "type": "tea", "valid_days": 7}
        self.ok(self.post(f"/v1/members/{member}/coupons", grant, role="operator"), 201)
        give = {"id": f"give-{serial}", "charity": "red_cross", "points": 100}
        self.ok(self.post(f"/v1/members/{member}/donations", give, role="operator"), 201)
        return member, body, person


def _event(event_id: str, type_: str, when: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": when.isoformat(), "data": data}


@pytest.fixture
def desk(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Desk]:
    """At the end: no answer but the export held a full identity, and the ledger adds up."""
    session = Desk(api, engine, vault_keys)
    yield session
    leaks = {s for s in session.secrets for body in session.bodies if s in body}
    assert not leaks, f"answers other than the export hold {len(leaks)} identities"
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


class TestExport:
    def test_holds_everything_about_the_member_with_the_identity_in_full(self, desk: Desk):
        member, body, person = desk.busy_member(11)

        data = desk.exported(member)

        identity = data["member"]
        assert identity["id_number"] == body["id_number"]
        assert identity["phone"] == body["phone"]
        assert (identity["name"], identity["birth_date"]) == ("张三", BORN.isoformat())
        assert (identity["status"], identity["erased"]) == ("active", False)
        assert identity["tier"]["code"] == "star3"
        assert [b["id_number"] for b in data["beneficiaries"]] == [person["id_number"]]
        for section in (
            "balances",
            "tier_history",
            "lots",
            "pending_points",
            "ledger_entries",
            "events",
            "tickets",
            "earnings",
            "beneficiaries",
            "redemptions",
            "mall_orders",
            "coupons",
            "donations",
            "adjustments",
            "audit",
        ):
            assert data[section], f"the export has no {section}"
        assert data["reminders"] == []  # nothing expires within 30 days
        assert {r["id"] for r in data["redemptions"]} == {"rdm-11"}
        assert {a["action"] for a in data["redemptions"][0]["actions"]} >= {"commit"}
        assert {e["id"] for e in data["events"]} == {"11-b", "11-t", "11-l", "11-a"}
        assert {a["action"] for a in data["audit"]} >= {"adjustment.applied"}

    def test_balances_and_lots_agree_with_the_entries(self, desk: Desk):
        member, _body, _person = desk.busy_member(12)

        data = desk.exported(member)

        available: dict[str, int] = {}
        for entry in data["ledger_entries"]:
            if entry["account"] == "member:available":
                available[entry["kind"]] = available.get(entry["kind"], 0) + entry["points"]
        lots: dict[str, int] = {}
        for lot in data["lots"]:
            lots[lot["kind"]] = lots.get(lot["kind"], 0) + lot["remaining"]
        stored = {b["kind"]: b["available"] for b in data["balances"]}
        for kind in set(available) | set(lots) | set(stored):
            assert stored.get(kind, 0) == available.get(kind, 0) == lots.get(kind, 0), kind
        assert stored["ride"] > 0
        pending = sum(p["points"] for p in data["pending_points"] if p["status"] == "open")
        assert pending == sum(b["pending"] for b in data["balances"]) > 0

    def test_events_and_tickets_stay_masked_in_the_export(self, desk: Desk):
        member, body, _person = desk.busy_member(13)

        data = desk.exported(member)

        number = body["id_number"]
        for section in ("events", "tickets", "ledger_entries", "audit"):
            assert number not in str(data[section]), section
        passenger = data["events"][0]["payload"]["data"]["passenger"]
        assert passenger["id_number"] == f"{number[:4]}**********{number[-4:]}"

    def test_times_are_in_the_program_zone(self, desk: Desk):
        member, _body, _person = desk.busy_member(14)

        data = desk.exported(member)

        assert data["member"]["joined_at"] == "2025-05-01T09:00:00+08:00"
        assert data["exported_at"] == "2025-06-01T09:00:00+08:00"
        assert all(e["occurred_at"].endswith("+08:00") for e in data["ledger_entries"])

    def test_is_for_operators_and_audited(self, desk: Desk):
        member, _body, _person = desk.busy_member(15)

        assert desk.export(member, role="integrator").status_code == 403
        assert desk.export(member, role="analyst").status_code == 403
        assert desk.export(member, role="admin").status_code == 200
        assert desk.export(999_999).status_code == 404
        audit = desk.get("/v1/audit", params={"action": "member.exported"}).json()["items"]
        assert [a["subject"] for a in audit] == [f"member:{member}"]
        assert audit[0]["actor"] == desk.api.keys["admin"].split("_")[1]


class TestErasure:
    def test_the_member_can_no_longer_be_found_by_identity_or_phone(
        self, desk: Desk, engine: Engine, vault: IdentityVault
    ):
        member, body, _person = desk.busy_member(21)

        erased = desk.ok(desk.erase(member))

        assert erased["name"] == f"已注销 erased-{member}"
        assert (erased["status"], erased["previous"], erased["changed"]) == (
            "closed",
            "active",
            True,
        )
        assert erased["beneficiaries"] == 1
        with pytest.raises(NoMatchingMember):  # the identity no longer finds anyone
            lookup_member(
                SqlUnitOfWork(engine),
                vault=vault,
                id_type="resident_id",
                id_number=body["id_number"],
            )
        with SqlUnitOfWork(engine) as uow:
            assert uow.members.find_by_phone(vault.phone_hash(body["phone"])) == []
        shown = desk.member(member)
        assert (shown["name"], shown["id_number"], shown["phone"]) == (erased["name"], None, None)
        assert shown["status"] == "closed"
        with engine.connect() as connection:
            row = connection.execute(select(members).where(members.c.id == member)).one()
        assert (row.id_number_enc, row.phone_enc, row.birth_date) == (None, None, None)

    def test_the_ledger_amounts_are_kept_and_the_points_forfeited(self, desk: Desk, engine: Engine):
        member, _body, _person = desk.busy_member(22)
        before = _entries(engine)
        balances = desk.member(member)["balances"]

        erased = desk.ok(desk.erase(member))

        after = _entries(engine)
        assert {k: after[k] for k in before} == before  # every entry kept as it was
        assert erased["forfeited"] == {
            "ride": balances["ride"],
            "activity": balances["activity"],
        }
        assert erased["voided_pending"] == balances["pending"] > 0
        assert desk.member(member)["balances"]["ride"] == 0
        assert check_ledger(SqlUnitOfWork(engine)).ok

    def test_the_same_person_can_enrol_again_as_a_new_member(self, desk: Desk):
        member, body, _person = desk.busy_member(23)
        desk.ok(desk.erase(member))
        identity = {"id_type": "resident_id", "id_number": body["id_number"]}
        # A trip after the new enrolment (trips before joining earn nothing).
        claim = ticket("CLAIM", departure=at(date(2025, 6, 2)), passenger=identity)
        travelled = at(date(2025, 6, 2), 16)

        [before] = desk.events([_event("claim-1", "ticket.travelled", travelled, claim)])
        again = desk.post("/v1/members", body, role="operator")
        [after] = desk.events([_event("claim-2", "ticket.travelled", travelled, claim)])

        assert before["status"] == "rejected"
        assert before["error"]["code"] == "rider_not_member"
        assert again.status_code == 201, again.text
        new_member = again.json()["member_id"]
        assert new_member != member
        assert after["status"] == "applied"
        assert desk.member(new_member)["balances"]["ride"] == 2768
        assert desk.member(member)["balances"]["ride"] == 0

    def test_beneficiaries_are_erased_too(self, desk: Desk, engine: Engine, vault: IdentityVault):
        member, _body, person = desk.busy_member(24)

        desk.ok(desk.erase(member))

        listed = desk.get(f"/v1/members/{member}/beneficiaries?include_removed=true").json()
        [named] = listed["items"]
        assert named["name"].startswith("已注销 erased-b")
        assert named["status"] == "removed"
        data = desk.exported(member)
        assert data["member"]["erased"] is True
        assert (data["member"]["id_number"], data["member"]["phone"]) == (None, None)
        assert [b["id_number"] for b in data["beneficiaries"]] == [None]
        assert person["id_number"] not in str(data)
        with engine.connect() as connection:
            [stored] = connection.execute(select(beneficiaries.c.id_hash)).scalars().all()
        assert stored != vault.lookup_hash("resident_id", person["id_number"])

    def test_erasing_again_changes_nothing_and_is_audited_once(self, desk: Desk):
        member, _body, _person = desk.busy_member(25)
        first = desk.ok(desk.erase(member, reason="Asked by letter"))

        second = desk.ok(desk.erase(member, reason="Asked again"))

        assert second["changed"] is False
        assert second["name"] == first["name"]
        rows = desk.get("/v1/audit", params={"subject": f"member:{member}"}).json()["items"]
        erasures = [r for r in rows if r["action"] == "member.erased"]
        assert [r["details"]["reason"] for r in erasures] == ["Asked by letter"]
        assert [r["action"] for r in rows][:2] == ["member.erased", "member.closed"]

    def test_a_closed_member_is_erased_without_closing_again(self, desk: Desk):
        desk.set_clock(JOINED)
        member = desk.enrol(serial=26)
        desk.ok(desk.post(f"/v1/members/{member}/close", {"reason": "Left"}, role="operator"))

        erased = desk.ok(desk.erase(member))

        assert (erased["previous"], erased["forfeited"], erased["beneficiaries"]) == (
            "closed",
            {},
            0,
        )

    def test_only_admins_erase_and_held_points_block_it(self, desk: Desk, engine: Engine):
        member, _body, _person = desk.busy_member(27)
        redemption = {
            "id": "held-27",
            "member_id": member,
            "type": "ticket",
            "passenger": {"member_id": member},
            "fare_fen": 1000,
            "train": {"number": "G1"},
            "departure_at": local(2025, 6, 20, 8),
        }
        desk.ok(desk.post("/v1/redemptions", redemption, role="integrator"), 201)

        desk.refused(desk.erase(member, role="operator"), 403, "forbidden")
        desk.refused(desk.erase(member), 409, "open_redemptions")
        desk.refused(desk.erase(999_999), 404, "not_found")
        assert desk.member(member)["status"] == "active"  # nothing happened

        desk.ok(desk.post("/v1/redemptions/held-27/release", {"id": "r"}, role="operator"))
        assert desk.ok(desk.erase(member))["changed"] is True


def _entries(engine: Engine) -> dict[int, tuple[str, int]]:
    e = ledger_entries.c
    with engine.connect() as connection:
        rows = connection.execute(select(e.id, e.account, e.points)).all()
    return {row.id: (row.account, row.points) for row in rows}


# -- key rotation -------------------------------------------------------------------------------
class TestRotation:
    @pytest.fixture
    def keys(self, vault_keys: tuple[str, str]) -> dict[str, str]:
        return {"old": vault_keys[0], "new": IdentityVault.generate_key(), "hash": vault_keys[1]}

    def _vault(self, keys: dict[str, str], *names: str) -> IdentityVault:
        return IdentityVault([keys[n] for n in names], keys["hash"])

    def _people(self, engine: Engine, railway: Program, vault: IdentityVault) -> list[str]:
        """Five members with phones (one with a beneficiary), under `vault`; their ID numbers."""
        numbers = []
        for serial in range(5):
            number = resident_id(BORN, 300 + serial)
            enrol(
                SqlUnitOfWork(engine),
                program=railway,
                vault=vault,
                name="张三",
                id_type="resident_id",
                id_number=number,
                birth_date=BORN,
                phone=f"1380000{serial:04d}",
                joined_at=T0,
            )
            numbers.append(number)
        with SqlUnitOfWork(engine) as uow:
            uow.redemptions.add_beneficiary(
                member_id=1,
                name="李四",
                id_type="resident_id",
                id_number_enc=vault.encrypt("110101198808081234"),
                id_hash="b" * 64,
                added_on=T0.date(),
                effective_from=T0.date(),
            )
            uow.commit()
        return numbers

    def _tokens(self, engine: Engine) -> list[str]:
        with engine.connect() as connection:
            rows = connection.execute(select(members.c.id_number_enc, members.c.phone_enc)).all()
            named = connection.execute(select(beneficiaries.c.id_number_enc)).scalars().all()
        return [t for row in rows for t in row] + list(named)

    def test_webhook_secrets_rotate_and_still_sign(
        self, engine: Engine, railway: Program, keys: dict[str, str]
    ):
        old, both, new = (self._vault(keys, *n) for n in (["old"], ["new", "old"], ["new"]))
        endpoint = add_endpoint(
            SqlUnitOfWork(engine),
            vault=old,
            url="https://sms.example/hook",
            topics=["tier.changed"],
            description=None,
            now=T0,
            actor="test",
        )

        report = privacy.rotate_vault(SqlUnitOfWork(engine), vault=both, now=T0)

        assert report.rotated["webhook_endpoints.secret_enc"] == 1
        with engine.connect() as connection:
            token = connection.execute(select(webhook_endpoints.c.secret_enc)).scalar_one()
        assert new.decrypt(token) == endpoint.secret  # signing needs only the new key now

    def test_after_rotation_only_the_new_key_is_needed(
        self, engine: Engine, railway: Program, keys: dict[str, str]
    ):
        numbers = self._people(engine, railway, self._vault(keys, "old"))
        both, new = self._vault(keys, "new", "old"), self._vault(keys, "new")
        tokens = self._tokens(engine)
        assert len(tokens) == 11
        assert {both.decrypt(t) for t in tokens} >= set(numbers)  # [new, old] reads old values
        with pytest.raises(VaultKeyError):
            new.decrypt(tokens[0])
        seen: list[int] = []

        report = privacy.rotate_vault(
            SqlUnitOfWork(engine), vault=both, now=T0, batch=2, progress=seen.append
        )

        assert report.rotated == {
            "members.id_number_enc": 5,
            "members.phone_enc": 5,
            "beneficiaries.id_number_enc": 1,
            "webhook_endpoints.secret_enc": 0,
        }
        assert report.unreadable == []
        assert sum(seen) == 11 == privacy.encrypted_values(SqlUnitOfWork(engine))
        assert {new.decrypt(t) for t in self._tokens(engine)} >= set(numbers)
        with SqlUnitOfWork(engine) as uow:
            [row] = uow.audit_log.entries(since=None, until=None, newest_first=True, limit=1)
        assert (row.action, row.subject) == ("vault.rotated", "vault")

    def test_a_rerun_after_a_crash_finishes_and_skips_what_is_done(
        self, engine: Engine, railway: Program, keys: dict[str, str]
    ):
        self._people(engine, railway, self._vault(keys, "old"))
        both, new = self._vault(keys, "new", "old"), self._vault(keys, "new")

        def crash(_done: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            privacy.rotate_vault(
                SqlUnitOfWork(engine), vault=both, now=T0, batch=2, newest_only=new, progress=crash
            )
        report = privacy.rotate_vault(
            SqlUnitOfWork(engine), vault=both, now=T0, batch=2, newest_only=new
        )

        assert report.current["members.id_number_enc"] == 2  # the first chunk was committed
        assert sum(report.rotated.values()) == 9
        assert all(new.decrypt(t) for t in self._tokens(engine))

    def test_a_value_no_key_opens_is_reported_and_the_rest_rotate(
        self, engine: Engine, railway: Program, keys: dict[str, str]
    ):
        self._people(engine, railway, self._vault(keys, "old"))
        stranger = IdentityVault([IdentityVault.generate_key()], keys["hash"])
        with engine.begin() as connection:
            connection.execute(
                update(members)
                .where(members.c.id == 3)
                .values(phone_enc=stranger.encrypt("13800000002"))
            )

        report = privacy.rotate_vault(
            SqlUnitOfWork(engine), vault=self._vault(keys, "new", "old"), now=T0
        )

        assert report.unreadable == ["members.phone_enc:3"]
        assert report.rotated["members.phone_enc"] == 4

    def test_a_value_changed_since_it_was_read_is_not_overwritten(
        self, engine: Engine, railway: Program, keys: dict[str, str]
    ):
        self._people(engine, railway, self._vault(keys, "old"))
        with SqlUnitOfWork(engine) as uow:
            repo = PrivacyRepository(uow.connection)
            [(row_id, token)] = repo.encrypted_chunk(members, "phone_enc", after_id=0, limit=1)
            repo.replace_tokens(members, "phone_enc", [(row_id, "stale", "rotated")])
            repo.replace_tokens(members, "phone_enc", [(row_id, token, "rotated")])
            uow.commit()
        with engine.connect() as connection:
            phones = connection.execute(select(members.c.phone_enc).order_by(members.c.id))
            assert next(iter(phones)).phone_enc == "rotated"

    def test_the_api_reads_rotated_members_with_the_new_key_alone(
        self, engine: Engine, railway: Program, keys: dict[str, str], api: Api
    ):
        numbers = self._people(engine, railway, self._vault(keys, "old"))
        both = self._vault(keys, "new", "old")
        privacy.rotate_vault(SqlUnitOfWork(engine), vault=both, now=T0)
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            vault_keys=keys["new"],
            hash_key=keys["hash"],
        )
        app = create_app(settings)
        try:
            with TestClient(app) as client:
                shown = client.get("/v1/members/1", headers=api.headers("operator")).json()
        finally:
            app.state.jifen.engine.dispose()
        assert shown["id_number"] == f"{numbers[0][:4]}**********{numbers[0][-4:]}"
        assert shown["phone"] == "138****0000"

    def test_the_cli_makes_a_key_and_rotates_with_a_progress_bar(
        self, engine: Engine, railway: Program, keys: dict[str, str], tmp_path: Path
    ):
        numbers = self._people(engine, railway, self._vault(keys, "old"))
        made = _jifen(tmp_path, engine, keys, "vault", "new-key")
        assert made.returncode == 0, made.stdout + made.stderr
        keys["new"] = made.stdout.strip().splitlines()[-1]

        rotated = _jifen(tmp_path, engine, keys, "vault", "rotate", "--batch", "3")

        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        assert "re-encrypting" in rotated.stdout
        assert "members.phone_enc" in rotated.stdout
        new = self._vault(keys, "new")
        assert {new.decrypt(t) for t in self._tokens(engine)} >= set(numbers)
        again = _jifen(tmp_path, engine, keys, "vault", "rotate")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already under the first key" in again.stdout


def _jifen(
    folder: Path, engine: Engine, keys: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env |= {
        "JIFEN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "JIFEN_VAULT_KEYS": f"{keys['new']},{keys['old']}",
        "JIFEN_HASH_KEY": keys["hash"],
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "jifen", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
