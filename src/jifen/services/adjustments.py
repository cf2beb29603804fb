"""Operator adjustments (积分调整): audited, idempotent, approved by a second operator when large.

An adjustment adds points (a new lot, expiring as its point kind says, credited on the day it is
posted) or claws them back (a spend, oldest expiry first), both against `program:adjusted`. An
adjustment is stored `pending_approval` and posts nothing until a different key approves it when
the requesting key's adjustments to the member within 24 hours (pending and applied, either way,
this one included) come to more than the program's `risk.adjustment_approval_threshold`, or when
its point kind counts toward tiers and cannot be spent (railway `upgrade`); a rejection posts
nothing. A claw-back of more than the member holds is refused at once. Every request and
decision writes an audit row in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal, get_args

from jifen.domain.adjustments import (
    OUTCOME,
    START,
    AdjustmentAction,
    AdjustmentState,
    adjustment_after,
)
from jifen.domain.calendar import local_datetime
from jifen.domain.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidRequest,
    JifenError,
    NotFound,
)
from jifen.programs.schema import Program
from jifen.services import audit, journal, ledger
from jifen.services.member_status import MemberClosed
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.audit_repository import AdjustmentRecord, AdjustmentTaken
from jifen.storage.ledger_repository import KeyTaken

PROGRAM_ADJUSTED = "program:adjusted"
AdjustmentKind = Literal["goodwill", "correction", "compensation", "clawback"]
KINDS: tuple[str, ...] = get_args(AdjustmentKind)
# Which way each kind may go: goodwill and compensation give, a claw-back takes, a correction both.
SIGNS = {"goodwill": 1, "compensation": 1, "clawback": -1, "correction": 0}
AdjustmentStatus = Literal["applied", "pending_approval", "rejected"]
"""The values of `AdjustmentState`, as the API declares them."""
MAX_POINTS = 1_000_000_000
DAY = timedelta(hours=24)  # the window over which one operator's adjustments to a member add up


class SameApprover(JifenError):
    """The key that asked for an adjustment may not approve or reject it."""

    code = "same_approver"
    status = 403


def default_point_kind(program: Program) -> str:
    """The kind adjusted when none is named: the first that pays for tickets, else spendable."""
    if program.redemption.ticket_kinds:
        return program.redemption.ticket_kinds[0]
    return next(k.code for k in program.point_kinds if k.spendable)


def _checked(
    program: Program, *, kind: str, points: int, reason: str, point_kind: str | None
) -> str:
    """Refuse what makes no sense on its own; returns the point kind to adjust."""
    if kind not in KINDS:
        raise InvalidRequest(
            f"Unknown adjustment kind {kind!r}; choose one of {', '.join(KINDS)}.", field="kind"
        )
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < abs(points) <= MAX_POINTS:
        raise InvalidRequest(
            f"Points must be a whole number from 1 to {MAX_POINTS:,}, either way, not {points!r}.",
            field="points",
        )
    if SIGNS[kind] * points < 0:
        way = "add points" if SIGNS[kind] > 0 else "take points back"
        raise InvalidRequest(
            f"A {kind} adjustment can only {way}; use `correction` to go the other way.",
            field="points",
        )
    if not reason.strip():
        raise InvalidRequest("Say why: an adjustment needs a reason.", field="reason")
    chosen = point_kind or default_point_kind(program)
    if chosen not in program.kind_codes:
        known = ", ".join(sorted(program.kind_codes))
        raise InvalidRequest(
            f"Unknown point kind {chosen!r}; this program has {known}.", field="point_kind"
        )
    return chosen


def request_adjustment(
    uow: UnitOfWork,
    *,
    program: Program,
    adjustment_id: str,
    member_id: int,
    kind: str,
    points: int,
    reason: str,
    point_kind: str | None = None,
    actor: str,
    now: datetime,
) -> AdjustmentRecord:
    """Adjust a member's points, or hold the adjustment for approval when it is large.

    Idempotent by `adjustment_id`: the same request again returns the adjustment as it stands;
    another request under that id raises `IdempotencyConflict`. Raises `InsufficientPoints` for a
    claw-back of more than the member can spend, `MemberClosed` for a closed member.
    """
    point_kind = _checked(program, kind=kind, points=points, reason=reason, point_kind=point_kind)
    new = AdjustmentRecord(
        id=adjustment_id,
        member_id=member_id,
        kind=kind,
        point_kind=point_kind,
        points=points,
        reason=reason,
        status=START,
        request_hash=ledger.fingerprint(
            {
                "member_id": member_id,
                "kind": kind,
                "point_kind": point_kind,
                "points": points,
                "reason": reason,
            }
        ),
        requested_by=actor,
        requested_at=now,
    )
    try:
        return _request(uow, program, new)
    except (KeyTaken, AdjustmentTaken):
        # A concurrent request under the same id won; ours rolled back. Answer with theirs.
        return _request(uow, program, new)


def _request(uow: UnitOfWork, program: Program, new: AdjustmentRecord) -> AdjustmentRecord:
    with uow:
        stored = uow.audit_log.get_adjustment(new.id)
        if stored is not None:
            if stored.request_hash != new.request_hash:
                raise IdempotencyConflict(new.id)
            return stored
        _require_open_member(uow, new.member_id)
        # Every balance of the member, in the order a close takes them: one member's
        # adjustments queue here, so each reads the operator's earlier ones whole.
        uow.ledger.lock_balances([(new.member_id, k) for k in sorted(program.kind_codes)])
        why = _why_approval(uow, program, new)
        if why is not None:
            record, action, extra = new, "adjustment.requested", {"approval_needed": why}
        else:
            record = _post(uow, program, new, at=new.requested_at)
            action, extra = "adjustment.applied", None
        uow.audit_log.add_adjustment(record)
        _audit(uow, record, action=action, actor=new.requested_by, at=new.requested_at, extra=extra)
        journal.record(
            uow,
            "request_adjustment",
            at=new.requested_at,
            adjustment_id=new.id,
            member_id=new.member_id,
            kind=new.kind,
            points=new.points,
            reason=new.reason,
            point_kind=new.point_kind,
            actor=new.requested_by,
        )
        uow.commit()
    return record


def _why_approval(uow: UnitOfWork, program: Program, new: AdjustmentRecord) -> str | None:
    """Why the adjustment waits for a second operator, or None when it may post now.

    A claw-back of more than the member holds is refused here (`InsufficientPoints`), not
    queued. A tier-qualifying kind always waits; any other once the operator's adjustments to
    the member in the last 24 hours, this one included, come to more than the threshold.
    """
    if new.points < 0:
        available = uow.ledger.lock_balance(new.member_id, new.point_kind).available
        if -new.points > available:
            raise InsufficientPoints(
                member_id=new.member_id,
                kind=new.point_kind,
                needed=-new.points,
                available=available,
            )
    kind = program.kind(new.point_kind)
    if kind.counts_toward_tiers and not kind.spendable:
        return "tier_kind"
    earlier = uow.audit_log.points_requested(
        member_id=new.member_id, requested_by=new.requested_by, since=new.requested_at - DAY
    )
    if earlier + abs(new.points) > program.risk.adjustment_approval_threshold:
        return "over_threshold"
    return None


def decide_adjustment(
    uow: UnitOfWork,
    *,
    program: Program,
    adjustment_id: str,
    approve: bool,
    decision_id: str,
    note: str | None = None,
    actor: str,
    now: datetime,
) -> AdjustmentRecord:
    """Approve (post it now) or reject (post nothing) an adjustment held for approval.

    The key that asked for it may not decide it (`SameApprover`). `decision_id` is the
    idempotency key of the decision on this adjustment: the same decision again returns the
    adjustment as it stands, another (approve for reject, another note) under it raises
    `IdempotencyConflict`. Deciding again as decided before, by the same key, returns the
    adjustment as it stands too; any other decision of a
    decided adjustment raises `AdjustmentDecided`. Approving a claw-back the member can no
    longer cover raises `InsufficientPoints` and leaves it pending.
    """
    decide = partial(
        _decide,
        uow,
        program=program,
        adjustment_id=adjustment_id,
        approve=approve,
        decision_id=decision_id,
        note=note,
        actor=actor,
        now=now,
    )
    try:
        return decide()
    except KeyTaken:
        # A concurrent approval posted first; ours rolled back. Answer as the state now says.
        return decide()


def _decide(
    uow: UnitOfWork,
    *,
    program: Program,
    adjustment_id: str,
    approve: bool,
    decision_id: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> AdjustmentRecord:
    action = AdjustmentAction.APPROVE if approve else AdjustmentAction.REJECT
    decision_hash = ledger.fingerprint(
        {"adjustment_id": adjustment_id, "approve": approve, "note": note}
    )
    with uow:
        record = uow.audit_log.get_adjustment(adjustment_id, lock=True)
        if record is None:
            raise NotFound(f"No adjustment {adjustment_id!r}.", adjustment_id=adjustment_id)
        if record.decision_id == decision_id:  # a decision id is scoped to its adjustment
            if record.decision_hash != decision_hash:
                raise IdempotencyConflict(decision_id)
            return record
        state = AdjustmentState(record.status)
        if state is OUTCOME[action] and record.decided_by == actor:  # the same decision again
            return record
        decided = adjustment_after(
            state, action, adjustment_id=adjustment_id, decided_by=record.decided_by
        )
        if record.requested_by == actor:
            raise SameApprover(
                f"Adjustment {adjustment_id!r} was asked for with this key; "
                "a second operator, with another key, must approve or reject it.",
                adjustment_id=adjustment_id,
            )
        if approve:
            record = _post(uow, program, record, at=now)
        else:
            record = replace(record, status=decided, decided_at=now)
        record = replace(
            record, decided_by=actor, decision_id=decision_id, decision_hash=decision_hash
        )
        uow.audit_log.decide_adjustment(record)
        extra = {"decision_id": decision_id, "note": note}
        done = "adjustment.approved" if approve else "adjustment.rejected"
        _audit(uow, record, action=done, actor=actor, at=now, extra=extra)
        journal.record(
            uow,
            "decide_adjustment",
            at=now,
            adjustment_id=adjustment_id,
            approve=approve,
            decision_id=decision_id,
            note=note,
            actor=actor,
        )
        uow.commit()
    return record


def list_adjustments(
    uow: UnitOfWork, *, member_id: int | None = None, status: str | None = None, limit: int = 100
) -> list[AdjustmentRecord]:
    """Adjustments, newest first, of one member (`NotFound` if none such) and/or one status."""
    with uow:
        if member_id is not None and uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        return uow.audit_log.list_adjustments(member_id=member_id, status=status, limit=limit)


def _require_open_member(uow: UnitOfWork, member_id: int) -> None:
    """Frozen members can be adjusted (freeze, then claw back); closed ones cannot."""
    member = uow.members.get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.", member_id=member_id)
    if member.status == "closed":
        raise MemberClosed(
            f"Member {member_id} is closed; a closed member's points cannot be adjusted.",
            member_id=member_id,
        )


def _post(
    uow: UnitOfWork, program: Program, record: AdjustmentRecord, *, at: datetime
) -> AdjustmentRecord:
    """Post the adjustment to the ledger at `at`; the record comes back `applied`."""
    local = local_datetime(at, program.timezone)
    member_id, kind = record.member_id, record.point_kind
    before = uow.ledger.lock_balance(member_id, kind).available
    # Again under the balance lock: a close takes every balance of the member before it changes
    # the status, so once we hold ours, a close is either committed (and seen here) or waits.
    _require_open_member(uow, member_id)
    common: dict[str, Any] = {
        "key": f"adjustment:{record.id}",
        "member_id": member_id,
        "kind": kind,
        "occurred_at": local,
        "memo": {"adjustment_id": record.id, "adjustment": record.kind, "reason": record.reason},
    }
    if record.points > 0:
        expires_on = program.kind(kind).expiry.expires_on(local.date())
        posted = ledger.credit(
            uow, points=record.points, expires_on=expires_on, source=PROGRAM_ADJUSTED, **common
        )
    else:
        posted = ledger.spend(uow, points=-record.points, to_account=PROGRAM_ADJUSTED, **common)
    after = uow.ledger.lock_balance(member_id, kind).available
    applied = adjustment_after(
        AdjustmentState(record.status), AdjustmentAction.APPROVE, adjustment_id=record.id
    )
    return replace(
        record,
        status=applied,
        transaction_id=posted.transaction_id,
        balance_before=before,
        balance_after=after,
        decided_at=at,
    )


def _audit(
    uow: UnitOfWork,
    record: AdjustmentRecord,
    *,
    action: str,
    actor: str,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    details = {
        "adjustment_id": record.id,
        "kind": record.kind,
        "point_kind": record.point_kind,
        "points": record.points,
        "reason": record.reason,
        "status": record.status,
        "requested_by": record.requested_by,
        "transaction_id": record.transaction_id,
        "before": {"balance": record.balance_before},
        "after": {"balance": record.balance_after},
        **(extra or {}),
    }
    subject = f"member:{record.member_id}"
    audit.record(uow, at=at, actor=actor, action=action, subject=subject, details=details)
