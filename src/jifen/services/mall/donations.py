"""Donating points to one of the program's charities, with a receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import IdempotencyConflict, JifenError
from jifen.domain.ledger import require_positive
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.mall.payment import lock_balances_of, pay, run_once
from jifen.services.members import require_active_member
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import Donation


class UnknownCharity(JifenError):
    """The program has no charity with this code."""

    code = "unknown_charity"
    status = 422


@dataclass(frozen=True, slots=True)
class Donated:
    """A donation and its receipt; `replayed` when its id had been used for it before."""

    donation: Donation
    replayed: bool = False


def charity_account(charity: str) -> str:
    """The system account a charity's donations go to."""
    return f"charity:{charity}"


def receipt_number(at: datetime, transaction_id: int) -> str:
    """A receipt number unique per donation: the day and the ledger transaction that paid it."""
    return f"JFD{at:%Y%m%d}{transaction_id:010d}"


def donate(
    uow: UnitOfWork,
    *,
    program: Program,
    donation_id: str,
    member_id: int,
    charity: str,
    points: int,
    now: datetime,
) -> Donated:
    """Give `points` to `charity`, paid from the program's mall kinds into `charity:<code>`.

    Raises `UnknownCharity`, `InsufficientPoints`, and `IdempotencyConflict` when the id was used
    for another donation; the same donation again returns the first receipt. `now` is the
    instant; the receipt's day and the stored time are the program's local ones.
    """
    now = local_datetime(now, program.timezone)
    known = [c.code for c in program.charities]
    if charity not in known:
        raise UnknownCharity(
            f"No charity {charity!r} in this program; choose one of: {', '.join(known) or 'none'}.",
            charity=charity,
            known=known,
        )
    require_positive(points)

    def make() -> Donation:
        require_active_member(uow, member_id)  # unknown members are refused before any lock
        kinds = program.redemption.mall_kinds
        lock_balances_of(uow, member_id, kinds)
        require_active_member(uow, member_id)  # again: a freeze or close has waited or is done
        [first, *_] = pay(
            uow,
            key=f"donation:{donation_id}",
            member_id=member_id,
            kinds=kinds,
            points=points,
            occurred_at=now,
            to_account=charity_account(charity),
            memo={"donation": donation_id, "charity": charity},
        )
        receipt = receipt_number(now, first.transaction_id)
        donation = Donation(
            donation_id, member_id, charity, points, receipt, first.transaction_id, now
        )
        uow.mall.insert_donation(donation)
        journal.record(
            uow,
            "donate",
            at=now,
            donation_id=donation_id,
            member_id=member_id,
            charity=charity,
            points=points,
        )
        return donation

    donation, replayed = run_once(uow, find=lambda: uow.mall.get_donation(donation_id), make=make)
    if replayed and (donation.member_id, donation.charity, donation.points) != (
        member_id,
        charity,
        points,
    ):
        raise IdempotencyConflict(donation_id)
    return Donated(donation, replayed)
