"""A partner takes back an award or exchange whose points the member has not spent."""

from __future__ import annotations

from datetime import datetime

from jifen.domain.errors import InvalidRequest, NotFound, NotReversible
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.partners.recording import (
    Request,
    Scene,
    ledger_key,
    operation,
    require_still_new,
    run,
)
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.partner_repository import OperationRecord


def reverse(
    uow: UnitOfWork,
    *,
    program: Program,
    partner_code: str,
    op_id: str,
    reverses_op_id: str,
    reason: str,
    actor: str,
    now: datetime,
) -> OperationRecord:
    """Take back an award or exchange whose points the member has not spent (`not_reversible`)."""
    if not reason.strip():
        raise InvalidRequest("Say why the operation is reversed.", field="reason")
    request = Request(
        partner_code, op_id, "reversal", 0, reason=reason, reverses_op_id=reverses_op_id
    )
    return run(uow, program, request, _reverse, actor=actor, now=now)


def _reverse(scene: Scene, request: Request) -> OperationRecord:
    uow, partners, at = scene.uow, scene.partners, scene.at
    assert request.reverses_op_id is not None  # noqa: S101 - reversals name their operation
    original = partners.get_operation(request.partner_code, request.reverses_op_id)
    if original is None:
        raise NotFound(
            f"Partner {request.partner_code!r} has no operation {request.reverses_op_id!r}.",
            op_id=request.reverses_op_id,
        )
    if original.type == "reversal" or partners.reversal_of(original.partner_code, original.op_id):
        raise NotReversible(
            f"Operation {original.op_id!r} is a reversal or was already reversed.",
            op_id=original.op_id,
        )
    uow.ledger.lock_balance(original.member_id, _kind_of(uow, original))
    require_still_new(partners, request)
    posted = ledger.reverse(
        uow,
        key=ledger_key(request.partner_code, request.op_id),
        transaction_id=original.transaction_id,
        occurred_at=at,
        memo={"partner": request.partner_code, "op_id": request.op_id, "reason": request.reason},
    )
    request = Request(
        request.partner_code,
        request.op_id,
        "reversal",
        original.member_id,
        miles=original.miles,
        reason=request.reason,
        reverses_op_id=original.op_id,
    )
    return operation(request, points=original.points, transaction_id=posted.transaction_id, at=at)


def _kind_of(uow: UnitOfWork, original: OperationRecord) -> str:
    stored = uow.ledger.get_transaction(original.transaction_id)
    assert stored is not None  # noqa: S101 - an operation's transaction exists
    return stored.entries[0].kind
