"""Railway data from the demo generator: members, and a year of their ticket purchases, travels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from jifen.demo import people, trips
from jifen.programs.schema import Program
from jifen.services.members import enrol
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork

SEED = 2025
START = date(2025, 1, 1)
DAYS = 365
TICKET_TYPES = ("ticket.purchased", "ticket.travelled")


@dataclass(frozen=True, slots=True)
class Dataset:
    """Members who joined before `start`, and their ticket events from `start` to `end`."""

    members: list[people.DemoMember]
    events: list[dict[str, Any]]
    start: date
    end: date

    def mix(self) -> dict[str, int]:
        """Events by type."""
        return dict(Counter(e["type"] for e in self.events))


def railway_tickets(
    *, members: int, seed: int = SEED, start: date = START, days: int = DAYS
) -> Dataset:
    """`members` demo members and the purchase and travel events of `days` days of their trips."""
    cast = list(
        people.members(
            count=members,
            seed=seed,
            joined_from=start - timedelta(days=400),
            joined_to=start - timedelta(days=1),
        )
    )
    end = start + timedelta(days=days - 1)
    stream = trips.events(cast, seed=seed, start=start, end=end)
    return Dataset(cast, ticket_events(stream), start, end)


def ticket_events(stream: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only purchases and the travels of tickets purchased in the stream.

    Refunds, changes (and the travels of the tickets they issue) and activities are left out,
    so every event is a ticket purchase or its travel, as the issue's ingest workload says.
    """
    kept, bought = [], set()
    for event in stream:
        if event["type"] == "ticket.purchased":
            bought.add(event["data"]["ticket_id"])
            kept.append(event)
        elif event["type"] == "ticket.travelled" and event["data"]["ticket_id"] in bought:
            kept.append(event)
    return kept


def enrol_all(
    engine: Engine,
    *,
    program: Program,
    vault: IdentityVault,
    cast: Sequence[people.DemoMember],
) -> list[int]:
    """Enrol every demo member through the enrolment use case, in one transaction; their ids.

    Set-up, not measured: the use cases join the outer unit of work, so a thousand members cost
    one commit instead of a thousand.
    """
    uow = SqlUnitOfWork(engine)
    with uow:
        ids = [
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
            ).member_id
            for person in cast
        ]
        uow.commit()
    return ids
