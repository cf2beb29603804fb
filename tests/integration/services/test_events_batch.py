"""The bulk path leaves exactly what applying the events one at a time leaves, on both databases."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from jifen.demo import people, trips
from jifen.programs.schema import Program
from jifen.services.campaigns import CampaignDraft, create_campaign
from jifen.services.events import EventResult, apply_event
from jifen.services.events.batch import apply_batch, apply_in_batches
from jifen.services.ledger_check import check_ledger
from jifen.services.member_status import freeze_member
from jifen.services.members import enrol
from jifen.storage.crypto import IdentityVault
from jifen.storage.tables import (
    balances,
    earnings,
    events,
    ledger_entries,
    ledger_transactions,
    lots,
    members,
    pending_points,
    tickets,
)
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, reset_database

START = date(2025, 3, 1)
RECEIVED = datetime(2025, 4, 16, 12, tzinfo=SHANGHAI)  # the streams reach Jifen after their days


def _cast(count: int) -> list[people.DemoMember]:
    return list(
        people.members(
            count=count, seed=11, joined_from=START - timedelta(days=300), joined_to=START
        )
    )


def _enrol(uow: SqlUnitOfWork, program: Program, vault: IdentityVault, cast: list[Any]) -> None:
    with uow:
        for person in cast:
            enrol(
                uow,
                program=program,
                vault=vault,
                name=person.name,
                id_type=person.id_type,
                id_number=person.id_number,
                birth_date=person.birth_date,
                phone=person.phone,
                joined_at=person.joined_at,
            )
        uow.commit()


def _awkward(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo stream with resends, a conflicting resend, bad events, and travels out of order."""
    purchase = next(e for e in stream if e["type"] == "ticket.purchased")
    when = datetime(2025, 3, 20, 8, tzinfo=SHANGHAI).isoformat()
    early = {**purchase["data"], "ticket_id": "EARLY-1"}
    extra = [
        purchase,  # a resend: duplicate
        {**purchase, "data": {**purchase["data"], "fare_fen": 1}},  # same id, other event
        {"id": "bad-1", "type": "ticket.purchased", "occurred_at": when, "data": {}},
        {
            "id": "nobody",
            "type": "ticket.purchased",
            "occurred_at": when,
            "data": {**purchase["data"], "ticket_id": "NOBODY", "passenger": {"member_id": 99999}},
        },
        {
            "id": "early-travel",
            "type": "ticket.travelled",
            "occurred_at": when,
            "data": {"ticket_id": "EARLY-1"},
        },
        {"id": "early-buy", "type": "ticket.purchased", "occurred_at": when, "data": early},
        {"id": "again-buy", "type": "ticket.purchased", "occurred_at": when, "data": early},
        *_out_of_time(purchase["data"], when),
    ]
    middle = len(stream) // 2
    return stream[:middle] + extra + stream[middle:]


def _out_of_time(bought: dict[str, Any], when: str) -> list[dict[str, Any]]:
    """Events dated before departure or in the future; a refund and a change before purchase."""
    departs = datetime.fromisoformat(bought["departure_at"])
    before, after = departs - timedelta(hours=1), departs + timedelta(hours=8)
    change = {
        "ticket_id": "CHANGED-1",
        "new_ticket_id": "CHANGED-2",
        "fare_fen": 10000,
        "departure_at": after.isoformat(),
        "arrival_at": (after + timedelta(hours=2)).isoformat(),
    }

    def event(event_id: str, type_: str, at: Any, data: dict[str, Any]) -> dict[str, Any]:
        at = at if isinstance(at, str) else at.isoformat()
        return {"id": event_id, "type": type_, "occurred_at": at, "data": data}

    def ticket(ticket_id: str) -> dict[str, Any]:
        return {**bought, "ticket_id": ticket_id}

    return [
        event("time-buy", "ticket.purchased", when, ticket("TIME-1")),
        event("time-ride", "ticket.travelled", before, {"ticket_id": "TIME-1"}),
        event("time-claim", "ticket.travelled", before, ticket("CLAIM-1")),
        event("time-future", "ticket.purchased", RECEIVED.replace(year=2199), ticket("FUTURE-1")),
        event("refund-first", "ticket.refunded", when, {"ticket_id": "REFUNDED-1"}),
        event("refund-buy", "ticket.purchased", when, ticket("REFUNDED-1")),
        event("change-first", "ticket.changed", when, change),
        event("change-buy", "ticket.purchased", when, ticket("CHANGED-1")),
        event(
            "change-ride",
            "ticket.travelled",
            after + timedelta(hours=3),
            {"ticket_id": "CHANGED-2"},
        ),
    ]


