"""SQL for the event store, tickets, and the earnings behind each credit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from jifen.domain.tickets import TicketState
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.rows import from_row, to_row
from jifen.storage.tables import earnings, events, rule_budgets, tickets


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


class EventRepository:
    """Reads and writes events, tickets and earnings on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, event_id: str) -> StoredEvent | None:
        """An applied event by id."""
        row = self.connection.execute(select(events).where(events.c.id == event_id)).first()
        if row is None:
            return None
        return from_row(StoredEvent, row)

    def add(self, event: StoredEvent) -> None:
        """Keep an applied event and its outcome; `KeyTaken` if the id is stored already."""
        try:
            self.connection.execute(insert(events).values(**to_row(event)))
        except IntegrityError as error:
            raise KeyTaken(event.id) from error

    def ticket(self, ticket_id: str) -> TicketRecord | None:
        """A ticket by id."""
        row = self.connection.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return None if row is None else from_row(TicketRecord, row)

    def travelled_between(self, since: datetime, until: datetime) -> Iterator[TicketRecord]:
        """Tickets travelled in `[since, until)` with the member's data, streamed."""
        t = tickets.c
        query = (
            select(tickets)
            .where(
                and_(
                    t.status == TicketState.TRAVELLED,
                    t.travelled_at >= since,
                    t.travelled_at < until,
                    t.member_id.is_not(None),
                )
            )
            .order_by(t.travelled_at)
            .execution_options(yield_per=2000)
        )
        return (from_row(TicketRecord, row) for row in self.connection.execute(query))

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
        return (from_row(StoredEvent, r) for r in self.connection.execute(query))

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

    def spent_budgets(self, rule_codes: Iterable[str], *, lock: bool = False) -> dict[str, int]:
        """Points each of these budgeted rules has promised or given so far, all members together.

        With `lock`, each rule's row is created if missing (from what its earnings show) and
        locked, in code order, until the transaction ends: concurrent awards queue on it.
        """
        codes = sorted(set(rule_codes))
        b = rule_budgets.c
        if lock:
            self._create_budgets(codes)
        query = select(b.rule_code, b.spent_points).where(b.rule_code.in_(codes))
        if lock:
            query = query.order_by(b.rule_code).with_for_update()
        spent = {rule: int(points) for rule, points in self.connection.execute(query)}
        missing = [code for code in codes if code not in spent]
        return {**spent, **self._earned_by_rules(missing)} if missing else spent

    def spend_budgets(self, by_rule: Mapping[str, int]) -> None:
        """Add points to (or, negative, give them back to) budgets locked by `spent_budgets`.

        Rules without a budget row are left alone; a give-back never takes a budget below 0.
        """
        b = rule_budgets.c
        for rule, points in sorted(by_rule.items()):
            if points:
                after = b.spent_points + points
                self.connection.execute(
                    update(rule_budgets)
                    .where(b.rule_code == rule)
                    .values(spent_points=case((after < 0, 0), else_=after))
                )

    def _earned_by_rules(self, codes: list[str]) -> dict[str, int]:
        e = earnings.c
        query = (
            select(e.rule_code, func.sum(e.points))
            .where(e.rule_code.in_(codes))
            .group_by(e.rule_code)
        )
        return {rule: int(points) for rule, points in self.connection.execute(query)}

    def _create_budgets(self, codes: list[str]) -> None:
        """Budget rows for rules that have none yet, starting from the points they gave before."""
        b = rule_budgets.c
        have = set(
            self.connection.execute(select(b.rule_code).where(b.rule_code.in_(codes))).scalars()
        )
        missing = [code for code in codes if code not in have]
        if not missing:
            return
        earned = self._earned_by_rules(missing)
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        self.connection.execute(
            dialect.insert(rule_budgets)
            .values([{"rule_code": code, "spent_points": earned.get(code, 0)} for code in missing])
            .on_conflict_do_nothing(index_elements=["rule_code"])
        )
