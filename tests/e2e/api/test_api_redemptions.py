"""Ticket redemption and seat upgrade over HTTP, on SQLite and PostgreSQL (SPEC §6, §12).

A member who rode four trips of ¥553.50 holds 11,072 ride points in four lots (one per trip day)
and has unlocked redemption; at 100 points = ¥1 a ticket costs one point per fen of its fare.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from jifen.services.ledger_check import check_ledger
from jifen.storage.tables import ledger_entries, lots, members
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.e2e.api.test_api_contract import TRIP_POINTS, Http, local, trip
from tests.integration.services.test_events import at, ticket

NOW = local(2025, 6, 1)
DEPARTURE = local(2025, 6, 20, 8)
RIDE_DAYS = (date(2025, 5, 10), date(2025, 5, 11), date(2025, 5, 12), date(2025, 5, 13))
UNLOCKED = 4 * TRIP_POINTS  # 11,072


@pytest.fixture
def http(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Iterator[Http]:
    """The API client; at the end no full ID number has leaked and the ledger adds up."""
    session = Http(api, engine, vault_keys)
    yield session
    assert not {s for s in session.secrets for body in session.bodies if s in body}
    report = check_ledger(SqlUnitOfWork(engine))
    assert report.ok, report.violations


def rider(http: Http, serial: int, *, trips: int = 4) -> int:
    """A member who joined on 1 May 2025 and rode `trips` trips from 10 May; the clock at NOW."""
    http.set_clock(local(2025, 5, 1))
    member = http.enrol(serial=serial)
    http.set_clock(local(2025, 5, 31))  # the trips are reported once taken
    http.ride(member, *RIDE_DAYS[:trips])
    http.set_clock(NOW)
    return member


def ticket_body(rid: str, member: int, **fields: Any) -> dict[str, Any]:
    """A ticket redemption for the member themself: ¥30 (3,000 points) on G1 on 20 June 2025."""
    return {
        "id": rid,
        "member_id": member,
        "type": "ticket",
        "passenger": {"member_id": member},
        "fare_fen": 3000,
        "train": {"number": "G1"},
        "departure_at": DEPARTURE,
        **fields,
    }


def redeem(http: Http, body: dict[str, Any], role: str = "integrator") -> Any:
    return http.post("/v1/redemptions", body, role=role)


def held(http: Http, rid: str, member: int, **fields: Any) -> dict[str, Any]:
    response = redeem(http, ticket_body(rid, member, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def step(http: Http, rid: str, action: str, body: Any = None, role: str = "operator") -> Any:
    return http.post(f"/v1/redemptions/{rid}/{action}", body, role=role)


def ride_balance(http: Http, member: int) -> int:
    return http.member(member)["balances"]["ride"]


def account_total(engine: Engine, account: str) -> int:
    query = select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
        ledger_entries.c.account == account
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def lots_of(engine: Engine, member: int) -> list[tuple[Any, ...]]:
    """`(id, original, remaining, credited_on, expires_on)` per ride lot, oldest first."""
    l_ = lots.c
    query = (
        select(l_.id, l_.original, l_.remaining, l_.credited_on, l_.expires_on)
        .where(l_.member_id == member, l_.kind == "ride")
        .order_by(l_.id)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


class TestEligibility:
    def test_redemption_opens_once_the_balance_has_reached_ten_thousand(self, http: Http):
        member = rider(http, 501, trips=3)
        http.refused(redeem(http, ticket_body("r-locked", member)), 403, "redemption_locked")
        assert ride_balance(http, member) == 3 * TRIP_POINTS
        assert http.get("/v1/redemptions/r-locked").status_code == 404

        http.ride(member, RIDE_DAYS[3])
        assert held(http, "r-open", member)["status"] == "held"
        # After the unlock there is no minimum: the balance may go below the threshold.
        assert held(http, "r-open-2", member, fare_fen=5000)["points"] == 5000
        assert ride_balance(http, member) == UNLOCKED - 8000

    def test_a_frozen_member_cannot_redeem(self, http: Http, engine: Engine):
        member = rider(http, 502)
        with engine.begin() as connection:
            connection.execute(
                update(members).where(members.c.id == member).values(status="frozen")
            )
        http.refused(redeem(http, ticket_body("r-frozen", member)), 409, "member_not_active")
        assert ride_balance(http, member) == UNLOCKED

    def test_an_unknown_member_is_not_found(self, http: Http):
        http.set_clock(NOW)
        http.refused(redeem(http, ticket_body("r-nobody", 999_999)), 404, "not_found")


class TestHoldAndCommit:
    def test_held_points_leave_the_balance_and_commit_redeems_them(self, http: Http, engine):
        member = rider(http, 510)
        first = held(http, "r-1", member)
        assert first == {
            "redemption_id": "r-1",
            "points": 3000,
            "status": "held",
            "paid": {"ride": 3000},
        }
        assert ride_balance(http, member) == UNLOCKED - 3000
        assert (
            account_total(engine, "program:held"),
            account_total(engine, "program:redeemed"),
        ) == (
            3000,
            0,
        )
        statement = http.get(f"/v1/members/{member}/ledger", role="integrator").json()["items"]
        spent = [i["points"] for i in statement if i["type"] == "spend"]
        assert sorted(spent) == [-TRIP_POINTS, -(3000 - TRIP_POINTS)]  # oldest lot first

        committed = step(http, "r-1", "commit", {"id": "r-1-commit"})
        assert committed.status_code == 200, committed.text
        assert committed.json() == {"redemption_id": "r-1", "points": 3000, "status": "committed"}
        assert ride_balance(http, member) == UNLOCKED - 3000
        assert (
            account_total(engine, "program:held"),
            account_total(engine, "program:redeemed"),
        ) == (
            0,
            3000,
        )
        seen = http.get("/v1/redemptions/r-1", role="integrator").json()
        assert {k: seen[k] for k in ("member_id", "type", "status", "points", "fare_fen")} == {
            "member_id": member,
            "type": "ticket",
            "status": "committed",
            "points": 3000,
            "fare_fen": 3000,
        }
        assert seen["passenger"] == {"member_id": member, "beneficiary_id": None}
        assert seen["departure_at"] == DEPARTURE

    def test_points_are_the_fare_at_one_point_per_fen(self, http: Http):
        member = rider(http, 511)
        assert held(http, "r-odd", member, fare_fen=55)["points"] == 55
        assert held(http, "r-whole", member, fare_fen=10_000)["points"] == 10_000
        http.refused(
            redeem(http, ticket_body("r-zero", member, fare_fen=0)), 422, "validation_error"
        )

    def test_a_ticket_beyond_the_balance_is_refused_and_holds_nothing(self, http: Http, engine):
        member = rider(http, 512)
        error = http.refused(
            redeem(http, ticket_body("r-dear", member, fare_fen=UNLOCKED + 1)),
            409,
            "insufficient_points",
        )
        assert (error["details"]["needed"], error["details"]["available"]) == (
            UNLOCKED + 1,
            UNLOCKED,
        )
        assert held(http, "r-all", member, fare_fen=UNLOCKED)["points"] == UNLOCKED
        assert ride_balance(http, member) == 0
        http.refused(
            redeem(http, ticket_body("r-more", member, fare_fen=1)), 409, "insufficient_points"
        )
        assert http.get("/v1/redemptions/r-dear").status_code == 404
        assert account_total(engine, "program:held") == UNLOCKED

    def test_only_a_held_redemption_can_be_committed_or_released(self, http: Http):
        member = rider(http, 513)
        held(http, "r-2", member)
        assert step(http, "r-2", "commit").status_code == 200  # no body: keyed by the redemption
        assert step(http, "r-2", "commit").json()["status"] == "committed"  # the same again
        http.refused(
            step(http, "r-2", "commit", {"id": "another"}), 409, "invalid_redemption_state"
        )
        http.refused(step(http, "r-2", "release", {"id": "late"}), 409, "invalid_redemption_state")
        http.refused(step(http, "nope", "commit", {"id": "x"}), 404, "not_found")
        http.refused(step(http, "bad/id", "commit"), 404, "not_found")
        assert ride_balance(http, member) == UNLOCKED - 3000

    def test_integrators_and_operators_redeem_and_other_roles_may_not(self, http: Http):
        member = rider(http, 514)
        for role in ("analyst", "partner"):
            http.refused(
                redeem(http, ticket_body(f"r-{role}", member), role=role), 403, "forbidden"
            )
            http.refused(http.get("/v1/redemptions/x", role=role), 403, "forbidden")
        for role in ("integrator", "operator", "admin"):
            assert redeem(http, ticket_body(f"r-{role}", member), role=role).status_code == 201


class TestRelease:
    def test_release_puts_the_points_back_into_the_same_lots(self, http: Http, engine: Engine):
        member = rider(http, 520)
        before = lots_of(engine, member)
        assert [lot[2] for lot in before] == [TRIP_POINTS] * 4
        held(http, "r-rel", member)  # 2,768 from the first lot, 232 from the second
        taken = lots_of(engine, member)
        assert [lot[2] for lot in taken] == [0, TRIP_POINTS - 232, TRIP_POINTS, TRIP_POINTS]

        released = step(http, "r-rel", "release", {"id": "rel-1"})
        assert released.status_code == 200, released.text
        assert released.json() == {
            "redemption_id": "r-rel",
            "points_returned": 3000,
            "status": "released",
        }
        assert lots_of(engine, member) == before
        assert ride_balance(http, member) == UNLOCKED
        assert account_total(engine, "program:held") == 0
        assert account_total(engine, "program:redeemed") == 0

        assert step(http, "r-rel", "release", {"id": "rel-1"}).json() == released.json()
        assert lots_of(engine, member) == before
        http.refused(step(http, "r-rel", "commit", {"id": "c"}), 409, "invalid_redemption_state")
        http.refused(
            step(http, "r-rel", "cancel", {"id": "x", "reason": "railway_fault"}),
            409,
            "invalid_redemption_state",
        )

    def test_a_member_holding_points_is_closed_only_after_release(self, http: Http, engine):
        member = rider(http, 521)
        held(http, "r-close", member)
        close = {"reason": "member asked"}
        refused = http.post(f"/v1/members/{member}/close", close, role="operator")
        http.refused(refused, 409, "open_redemptions")
        assert step(http, "r-close", "release", {"id": "rel"}).status_code == 200
        closed = http.post(f"/v1/members/{member}/close", close, role="operator")
        assert closed.status_code == 200, closed.text
        assert account_total(engine, "program:forfeited") == UNLOCKED
        assert account_total(engine, "program:held") == 0


class TestChange:
    def test_a_dearer_change_costs_the_difference_plus_the_fee_and_only_once(self, http: Http):
        member = rider(http, 530)
        held(http, "r-chg", member)
        new = {"id": "chg-1", "fare_fen": 4500, "departure_at": local(2025, 6, 21, 8)}
        http.refused(step(http, "r-chg", "change", new), 409, "change_not_allowed")  # held
        step(http, "r-chg", "commit")

        changed = step(http, "r-chg", "change", new)
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["points_charged"], body["points"], body["changes"]) == (1500 + 1000, 5500, 1)
        assert body["departure_at"] == local(2025, 6, 21, 8)
        assert ride_balance(http, member) == UNLOCKED - 5500

        assert step(http, "r-chg", "change", new).json() == body  # the same request again
        http.refused(
            step(http, "r-chg", "change", {**new, "fare_fen": 4000}), 409, "idempotency_conflict"
        )
        again = {"id": "chg-2", "fare_fen": 2000, "departure_at": local(2025, 6, 22, 8)}
        error = http.refused(step(http, "r-chg", "change", again), 409, "change_not_allowed")
        assert "once" in error["message"]
        assert ride_balance(http, member) == UNLOCKED - 5500
        seen = http.get("/v1/redemptions/r-chg").json()
        assert (seen["fare_fen"], seen["points"], seen["changes"]) == (4500, 5500, 1)

    def test_a_cheaper_change_gives_nothing_back_and_charges_no_fee(self, http: Http):
        member = rider(http, 531)
        held(http, "r-cheap", member)
        step(http, "r-cheap", "commit")
        change = {"id": "chg", "fare_fen": 1000, "departure_at": local(2025, 6, 25, 8)}
        body = step(http, "r-cheap", "change", change).json()
        assert (body["points_charged"], body["points"], body["paid"]) == (0, 3000, {})
        assert ride_balance(http, member) == UNLOCKED - 3000

    def test_a_change_the_member_cannot_pay_for_changes_nothing(self, http: Http):
        member = rider(http, 532)
        held(http, "r-poor", member, fare_fen=10_000)
        step(http, "r-poor", "commit")
        change = {"id": "chg", "fare_fen": 11_000, "departure_at": local(2025, 6, 25, 8)}
        http.refused(step(http, "r-poor", "change", change), 409, "insufficient_points")
        assert http.get("/v1/redemptions/r-poor").json()["changes"] == 0
        http.refused(
            step(http, "r-poor", "change", {**change, "departure_at": local(2025, 5, 31)}),
            409,
            "departure_passed",
        )


class TestCancel:
    def test_cancel_returns_every_point_as_a_new_lot_for_twelve_months(self, http, engine):
        member = rider(http, 540)
        held(http, "r-can", member)
        step(http, "r-can", "commit")
        change = {"id": "chg", "fare_fen": 4000, "departure_at": local(2025, 6, 21, 8)}
        assert step(http, "r-can", "change", change).json()["points_charged"] == 2000
        assert ride_balance(http, member) == UNLOCKED - 5000
        before = lots_of(engine, member)

        http.set_clock(local(2025, 6, 15, 10))
        cancelled = step(http, "r-can", "cancel", {"id": "can-1", "reason": "force_majeure"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {
            "redemption_id": "r-can",
            "status": "cancelled",
            "reason": "force_majeure",
            "points_returned": 5000,
            "expires_on": "2026-06-15",
        }
        after = lots_of(engine, member)
        assert after[: len(before)] == before  # the lots spent from stay spent
        assert after[len(before) :] == [
            (after[-1][0], 5000, 5000, date(2025, 6, 15), date(2026, 6, 15))
        ]
        assert ride_balance(http, member) == UNLOCKED
        assert account_total(engine, "program:redeemed") == 0

        again = step(http, "r-can", "cancel", {"id": "can-1", "reason": "force_majeure"})
        assert again.json() == cancelled.json()
        http.refused(
            step(http, "r-can", "cancel", {"id": "can-1", "reason": "railway_fault"}),
            409,
            "idempotency_conflict",
        )
        http.refused(
            step(http, "r-can", "cancel", {"id": "can-2", "reason": "railway_fault"}),
            409,
            "invalid_redemption_state",
        )
        assert len(lots_of(engine, member)) == len(after)

    def test_only_the_railway_cancels_and_nothing_is_refunded(self, http: Http):
        member = rider(http, 541)
        held(http, "r-ref", member)
        http.refused(
            step(http, "r-ref", "cancel", {"id": "c", "reason": "changed_my_mind"}),
            422,
            "validation_error",
        )
        http.refused(
            step(http, "r-ref", "cancel", {"id": "c", "reason": "railway_fault"}),
            409,
            "invalid_redemption_state",
        )
        http.refused(http.post("/v1/redemptions/r-ref/refund", {"id": "x"}), 404, "not_found")


class TestTrainsAndPassengers:
    def test_only_redeemable_participating_domestic_trains_take_points(self, http: Http):
        member = rider(http, 550)
        refused = {
            "not redeemable": {"number": "G2", "redeemable": False},
            "not participating": {"number": "G3", "participating": False},
            "international": {"number": "K19", "international": True},
        }
        for n, train in enumerate(refused.values()):
            response = redeem(http, ticket_body(f"r-train-{n}", member, train=train))
            error = http.refused(response, 422, "train_not_redeemable")
            assert error["details"]["train"] == train["number"]
        assert ride_balance(http, member) == UNLOCKED
        # `redeemable` defaults to true; a tourist train takes points too.
        assert held(http, "r-train-ok", member, train={"number": "Y1", "tourist": True})
        http.refused(
            redeem(http, ticket_body("r-no-train", member, train={})), 422, "validation_error"
        )

    def test_a_train_that_has_left_cannot_be_redeemed(self, http: Http):
        member = rider(http, 551)
        body = ticket_body("r-past", member, departure_at=local(2025, 5, 31, 8))
        http.refused(redeem(http, body), 409, "departure_passed")

    def test_the_passenger_is_the_member_or_one_of_their_beneficiaries(self, http: Http):
        member = rider(http, 552)
        other = http.enrol(serial=553)
        body = ticket_body("r-other", member, passenger={"member_id": other})
        http.refused(redeem(http, body), 422, "passenger_not_allowed")
        both = {"member_id": member, "beneficiary_id": 1}
        body = ticket_body("r-both", member, passenger=both)
        http.refused(redeem(http, body), 422, "validation_error")
        body = ticket_body("r-ghost", member, passenger={"beneficiary_id": 999})
        http.refused(redeem(http, body), 404, "not_found")
        assert ride_balance(http, member) == UNLOCKED


class TestIdempotency:
    def test_the_same_redemption_again_answers_the_first_result_and_holds_once(self, http, engine):
        member = rider(http, 560)
        body = ticket_body("r-idem", member)
        first = redeem(http, body)
        again = redeem(http, body)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert ride_balance(http, member) == UNLOCKED - 3000
        assert account_total(engine, "program:held") == 3000

        step(http, "r-idem", "commit", {"id": "cm"})
        assert redeem(http, body).json() == first.json()  # the first result, as it was
        other = http.enrol(serial=569)
        for changed in ({"fare_fen": 3001}, {"member_id": other}, {"train": {"number": "G9"}}):
            http.refused(redeem(http, {**body, **changed}), 409, "idempotency_conflict")
        assert ride_balance(http, member) == UNLOCKED - 3000

    def test_every_step_answers_its_first_result_again(self, http: Http):
        member = rider(http, 561)
        held(http, "r-steps", member)
        first = step(http, "r-steps", "commit", {"id": "s-1"}).json()
        assert step(http, "r-steps", "commit", {"id": "s-1"}).json() == first
        # A step id is the caller's key on this redemption: the same id for another step conflicts.
        http.refused(step(http, "r-steps", "release", {"id": "s-1"}), 409, "idempotency_conflict")
        change = {"id": "s-2", "fare_fen": 3500, "departure_at": local(2025, 6, 21, 8)}
        changed = step(http, "r-steps", "change", change).json()
        assert step(http, "r-steps", "change", change).json() == changed
        cancel = {"id": "s-3", "reason": "railway_fault"}
        cancelled = step(http, "r-steps", "cancel", cancel).json()
        assert step(http, "r-steps", "cancel", cancel).json() == cancelled
        assert cancelled["points_returned"] == 3000 + 500 + 1000
        assert ride_balance(http, member) == UNLOCKED

    def test_ids_must_be_usable_in_a_path(self, http: Http):
        member = rider(http, 562)
        for bad in ("", "a/b", "x" * 101, " lead"):
            http.refused(redeem(http, ticket_body(bad, member)), 422, "validation_error")


class TestVelocity:
    def test_five_redemptions_a_day_then_none_until_tomorrow(self, http: Http):
        member = rider(http, 570)
        for n in range(5):
            held(http, f"r-v{n}", member, fare_fen=100)
        step(http, "r-v0", "release")  # a released redemption still counts: it was started
        error = http.refused(
            redeem(http, ticket_body("r-v5", member, fare_fen=100)), 429, "velocity_limit"
        )
        assert error["details"]["limit"] == 5
        assert redeem(http, ticket_body("r-v0", member, fare_fen=100)).status_code == 201  # resend

        http.set_clock(local(2025, 6, 1, 23, 59))
        http.refused(redeem(http, ticket_body("r-v5", member, fare_fen=100)), 429, "velocity_limit")
        http.set_clock(local(2025, 6, 2, 0, 0))  # a new day in Shanghai
        assert held(http, "r-v5", member, fare_fen=100)["status"] == "held"
        assert ride_balance(http, member) == UNLOCKED - 500


def upgrade_body(rid: str, member: int, ticket_id: str, **fields: Any) -> dict[str, Any]:
    """A seat upgrade from 10:00 on 20 June 2025 (the ticket runs 09:00-14:00), for ¥20."""
    return {
        "id": rid,
        "member_id": member,
        "type": "seat_upgrade",
        "ticket_id": ticket_id,
        "fare_fen": 2000,
        "train": {"number": "G1"},
        "departure_at": local(2025, 6, 20, 10),
        **fields,
    }


def bought(http: Http, member: int, ticket_id: str) -> None:
    """A ticket for 20 June 2025 at 09:00, bought and not yet travelled."""
    data = ticket(ticket_id, departure=at(date(2025, 6, 20)), passenger={"member_id": member})
    event = {
        "id": f"{ticket_id}-buy",
        "type": "ticket.purchased",
        "occurred_at": at(date(2025, 5, 30)).isoformat(),
        "data": data,
    }
    assert http.events([event])[0]["status"] == "applied"


class TestSeatUpgrade:
    def test_the_member_upgrades_their_own_untravelled_ticket_once(self, http: Http):
        member = rider(http, 580)
        bought(http, member, "U-580")
        created = redeem(http, upgrade_body("up-1", member, "U-580"))
        assert created.status_code == 201, created.text
        assert created.json() == {
            "redemption_id": "up-1",
            "points": 2000,
            "status": "held",
            "paid": {"ride": 2000},
        }
        assert redeem(http, upgrade_body("up-1", member, "U-580")).json() == created.json()
        assert ride_balance(http, member) == UNLOCKED - 2000
        seen = http.get("/v1/redemptions/up-1").json()
        assert (seen["type"], seen["ticket_id"], seen["passenger"]["member_id"]) == (
            "seat_upgrade",
            "U-580",
            member,
        )
        error = http.refused(
            redeem(http, upgrade_body("up-2", member, "U-580")), 409, "seat_upgrade_not_allowed"
        )
        assert "already" in error["message"]

        step(http, "up-1", "commit")
        change = {"id": "c", "fare_fen": 3000, "departure_at": local(2025, 6, 20, 11)}
        http.refused(step(http, "up-1", "change", change), 409, "change_not_allowed")
        cancelled = step(http, "up-1", "cancel", {"id": "x", "reason": "railway_fault"}).json()
        assert cancelled["points_returned"] == 2000
        assert ride_balance(http, member) == UNLOCKED

    def test_a_released_upgrade_can_be_asked_for_again(self, http: Http):
        member = rider(http, 581)
        bought(http, member, "U-581")
        redeem(http, upgrade_body("up-a", member, "U-581"))
        step(http, "up-a", "release")
        assert redeem(http, upgrade_body("up-b", member, "U-581")).status_code == 201

    def test_no_upgrade_of_someone_elses_travelled_or_unknown_ticket(self, http: Http):
        member = rider(http, 582)
        other = http.enrol(serial=583)
        bought(http, other, "U-583")
        travelled = trip(member, RIDE_DAYS[0])[0]["data"]["ticket_id"]
        for rid, ticket_id in (("up-x", "U-583"), ("up-y", travelled)):
            http.refused(
                redeem(http, upgrade_body(rid, member, ticket_id)), 409, "seat_upgrade_not_allowed"
            )
        http.refused(redeem(http, upgrade_body("up-z", member, "NOPE")), 404, "not_found")
        bought(http, member, "U-582")
        for when in (local(2025, 6, 20, 8), local(2025, 6, 20, 15)):  # before / after the ticket
            body = upgrade_body("up-w", member, "U-582", departure_at=when)
            http.refused(redeem(http, body), 409, "seat_upgrade_not_allowed")
        assert ride_balance(http, member) == UNLOCKED

    def test_seat_upgrades_need_the_unlock_like_tickets(self, http: Http):
        member = rider(http, 584, trips=1)
        bought(http, member, "U-584")
        http.refused(redeem(http, upgrade_body("up-l", member, "U-584")), 403, "redemption_locked")
