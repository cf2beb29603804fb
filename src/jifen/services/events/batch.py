"""The bulk path: events applied a batch at a time, in one transaction and a few statements.

A batch reads every row its events can touch in a handful of set-based queries (locking its
members' balance rows, as each event would one by one), runs the very handlers `apply_event`
runs against a unit of work held in memory (`storage/staged.py`), and writes what they staged
with one multi-row statement per table. Results, rows and ledger are those of applying the
events one at a time in the same order; an event that fails is undone on its own.

The bulk path is only ever an optimisation: when a batch needs something it did not load (a
running campaign, a lot credited before the batch) or meets a concurrent writer (an event id or
ledger key taken meanwhile), it is rolled back and applied one event at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jifen.domain.calendar import local_datetime
from jifen.programs.schema import Program
from jifen.services.bulk import chunked, in_one_batch
from jifen.services.event_schema import Change, Data, Event, ForMember, Ticket
from jifen.services.events import (
    FUTURE_TOLERANCE,
    EventResult,
    apply_events,
    apply_parsed,
    parse_or_refuse,
)
from jifen.services.ports import EventUnitOfWork
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.batch_repository import Wants
from jifen.storage.crypto import IdentityVault

log = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class _Parsed:
    """An event as parsed, with its data."""

    event: Event
    data: Data


def apply_in_batches(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    raw_events: Iterable[Any],
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
    batch_size: int = BATCH_SIZE,
) -> Iterator[EventResult]:
    """Each event's result, in order; events are applied `batch_size` at a time."""
    for chunk in chunked(raw_events, batch_size):
        yield from apply_batch(
            uow,
            program=program,
            vault=vault,
            raw_events=chunk,
            received_at=received_at,
            future_tolerance=future_tolerance,
        )


def apply_batch(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    raw_events: Sequence[Any],
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> list[EventResult]:
    """Apply `raw_events` in order as one batch; each result is what `apply_event` would give.

    `received_at` and `future_tolerance` are as `apply_event` takes them.
    """
    parsed = [_parse(raw) for raw in raw_events]
    try:
        return _staged(
            uow,
            parsed,
            program=program,
            vault=vault,
            received_at=received_at,
            future_tolerance=future_tolerance,
        )
    except Exception as error:  # noqa: BLE001 - any surprise is left to the one-by-one path
        log.warning("a batch of %d events is applied one at a time: %r", len(parsed), error)
    return apply_events(
        uow,
        program=program,
        vault=vault,
        raw_events=raw_events,
        received_at=received_at,
        future_tolerance=future_tolerance,
    )


def _parse(raw: Any) -> _Parsed | EventResult:
    parsed = parse_or_refuse(raw)
    return parsed if isinstance(parsed, EventResult) else _Parsed(*parsed)


def _staged(
    uow: UnitOfWork,
    parsed: list[_Parsed | EventResult],
    *,
    program: Program,
    vault: IdentityVault,
    received_at: datetime,
    future_tolerance: timedelta,
) -> list[EventResult]:
    def work(memory: EventUnitOfWork) -> list[EventResult]:
        return [
            item
            if isinstance(item, EventResult)
            else apply_parsed(
                memory,
                program=program,
                vault=vault,
                event=item.event,
                data=item.data,
                received_at=received_at,
                future_tolerance=future_tolerance,
            )
            for item in parsed
        ]

    wants = _wants(program, vault, [p for p in parsed if isinstance(p, _Parsed)])
    return in_one_batch(uow, wants, work)


def _wants(program: Program, vault: IdentityVault, parsed: list[_Parsed]) -> Wants:
    """The rows the batch's events can read: their events, tickets, riders and earnings."""
    ticket_ids: set[str] = set()
    member_ids: set[int] = set()
    id_hashes: set[str] = set()
    days: list[date] = []

    def day(moment: Any) -> None:
        days.append(local_datetime(moment, program.timezone).date())

    for item in parsed:
        data = item.data
        day(item.event.occurred_at)
        if hasattr(data, "ticket_id"):
            ticket_ids.add(data.ticket_id)
        if isinstance(data, Change):
            ticket_ids.add(data.new_ticket_id)
            day(data.departure_at)
        rider = data.passenger if isinstance(data, Ticket) else None
        if isinstance(data, ForMember):
            rider = data.rider
        if isinstance(data, Ticket):
            day(data.departure_at)
        if rider is not None and rider.member_id is not None:
            member_ids.add(rider.member_id)
        elif rider is not None and rider.id_type is not None and rider.id_number is not None:
            id_hashes.add(vault.lookup_hash(rider.id_type, rider.id_number))
    count = len(parsed)
    return Wants(
        event_ids={p.event.id for p in parsed},
        ticket_ids=ticket_ids,
        member_ids=member_ids,
        id_hashes=id_hashes,
        earnings_since=min(days, default=date.max).replace(day=1),
        ids_needed={
            "ledger_transactions": 4 * count + 8,
            "lots": 3 * count + 8,
            "pending_points": 2 * count + 8,
        },
    )