def _stream(cast: list[Any]) -> list[dict[str, Any]]:
    days = trips.events(cast, seed=11, start=START, end=START + timedelta(days=45))
    return _awkward(list(days))


def _canonical(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the events write, with generated ids replaced by the keys that name them.

    On SQLite the bulk path takes the very ids one at a time would; PostgreSQL's sequences give
    it others, so there the request hashes (which include ids) are left out.
    """
    with engine.connect() as c:
        key = dict(
            c.execute(select(ledger_transactions.c.id, ledger_transactions.c.idempotency_key)).all()
        )
        lot = {r.id: key[r.transaction_id] for r in c.execute(select(lots))}
        pend = {r.id: key[r.transaction_id] for r in c.execute(select(pending_points))}

        def rows(table: Any, **swap: dict[int, str]) -> list[tuple[Any, ...]]:
            out = []
            for r in c.execute(select(table)).mappings():
                row = {
                    k: (swap[k].get(v) if k in swap and v is not None else v) for k, v in r.items()
                }
                row.pop("fingerprint", None)  # keyed by the vault, different per run
                if engine.dialect.name == "postgresql":
                    row.pop("request_hash", None)  # hashes ids, which sequences hand out in blocks
                out.append(tuple(sorted((k, repr(v)) for k, v in row.items() if k != "id")))
            return sorted(out)

        t_data = [
            (
                r.id,
                r.status,
                r.member_id,
                pend.get(r.pending_id),
                repr(
                    {
                        **(r.data or {}),
                        "pending": {
                            k: pend[v] for k, v in (r.data or {}).get("pending", {}).items()
                        },
                    }
                ),
            )
            for r in c.execute(select(tickets))
        ]
        return {
            "transactions": rows(ledger_transactions, reverses_id=key),
            "entries": rows(ledger_entries, transaction_id=key, lot_id=lot, pending_id=pend),
            "lots": rows(lots, transaction_id=key),
            "pending": rows(pending_points, transaction_id=key),
            "balances": rows(balances),
            "earnings": rows(earnings),
            "events": rows(events),
            "tickets": sorted(t_data),
            "members": sorted(
                tuple(r)
                for r in c.execute(
                    select(members.c.id, members.c.status, members.c.redemption_unlocked_on)
                )
            ),
        }


def _apply_one_by_one(
    uow: SqlUnitOfWork, program: Program, vault: IdentityVault, stream: list[Any]
) -> list[EventResult]:
    return [
        apply_event(uow, program=program, vault=vault, raw=raw, received_at=RECEIVED)
        for raw in stream
    ]


def test_batches_leave_the_rows_and_results_of_one_at_a_time(
    engine: Engine, railway: Program, vault: IdentityVault, caplog: pytest.LogCaptureFixture
) -> None:
    cast = _cast(12)
    stream = _stream(cast)
    uow = SqlUnitOfWork(engine)
    _enrol(uow, railway, vault, cast)
    expected = _apply_one_by_one(uow, railway, vault, stream)
    expected_rows = _canonical(engine)
    reset_database(engine)
    _enrol(uow, railway, vault, cast)

    with caplog.at_level(logging.WARNING, logger="jifen.services.events.batch"):
        got = list(
            apply_in_batches(
                uow,
                program=railway,
                vault=vault,
                raw_events=stream,
                received_at=RECEIVED,
                batch_size=37,
            )
        )

    assert not caplog.records, "every batch took the bulk path"
    assert got == expected
    assert {r.status for r in got} == {"applied", "duplicate", "rejected"}
    seen = {r.id: r for r in got}
    assert [
        (seen[i].error or {}).get("code") for i in ("time-ride", "time-claim", "time-future")
    ] == [
        "invalid_event_time",
        "invalid_event_time",
        "event_in_future",
    ]
    assert seen["refund-buy"].outcome["refunded"] is True
    assert seen["change-buy"].outcome["changed_to"]["ticket_id"] == "CHANGED-2"
    assert seen["change-ride"].outcome["credited"] == {"ride": 500, "upgrade": 500}
    assert _canonical(engine) == expected_rows
    assert check_ledger(uow).ok


def test_a_resend_in_the_same_batch_is_a_duplicate(
    uow: SqlUnitOfWork, railway: Program, vault: IdentityVault
) -> None:
    cast = _cast(3)
    _enrol(uow, railway, vault, cast)
    purchase = next(e for e in _stream(cast) if e["type"] == "ticket.purchased")

    results = apply_batch(
        uow, program=railway, vault=vault, raw_events=[purchase, purchase], received_at=RECEIVED
    )

    assert [r.status for r in results] == ["applied", "duplicate"]
    with uow:
        assert uow.connection.execute(select(ledger_transactions)).all() != []


def test_a_running_campaign_sends_the_batch_one_at_a_time(
    uow: SqlUnitOfWork, railway: Program, vault: IdentityVault, caplog: pytest.LogCaptureFixture
) -> None:
    cast = _cast(6)
    _enrol(uow, railway, vault, cast)
    create_campaign(
        uow,
        program=railway,
        draft=CampaignDraft(
            id="spring",
            name="Spring",
            starts_at=datetime(2025, 1, 1, tzinfo=SHANGHAI),
            ends_at=datetime(2026, 1, 1, tzinfo=SHANGHAI),
            budget_points=1_000_000,
            effect={"kind": "ride", "percent": 50},
            target={},
            control_percent=0,
        ),
        actor="test",
        now=datetime(2025, 1, 1, tzinfo=SHANGHAI),
    )
    stream = [e for e in _stream(cast) if e["type"].startswith("ticket.")][:40]

    with caplog.at_level(logging.WARNING, logger="jifen.services.events.batch"):
        results = apply_batch(
            uow, program=railway, vault=vault, raw_events=stream, received_at=RECEIVED
        )

    assert "one at a time" in caplog.text
    bonuses = [r for r in results if r.outcome and r.outcome.get("campaigns")]
    assert bonuses, "travels earned the campaign's bonus through the one-by-one path"
    assert check_ledger(uow).ok


@pytest.mark.postgres_only
def test_a_batch_beside_single_events_on_the_same_members_loses_nothing(
    engine: Engine, railway: Program, vault: IdentityVault
) -> None:
    cast = _cast(8)
    days = trips.events(cast, seed=11, start=START, end=START + timedelta(days=45))
    stream = [e for e in days if e["type"] in ("ticket.purchased", "ticket.travelled")]
    bought = {e["data"]["ticket_id"] for e in stream if e["type"] == "ticket.purchased"}
    stream = [e for e in stream if e["data"]["ticket_id"] in bought]
    uow = SqlUnitOfWork(engine)
    _enrol(uow, railway, vault, cast)
    expected = _apply_one_by_one(uow, railway, vault, stream)
    expected_rows = _canonical(engine)
    reset_database(engine)
    _enrol(uow, railway, vault, cast)
    # Tickets split in two: one thread sends its tickets in batches, the other one by one.
    mine = {e["data"]["ticket_id"] for e in stream[::2] if e["type"] == "ticket.purchased"}
    batched = [e for e in stream if e["data"]["ticket_id"] in mine]
    single = [e for e in stream if e["data"]["ticket_id"] not in mine]
    errors: list[BaseException] = []

    def run(work: Any) -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [
        threading.Thread(
            target=run,
            args=(
                lambda: list(
                    apply_in_batches(
                        SqlUnitOfWork(engine),
                        program=railway,
                        vault=vault,
                        raw_events=batched,
                        received_at=RECEIVED,
                        batch_size=25,
                    )
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(lambda: _apply_one_by_one(SqlUnitOfWork(engine), railway, vault, single),),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert {r.status for r in expected} == {"applied"}
    assert check_ledger(uow).ok
    got = _canonical(engine)
    # Caps may fall differently when a member's trips interleave; what was applied may not.
    assert [row[:3] for row in got["tickets"]] == [row[:3] for row in expected_rows["tickets"]]
    assert len(got["events"]) == len(expected_rows["events"])
    assert len(got["transactions"]) == len(expected_rows["transactions"])


def test_a_frozen_members_events_are_refused_and_the_others_applied(
    uow: SqlUnitOfWork, railway: Program, vault: IdentityVault
) -> None:
    cast = _cast(3)
    _enrol(uow, railway, vault, cast)
    days = trips.events(cast, seed=11, start=START, end=START + timedelta(days=45))
    stream = [e for e in days if e["type"] == "ticket.purchased"]
    frozen = {"id_type": cast[0].id_type, "id_number": cast[0].id_number}
    with uow:
        member = uow.members.find_by_identity(vault.lookup_hash(**frozen))
    assert member is not None
    at = datetime(2025, 3, 1, tzinfo=SHANGHAI)
    freeze_member(uow, member_id=member.id, reason="test", actor="test", now=at)

    results = apply_batch(
        uow, program=railway, vault=vault, raw_events=stream, received_at=RECEIVED
    )

    for event, result in zip(stream, results, strict=True):
        mine = event["data"]["passenger"] == frozen
        assert (result.error or {}).get("code") == ("member_not_active" if mine else None)
    assert sum(1 for e in stream if e["data"]["passenger"] == frozen) > 0
