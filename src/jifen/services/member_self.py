"""A member acting for themself (the /v1/me API and the portal): one use case each, member fixed.

The member comes from their sign-in, never from the request, so no request reaches another
member's points, redemptions, orders or beneficiaries: someone else's id reads as unknown
(`NotFound`), exactly as an id that does not exist. The caller's idempotency ids are kept inside
the member's own space (`own_id`), so they neither collide with nor reveal another member's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jifen.domain.errors import NotFound
from jifen.domain.orders import OrderState
from jifen.programs.schema import Program
from jifen.services import mall, redemption
from jifen.services.redemption.lifecycle import Result
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.redemption_repository import RedemptionRecord

MAX_CALLER_ID = 64
"""The longest id a member sends: with `own_id`'s prefix it fits the 100 characters of an id."""


@dataclass(frozen=True, slots=True)
class OwnTicket:
    """A ticket the member redeems: for themself (`beneficiary_id` None) or a beneficiary."""

    id: str
    fare_fen: int
    train: redemption.Train
    departure_at: datetime
    beneficiary_id: int | None = None


def own_id(member_id: int, caller_id: str) -> str:
    """The stored id of something the member asked for under `caller_id` (`m7-abc`)."""
    return f"m{member_id}-{caller_id}"


def ticket_points(program: Program, fare_fen: int) -> int:
    """What a ticket of this fare costs in points (shown before the member redeems)."""
    return redemption.points_for(fare_fen, program.redemption.points_per_yuan)


def redeem_ticket(
    uow: UnitOfWork, *, program: Program, member_id: int, ticket: OwnTicket, now: datetime
) -> Result:
    """Hold the member's points for a ticket, as `redemption.redeem_ticket` does for operators.

    Idempotent by the member's `ticket.id`; the redemption's id is `own_id(member, ticket.id)`.
    """
    return redemption.redeem_ticket(
        uow,
        program=program,
        request=redemption.TicketRequest(
            id=own_id(member_id, ticket.id),
            member_id=member_id,
            fare_fen=ticket.fare_fen,
            train=ticket.train,
            departure_at=ticket.departure_at,
            passenger_member_id=member_id if ticket.beneficiary_id is None else None,
            beneficiary_id=ticket.beneficiary_id,
        ),
        now=now,
    )


def place_order(
    uow: UnitOfWork,
    *,
    program: Program,
    warehouse: mall.WarehouseAdapter,
    member_id: int,
    order_id: str,
    sku: str,
    quantity: int,
    now: datetime,
) -> mall.PlacedOrder:
    """Buy with the member's points, as `mall.place_order`; the order is `own_id(member, id)`."""
    return mall.place_order(
        uow,
        program=program,
        warehouse=warehouse,
        order_id=own_id(member_id, order_id),
        member_id=member_id,
        sku=sku,
        quantity=quantity,
        now=now,
    )


def cancel_order(
    uow: UnitOfWork,
    *,
    program: Program,
    member_id: int,
    order_id: str,
    cancel_id: str,
    now: datetime,
) -> mall.PlacedOrder:
    """Cancel one of the member's paid orders, as `mall.cancel_order`: points back, stock too.

    Another member's order is `NotFound`; a fulfilled one `OrderNotCancellable`, and so is a paid
    one with a cash part: the cash was taken elsewhere, so customer service cancels it and refunds
    that too. Cancelling it again returns it unchanged; the cancel is kept under
    `own_id(member, cancel_id)`.
    """
    order = own_order(uow, member_id=member_id, order_id=order_id).order
    if order.status == OrderState.PAID and order.cash_fen:
        raise mall.OrderNotCancellable(
            f"Order {order_id!r} was paid partly in cash; ask customer service to cancel it, "
            "so that the cash is refunded with the points.",
            order_id=order_id,
            status=order.status,
            cash_fen=order.cash_fen,
        )
    mall.cancel_order(
        uow, program=program, order_id=order_id, cancel_id=own_id(member_id, cancel_id), now=now
    )
    return mall.get_order(uow, order_id=order_id)


def own_redemption(uow: UnitOfWork, *, member_id: int, redemption_id: str) -> RedemptionRecord:
    """One of the member's redemptions; `NotFound` for another member's, as for none."""
    try:
        record = redemption.get_redemption(uow, redemption_id)
    except NotFound:
        record = None
    if record is None or record.member_id != member_id:
        raise NotFound(f"You have no redemption {redemption_id}.", redemption_id=redemption_id)
    return record


def own_order(uow: UnitOfWork, *, member_id: int, order_id: str) -> mall.PlacedOrder:
    """One of the member's mall orders; `NotFound` for another member's, as for none."""
    try:
        placed = mall.get_order(uow, order_id=order_id)
    except NotFound:
        placed = None
    if placed is None or placed.order.member_id != member_id:
        raise NotFound(f"You have no mall order {order_id!r}.", order_id=order_id)
    return placed
