"""Ticket redemption (兑换): a whole ticket in points, changed once, or cancelled by the railway.

Points = fare × points per yuan, rounded up to a whole point (railway: 100 points = ¥1, so one
point per fen). The ticket is for the member or one of their effective beneficiaries. It cannot be
refunded; it can be changed (改签) once after it is issued: a dearer fare costs the difference plus
the program's change fee, a cheaper one gives nothing back. When the railway cancels the train
(force majeure or its own fault) every point the redemption cost comes back as a new lot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from jifen.domain.calendar import local_datetime, lot_expiry
from jifen.domain.errors import JifenError
from jifen.domain.ledger import PROGRAM_REDEEMED
from jifen.domain.redemptions import (
    START,
    RedemptionAction,
    RedemptionState,
    RedemptionType,
    redemption_after,
    require_changeable,
    require_future,
)
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.beneficiaries import require_effective
from jifen.services.members import require_active_member
from jifen.services.notifications import outbox
from jifen.services.redemption.lifecycle import (
    Result,
    Step,
    check_may_start,
    hold,
    lock_redemption,
    lock_ticket_balances,
    paid_for,
    pay,
    run_step,
)
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.redemption_repository import RedemptionRecord

CancelReason = Literal["force_majeure", "railway_fault"]


class TrainNotRedeemable(JifenError):
    """The train does not take points: marked not redeemable, not participating, international."""

    code = "train_not_redeemable"
    status = 422


class PassengerNotAllowed(JifenError):
    """A ticket is for the member themself or one of their beneficiaries, no one else."""

    code = "passenger_not_allowed"
    status = 422


class CancelWindowClosed(JifenError):
    """The railway's cancellation comes later than the program's window after departure."""

    code = "cancel_window_closed"
    status = 409


@dataclass(frozen=True, slots=True)
class Train:
    """The train a redemption is for; it takes points when all three flags allow."""

    number: str
    redeemable: bool = True
    participating: bool = True
    international: bool = False
    tourist: bool = False


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """A ticket to redeem: for the member (`passenger_member_id`) or a beneficiary."""

    id: str
    member_id: int
    fare_fen: int
    train: Train
    departure_at: datetime
    passenger_member_id: int | None = None
    beneficiary_id: int | None = None


def points_for(fare_fen: int, points_per_yuan: int) -> int:
    """The points a fare costs: fen × points per yuan / 100, rounded up to a whole point."""
    return -(-fare_fen * points_per_yuan // 100)


def require_redeemable(train: Train) -> None:
    """Refuse a train that does not take points, saying why."""
    why = (
        "is marked not redeemable"
        if not train.redeemable
        else "does not take part in the program"
        if not train.participating
        else "is an international train"
        if train.international
        else None
    )
    if why is not None:
        raise TrainNotRedeemable(
            f"Train {train.number} {why}; tickets on it cannot be paid in points.",
            train=train.number,
        )


def fingerprinted(request: Any, type_: str) -> dict[str, Any]:
    """The request as hashed for idempotency: its fields, the moment in UTC, and its type."""
    fields = asdict(request)
    fields["departure_at"] = request.departure_at.astimezone(UTC).isoformat()
    return {"type": type_, **fields}


def redeem_ticket(
    uow: UnitOfWork, *, program: Program, request: TicketRequest, now: datetime
) -> Result:
    """Hold the points for a ticket; returns `{redemption_id, points, status: held, paid}`.

    Raises `TrainNotRedeemable`, `DeparturePassed`, `MemberNotActive`, `RedemptionLocked`,
    `VelocityLimit`, `PassengerNotAllowed`, `BeneficiaryNotEffective`, `NotFound` or
    `InsufficientPoints`; nothing is written then.
    """
    return start_redemption(
        uow,
        program=program,
        request=request,
        type_=RedemptionType.TICKET,
        check=lambda uow, at: _check_passenger(uow, request, at),
        passenger_member_id=request.passenger_member_id,
        beneficiary_id=request.beneficiary_id,
        command="redeem_ticket",
        now=now,
    )


def start_redemption(
    uow: UnitOfWork,
    *,
    program: Program,
    request: Any,  # a TicketRequest or a SeatUpgradeRequest
    type_: RedemptionType,
    check: Callable[[UnitOfWork, datetime], object],
    passenger_member_id: int | None,
    beneficiary_id: int | None = None,
    ticket_ref: str | None = None,
    command: str,
    now: datetime,
) -> Result:
    """Hold the points for a new ticket or seat upgrade, after the checks both take and `check`.

    `command` is the use case's name in the journal (`redeem_ticket`, `upgrade_seat`).
    """
    at = local_datetime(now, program.timezone)

    def perform(uow: UnitOfWork, _locked: None) -> Result:
        require_redeemable(request.train)
        require_future(request.departure_at, at)
        check_may_start(uow, program, request.member_id, at)
        check(uow, at)
        record = RedemptionRecord(
            id=request.id,
            member_id=request.member_id,
            type=type_,
            passenger_member_id=passenger_member_id,
            beneficiary_id=beneficiary_id,
            ticket_ref=ticket_ref,
            fare_fen=request.fare_fen,
            points=points_for(request.fare_fen, program.redemption.points_per_yuan),
            status=START,
            train=asdict(request.train),
            departure_at=request.departure_at,
            changes=0,
            created_at=at,
        )
        return hold(uow, program=program, record=record)

    step = Step(request.id, request.id, "hold", fingerprinted(request, type_.value), at)
    return run_step(
        uow,
        step,
        lock=lock_ticket_balances(program, request.member_id),
        perform=perform,
        journaled=(command, {"request": request}),
    )


def _check_passenger(uow: UnitOfWork, request: TicketRequest, at: datetime) -> None:
    if request.beneficiary_id is not None:
        require_effective(
            uow, member_id=request.member_id, beneficiary_id=request.beneficiary_id, today=at.date()
        )
    elif request.passenger_member_id != request.member_id:
        raise PassengerNotAllowed(
            f"Member {request.member_id} can redeem a ticket for themself or for one of their "
            f"beneficiaries, not for member {request.passenger_member_id}.",
            member_id=request.member_id,
        )


def change_ticket(
    uow: UnitOfWork,
    *,
    program: Program,
    redemption_id: str,
    key: str,
    fare_fen: int,
    departure_at: datetime,
    now: datetime,
) -> Result:
    """Change (改签) an issued ticket once: a dearer fare costs the difference plus the fee."""
    at = local_datetime(now, program.timezone)

    def perform(uow: UnitOfWork, record: RedemptionRecord) -> Result:
        require_changeable(record, at)
        require_future(departure_at, at)
        ppy = program.redemption.points_per_yuan
        difference = points_for(fare_fen, ppy) - points_for(record.fare_fen, ppy)
        charge = difference + program.redemption.change_fee_points if difference > 0 else 0
        paid: dict[str, int] = {}
        if charge:
            require_active_member(uow, record.member_id)
            paid = pay(
                uow,
                program=program,
                member_id=record.member_id,
                points=charge,
                redemption_id=record.id,
                action="change",
                to_account=PROGRAM_REDEEMED,
                at=at,
            )
        changes, points = record.changes + 1, record.points + charge
        uow.redemptions.update(
            record.id, fare_fen=fare_fen, departure_at=departure_at, changes=changes, points=points
        )
        return {
            "redemption_id": record.id,
            "status": record.status,
            "fare_fen": fare_fen,
            "departure_at": departure_at.isoformat(),
            "changes": changes,
            "points_charged": charge,
            "points": points,
            "paid": paid,
        }

    request = {"fare_fen": fare_fen, "departure_at": departure_at.astimezone(UTC).isoformat()}
    step = Step(key, redemption_id, "change", request, at)
    command = (
        "change_ticket",
        {
            "redemption_id": redemption_id,
            "key": key,
            "fare_fen": fare_fen,
            "departure_at": departure_at,
        },
    )
    return run_step(
        uow, step, lock=lock_redemption(redemption_id), perform=perform, journaled=command
    )


def cancel_ticket(
    uow: UnitOfWork,
    *,
    program: Program,
    redemption_id: str,
    key: str,
    reason: CancelReason,
    now: datetime,
) -> Result:
    """The railway cancelled the train: every point the redemption cost comes back as a new lot."""
    at = local_datetime(now, program.timezone)

    def perform(uow: UnitOfWork, record: RedemptionRecord) -> Result:
        cancelled = redemption_after(
            RedemptionState(record.status), RedemptionAction.CANCEL, redemption_id=record.id
        )
        _require_cancel_window(record, at, program)
        expires_on = lot_expiry(
            at.date(), months_after_credit=program.redemption.cancellation_valid_months
        )
        paid = paid_for(uow, record.id, "hold", "change")
        for kind, points in paid.items():
            ledger.credit(
                uow,
                key=f"redemption:{record.id}:cancel:{kind}",
                member_id=record.member_id,
                kind=kind,
                points=points,
                occurred_at=at,
                expires_on=expires_on,
                source=PROGRAM_REDEEMED,
                memo={"redemption_id": record.id, "step": "cancel", "reason": reason},
            )
        uow.redemptions.update(record.id, status=cancelled)
        outbox.redemption_cancelled(
            uow,
            record=record,
            reason=reason,
            returned=sum(paid.values()),
            expires_on=expires_on,
            at=at,
        )
        return {
            "redemption_id": record.id,
            "status": cancelled,
            "reason": reason,
            "points_returned": sum(paid.values()),
            "expires_on": None if expires_on is None else expires_on.isoformat(),
        }

    step = Step(key, redemption_id, "cancel", {"reason": reason}, at)
    command = ("cancel_ticket", {"redemption_id": redemption_id, "key": key, "reason": reason})
    return run_step(
        uow, step, lock=lock_redemption(redemption_id), perform=perform, journaled=command
    )


def _require_cancel_window(record: RedemptionRecord, at: datetime, program: Program) -> None:
    """Refuse a cancellation more than `cancel_window_days` after the departure date."""
    window = program.redemption.cancel_window_days
    departed = local_datetime(record.departure_at, program.timezone).date()
    days = (at.date() - departed).days
    if days > window:
        raise CancelWindowClosed(
            f"Redemption {record.id}'s train left on {departed.isoformat()}, {days} days ago; "
            f"the railway can cancel up to {window} days after departure. Correct the member's "
            "points with an adjustment instead.",
            redemption_id=record.id,
            departure_date=departed.isoformat(),
            days=days,
            window_days=window,
        )
