"""What every redemption goes through: idempotent steps, a hold, then commit or release.

A hold spends the member's points (oldest expiry first, across the program's ticket kinds in
order) into `program:held`, so they leave the member's spendable balance at once. Commit moves them
on to `program:redeemed` when the ticket is issued; release reverses the hold, which puts the points
back into the very lots they came from. Every step is stored in `redemption_actions` under the
caller's id with a hash of its request: the same id again returns the first result, the same id
with another request is an `IdempotencyConflict`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import IdempotencyConflict, JifenError, NotFound
from jifen.domain.ledger import PROGRAM_REDEEMED
from jifen.domain.redemptions import (
    RedemptionAction,
    RedemptionState,
    redemption_after,
    require_not_departed,
)
from jifen.programs.schema import Program
from jifen.services import journal, ledger
from jifen.services.ledger import fingerprint, transfer
from jifen.services.mall.payment import lock_balances_of, split_payment
from jifen.services.members import require_active_member
from jifen.services.notifications import outbox
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.redemption_repository import RedemptionRecord, RedemptionTaken, StoredAction

PROGRAM_HELD = "program:held"
"""Points held by open redemptions: out of the member's balance, not yet redeemed."""

T = TypeVar("T")
Result = dict[str, Any]


class RedemptionLocked(JifenError):
    """The member's balance has never reached the program's redemption threshold."""

    code = "redemption_locked"
    status = 403


class VelocityLimit(JifenError):
    """The member started as many redemptions today as the program allows."""

    code = "velocity_limit"
    status = 429


class RedemptionNotOffered(JifenError):
    """The program names no point kinds that pay for tickets."""

    code = "redemption_not_offered"
    status = 422


@dataclass(frozen=True, slots=True)
class Step:
    """One request on a redemption: the caller's id for it, what it asks, and when."""

    key: str
    redemption_id: str
    action: str
    request: dict[str, Any]
    at: datetime

    @property
    def action_id(self) -> str:
        """Where the step is stored: the redemption's own id for the hold, else `rid/key`.

        Redemption ids cannot hold `/`, so a step id is unique per redemption and never collides.
        """
        return self.redemption_id if self.action == "hold" else f"{self.redemption_id}/{self.key}"


def run_step(
    uow: UnitOfWork,
    step: Step,
    *,
    lock: Callable[[UnitOfWork], T],
    perform: Callable[[UnitOfWork, T], Result],
    journaled: tuple[str, dict[str, Any]],
) -> Result:
    """Do `perform` once for the step's id and keep its result; a repeat gets that result.

    `journaled` is the use case's name and arguments, recorded with the step (not on a repeat).

    `lock` runs first and serialises the requests that could race on the same state (a member's
    balance, a redemption's row), so the stored step is looked up only once the lock is held.
    A concurrent request that stored the same id first makes ours roll back and read theirs.
    """
    request_hash = fingerprint(
        {"action": step.action, "redemption_id": step.redemption_id, **step.request}
    )
    for attempt in (1, 2):
        try:
            with uow:
                locked = lock(uow)
                stored = uow.redemptions.action(step.action_id)
                if stored is None:
                    result = perform(uow, locked)
                    uow.redemptions.add_action(
                        StoredAction(
                            step.action_id,
                            step.redemption_id,
                            step.action,
                            request_hash,
                            result,
                            step.at,
                        )
                    )
                    journal.record(uow, journaled[0], at=step.at, **journaled[1])
                    uow.commit()
                    return result
            break
        except (KeyTaken, RedemptionTaken):
            if attempt == 2:  # pragma: no cover - the second attempt finds the winner's step
                raise
    assert stored is not None  # noqa: S101 - a step not stored yet was performed and returned
    if stored.request_hash != request_hash:
        raise IdempotencyConflict(step.key)
    return stored.result


def lock_redemption(redemption_id: str) -> Callable[[UnitOfWork], RedemptionRecord]:
    """A `lock` for steps on an existing redemption: its row, locked."""

    def lock(uow: UnitOfWork) -> RedemptionRecord:
        record = uow.redemptions.get(redemption_id, lock=True)
        if record is None:
            raise NotFound(f"No redemption {redemption_id}.", redemption_id=redemption_id)
        return record

    return lock


def lock_ticket_balances(program: Program, member_id: int) -> Callable[[UnitOfWork], None]:
    """A `lock` for starting a redemption: the member's balances of every ticket kind.

    All at once, sorted by kind like every other writer (the ledger's door, closing, the mall),
    never in the program's paying order: `ticket_kinds: [ride, bonus]` locked ride first would
    deadlock against a close or a mall order of the same member that holds bonus and wants ride.
    """

    def lock(uow: UnitOfWork) -> None:
        if not program.redemption.ticket_kinds:
            raise RedemptionNotOffered(
                f"The {program.code} program does not offer ticket redemption."
            )
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        kinds = program.redemption.ticket_kinds
        uow.ledger.lock_balances(sorted({(member_id, kind) for kind in kinds}))

    return lock


def _day_of(at: datetime, tz: str) -> tuple[datetime, datetime]:
    """The program-local day `at` falls on, as `[start, start of the next day)`."""
    zone = ZoneInfo(tz)
    day = at.astimezone(zone).date()
    return (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
    )


def check_may_start(uow: UnitOfWork, program: Program, member_id: int, at: datetime) -> None:
    """Active member, redemption unlocked, and within the program's daily velocity limit."""
    require_active_member(uow, member_id)
    threshold = program.redemption.eligibility_threshold
    if uow.statements.unlocked_on(member_id) is None and threshold > 0:
        raise RedemptionLocked(
            f"Member {member_id} can redeem once their balance has reached {threshold:,} "
            "points; it has not yet.",
            member_id=member_id,
            threshold=threshold,
        )
    limit = program.risk.redemptions_per_day
    if limit is None:
        return
    since, until = _day_of(at, program.timezone)
    started = uow.redemptions.started_between(member_id, since=since, until=until)
    if started >= limit:
        raise VelocityLimit(
            f"Member {member_id} has started {started} redemptions today, the most the program "
            f"allows in a day ({limit}); try again tomorrow.",
            member_id=member_id,
            limit=limit,
        )


