"""Points going out: spends (oldest expiry first), reversals, expiry of lots, system transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jifen.domain.errors import (
    InsufficientPoints,
    InvalidRequest,
    LotNotExpirable,
    NotFound,
    NotReversible,
)
from jifen.domain.ledger import (
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_EXPIRED,
    PROGRAM_REDEEMED,
    Entry,
    TransactionType,
    allocate,
    lot_deltas,
    member_deltas,
    require_positive,
    spend_entries,
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


def spend(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kind: str,
    points: int,
    occurred_at: datetime,
    to_account: str = PROGRAM_REDEEMED,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Spend points from the member's lots, oldest expiry first, into `to_account`.

    Lots whose expiry date has come by `occurred_at`'s date are not spent, even before the daily
    job has expired them. Raises `InsufficientPoints` when the member has too few.
    """
    require_positive(points)
    require_system_account(to_account)
    request = {
        "op": "spend",
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "to_account": to_account,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        require_member(uow, member_id)
        balance = uow.ledger.lock_balance(member_id, kind)
        if balance.available < points:
            raise InsufficientPoints(
                member_id=member_id, kind=kind, needed=points, available=balance.available
            )
        allocations = allocate(
            uow.ledger.open_lots(member_id, kind),
            member_id=member_id,
            kind=kind,
            points=points,
            on=occurred_at.date(),
        )
        header = Header(key, request_hash, TransactionType.SPEND, member_id, occurred_at, memo)
        transaction_id = open_transaction(uow, header)
        entries = spend_entries(allocations, member_id=member_id, kind=kind, to_account=to_account)
        return apply_entries(uow, transaction_id, header, entries)

    return idempotent(uow, key, request, post)


def reverse(
    uow: UnitOfWork,
    *,
    key: str,
    transaction_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Post the mirror image of a transaction, restoring the lots it took or filled.

    Pending points are settled by confirm or void, not reversed; a reversal is not reversed; a
    credit whose lot has been spent from cannot be reversed (claw back with an adjustment).
    """
    request = {
        "op": "reverse",
        "transaction_id": transaction_id,
        "occurred_at": occurred_at,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        original = uow.ledger.get_transaction(transaction_id)
        if original is None:
            raise NotFound(f"No transaction {transaction_id}.", transaction_id=transaction_id)
        if original.type == TransactionType.REVERSAL or any(
            e.account == MEMBER_PENDING for e in original.entries
        ):
            raise NotReversible(
                f"A {original.type} transaction cannot be reversed.",
                transaction_id=transaction_id,
                type=original.type,
            )
        entries = [e.reversed() for e in original.entries]
        for owner, kind in sorted(member_deltas(entries)):
            uow.ledger.lock_balance(owner, kind)
        _require_lots_can_take(uow, entries, transaction_id)
        header = Header(
            key,
            request_hash,
            TransactionType.REVERSAL,
            original.member_id,
            occurred_at,
            memo,
            reverses_id=transaction_id,
        )
        return apply_entries(uow, open_transaction(uow, header), header, entries)

    return idempotent(uow, key, request, post)


def _require_lots_can_take(uow: UnitOfWork, entries: list[Entry], transaction_id: int) -> None:
    for lot_id, delta in lot_deltas(entries).items():
        lot = uow.ledger.get_lot(lot_id)
        assert lot is not None  # noqa: S101 - entries point only at existing lots
        if not 0 <= lot.remaining + delta <= lot.original:
            raise NotReversible(
                f"Lot {lot_id} has {lot.remaining} points left of {lot.original}; "
                f"reversing transaction {transaction_id} would move it by {delta}.",
                transaction_id=transaction_id,
                lot_id=lot_id,
            )


def expire_lot(
    uow: UnitOfWork,
    *,
    key: str,
    lot_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Expire what is left of a lot whose expiry date has come by `occurred_at`'s date."""
    request = {"op": "expire", "lot_id": lot_id, "occurred_at": occurred_at, "memo": memo}

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        lot = uow.ledger.get_lot(lot_id)
        if lot is None:
            raise NotFound(f"No lot {lot_id}.", lot_id=lot_id)
        uow.ledger.lock_balance(lot.member_id, lot.kind)
        lot = uow.ledger.get_lot(lot_id)  # re-read under the member's lock
        assert lot is not None  # noqa: S101 - lots are never deleted
        day = occurred_at.date()
        if lot.remaining == 0 or lot.expires_on is None or lot.expires_on > day:
            raise LotNotExpirable(
                f"Lot {lot_id} (expires {lot.expires_on}, {lot.remaining} left) "
                f"has nothing to expire on {day}.",
                lot_id=lot_id,
            )
        header = Header(key, request_hash, TransactionType.EXPIRY, lot.member_id, occurred_at, memo)
        entries = [
            Entry(MEMBER_AVAILABLE, lot.kind, -lot.remaining, lot.member_id, lot_id=lot_id),
            Entry(PROGRAM_EXPIRED, lot.kind, lot.remaining),
        ]
        return apply_entries(uow, open_transaction(uow, header), header, entries)

    return idempotent(uow, key, request, post)


def transfer(
    uow: UnitOfWork,
    *,
    key: str,
    from_account: str,
    to_account: str,
    kind: str,
    points: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Move points between two system accounts (held points on to `program:redeemed`).

    No member balance moves, so nothing is locked: a hot system account never serialises.
    """
    require_positive(points)
    require_system_account(from_account)
    require_system_account(to_account)
    if from_account == to_account:
        raise InvalidRequest(f"A transfer needs two accounts, not {from_account!r} twice.")
    request = {
        "op": "transfer",
        "from_account": from_account,
        "to_account": to_account,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "memo": memo,
    }

    def post(uow: UnitOfWork, request_hash: str) -> Posted:
        header = Header(key, request_hash, TransactionType.TRANSFER, None, occurred_at, memo)
        entries = [Entry(from_account, kind, -points), Entry(to_account, kind, points)]
        return apply_entries(uow, open_transaction(uow, header), header, entries)

    return idempotent(uow, key, request, post)
