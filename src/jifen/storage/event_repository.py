"""SQL for the event store, tickets, and the earnings behind each credit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.tables import earnings, events, tickets


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An applied event (ID numbers masked), its fingerprint, and what applying it did."""

    id: str
    type: str
    occurred_at: datetime
    member_id: int | None
    payload: dict[str, Any]
    fingerprint: str
    outcome: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket as the program knows it: who rides, its status, fare and pending points."""

    id: str
    member_id: int | None
    status: str
    fare_fen: int | None
    departure_at: datetime | None
    data: dict[str, Any] | None
    pending_id: int | None
    travelled_at: datetime | None


def _ticket(row: Any) -> TicketRecord:
    return TicketRecord(
        row.id,
        row.member_id,
        row.status,
        row.fare_fen,
        row.departure_at,
        row.data,
        row.pending_id,
        row.travelled_at,
    )


class EventRepository:
    """Reads and writes events, tickets and earnings on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, event_id: str) -> StoredEvent | None:
        """An applied event by id."""
        row = self.connection.execute(select(events).where(events.c.id == event_id)).first()
        if row is None:
            return None
        return StoredEvent(
            row.id,
            row.type,
            row.occurred_at,
            row.member_id,
            row.payload,
            row.fingerprint,
            row.outcome,
        )

    def add(self, event: StoredEvent) -> None:
        """Keep an applied event and its outcome."""
        self.connection.execute(
            insert(events).values(
                id=event.id,
                type=event.type,
                occurred_at=event.occurred_at,
                member_id=event.member_id,
                payload=event.payload,
                fingerprint=event.fingerprint,
                outcome=event.outcome,
            )
        )

    def ticket(self, ticket_id: str) -> TicketRecord | None:
        """A ticket by id."""
        row = self.connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return None if row is None else _ticket(row)

    def travelled_between(self, since: datetime, until: datetime) -> Iterator[TicketRecord]:
        """Tickets travelled in `[since, until)` with the member's data, streamed."""
        t = tickets.c
        query = (
            select(tickets)
            .where(
                and_(
                    t.status == "travelled",
                    t.travelled_at >= since,
                    t.travelled_at < until,
                    t.member_id.is_not(None),
                )
            )
            .order_by(t.travelled_at)
            .execution_options(yield_per=2000)
        )
        return (_ticket(row) for row in self.connection.execute(query))

    def events_between(
        self, types: Iterable[str], since: datetime, until: datetime
    ) -> Iterator[StoredEvent]:
        """Applied events of these types that happened in `[since, until)`, streamed."""
        e = events.c
        query = (
            select(events)
            .where(and_(e.type.in_(list(types)), e.occurred_at >= since, e.occurred_at < until))
            .order_by(e.occurred_at)
            .execution_options(yield_per=2000)
        )
        return (
            StoredEvent(
                r.id, r.type, r.occurred_at, r.member_id, r.payload, r.fingerprint, r.outcome
            )
            for r in self.connection.execute(query)
        )

    def save_ticket(self, ticket: TicketRecord, *, was: str | None) -> None:
        """Insert a new ticket (`was` None), or update one whose status is still `was`.

        Raises `KeyTaken` when another event got there first (the row exists, or its status
        moved on): the caller's unit of work is spoilt and the event is applied again.
        """
        values = {
            "member_id": ticket.member_id,
            "status": ticket.status,
            "fare_fen": ticket.fare_fen,
            "departure_at": ticket.departure_at,
            "data": ticket.data,
            "pending_id": ticket.pending_id,
            "travelled_at": ticket.travelled_at,
        }
        if was is None:
            try:
                self.connection.execute(insert(tickets).values(id=ticket.id, **values))
            except IntegrityError as error:
                raise KeyTaken(ticket.id) from error
            return
        result = self.connection.execute(
            update(tickets)
            .where(and_(tickets.c.id == ticket.id, tickets.c.status == was))
            .values(**values)
        )
        if result.rowcount == 0:
            raise KeyTaken(ticket.id)

    def add_earnings(
        self, *, member_id: int, day: date, event_id: str, by_rule: Mapping[str, int]
    ) -> None:
        """Record the points each rule gave, for caps and budgets."""
        rows = [
            {
                "member_id": member_id,
                "rule_code": rule,
                "day": day,
                "points": points,
                "event_id": event_id,
            }
            for rule, points in by_rule.items()
            if points
        ]
        if rows:
            self.connection.execute(insert(earnings), rows)

    def earned(self, *, member_id: int, since: date, until: date) -> dict[str, int]:
        """Points per rule the member earned between two days, both included."""
        e = earnings.c
        query = (
            select(e.rule_code, func.sum(e.points))
            .where(and_(e.member_id == member_id, e.day >= since, e.day <= until))
            .group_by(e.rule_code)
        )
        return {rule: int(points) for rule, points in self.connection.execute(query)}

    def spent_budgets(self, rule_codes: Iterable[str]) -> dict[str, int]:
        """Points each of these rules has given so far, across all members."""
        e = earnings.c
        query = (
            select(e.rule_code, func.sum(e.points))
            .where(e.rule_code.in_(list(rule_codes)))
            .group_by(e.rule_code)
        )
        return {rule: int(points) for rule, points in self.connection.execute(query)}
