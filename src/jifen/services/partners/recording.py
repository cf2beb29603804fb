"""How every partner operation is recorded: once per partner and id, with its ledger posting.

`run` finds a repeat (the first result, or `idempotency_conflict`), looks the partner up, lets the
operation post to the ledger, and stores the operation and its audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import IdempotencyConflict, NotFound
from jifen.programs.schema import Program
from jifen.services import audit, journal, ledger
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.partner_repository import (
    OperationRecord,
    OperationTaken,
    PartnerRecord,
    PartnerRepository,
)


@dataclass(frozen=True, slots=True)
class Request:
    """One partner operation as asked: who, for whom, and what."""

    partner_code: str
    op_id: str
    type: str
    member_id: int
    points: int | None = None
    miles: int | None = None
    reason: str | None = None
    reverses_op_id: str | None = None

    @property
    def request_hash(self) -> str:
        fields = {k: getattr(self, k) for k in self.__slots__ if k != "partner_code"}
        return ledger.fingerprint(fields)


@dataclass(frozen=True, slots=True)
class Scene:
    """Where an operation posts: the open unit of work, the program, the partner, the local time."""

    uow: UnitOfWork
    program: Program
    partners: PartnerRepository
    partner: PartnerRecord
    at: datetime


Post = Callable[[Scene, Request], OperationRecord]
"""Post an operation to the ledger; returns the record to store (actor and time come later)."""


def run(
    uow: UnitOfWork,
    program: Program,
    request: Request,
    post: Post,
    *,
    actor: str,
    now: datetime,
) -> OperationRecord:
    """Record `request` once: `post` it the first time, answer a repeat with the first result."""
    try:
        return _once(uow, program, request, post, actor=actor, now=now)
    except (KeyTaken, OperationTaken):
        # A concurrent request under the same id won; ours rolled back. Answer with theirs.
        return _once(uow, program, request, post, actor=actor, now=now)


def _once(
    uow: UnitOfWork,
    program: Program,
    request: Request,
    post: Post,
    *,
    actor: str,
    now: datetime,
) -> OperationRecord:
    with uow:
        partners = uow.partners
        stored = partners.get_operation(request.partner_code, request.op_id)
        if stored is not None:
            if stored.request_hash != request.request_hash:
                raise IdempotencyConflict(request.op_id)
            return stored
        partner = partners.get(request.partner_code)
        if partner is None:
            raise NotFound(f"No partner {request.partner_code!r}.", partner=request.partner_code)
        local = local_datetime(now, program.timezone)
        record = post(Scene(uow, program, partners, partner, local), request)
        fields = {"request_hash": request.request_hash, "actor": actor, "at": now}
        record = OperationRecord(**{**_blank(record), **fields})
        partners.add_operation(record)
        details = {k: v for k, v in _blank(record).items() if k not in {"at", "request_hash"}}
        audit.record(
            uow,
            at=now,
            actor=actor,
            action=f"partner.{record.type}",
            subject=f"member:{record.member_id}",
            details={**details, "day": record.day.isoformat()},
        )
        journal.record(uow, "partner_operation", at=now, request=request, actor=actor)
        uow.commit()
    return record


def _blank(record: OperationRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in OperationRecord.__slots__}


def ledger_key(partner_code: str, op_id: str) -> str:
    """The ledger's idempotency key of a partner operation (hashed when the id is long)."""
    key = f"partner:{partner_code}:{op_id}"
    if len(key) <= 200:
        return key
    return f"partner:{partner_code}:sha256:{hashlib.sha256(op_id.encode()).hexdigest()}"


def require_still_new(partners: PartnerRepository, request: Request) -> None:
    """Under the member's lock, check no concurrent request under this id committed meanwhile.

    Two requests under one id both find nothing at first; the second to get the lock sees the
    first's row here and starts over, so it answers with the first result (or a conflict).
    """
    if partners.get_operation(request.partner_code, request.op_id) is not None:
        raise OperationTaken(request.op_id)


def operation(
    request: Request, *, points: int, transaction_id: int, at: datetime
) -> OperationRecord:
    """The record of a posted request (its actor and time are filled in by `run`)."""
    return OperationRecord(
        partner_code=request.partner_code,
        op_id=request.op_id,
        type=request.type,
        member_id=request.member_id,
        points=points,
        miles=request.miles,
        reason=request.reason,
        reverses_op_id=request.reverses_op_id,
        request_hash=request.request_hash,
        transaction_id=transaction_id,
        day=at.date(),
        actor="",
        at=at,
    )
