"""How every ledger write is made: idempotent by key, balanced, with balances and lots moved."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jifen.domain.errors import (
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
)
from jifen.domain.ledger import (
    MEMBER_ACCOUNTS,
    Entry,
    TransactionType,
    check_balanced,
    lot_deltas,
    member_deltas,
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


def idempotent(uow: UnitOfWork, key: str, request: dict[str, Any], post: Post) -> Posted:
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
class Header:
    """What every transaction records besides its entries."""

    key: str
    request_hash: str
    type: TransactionType
    member_id: int | None
    occurred_at: datetime
    memo: dict[str, Any] | None
    reverses_id: int | None = None


def open_transaction(uow: UnitOfWork, header: Header) -> int:
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


def apply_entries(
    uow: UnitOfWork, transaction_id: int, header: Header, entries: list[Entry]
) -> Posted:
    """Append balanced entries and move the member balances and lots they touch.

    The caller has locked every member balance the entries touch.
    """
    check_balanced(entries)
    uow.ledger.insert_entries(transaction_id, entries)
    raised: dict[int, set[str]] = {}
    for (owner, kind), (available, pending) in member_deltas(entries).items():
        uow.ledger.move_balance(owner, kind, available=available, pending=pending)
        if available > 0:
            raised.setdefault(owner, set()).add(kind)
    uow.ledger.move_lots(lot_deltas(entries))
    if raised:
        unlock_redemption(uow, raised, on=header.occurred_at.date())
    return Posted(transaction_id, header.type, header.member_id, tuple(entries))


def unlock_redemption(uow: UnitOfWork, raised: dict[int, set[str]], *, on: date) -> None:
    """Open redemption for members whose spendable balance this posting lifted to the threshold.

    Every posting passes here, whatever its source (events, partners, adjustments, campaigns, a
    cancellation's return, a refund), so the unlock commits with the points that earned it.
    """
    rule = uow.programs.redemption_unlock()
    if rule is None:
        return
    for member_id, kinds in sorted(raised.items()):
        if not kinds.isdisjoint(rule.kinds):
            uow.statements.unlock_redemption(
                member_id, kinds=sorted(rule.kinds), threshold=rule.threshold, on=on
            )


def require_member(uow: UnitOfWork, member_id: int) -> None:
    if not uow.ledger.member_exists(member_id):
        raise NotFound(f"No member {member_id}.", member_id=member_id)


def require_system_account(account: str) -> None:
    if account in MEMBER_ACCOUNTS or not account.count(":") == 1:
        raise InvalidRequest(f"{account!r} is not a system account such as 'program:issued'.")
