"""What a partner does under its key: award points, exchange miles, reverse either.

Each operation is idempotent by the partner's `id` for it (scoped to the partner): the same
request again returns the first result; another request under that id is an
`idempotency_conflict`. Points come from the account `partner:{code}` into a new lot of the
partner's point kind, expiring as the program says for that kind. A refusal changes nothing.

Limits count the points credited by awards and exchanges (a reversal gives no room back):
per operation, per member per program-local day (checked under the member's balance lock), and
per partner per program-local month (a conditional update of the partner's month row, which
holds that row until commit, so concurrent operations of one partner queue there and the cap
holds). Locks are always taken in that order: partner month row, then member.
"""

from __future__ import annotations

from datetime import datetime

from jifen.domain.errors import InvalidRequest, JifenError
from jifen.domain.partners import MilesRate, month_of
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.members import require_active_member
from jifen.services.partners.recording import (
    Request,
    Scene,
    ledger_key,
    operation,
    require_still_new,
    run,
)
from jifen.services.partners.terms import MAX_POINTS, PartnerInactive
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.partner_repository import OperationRecord, PartnerRecord


class PartnerLimitExceeded(JifenError):
    """The operation would pass one of the partner's limits."""

    code = "partner_limit_exceeded"
    status = 409


class ExchangeNotOffered(JifenError):
    """The partner has no miles exchange rate."""

    code = "exchange_not_offered"
    status = 409


class MilesBelowMinimum(JifenError):
    """Fewer miles than the partner's minimum exchange, or too few for one point."""

    code = "miles_below_minimum"
    status = 422


def award(
    uow: UnitOfWork,
    *,
    program: Program,
    partner_code: str,
    op_id: str,
    member_id: int,
    points: int,
    reason: str,
    actor: str,
    now: datetime,
) -> OperationRecord:
    """Credit `points` of the partner's kind to a member, within the partner's limits."""
    if isinstance(points, bool) or not 0 < points <= MAX_POINTS:
        raise InvalidRequest(f"Points must be 1 to {MAX_POINTS:,}, not {points!r}.", field="points")
    if not reason.strip():
        raise InvalidRequest("Say why the points are awarded.", field="reason")
    request = Request(partner_code, op_id, "award", member_id, points=points, reason=reason)
    return run(uow, program, request, _credit, actor=actor, now=now)


def exchange(
    uow: UnitOfWork,
    *,
    program: Program,
    partner_code: str,
    op_id: str,
    member_id: int,
    miles: int,
    actor: str,
    now: datetime,
) -> OperationRecord:
    """Turn a member's partner miles into points at the partner's rate, rounded down."""
    if isinstance(miles, bool) or not 0 < miles <= MAX_POINTS:
        raise InvalidRequest(f"Miles must be 1 to {MAX_POINTS:,}, not {miles!r}.", field="miles")
    request = Request(partner_code, op_id, "exchange", member_id, miles=miles)
    return run(uow, program, request, _credit, actor=actor, now=now)


def _points_of(partner: PartnerRecord, request: Request) -> int:
    """The points the operation credits, refused when the partner may not give them."""
    if partner.status != "active":
        raise PartnerInactive(
            f"Partner {partner.code!r} is {partner.status}; it cannot award or exchange points.",
            partner=partner.code,
            status=partner.status,
        )
    if request.type == "award":
        assert request.points is not None  # noqa: S101 - awards carry points
        points = request.points
    else:
        points = _exchanged(partner, request.miles or 0)
    if points > partner.max_points_per_award:
        raise PartnerLimitExceeded(
            f"{points} points is more than partner {partner.code!r} may give at once "
            f"({partner.max_points_per_award}).",
            limit="per_award",
            allowed=partner.max_points_per_award,
            points=points,
        )
    return points


def _exchanged(partner: PartnerRecord, miles: int) -> int:
    if partner.exchange_miles is None or partner.exchange_points is None:
        raise ExchangeNotOffered(
            f"Partner {partner.code!r} has no miles exchange rate.", partner=partner.code
        )
    points = MilesRate(partner.exchange_miles, partner.exchange_points).points_for(miles)
    if miles < partner.min_miles or points < 1:
        raise MilesBelowMinimum(
            f"{miles} miles is below partner {partner.code!r}'s minimum exchange "
            f"({partner.min_miles} miles, and at least one whole point).",
            miles=miles,
            min_miles=partner.min_miles,
        )
    return points


def _credit(scene: Scene, request: Request) -> OperationRecord:
    uow, partners, partner, at = scene.uow, scene.partners, scene.partner, scene.at
    points, day, kind = _points_of(partner, request), at.date(), partner.point_kind
    month = month_of(day)
    if not partners.take_month_room(partner.code, month, points, partner.max_points_per_month):
        require_still_new(partners, request)  # a retried award that won meanwhile is no refusal
        used = partners.month_points(partner.code, month)
        raise _limit("per_month", partner.max_points_per_month, used, points)
    require_active_member(uow, request.member_id)
    uow.ledger.lock_balance(request.member_id, kind)
    require_active_member(uow, request.member_id)  # again under the lock: a freeze wins cleanly
    require_still_new(partners, request)
    used = partners.member_day_points(partner.code, request.member_id, day)
    if used + points > partner.max_points_per_member_day:
        raise _limit("per_member_day", partner.max_points_per_member_day, used, points)
    posted = ledger.credit(
        uow,
        key=ledger_key(partner.code, request.op_id),
        member_id=request.member_id,
        kind=kind,
        points=points,
        occurred_at=at,
        expires_on=scene.program.kind(kind).expiry.expires_on(day),
        source=f"partner:{partner.code}",
        memo={"partner": partner.code, "op_id": request.op_id, "type": request.type},
    )
    return operation(request, points=points, transaction_id=posted.transaction_id, at=at)


def _limit(limit: str, allowed: int, used: int, points: int) -> PartnerLimitExceeded:
    return PartnerLimitExceeded(
        f"{points} more points would pass the partner's {limit.replace('_', ' ')} limit of "
        f"{allowed} ({used} already given).",
        limit=limit,
        allowed=allowed,
        used=used,
        points=points,
    )
