"""Freeze, unfreeze and close members: audited status changes; closing forfeits the points.

A frozen member keeps the balance but neither earns (events are rejected `member_not_active`)
nor spends (`require_active_member`). Closing is final: every point spendable that day goes to
`program:forfeited` and open pending points are voided, in one transaction with the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.ledger import PROGRAM_FORFEITED
from jifen.programs.schema import Program
from jifen.services import audit, journal, ledger
from jifen.services.notifications import outbox
from jifen.services.unit_of_work import UnitOfWork


class MemberClosed(JifenError):
    """The member is closed, which is final: nothing about them can change any more."""

    code = "member_closed"
    status = 409


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A member's status after a request; `changed` is False when it already was that."""

    member_id: int
    status: str
    previous: str
    changed: bool
    forfeited: dict[str, int] = field(default_factory=dict)
    voided_pending: int = 0


def freeze_member(
    uow: UnitOfWork, *, member_id: int, reason: str, actor: str, now: datetime
) -> StatusChange:
    """Stop a member earning and spending; the balance is kept. Freezing again changes nothing."""
    return _simple_change(
        uow, member_id=member_id, to="frozen", reason=reason, actor=actor, now=now
    )


def unfreeze_member(
    uow: UnitOfWork, *, member_id: int, reason: str | None, actor: str, now: datetime
) -> StatusChange:
    """Let a frozen member earn and spend again; an active member stays as it is."""
    return _simple_change(
        uow, member_id=member_id, to="active", reason=reason, actor=actor, now=now
    )


class OpenRedemptions(JifenError):
    """A member with redemptions still holding points cannot be closed yet."""

    code = "open_redemptions"
    status = 409


def close_member(
    uow: UnitOfWork, *, program: Program, member_id: int, reason: str, actor: str, now: datetime
) -> StatusChange:
    """Close a member for good: spendable points forfeited, pending points voided.

    Lots whose expiry day has come are left to the daily job to expire, and tier-only kinds are
    never spent, so neither is forfeited. Raises `MemberClosed` when the member already is.
    """
    local = local_datetime(now, program.timezone)
    spendable = sorted(k.code for k in program.point_kinds if k.spendable)
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        # Every balance row of the member first (made at zero if need be), then the member row:
        # the order every writer takes them in, so no deadlock; and a concurrent posting either
        # is done before this close takes its balance or sees the member closed once it gets it.
        uow.ledger.lock_balances([(member_id, kind) for kind in sorted(program.kind_codes)])
        held = uow.redemptions.held_count(member_id)
        if held:
            raise OpenRedemptions(
                f"Member {member_id} has {held} redemption(s) still holding points; commit or "
                "release them before closing the member.",
                member_id=member_id,
                held=held,
            )
        previous = _transition(uow, member_id, "closed")
        assert previous is not None  # noqa: S101 - closing a closed member raised instead
        before = _balances(uow, member_id)
        forfeited: dict[str, int] = {}
        for kind, points in ledger.spendable(uow, member_id, spendable, local.date()).items():
            if points:
                ledger.spend(
                    uow,
                    key=f"close:{member_id}:{kind}",
                    member_id=member_id,
                    kind=kind,
                    points=points,
                    occurred_at=local,
                    to_account=PROGRAM_FORFEITED,
                    memo={"closed": True, "reason": reason},
                )
                forfeited[kind] = points
        voided = 0
        for pending in uow.audit_log.open_pending_of(member_id):
            ledger.void_pending(
                uow,
                key=f"close:{member_id}:void:{pending.id}",
                pending_id=pending.id,
                occurred_at=local,
                memo={"closed": True, "reason": reason},
            )
            voided += pending.points
        change = StatusChange(member_id, "closed", previous, True, forfeited, voided)
        details = {"forfeited": forfeited, "voided_pending": voided}
        _audit(uow, change, before=before, reason=reason, actor=actor, now=now, extra=details)
        journal.record(uow, "close_member", at=now, member_id=member_id, reason=reason, actor=actor)
        uow.commit()
    return change


def _simple_change(
    uow: UnitOfWork, *, member_id: int, to: str, reason: str | None, actor: str, now: datetime
) -> StatusChange:
    with uow:
        previous = _transition(uow, member_id, to)
        if previous is None:
            return StatusChange(member_id, to, to, changed=False)
        change = StatusChange(member_id, to, previous, changed=True)
        balances = _balances(uow, member_id)
        _audit(uow, change, before=balances, reason=reason, actor=actor, now=now)
        if to == "frozen":
            outbox.member_frozen(uow, member_id=member_id, at=now)
        command = "freeze_member" if to == "frozen" else "unfreeze_member"
        journal.record(uow, command, at=now, member_id=member_id, reason=reason, actor=actor)
        uow.commit()
    return change


def _transition(uow: UnitOfWork, member_id: int, to: str) -> str | None:
    """Move the member to `to` and return the status it had; None if it already was `to`."""
    while True:
        member = uow.members.get(member_id)
        if member is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        if member.status == "closed":
            raise MemberClosed(
                f"Member {member_id} is closed; closing is final, so the member cannot be "
                "frozen, unfrozen or closed again.",
                member_id=member_id,
            )
        if member.status == to:
            return None
        if uow.members.set_status(member_id, to, current=member.status):
            return member.status
        # A concurrent request changed the status since we read it: decide on what it is now.


def _balances(uow: UnitOfWork, member_id: int) -> dict[str, dict[str, int]]:
    return {
        b.kind: {"available": b.available, "pending": b.pending}
        for b in uow.ledger.balances_of(member_id)
    }


def _audit(
    uow: UnitOfWork,
    change: StatusChange,
    *,
    before: dict[str, dict[str, int]],
    reason: str | None,
    actor: str,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    action = {"frozen": "member.frozen", "active": "member.unfrozen", "closed": "member.closed"}
    details = {
        "reason": reason,
        "before": {"status": change.previous, "balances": before},
        "after": {"status": change.status, "balances": _balances(uow, change.member_id)},
        **(extra or {}),
    }
    audit.record(
        uow,
        at=now,
        actor=actor,
        action=action[change.status],
        subject=f"member:{change.member_id}",
        details=details,
    )
