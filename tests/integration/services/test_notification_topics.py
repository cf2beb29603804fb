"""`points.credited` and `tier.expiring` in the outbox, on SQLite and PostgreSQL (SPEC §8).

Points credited reach the outbox through the ledger's door, in the transaction that credits them:
one row per posting that puts points in a spendable balance, the same whether events are applied
one at a time or as a batch on the bulk path. The daily job tells members 30 days ahead that
their tier lapses, with the upgrade points that would keep it.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jifen.services import adjustments, ledger
from jifen.services.daily import run_daily
from jifen.services.events import apply_events
from jifen.services.events.batch import apply_batch
from jifen.services.programs import install_program
from jifen.storage.tables import notifications
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_events import at, ticket

DAY = date(2025, 5, 10)


@pytest.fixture
def installed(uow: SqlUnitOfWork, railway: Any) -> SqlUnitOfWork:
    """The unit of work on a database where the railway program is the active program."""
    install_program(uow, program=railway, source="preset:railway")
    return uow


def rows(uow: SqlUnitOfWork, topic: str) -> list[dict[str, Any]]:
    """The outbox's payloads of `topic`, oldest first."""
    n = notifications.c
    query = select(n.payload).where(n.topic == topic).order_by(n.id)
    with uow:
        return [dict(p) for p in uow.connection.execute(query).scalars()]


def events(members: list[int]) -> list[dict[str, Any]]:
    """Per member: a ticket bought and travelled (¥553.50), and 300 activity points."""
    sent = []
    for m in members:
        data = ticket(f"T{m}", departure=at(DAY), passenger={"member_id": m})
        sent += [
            _event(f"buy-{m}", "ticket.purchased", at(DAY - timedelta(days=2)), data),
            _event(f"ride-{m}", "ticket.travelled", at(DAY, 15), {"ticket_id": f"T{m}"}),
            _event(
                f"act-{m}",
                "activity.completed",
                at(DAY, 16),
                {"member_id": m, "activity": "survey", "points": 300},
            ),
        ]
    return sent


def _event(event_id: str, type_: str, when: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": when.isoformat(), "data": data}


def without_ids(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in p.items() if k != "transaction_id"} for p in payloads),
        key=lambda p: (p["member_id"], p["kind"]),
    )


