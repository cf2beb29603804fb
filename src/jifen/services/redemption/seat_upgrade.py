"""Seat upgrade (升席): the fare difference for the untravelled part of a member's own ticket.

Only the member who rides may upgrade, only on a ticket bought and not yet travelled, refunded or
changed, for a stretch that starts no earlier than the ticket's departure and is still to come,
and once per ticket while an upgrade is open. It is paid in points like a ticket and follows the
same hold → commit or release lifecycle; it cannot be changed, and the railway may cancel it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jifen.domain.errors import JifenError, NotFound
from jifen.domain.redemptions import RedemptionType
from jifen.domain.tickets import TicketState
from jifen.programs.schema import Program
from jifen.services.redemption.lifecycle import Result
from jifen.services.redemption.tickets import Train, start_redemption
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.event_repository import TicketRecord


class SeatUpgradeNotAllowed(JifenError):
    """The ticket cannot be upgraded: someone else's, travelled, refunded, or already upgraded."""

    code = "seat_upgrade_not_allowed"
    status = 409


@dataclass(frozen=True, slots=True)
class SeatUpgradeRequest:
    """An upgrade of the member's own ticket from `departure_at`, for the fare difference."""

    id: str
    member_id: int
    ticket_id: str
    fare_fen: int
    train: Train
    departure_at: datetime


def upgrade_seat(
    uow: UnitOfWork, *, program: Program, request: SeatUpgradeRequest, now: datetime
) -> Result:
    """Hold the points for a seat upgrade; returns `{redemption_id, points, status: held, paid}`.

    Raises what `redeem_ticket` raises (but for the passenger checks), `NotFound` for an unknown
    ticket and `SeatUpgradeNotAllowed`.
    """
    return start_redemption(
        uow,
        program=program,
        request=request,
        type_=RedemptionType.SEAT_UPGRADE,
        check=lambda uow, _at: _check_ticket(uow, request),
        passenger_member_id=request.member_id,
        ticket_ref=request.ticket_id,
        command="upgrade_seat",
        now=now,
    )


def _check_ticket(uow: UnitOfWork, request: SeatUpgradeRequest) -> TicketRecord:
    ticket = uow.events.ticket(request.ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket {request.ticket_id}.", ticket_id=request.ticket_id)
    why = _why_not(uow, ticket, request)
    if why is not None:
        raise SeatUpgradeNotAllowed(
            f"Ticket {ticket.id} cannot be upgraded: {why}.",
            ticket_id=ticket.id,
            status=ticket.status,
        )
    return ticket


def _why_not(uow: UnitOfWork, ticket: TicketRecord, request: SeatUpgradeRequest) -> str | None:
    if ticket.member_id != request.member_id:
        return f"it is not a ticket of member {request.member_id}, who must be the one riding"
    if TicketState(ticket.status) is not TicketState.PURCHASED:
        return f"it is {ticket.status}; only a ticket not yet travelled can be upgraded"
    if ticket.departure_at is not None and request.departure_at < ticket.departure_at:
        return "the upgrade starts before the ticket's departure"
    arrival = ((ticket.data or {}).get("ticket") or {}).get("arrival_at")
    if isinstance(arrival, str) and request.departure_at >= datetime.fromisoformat(arrival):
        return "the upgrade starts after the ticket's arrival"
    if uow.redemptions.open_upgrades(ticket.id):
        return "it has an upgrade held or committed already"
    return None
