"""Set-based SQL for the daily job's housekeeping: tickets nobody travelled on, stale holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from jifen.domain.postings import PendingItem
from jifen.domain.redemptions import RedemptionState
from jifen.domain.tickets import TicketState
from jifen.storage.tables import (
    pending_points,
    redemptions,
    tickets,
)

NOT_TRAVELLED = TicketState.NOT_TRAVELLED
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
            .where(
                and_(
                    t.status == TicketState.PURCHASED,
                    t.departure_at < departed_before,
                    t.id > after_id,
                )
            )
            .order_by(t.id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())

    def open_pending_owners(self, ticket_ids: Sequence[str]) -> list[tuple[int, str]]:
        """The balances (member, kind) that these tickets' open pending points sit in."""
        p = pending_points.c
        query = (
            select(p.member_id, p.kind)
            .where(and_(p.reference.in_(list(ticket_ids)), p.status == "open"))
            .distinct()
        )
        return [(r.member_id, r.kind) for r in self.connection.execute(query)]

    def mark_no_shows(
        self, ticket_ids: Sequence[str], *, departed_before: datetime
    ) -> tuple[list[str], list[PendingItem]]:
        """Mark these tickets `not_travelled` if still awaiting travel; their open pending items.

        Called with their balances locked: a ticket travelled, refunded or changed meanwhile is
        left alone. Returns `(ticket ids marked, the open pending items to void)`.
        """
        t, p = tickets.c, pending_points.c
        due = list(
            self.connection.execute(
                select(t.id).where(
                    and_(
                        t.id.in_(list(ticket_ids)),
                        t.status == TicketState.PURCHASED,
                        t.departure_at < departed_before,
                    )
                )
            ).scalars()
        )
        if not due:
            return [], []
        items = self.connection.execute(
            select(p.id, p.member_id, p.kind, p.points, p.status, p.reference)
            .where(and_(p.reference.in_(due), p.status == "open"))
            .order_by(p.id)
        ).all()
        self.connection.execute(
            update(tickets)
            .where(and_(t.id.in_(due), t.status == TicketState.PURCHASED))
            .values(status=NOT_TRAVELLED)
        )
        return due, [PendingItem(*row) for row in items]

    def tickets_data(self, ticket_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The stored data (pricing, pending items) of these tickets."""
        t = tickets.c
        query = select(t.data).where(t.id.in_(list(ticket_ids))).order_by(t.id)
        return list(self.connection.execute(query).scalars())

    def stale_holds(self, *, departed_by: datetime, after_id: str, limit: int) -> list[str]:
        """Ids of redemptions still holding points whose train left at or before `departed_by`."""
        r = redemptions.c
        query = (
            select(r.id)
            .where(
                and_(
                    r.status == RedemptionState.HELD, r.departure_at <= departed_by, r.id > after_id
                )
            )
            .order_by(r.id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())