class TestPointsCredited:
    def test_travel_and_activities_are_told_and_promises_and_tier_points_are_not(
        self, installed, railway, vault, enrol_member
    ):
        member = enrol_member()

        results = apply_events(
            installed,
            program=railway,
            vault=vault,
            raw_events=events([member]),
            received_at=at(DAY, 17),
        )

        assert [r.status for r in results] == ["applied"] * 3
        credited = rows(installed, "points.credited")
        assert without_ids(credited) == [
            {
                "member_id": member,
                "kind": "activity",
                "points": 300,
                "type": "credit",
                "source": "program:issued",
                "credited_at": "2025-05-10T16:00:00+08:00",
                "expires_on": credited[1]["expires_on"],
                "event_id": f"act-{member}",
            },
            {
                "member_id": member,
                "kind": "ride",
                "points": 2768,
                "type": "confirm",
                "source": "member:pending",
                "credited_at": "2025-05-10T15:00:00+08:00",
                "expires_on": "2026-05-10",
                "event_id": f"ride-{member}",
            },
        ]
        with installed:
            statement = installed.statements.statement(member, before=None, limit=50)
        movements = {line.transaction_id for line in statement if line.kind in ("ride", "activity")}
        assert {p["transaction_id"] for p in credited} <= movements

    def test_events_sent_again_add_nothing(self, installed, railway, vault, enrol_member):
        member = enrol_member()
        sent = events([member])
        apply_events(
            installed, program=railway, vault=vault, raw_events=sent, received_at=at(DAY, 17)
        )
        before = rows(installed, "points.credited")

        again = apply_events(
            installed, program=railway, vault=vault, raw_events=sent, received_at=at(DAY, 18)
        )

        assert {r.status for r in again} == {"duplicate"}
        assert rows(installed, "points.credited") == before

    def test_the_bulk_path_writes_what_one_at_a_time_writes(
        self, installed, railway, vault, enrol_member, caplog
    ):
        one_by_one = [enrol_member(), enrol_member()]
        batched = [enrol_member(), enrol_member()]
        apply_events(
            installed,
            program=railway,
            vault=vault,
            raw_events=events(one_by_one),
            received_at=at(DAY, 17),
        )
        expected = without_ids(rows(installed, "points.credited"))

        with caplog.at_level(logging.WARNING, logger="jifen.services.events.batch"):
            results = apply_batch(
                installed,
                program=railway,
                vault=vault,
                raw_events=events(batched),
                received_at=at(DAY, 17),
            )

        assert not caplog.records, "the batch fell back to one event at a time"
        assert {r.status for r in results} == {"applied"}
        renamed = {b: a for a, b in zip(one_by_one, batched, strict=True)}
        batch_rows = [p for p in rows(installed, "points.credited") if p["member_id"] in renamed]
        assert len(batch_rows) == 4
        assert (
            without_ids(
                [
                    {**p, "member_id": renamed[p["member_id"]], "event_id": _renamed(p, renamed)}
                    for p in batch_rows
                ]
            )
            == expected
        )

    def test_an_adjustment_credit_is_told_and_a_claw_back_is_not(
        self, installed, railway, enrol_member
    ):
        member = enrol_member()
        for adjustment_id, kind, points in (
            ("adj-1", "goodwill", 500),
            ("adj-2", "correction", -200),
        ):
            adjustments.request_adjustment(
                installed,
                program=railway,
                adjustment_id=adjustment_id,
                member_id=member,
                kind=kind,
                points=points,
                reason="delayed train",
                point_kind="ride",
                actor="ops",
                now=at(DAY),
            )

        [told] = rows(installed, "points.credited")

        assert (told["points"], told["source"], told["adjustment_id"]) == (
            500,
            "program:adjusted",
            "adj-1",
        )

    def test_points_given_back_are_not_credits(self, installed, enrol_member):
        member = enrol_member()
        ledger.credit(
            installed,
            key="back",
            member_id=member,
            kind="ride",
            points=100,
            occurred_at=at(DAY),
            expires_on=None,
            source="program:redeemed",
        )

        assert rows(installed, "points.credited") == []


def _renamed(payload: dict[str, Any], renamed: dict[int, int]) -> str:
    event_id: str = payload["event_id"]
    kind, member = event_id.rsplit("-", 1)
    return f"{kind}-{renamed[int(member)]}"


class TestTierExpiring:
    def test_told_thirty_days_ahead_with_the_points_still_needed(
        self, installed, railway, enrol_member
    ):
        member = enrol_member(joined_at=at(date(2025, 1, 2)))
        for key, day in (("old", date(2025, 2, 1)), ("new", date(2025, 3, 19))):
            ledger.credit(
                installed,
                key=key,
                member_id=member,
                kind="upgrade",
                points=30_000,
                occurred_at=at(day),
                expires_on=None,
            )
        run_daily(installed, program=railway, as_of=date(2025, 3, 20))  # 60,000: star3
        with installed:
            tier = installed.members.get(member).tier
        assert (tier.code, tier.valid_until) == ("star3", date(2026, 3, 19))

        run_daily(installed, program=railway, as_of=date(2026, 2, 17))  # 30 days ahead
        run_daily(installed, program=railway, as_of=date(2026, 2, 18))  # the next night

        assert rows(installed, "tier.expiring") == [
            {
                "member_id": member,
                "tier": "star3",
                "valid_until": "2026-03-19",
                "qualifying_points": 30_000,  # February 2025's points left the window
                "points_needed": 20_000,
            }
        ]

    def test_not_told_earlier_nor_for_the_join_tier(self, installed, railway, enrol_member):
        member = enrol_member(joined_at=at(date(2025, 1, 2)))
        ledger.credit(
            installed,
            key="up",
            member_id=member,
            kind="upgrade",
            points=60_000,
            occurred_at=at(date(2025, 3, 19)),
            expires_on=None,
        )
        enrol_member(joined_at=at(date(2025, 1, 2)))  # stays star2, which never lapses
        run_daily(installed, program=railway, as_of=date(2025, 3, 20))

        run_daily(installed, program=railway, as_of=date(2026, 2, 16))  # 31 days ahead

        assert rows(installed, "tier.expiring") == []