def hold(uow: UnitOfWork, *, program: Program, record: RedemptionRecord) -> Result:
    """Store a new redemption and hold its points (after `check_may_start`)."""
    uow.redemptions.add(record)
    paid = pay(
        uow,
        program=program,
        member_id=record.member_id,
        points=record.points,
        redemption_id=record.id,
        action="hold",
        to_account=PROGRAM_HELD,
        at=record.created_at,
    )
    return {
        "redemption_id": record.id,
        "points": record.points,
        "status": record.status,
        "paid": paid,
    }


def pay(
    uow: UnitOfWork,
    *,
    program: Program,
    member_id: int,
    points: int,
    redemption_id: str,
    action: str,
    to_account: str,
    at: datetime,
) -> dict[str, int]:
    """Spend `points` from the ticket kinds in the program's order; returns points per kind.

    Whole tickets only: either the kinds together cover the amount or nothing is spent. Each
    kind's spend is keyed `redemption:<id>:<action>:<kind>`. The program's order is the order the
    kinds pay in; the balance rows are locked sorted, the one order every writer takes (already
    held when `lock_ticket_balances` ran; a change or seat upgrade, locked by its redemption row,
    takes them here).
    """
    kinds = program.redemption.ticket_kinds
    lock_balances_of(uow, member_id, kinds)
    available = ledger.spendable(uow, member_id, kinds, at.date())
    parts = split_payment(points, available, member_id=member_id)
    for kind, take in parts:
        ledger.spend(
            uow,
            key=f"redemption:{redemption_id}:{action}:{kind}",
            member_id=member_id,
            kind=kind,
            points=take,
            occurred_at=at,
            to_account=to_account,
            memo={"redemption_id": redemption_id, "step": action},
        )
    return dict(parts)


def paid_for(uow: UnitOfWork, redemption_id: str, *actions: str) -> dict[str, int]:
    """Points per kind the redemption's steps of these kinds charged (hold, change)."""
    total: dict[str, int] = {}
    for stored in uow.redemptions.actions_of(redemption_id):
        if stored.action in actions:
            for kind, points in stored.result.get("paid", {}).items():
                total[kind] = total.get(kind, 0) + int(points)
    return total


def commit(
    uow: UnitOfWork, *, program: Program, redemption_id: str, key: str, now: datetime
) -> Result:
    """The ticket is issued: the held points move on to `program:redeemed`."""
    at = local_datetime(now, program.timezone)

    def perform(uow: UnitOfWork, record: RedemptionRecord) -> Result:
        committed = redemption_after(
            RedemptionState(record.status), RedemptionAction.COMMIT, redemption_id=record.id
        )
        require_not_departed(record, at)
        for kind, points in paid_for(uow, record.id, "hold").items():
            transfer(
                uow,
                key=f"redemption:{record.id}:commit:{kind}",
                from_account=PROGRAM_HELD,
                to_account=PROGRAM_REDEEMED,
                kind=kind,
                points=points,
                occurred_at=at,
                memo={"redemption_id": record.id, "step": "commit"},
            )
        uow.redemptions.update(record.id, status=committed)
        outbox.redemption_issued(uow, record=record, at=at)
        return {"redemption_id": record.id, "points": record.points, "status": committed}

    step = Step(key, redemption_id, "commit", {}, at)
    command = ("redemption.commit", {"redemption_id": redemption_id, "key": key})
    return run_step(
        uow, step, lock=lock_redemption(redemption_id), perform=perform, journaled=command
    )


def release(
    uow: UnitOfWork,
    *,
    program: Program,
    redemption_id: str,
    key: str,
    now: datetime,
    reason: str | None = None,
) -> Result:
    """No ticket after all: the hold is reversed, back into the lots it was taken from.

    `reason` (the daily job's `departure_passed`) is kept in the release's memo and result.
    """
    at = local_datetime(now, program.timezone)
    because = {} if reason is None else {"reason": reason}

    def perform(uow: UnitOfWork, record: RedemptionRecord) -> Result:
        released = redemption_after(
            RedemptionState(record.status), RedemptionAction.RELEASE, redemption_id=record.id
        )
        for kind in paid_for(uow, record.id, "hold"):
            held = uow.ledger.find_by_key(f"redemption:{record.id}:hold:{kind}")
            assert held is not None  # noqa: S101 - the hold's spend commits with the hold
            ledger.reverse(
                uow,
                key=f"redemption:{record.id}:release:{kind}",
                transaction_id=held.id,
                occurred_at=at,
                memo={"redemption_id": record.id, "step": "release", **because},
            )
        uow.redemptions.update(record.id, status=released)
        return {
            "redemption_id": record.id,
            "points_returned": record.points,
            "status": released,
            **because,
        }

    step = Step(key, redemption_id, "release", because, at)
    command = (
        "redemption.release",
        {"redemption_id": redemption_id, "key": key, "reason": reason},
    )
    return run_step(
        uow, step, lock=lock_redemption(redemption_id), perform=perform, journaled=command
    )


def get_redemption(uow: UnitOfWork, redemption_id: str) -> RedemptionRecord:
    """A redemption as it stands; `NotFound` when there is none."""
    with uow:
        record = uow.redemptions.get(redemption_id)
    if record is None:
        raise NotFound(f"No redemption {redemption_id}.", redemption_id=redemption_id)
    return record
