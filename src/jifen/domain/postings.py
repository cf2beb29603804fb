"""Postings: a journal transaction as one frozen value, built by pure functions and checked here.

A `Posting` is what the ledger's one door (`services.ledger.post`) writes: a header (idempotency
key, request fingerprint, type, member, time, memo), its balanced legs, and what it opens or
settles. A posting that opens a lot or a pending item names the new row by its funding leg (the
member leg with no `lot_id` / `pending_id` yet); the door gives it its id when it is written.
The builders below are the only ways postings are made; each refuses what makes no sense.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from jifen.domain.errors import (
    InvalidRequest,
    LotNotExpirable,
    NotReversible,
    PendingAlreadySettled,
)
from jifen.domain.ledger import (
    MEMBER_ACCOUNTS,
    MEMBER_AVAILABLE,
    MEMBER_PENDING,
    PROGRAM_EXPIRED,
    PROGRAM_ISSUED,
    Entry,
    Lot,
    TransactionType,
    allocate,
    check_balanced,
    require_positive,
    spend_entries,
)

KEY_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Header:
    """What every posting records besides its legs: the caller's key and what it asked."""

    key: str
    request_hash: str
    occurred_at: datetime
    memo: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > KEY_LIMIT:
            raise InvalidRequest(f"An idempotency key of 1 to {KEY_LIMIT} characters is required.")


@dataclass(frozen=True, slots=True)
class OpensLot:
    """The posting opens a lot of spendable points, credited and expiring on these days."""

    credited_on: date
    expires_on: date | None


@dataclass(frozen=True, slots=True)
class OpensPending:
    """The posting opens a pending item (points promised, e.g. for a ticket not yet travelled)."""

    reference: str | None


@dataclass(frozen=True, slots=True)
class PendingItem:
    """Points promised to a member, as the ledger holds them."""

    id: int
    member_id: int
    kind: str
    points: int
    status: str
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal transaction to write: balanced legs, checked when the value is made."""

    header: Header
    type: TransactionType
    member_id: int | None
    legs: tuple[Entry, ...]
    opens: OpensLot | OpensPending | None = None
    settles: tuple[int, str] | None = None  # (pending item, "confirmed" | "voided")
    reverses_id: int | None = None
    locks: tuple[tuple[int, str], ...] = field(init=False)
    """The member balances the legs move, sorted: the order the door locks them in."""
    funding: int = field(init=False)
    """The index of the leg that funds the lot or pending item this posting opens (-1: none)."""

    def __post_init__(self) -> None:
        check_balanced(self.legs)
        owners = {(e.member_id, e.kind) for e in self.legs if e.member_id is not None}
        object.__setattr__(self, "locks", tuple(sorted(owners)))
        object.__setattr__(self, "funding", self._funding_leg())

    @property
    def key(self) -> str:
        return self.header.key

    def _funding_leg(self) -> int:
        if self.opens is None:
            return -1
        account = MEMBER_AVAILABLE if isinstance(self.opens, OpensLot) else MEMBER_PENDING
        for i, leg in enumerate(self.legs):
            new = leg.lot_id is None and leg.pending_id is None
            if leg.account == account and leg.points > 0 and new:
                return i
        raise InvalidRequest(f"No leg of this {self.type} posting funds what it opens.")


def credit(
    header: Header, *, member_id: int, kind: str, points: int, expires_on: date | None, source: str
) -> Posting:
    """Spendable points from a system account into a new lot that expires on `expires_on`."""
    require_positive(points)
    require_system_account(source)
    legs = (Entry(source, kind, -points), Entry(MEMBER_AVAILABLE, kind, points, member_id))
    opens = OpensLot(header.occurred_at.date(), expires_on)
    return Posting(header, TransactionType.CREDIT, member_id, legs, opens=opens)


def pending(
    header: Header, *, member_id: int, kind: str, points: int, reference: str | None
) -> Posting:
    """Points promised, not yet spendable: a new pending item."""
    require_positive(points)
    legs = (Entry(PROGRAM_ISSUED, kind, -points), Entry(MEMBER_PENDING, kind, points, member_id))
    return Posting(header, TransactionType.PENDING, member_id, legs, opens=OpensPending(reference))


def confirm(header: Header, item: PendingItem, *, expires_on: date | None) -> Posting:
    """An open pending item turned into a spendable lot credited on the header's date."""
    legs = (
        _pending_leg(item),
        Entry(MEMBER_AVAILABLE, item.kind, item.points, item.member_id),
    )
    opens = OpensLot(header.occurred_at.date(), expires_on)
    return Posting(
        header,
        TransactionType.CONFIRM,
        item.member_id,
        legs,
        opens=opens,
        settles=(item.id, "confirmed"),
    )


