"""Set-based SQL for the daily job's housekeeping: tickets nobody travelled on, stale holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from jifen.domain.ledger import (
    MEMBER_PENDING,
    PROGRAM_ISSUED,
    Entry,
    TransactionType,
)
from jifen.storage.ledger_repository import (
    insert_postings,
    lock_member_balances,
    taken_keys,
    transaction_row,
)
from jifen.storage.tables import (
    pending_points,
    redemptions,
    tickets,
)

NOT_TRAVELLED = "not_travelled"
"""The status of a ticket whose pending points were voided, and the void's reason."""


def not_travelled_key(pending_id: int) -> str:
    """The idempotency key of the void of pending points whose ticket was never travelled."""
    return f"{NOT_TRAVELLED}:{pending_id}"


class HousekeepingRepository:
    """Queries of the daily job's housekeeping steps, each over the whole program at once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def no_shows(self, *, departed_before: datetime, after_id: str, limit: int) -> list[str]:
        """Ids of tickets still awaiting travel whose train left before `departed_before`."""
        t = tickets.c
        query = (
            select(t.id)
            .where(and_(t.status == "purchased", t.departure_at < departed_before, t.id > after_id))
            .order_by(t.id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())

    def void_no_shows(
        self,
        ticket_ids: Sequence[str],
        *,
        departed_before: datetime,
        at: datetime,
        memo: Callable[[str], dict[str, Any]],
        request_hash: Callable[[int, dict[str, Any]], str],
    ) -> tuple[list[str], int]:
        """Mark these tickets `not_travelled` and void their open pending points.

        One `void` transaction per pending item, with the rows `ledger.void_pending` writes item
        by item (key `not_travelled:{pending}`, the member's pending leg, `program:issued`, the
        item voided, the balance's pending moved and its version bumped once per transaction),
        in a few statements. The owners' balances are locked first, in member and kind order, and
        the tickets re-read under the locks: one travelled, refunded or changed meanwhile is left
        alone. `memo` gives a ticket's memo. Returns `(ticket ids voided, points)`.
        """
        if not ticket_ids:
            return [], 0
        t, p = tickets.c, pending_points.c
        self._lock_owners(
            select(p.member_id, p.kind)
            .where(and_(p.reference.in_(list(ticket_ids)), p.status == "open"))
            .distinct()
        )
        due = list(
            self.connection.execute(
                select(t.id).where(
                    and_(
                        t.id.in_(list(ticket_ids)),
                        t.status == "purchased",
                        t.departure_at < departed_before,
                    )
                )
            ).scalars()
        )
        if not due:
            return [], 0
        items = self.connection.execute(
            select(p.id, p.member_id, p.kind, p.points, p.reference)
            .where(and_(p.reference.in_(due), p.status == "open"))
            .order_by(p.id)
        ).all()
        points = self._void(items, at=at, memo=memo, request_hash=request_hash)
        self.connection.execute(
            update(tickets)
            .where(and_(t.id.in_(due), t.status == "purchased"))
            .values(status=NOT_TRAVELLED)
        )
        return due, points

    def tickets_data(self, ticket_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The stored data (pricing, pending items) of these tickets."""
        t = tickets.c
        query = select(t.data).where(t.id.in_(list(ticket_ids))).order_by(t.id)
        return list(self.connection.execute(query).scalars())

    def _lock_owners(self, owners_query: Any) -> None:
        lock_member_balances(self.connection, self.connection.execute(owners_query).all())

    def _void(
        self,
        items: Sequence[Any],
        *,
        at: datetime,
        memo: Callable[[str], dict[str, Any]],
        request_hash: Callable[[int, dict[str, Any]], str],
    ) -> int:
        """Post one `void` per pending item whose key is free; returns the points voided."""
        taken = taken_keys(self.connection, [not_travelled_key(item.id) for item in items])
        items = [item for item in items if not_travelled_key(item.id) not in taken]
        if not items:
            return 0
        memos = [memo(item.reference) for item in items]
        headers = [
            transaction_row(
                key=not_travelled_key(item.id),
                request_hash=request_hash(item.id, item_memo),
                type_=TransactionType.VOID.value,
                member_id=item.member_id,
                occurred_at=at,
                memo=item_memo,
                reverses_id=None,
            )
            for item, item_memo in zip(items, memos, strict=True)
        ]
        legs = [
            [
                Entry(MEMBER_PENDING, item.kind, -item.points, item.member_id, pending_id=item.id),
                Entry(PROGRAM_ISSUED, item.kind, item.points),
            ]
            for item in items
        ]
        insert_postings(self.connection, headers, legs)
        self.connection.execute(
            update(pending_points)
            .where(pending_points.c.id.in_([item.id for item in items]))
            .values(status="voided")
        )
        return sum(item.points for item in items)

    def stale_holds(self, *, departed_by: datetime, after_id: str, limit: int) -> list[str]:
        """Ids of redemptions still holding points whose train left at or before `departed_by`."""
        r = redemptions.c
        query = (
            select(r.id)
            .where(and_(r.status == "held", r.departure_at <= departed_by, r.id > after_id))
            .order_by(r.id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())
