"""Points coming in: credits into lots, and pending points confirmed or voided."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jifen.domain.errors import (
    NotFound,
    PendingAlreadySettled,
)
from jifen.domain.ledger import (
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_ISSUED,
    Entry,
    TransactionType,
    require_positive,
)
from jifen.services.ledger.posting import (
    Header,
    Posted,
    apply_entries,
    idempotent,
    open_transaction,
    require_member,
    require_system_account,
)
from jifen.storage.uow import UnitOfWork


def credit(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kind: str,
    points: int,
    occurred_at: datetime,
    expires_on: date | None,
    source: str = PROGRAM_ISSUED,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Credit spendable points into a new lot that expires on `expires_on` (None: never)."""
    require_positive(points)
    require_system_account(source)
    request = {
        "op": "credit",
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "expires_on": expires_on,
        "source": source,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        require_member(uow, member_id)
        uow.ledger.lock_balance(member_id, kind)
        header = Header(key, request_hash, TransactionType.CREDIT, member_id, occurred_at, memo)
        transaction_id = open_transaction(uow, header)
        lot_id = uow.ledger.insert_lot(
            member_id=member_id,
            kind=kind,
            credited_on=occurred_at.date(),
            expires_on=expires_on,
            points=points,
            transaction_id=transaction_id,
        )
        entries = [
            Entry(source, kind, -points),
            Entry(MEMBER_AVAILABLE, kind, points, member_id, lot_id=lot_id),
        ]
        return apply_entries(uow, transaction_id, header, entries)

    return idempotent(uow, key, request, post)


def add_pending(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kind: str,
    points: int,
    occurred_at: datetime,
    reference: str | None = None,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Promise points that are not yet spendable (a ticket bought, the trip not yet taken)."""
    require_positive(points)
    request = {
        "op": "pending",
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "reference": reference,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        require_member(uow, member_id)
        uow.ledger.lock_balance(member_id, kind)
        header = Header(key, request_hash, TransactionType.PENDING, member_id, occurred_at, memo)
        transaction_id = open_transaction(uow, header)
        pending_id = uow.ledger.insert_pending(
            member_id=member_id,
            kind=kind,
            points=points,
            reference=reference,
            transaction_id=transaction_id,
        )
        entries = [
            Entry(PROGRAM_ISSUED, kind, -points),
            Entry(MEMBER_PENDING, kind, points, member_id, pending_id=pending_id),
        ]
        return apply_entries(uow, transaction_id, header, entries)

    return idempotent(uow, key, request, post)


def _settle(
    uow: UnitOfWork,
    *,
    pending_id: int,
    type_: TransactionType,
    key: str,
    request_hash: str,
    occurred_at: datetime,
    memo: dict[str, Any] | None,
) -> tuple[int, Header, Entry, int]:
    """Lock the pending item's member and check it is still open; returns the header parts."""
    pending = uow.ledger.get_pending(pending_id)
    if pending is None:
        raise NotFound(f"No pending points {pending_id}.", pending_id=pending_id)
    uow.ledger.lock_balance(pending.member_id, pending.kind)
    pending = uow.ledger.get_pending(pending_id)  # re-read under the member's lock
    assert pending is not None  # noqa: S101 - pending items are never deleted
    if pending.status != "open":
        raise PendingAlreadySettled(
            f"Pending points {pending_id} were already {pending.status}.",
            pending_id=pending_id,
            status=pending.status,
        )
    header = Header(key, request_hash, type_, pending.member_id, occurred_at, memo)
    transaction_id = open_transaction(uow, header)
    status = "confirmed" if type_ is TransactionType.CONFIRM else "voided"
    uow.ledger.settle_pending(pending_id, status)
    leg = Entry(
        MEMBER_PENDING, pending.kind, -pending.points, pending.member_id, pending_id=pending_id
    )
    return transaction_id, header, leg, pending.points


def confirm_pending(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    expires_on: date | None,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Turn pending points into a spendable lot credited on `occurred_at`'s date."""
    request = {
        "op": "confirm",
        "pending_id": pending_id,
        "occurred_at": occurred_at,
        "expires_on": expires_on,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        transaction_id, header, leg, points = _settle(
            uow,
            pending_id=pending_id,
            type_=TransactionType.CONFIRM,
            key=key,
            request_hash=request_hash,
            occurred_at=occurred_at,
            memo=memo,
        )
        assert leg.member_id is not None  # noqa: S101 - a pending leg belongs to a member
        lot_id = uow.ledger.insert_lot(
            member_id=leg.member_id,
            kind=leg.kind,
            credited_on=occurred_at.date(),
            expires_on=expires_on,
            points=points,
            transaction_id=transaction_id,
        )
        credit_leg = Entry(MEMBER_AVAILABLE, leg.kind, points, leg.member_id, lot_id=lot_id)
        return apply_entries(uow, transaction_id, header, [leg, credit_leg])

    return idempotent(uow, key, request, post)


def void_pending(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Withdraw pending points (a ticket refunded before travel)."""
    request = void_request(pending_id=pending_id, occurred_at=occurred_at, memo=memo)

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        transaction_id, header, leg, points = _settle(
            uow,
            pending_id=pending_id,
            type_=TransactionType.VOID,
            key=key,
            request_hash=request_hash,
            occurred_at=occurred_at,
            memo=memo,
        )
        entries = [leg, Entry(PROGRAM_ISSUED, leg.kind, points)]
        return apply_entries(uow, transaction_id, header, entries)

    return idempotent(uow, key, request, post)


def void_request(
    *, pending_id: int, occurred_at: datetime, memo: dict[str, Any] | None
) -> dict[str, Any]:
    """What `void_pending` fingerprints: a bulk void with the same request is the same posting."""
    return {"op": "void", "pending_id": pending_id, "occurred_at": occurred_at, "memo": memo}