def void(header: Header, item: PendingItem) -> Posting:
    """An open pending item withdrawn: its points go back to `program:issued`."""
    legs = (_pending_leg(item), Entry(PROGRAM_ISSUED, item.kind, item.points))
    return Posting(header, TransactionType.VOID, item.member_id, legs, settles=(item.id, "voided"))


def _pending_leg(item: PendingItem) -> Entry:
    if item.status != "open":
        raise PendingAlreadySettled(
            f"Pending points {item.id} were already {item.status}.",
            pending_id=item.id,
            status=item.status,
        )
    return Entry(MEMBER_PENDING, item.kind, -item.points, item.member_id, pending_id=item.id)


def spend(
    header: Header,
    lots: Iterable[Lot],
    *,
    member_id: int,
    kind: str,
    points: int,
    to_account: str,
) -> Posting:
    """Points out of the member's lots, oldest expiry first, into a system account."""
    require_system_account(to_account)
    allocations = allocate(
        lots, member_id=member_id, kind=kind, points=points, on=header.occurred_at.date()
    )
    legs = spend_entries(allocations, member_id=member_id, kind=kind, to_account=to_account)
    return Posting(header, TransactionType.SPEND, member_id, tuple(legs))


def expiry(header: Header, lot: Lot) -> Posting:
    """What is left of a lot due by the header's date, moved to `program:expired`."""
    day = header.occurred_at.date()
    if not lot.expirable_on(day):
        raise LotNotExpirable(
            f"Lot {lot.id} (expires {lot.expires_on}, {lot.remaining} left) "
            f"has nothing to expire on {day}.",
            lot_id=lot.id,
        )
    legs = (
        Entry(MEMBER_AVAILABLE, lot.kind, -lot.remaining, lot.member_id, lot_id=lot.id),
        Entry(PROGRAM_EXPIRED, lot.kind, lot.remaining),
    )
    return Posting(header, TransactionType.EXPIRY, lot.member_id, legs)


def transfer(
    header: Header, *, from_account: str, to_account: str, kind: str, points: int
) -> Posting:
    """Points between two system accounts (held points on to `program:redeemed`)."""
    require_positive(points)
    require_system_account(from_account)
    require_system_account(to_account)
    if from_account == to_account:
        raise InvalidRequest(f"A transfer needs two accounts, not {from_account!r} twice.")
    legs = (Entry(from_account, kind, -points), Entry(to_account, kind, points))
    return Posting(header, TransactionType.TRANSFER, None, legs)


def reversal(
    header: Header,
    *,
    transaction_id: int,
    type_: str,
    member_id: int | None,
    legs: Sequence[Entry],
    lots: Mapping[int, Lot],
) -> Posting:
    """The mirror image of a transaction, on the same lots; `lots` are the lots its legs name.

    Pending points are settled by confirm or void, not reversed; a reversal is not reversed; a
    lot the mirror would push out of `0..original` (a credit already spent from) refuses it.
    """
    if type_ == TransactionType.REVERSAL or any(e.account == MEMBER_PENDING for e in legs):
        raise NotReversible(
            f"A {type_} transaction cannot be reversed.",
            transaction_id=transaction_id,
            type=type_,
        )
    mirrored = tuple(e.reversed() for e in legs)
    moves: dict[int, int] = {}
    for e in mirrored:
        if e.lot_id is not None:
            moves[e.lot_id] = moves.get(e.lot_id, 0) + e.points
    for lot_id, delta in moves.items():
        lot = lots[lot_id]
        if not 0 <= lot.remaining + delta <= lot.original:
            raise NotReversible(
                f"Lot {lot_id} has {lot.remaining} points left of {lot.original}; "
                f"reversing transaction {transaction_id} would move it by {delta}.",
                transaction_id=transaction_id,
                lot_id=lot_id,
            )
    return Posting(
        header, TransactionType.REVERSAL, member_id, mirrored, reverses_id=transaction_id
    )


def require_system_account(account: str) -> None:
    """Refuse a member account, or a name that is not `owner:bucket`, where a system one is due."""
    if account in MEMBER_ACCOUNTS or not account.count(":") == 1:
        raise InvalidRequest(f"{account!r} is not a system account such as 'program:issued'.")


@dataclass(frozen=True, slots=True)
class Posted:
    """A posting as written: its transaction and legs (`replayed`: the key was posted before)."""

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
