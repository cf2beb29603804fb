"""The daily job's housekeeping: no-shows voided as not travelled, stale holds released."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select

from jifen.services import housekeeping, ledger
from jifen.services.daily import run_daily
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.services.redemption import TicketRequest, Train, get_redemption, redeem_ticket
from jifen.storage.tables import ledger_transactions, tickets
from tests.conftest import SHANGHAI
from tests.integration.services.test_events import Railway, at, ticket

DEPARTURE = at(date(2025, 6, 20), 8)
LAST_CLAIM_DAY = date(2025, 9, 18)  # 90 days after the departure date: a claim is still taken
NO_SHOW_DAY = LAST_CLAIM_DAY + timedelta(days=1)  # from here nothing can confirm the ticket
TRIP = 2768  # ride points of a ¥553.50 ticket at 5×


@pytest.fixture
def rail(uow, railway, vault) -> Railway:
    return Railway(uow, railway, vault)


def buy(rail: Railway, member: int, ticket_id: str, departure: datetime = DEPARTURE) -> None:
    data = ticket(ticket_id, departure=departure, passenger={"member_id": member})
    result = rail.send("ticket.purchased", departure - timedelta(days=3), data, f"{ticket_id}-buy")
    assert result.status == "applied", result


def status_of(engine: Engine, ticket_id: str) -> str:
    with engine.connect() as connection:
        query = select(tickets.c.status).where(tickets.c.id == ticket_id)
        return connection.execute(query).scalar_one()


def voids_of(engine: Engine, member: int) -> list[tuple[str, dict]]:
    t = ledger_transactions.c
    query = (
        select(t.idempotency_key, t.memo)
        .where(t.member_id == member, t.type == "void")
        .order_by(t.id)
    )
    with engine.connect() as connection:
        return [(row.idempotency_key, row.memo) for row in connection.execute(query)]


class TestNoShows:
    def test_a_ticket_never_travelled_is_voided_as_not_travelled_once_no_claim_can_confirm_it(
        self, engine, uow, railway, rail, enrol_member
    ):
        member = enrol_member()
        buy(rail, member, "NS1")
        rail.trip(member, "RODE", at(date(2025, 6, 21)))  # travelled: nothing to void
        buy(rail, member, "LATER", at(date(2025, 6, 21), 8))  # its window runs a day longer
        assert rail.balances(member)["ride"] == (TRIP, 2 * TRIP)

        run_daily(uow, program=railway, as_of=LAST_CLAIM_DAY)
        assert rail.balances(member)["ride"] == (TRIP, 2 * TRIP)  # a claim could still come
        assert status_of(engine, "NS1") == "purchased"

        report = run_daily(uow, program=railway, as_of=NO_SHOW_DAY)
        assert rail.balances(member)["ride"] == (TRIP, TRIP)
        assert [status_of(engine, t) for t in ("NS1", "RODE", "LATER")] == [
            "not_travelled",
            "travelled",
            "purchased",
        ]
        assert report.steps["no_shows"] == {"tickets_not_travelled": 1, "points_voided": TRIP}
        [(_key, memo)] = voids_of(engine, member)
        assert (memo["reason"], memo["ticket_id"]) == ("not_travelled", "NS1")
        with uow:
            newest = uow.statements.statement(member, before=None, limit=1)[0]
        assert (newest.type, newest.account, newest.points) == ("void", "member:pending", -TRIP)
        assert newest.memo["reason"] == "not_travelled"

        again = run_daily(uow, program=railway, as_of=NO_SHOW_DAY)
        assert "no_shows" in again.skipped
        assert rail.balances(member)["ride"] == (TRIP, TRIP)
        following = run_daily(uow, program=railway, as_of=NO_SHOW_DAY + timedelta(days=1))
        assert following.steps["no_shows"] == {"tickets_not_travelled": 1, "points_voided": TRIP}
        assert rail.balances(member)["ride"] == (TRIP, 0)
        assert len(voids_of(engine, member)) == 2
        assert check_ledger(uow).ok

    def test_a_travel_or_claim_after_the_void_is_a_ticket_conflict_and_credits_nothing(
        self, engine, uow, railway, rail, enrol_member
    ):
        member = enrol_member()
        buy(rail, member, "NS2")
        run_daily(uow, program=railway, as_of=NO_SHOW_DAY)
        assert rail.balances(member)["ride"] == (0, 0)

        late = at(NO_SHOW_DAY, 10)
        travel = rail.send("ticket.travelled", late, {"ticket_id": "NS2"})
        whole = ticket("NS2", departure=DEPARTURE, passenger={"member_id": member})
        claim = rail.send("ticket.travelled", late, whole)
        for result in (travel, claim):
            assert result.status == "rejected"
            assert result.error["code"] == "ticket_conflict"
            assert "not travelled" in result.error["message"]
        assert rail.balances(member) == {"ride": (0, 0)}
        assert status_of(engine, "NS2") == "not_travelled"
        assert check_ledger(uow).ok

    def test_the_jobs_void_is_the_posting_a_one_by_one_void_makes(
        self, engine, uow, railway, rail, enrol_member
    ):
        member = enrol_member()
        buy(rail, member, "NS3")
        with engine.connect() as connection:
            query = select(tickets.c.pending_id).where(tickets.c.id == "NS3")
            pending_id = connection.execute(query).scalar_one()
        run_daily(uow, program=railway, as_of=NO_SHOW_DAY)
        [(key, memo)] = voids_of(engine, member)

        # The same void through the ledger's one-at-a-time door, at the job's moment (the start of
        # its day), is recognised as the same request: nothing is written twice.
        moment = datetime.combine(NO_SHOW_DAY, time(0), tzinfo=SHANGHAI)
        with uow:
            stored = uow.ledger.find_by_key(key)
        again = ledger.void_pending(
            uow, key=key, pending_id=pending_id, occurred_at=moment, memo=memo
        )
        assert again.replayed
        assert again.entries == stored.entries
        assert rail.balances(member)["ride"] == (0, 0)
        assert check_ledger(uow).ok

    def test_a_job_stopped_between_chunks_resumes_without_voiding_twice(
        self, engine, rail, enrol_member, monkeypatch
    ):
        uow, railway = rail.uow, rail.program
        monkeypatch.setattr(housekeeping, "CHUNK", 2)
        members = [enrol_member(), enrol_member()]
        for n in range(5):
            buy(rail, members[n % 2], f"NS-{n}")

        class Stop(Exception):
            pass

        def stop_after_a_chunk(step: str, _done: int) -> None:
            if step == "no_shows":
                raise Stop

        with pytest.raises(Stop):
            run_daily(uow, program=railway, as_of=NO_SHOW_DAY, progress=stop_after_a_chunk)
        voided = [status_of(engine, f"NS-{n}") for n in range(5)].count("not_travelled")
        assert voided == 2  # the first chunk was kept

        report = run_daily(uow, program=railway, as_of=NO_SHOW_DAY)
        assert report.steps["no_shows"] == {"tickets_not_travelled": 3, "points_voided": 3 * TRIP}
        assert {status_of(engine, f"NS-{n}") for n in range(5)} == {"not_travelled"}
        assert [rail.balances(m)["ride"] for m in members] == [(0, 0), (0, 0)]
        keys = [key for m in members for key, _memo in voids_of(engine, m)]
        assert len(keys) == len(set(keys)) == 5
        assert check_ledger(uow).ok


class TestStaleHolds:
    def test_the_job_releases_a_hold_whose_train_has_left_into_the_lots_it_came_from(
        self, engine, uow, railway, rail, enrol_member
    ):
        install_program(uow, program=railway, source="preset:railway")  # its unlock threshold
        member = enrol_member()
        for n in range(4):  # 11,072 ride points: redemption unlocked
            rail.trip(member, f"R{n}", at(date(2025, 5, 10 + n)))
        with uow:
            before = [(x.id, x.remaining) for x in uow.ledger.lots_of(member) if x.kind == "ride"]

        def hold(rid: str, departure: datetime) -> None:
            request = TicketRequest(
                id=rid,
                member_id=member,
                fare_fen=3000,
                train=Train("G1"),
                departure_at=departure,
                passenger_member_id=member,
            )
            redeem_ticket(uow, program=railway, request=request, now=at(date(2025, 6, 1)))

        hold("r-stale", DEPARTURE)
        hold("r-later", at(date(2025, 6, 25), 8))
        assert rail.balances(member)["ride"] == (4 * TRIP - 6000, 0)

        run_daily(uow, program=railway, as_of=DEPARTURE.date())  # it leaves at 08:00 that day
        assert get_redemption(uow, "r-stale").status == "held"

        report = run_daily(uow, program=railway, as_of=date(2025, 6, 21))
        assert get_redemption(uow, "r-stale").status == "released"
        assert get_redemption(uow, "r-later").status == "held"
        assert report.steps["stale_holds"] == {"holds_released": 1, "points_released": 3000}
        assert rail.balances(member)["ride"] == (4 * TRIP - 3000, 0)
        with uow:
            after = [(x.id, x.remaining) for x in uow.ledger.lots_of(member) if x.kind == "ride"]
            lines = uow.statements.statement(member, before=None, limit=2)
        # Oldest first, r-stale took 2,768 + 232 from the first two lots and r-later the other
        # 2,536 + 464: the release gave r-stale's back to the first two.
        assert [remaining for _id, remaining in before] == [TRIP] * 4
        assert after == [
            (lot, n) for (lot, _n), n in zip(before, [TRIP, 232, 2304, TRIP], strict=True)
        ]
        # On the statement: one line per lot given back, with the release's reason.
        assert [(x.type, x.points) for x in lines] == [("reversal", 232), ("reversal", TRIP)]
        assert {(x.memo["redemption_id"], x.memo["reason"]) for x in lines} == {
            ("r-stale", "departure_passed")
        }

        again = run_daily(uow, program=railway, as_of=date(2025, 6, 21))
        assert "stale_holds" in again.skipped
        nothing = run_daily(uow, program=railway, as_of=date(2025, 6, 22))
        assert nothing.steps["stale_holds"] == {"holds_released": 0, "points_released": 0}
        assert rail.balances(member)["ride"] == (4 * TRIP - 3000, 0)
        assert check_ledger(uow).ok
