"""Ledger use cases: credit, pending points, spend, reverse and expire, each idempotent by key.

Every use case takes a unit of work, an idempotency `key` chosen by the caller, and the time the
movement happens (`occurred_at`, an aware datetime in the program's time zone: its date is the
day lots are credited, spent and expired on). The same key with the same request returns the
first result and changes nothing; the same key with another request raises
`IdempotencyConflict`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jifen.domain.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidRequest,
    LotNotExpirable,
    NotFound,
    NotReversible,
    PendingAlreadySettled,
)
from jifen.domain.ledger import (
    MEMBER_ACCOUNTS,
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_EXPIRED,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    Entry,
    TransactionType,
    allocate,
    check_balanced,
    lot_deltas,
    member_deltas,
    require_positive,
    spend_entries,
)
from jifen.storage.ledger_repository import KeyTaken, StoredTransaction
from jifen.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Posted:
    """The result of a ledger write: the transaction and its entries (`replayed` on a repeat)."""

    transaction_id: int
    type: str
    member_id: int | None
    entries: tuple[Entry, ...]
    replayed: bool = False

    @property
    def lot_ids(self) -> list[int]:
        """The lots this transaction touched, in entry order."""
        return [e.lot_id for e in self.entries if e.lot_id is not None]

    @property
    def pending_id(self) -> int | None:
        """The pending item this transaction created or settled, if any."""
        return next((e.pending_id for e in self.entries if e.pending_id is not None), None)


Post = Callable[[UnitOfWork, str], Posted]


def fingerprint(request: dict[str, Any]) -> str:
    """A stable hash of a request, to tell a repeat from a different request under one key."""
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _posted(stored: StoredTransaction, *, replayed: bool) -> Posted:
    return Posted(stored.id, stored.type, stored.member_id, stored.entries, replayed)


def _idempotent(uow: UnitOfWork, key: str, request: dict[str, Any], post: Post) -> Posted:
    """Run `post` once per key; a repeat gets the first result, another request a conflict."""
    if not key or len(key) > 200:
        raise InvalidRequest("An idempotency key of 1 to 200 characters is required.")
    request_hash = fingerprint(request)
    outermost = uow.depth == 0
    try:
        with uow:
            stored = uow.ledger.find_by_key(key)
            if stored is None:
                posted = post(uow, request_hash)
                uow.commit()
                return posted
    except KeyTaken:
        if not outermost:
            raise  # the enclosing use case's transaction is spoilt; it retries as a whole
        # A concurrent writer committed this key first; ours was rolled back. Read theirs.
        with uow:
            stored = uow.ledger.find_by_key(key)
    assert stored is not None  # noqa: S101 - the key is taken, so its transaction exists
    if stored.request_hash != request_hash:
        raise IdempotencyConflict(key)
    return _posted(stored, replayed=True)


@dataclass(frozen=True, slots=True)
class _Header:
    """What every transaction records besides its entries."""

    key: str
    request_hash: str
    type: TransactionType
    member_id: int | None
    occurred_at: datetime
    memo: dict[str, Any] | None
    reverses_id: int | None = None


def _open(uow: UnitOfWork, header: _Header) -> int:
    """Write the transaction header, claiming the idempotency key; returns its id."""
    return uow.ledger.insert_transaction(
        key=header.key,
        request_hash=header.request_hash,
        type_=header.type,
        member_id=header.member_id,
        occurred_at=header.occurred_at,
        memo=header.memo or {},
        reverses_id=header.reverses_id,
    )


def _apply(uow: UnitOfWork, transaction_id: int, header: _Header, entries: list[Entry]) -> Posted:
    """Append balanced entries and move the member balances and lots they touch.

    The caller has locked every member balance the entries touch.
    """
    check_balanced(entries)
    uow.ledger.insert_entries(transaction_id, entries)
    for (owner, kind), (available, pending) in member_deltas(entries).items():
        uow.ledger.move_balance(owner, kind, available=available, pending=pending)
    uow.ledger.move_lots(lot_deltas(entries))
    return Posted(transaction_id, header.type, header.member_id, tuple(entries))


def _require_member(uow: UnitOfWork, member_id: int) -> None:
    if not uow.ledger.member_exists(member_id):
        raise NotFound(f"No member {member_id}.", member_id=member_id)


def _require_system_account(account: str) -> None:
    if account in MEMBER_ACCOUNTS or not account.count(":") == 1:
        raise InvalidRequest(f"{account!r} is not a system account such as 'program:issued'.")


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
    _require_system_account(source)
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
        _require_member(uow, member_id)
        uow.ledger.lock_balance(member_id, kind)
        header = _Header(key, request_hash, TransactionType.CREDIT, member_id, occurred_at, memo)
        transaction_id = _open(uow, header)
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
        return _apply(uow, transaction_id, header, entries)

    return _idempotent(uow, key, request, post)


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
        _require_member(uow, member_id)
        uow.ledger.lock_balance(member_id, kind)
        header = _Header(key, request_hash, TransactionType.PENDING, member_id, occurred_at, memo)
        transaction_id = _open(uow, header)
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
        return _apply(uow, transaction_id, header, entries)

    return _idempotent(uow, key, request, post)


def _settle(
    uow: UnitOfWork,
    *,
    pending_id: int,
    type_: TransactionType,
    key: str,
    request_hash: str,
    occurred_at: datetime,
    memo: dict[str, Any] | None,
) -> tuple[int, _Header, Entry, int]:
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
    header = _Header(key, request_hash, type_, pending.member_id, occurred_at, memo)
    transaction_id = _open(uow, header)
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
        return _apply(uow, transaction_id, header, [leg, credit_leg])

    return _idempotent(uow, key, request, post)


def void_pending(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Withdraw pending points (a ticket refunded before travel)."""
    request = {"op": "void", "pending_id": pending_id, "occurred_at": occurred_at, "memo": memo}

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
        return _apply(uow, transaction_id, header, entries)

    return _idempotent(uow, key, request, post)


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
    _require_system_account(to_account)
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
        _require_member(uow, member_id)
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
        header = _Header(key, request_hash, TransactionType.SPEND, member_id, occurred_at, memo)
        transaction_id = _open(uow, header)
        entries = spend_entries(allocations, member_id=member_id, kind=kind, to_account=to_account)
        return _apply(uow, transaction_id, header, entries)

    return _idempotent(uow, key, request, post)


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
        header = _Header(
            key,
            request_hash,
            TransactionType.REVERSAL,
            original.member_id,
            occurred_at,
            memo,
            reverses_id=transaction_id,
        )
        return _apply(uow, _open(uow, header), header, entries)

    return _idempotent(uow, key, request, post)


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
        header = _Header(
            key, request_hash, TransactionType.EXPIRY, lot.member_id, occurred_at, memo
        )
        entries = [
            Entry(MEMBER_AVAILABLE, lot.kind, -lot.remaining, lot.member_id, lot_id=lot_id),
            Entry(PROGRAM_EXPIRED, lot.kind, lot.remaining),
        ]
        return _apply(uow, _open(uow, header), header, entries)

    return _idempotent(uow, key, request, post)
