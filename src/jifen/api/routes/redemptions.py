"""Ticket redemptions and seat upgrades (兑换, 升席)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, status

from jifen.api.deps import (
    ClockDep,
    PageCursor,
    PageLimit,
    ProgramDep,
    ReadUowDep,
    UowDep,
    require,
)
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.redemptions import (
    CALLER_ID,
    CancelIn,
    Cancelled,
    Changed,
    ChangeIn,
    Committed,
    Held,
    PassengerOut,
    RedemptionIn,
    RedemptionOut,
    Redemptions,
    Released,
    StepIn,
    TicketIn,
)
from jifen.domain.calendar import local_datetime
from jifen.programs.schema import Program
from jifen.services import listings, redemption
from jifen.storage.redemption_repository import RedemptionRecord

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])
by_member = APIRouter(prefix="/v1/members", tags=["redemptions"])
WRITERS = Depends(require("operator", "integrator"))

MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
RedemptionPath = Annotated[
    str, Path(min_length=1, max_length=100, pattern=CALLER_ID, description="The redemption's id.")
]


CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "redemption_locked"},
    404: {"description": "not_found (member, beneficiary or ticket)"},
    409: {
        "description": "insufficient_points, beneficiary_not_effective, "
        "seat_upgrade_not_allowed, departure_passed, idempotency_conflict"
    },
    422: {"description": "train_not_redeemable, passenger_not_allowed"},
    429: {"description": "velocity_limit"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Held,
    dependencies=[WRITERS],
    responses=CREATE_ERRORS,
)
def create_redemption(
    body: Annotated[RedemptionIn, Body()], uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Held:
    """Redeem a ticket (`type: ticket`) or a seat upgrade (`type: seat_upgrade`): points held."""
    now = clock.now()
    train = redemption.Train(**body.train.model_dump())
    if isinstance(body, TicketIn):
        result = redemption.redeem_ticket(
            uow,
            program=program,
            request=redemption.TicketRequest(
                id=body.id,
                member_id=body.member_id,
                fare_fen=body.fare_fen,
                train=train,
                departure_at=body.departure_at,
                passenger_member_id=body.passenger.member_id,
                beneficiary_id=body.passenger.beneficiary_id,
            ),
            now=now,
        )
    else:
        result = redemption.upgrade_seat(
            uow,
            program=program,
            request=redemption.SeatUpgradeRequest(
                id=body.id,
                member_id=body.member_id,
                ticket_id=body.ticket_id,
                fare_fen=body.fare_fen,
                train=train,
                departure_at=body.departure_at,
            ),
            now=now,
        )
    return Held(**result)


@router.get(
    "/{redemption_id}",
    response_model=RedemptionOut,
    dependencies=[WRITERS],
    responses={404: {"description": "not_found"}},
)
def get_redemption(
    redemption_id: RedemptionPath, uow: UowDep, program: ProgramDep
) -> RedemptionOut:
    """A redemption: what it is for, what it has cost, and where it stands."""
    return redemption_out(redemption.get_redemption(uow, redemption_id), program)


@by_member.get(
    "/{member_id}/redemptions",
    response_model=Redemptions,
    dependencies=[WRITERS],
    responses={404: {"description": "not_found"}, 422: {"description": "invalid_request"}},
)
def get_member_redemptions(
    member_id: MemberPath,
    uow: ReadUowDep,
    program: ProgramDep,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Redemptions:
    """The member's redemptions, newest first, a page at a time."""
    page = listings.redemptions(uow, member_id=member_id, cursor=cursor, limit=limit)
    return Redemptions(
        items=[redemption_out(r, program) for r in page.items], next_cursor=page.next_cursor
    )


def redemption_out(r: RedemptionRecord, program: Program) -> RedemptionOut:
    """A redemption as the API shows it, moments in the program's time zone."""
    return RedemptionOut(
        redemption_id=r.id,
        member_id=r.member_id,
        type=r.type,
        passenger=PassengerOut(member_id=r.passenger_member_id, beneficiary_id=r.beneficiary_id),
        ticket_id=r.ticket_ref,
        fare_fen=r.fare_fen,
        points=r.points,
        status=r.status,
        changes=r.changes,
        train=r.train,
        departure_at=local_datetime(r.departure_at, program.timezone),
        created_at=local_datetime(r.created_at, program.timezone),
    )


STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found"},
    409: {"description": "invalid_redemption_state, idempotency_conflict"},
}


def _key(redemption_id: str, action: str, body: StepIn | None) -> str:
    return body.id if body is not None and body.id is not None else f"{action}:{redemption_id}"


@router.post(
    "/{redemption_id}/commit",
    response_model=Committed,
    dependencies=[WRITERS],
    responses={
        **STEP_ERRORS,
        409: {"description": "invalid_redemption_state, departure_passed, idempotency_conflict"},
    },
)
def commit_redemption(
    redemption_id: RedemptionPath,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    body: Annotated[StepIn | None, Body()] = None,
) -> Committed:
    """The ticket is issued: the held points are redeemed (not once the train has left)."""
    result = redemption.commit(
        uow,
        program=program,
        redemption_id=redemption_id,
        key=_key(redemption_id, "commit", body),
        now=clock.now(),
    )
    return Committed(**result)


@router.post(
    "/{redemption_id}/release",
    response_model=Released,
    dependencies=[WRITERS],
    responses=STEP_ERRORS,
)
def release_redemption(
    redemption_id: RedemptionPath,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    body: Annotated[StepIn | None, Body()] = None,
) -> Released:
    """No ticket after all: the held points go back to the lots they came from."""
    result = redemption.release(
        uow,
        program=program,
        redemption_id=redemption_id,
        key=_key(redemption_id, "release", body),
        now=clock.now(),
    )
    return Released(**result)


@router.post(
    "/{redemption_id}/change",
    response_model=Changed,
    dependencies=[WRITERS],
    responses={
        **STEP_ERRORS,
        409: {
            "description": "change_not_allowed, insufficient_points, departure_passed, "
            "idempotency_conflict"
        },
    },
)
def change_redemption(
    redemption_id: RedemptionPath, body: ChangeIn, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Changed:
    """Change (改签) an issued ticket once: dearer costs the difference plus a fee."""
    result = redemption.change_ticket(
        uow,
        program=program,
        redemption_id=redemption_id,
        key=body.id,
        fare_fen=body.fare_fen,
        departure_at=body.departure_at,
        now=clock.now(),
    )
    return Changed(**result)


@router.post(
    "/{redemption_id}/cancel",
    response_model=Cancelled,
    dependencies=[WRITERS],
    responses={
        **STEP_ERRORS,
        409: {
            "description": "invalid_redemption_state, cancel_window_closed, idempotency_conflict"
        },
    },
)
def cancel_redemption(
    redemption_id: RedemptionPath, body: CancelIn, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Cancelled:
    """The railway cancelled the train (in the program's window): the points come back."""
    result = redemption.cancel_ticket(
        uow,
        program=program,
        redemption_id=redemption_id,
        key=body.id,
        reason=body.reason,
        now=clock.now(),
    )
    return Cancelled(**result)
