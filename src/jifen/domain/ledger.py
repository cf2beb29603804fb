"""Ledger maths: accounts, entries, lots, and the pure rules that keep every point accounted for.

A journal transaction is a set of entries that sums to zero for every point kind. Member accounts
carry the member's id beside the account code (`member:available` with member 42 is rendered
`member:42:available`); system accounts such as `program:issued` have no member and no stored
balance, so no posting ever locks or updates them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jifen.domain.errors import InsufficientPoints, InvalidRequest, UnbalancedTransaction

PROGRAM_ISSUED = "program:issued"
PROGRAM_REDEEMED = "program:redeemed"
PROGRAM_EXPIRED = "program:expired"
PROGRAM_FORFEITED = "program:forfeited"
MEMBER_AVAILABLE = "member:available"
MEMBER_PENDING = "member:pending"
MEMBER_ACCOUNTS = frozenset({MEMBER_AVAILABLE, MEMBER_PENDING})


class TransactionType(StrEnum):
    """What a journal transaction did."""

    CREDIT = "credit"
    PENDING = "pending"
    CONFIRM = "confirm"
    VOID = "void"
    SPEND = "spend"
    REVERSAL = "reversal"
    EXPIRY = "expiry"
    TRANSFER = "transfer"
    """A move between two system accounts (held points becoming redeemed)."""


def account_name(account: str, member_id: int | None) -> str:
    """The account as people read it: `member:42:available`, or a system account as it is."""
    if member_id is None:
        return account
    owner, bucket = account.split(":", 1)
    return f"{owner}:{member_id}:{bucket}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One leg of a journal transaction: `points` (signed) on an account, for one point kind."""

    account: str
    kind: str
    points: int
    member_id: int | None = None
    lot_id: int | None = None
    pending_id: int | None = None

    def reversed(self) -> Entry:
        """The same leg with the opposite sign, on the same lot or pending item."""
        return Entry(
            self.account, self.kind, -self.points, self.member_id, self.lot_id, self.pending_id
        )


@dataclass(frozen=True, slots=True)
class Lot:
    """A credit of spendable points; `expires_on` is the first day it can no longer be spent."""

    id: int
    member_id: int
    kind: str
    credited_on: date
    expires_on: date | None
    original: int
    remaining: int

    def spendable_on(self, day: date) -> bool:
        """Whether the lot still has points that may be spent on `day`."""
        return self.remaining > 0 and (self.expires_on is None or day < self.expires_on)

    def expirable_on(self, day: date) -> bool:
        """Whether the lot has points left whose expiry date has come by `day`."""
        return self.remaining > 0 and self.expires_on is not None and self.expires_on <= day


@dataclass(frozen=True, slots=True)
class Allocation:
    """How many points a spend takes from one lot."""

    lot_id: int
    points: int


def require_positive(points: int) -> int:
    """Refuse amounts that are not whole positive numbers of points."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidRequest(f"Points must be a whole number above zero, not {points!r}.")
    return points


def spending_order(lot: Lot) -> tuple[date, int]:
    """Oldest expiry first (先入先出); lots that never expire last; ties by age of the lot."""
    return (lot.expires_on or date.max, lot.id)


def allocate(
    lots: Iterable[Lot], *, member_id: int, kind: str, points: int, on: date
) -> list[Allocation]:
    """Choose the lots a spend of `points` consumes on day `on`, oldest expiry first.

    Takes the member's open lots of one kind; returns one allocation per lot touched, in spending
    order. Raises `InsufficientPoints` when the lots spendable on `on` do not cover the amount.
    """
    require_positive(points)
    usable = sorted((lot for lot in lots if lot.spendable_on(on)), key=spending_order)
    available = sum(lot.remaining for lot in usable)
    if available < points:
        raise InsufficientPoints(member_id=member_id, kind=kind, needed=points, available=available)
    allocations: list[Allocation] = []
    left = points
    for lot in usable:
        take = min(left, lot.remaining)
        allocations.append(Allocation(lot.id, take))
        left -= take
        if left == 0:
            break
    return allocations


def check_balanced(entries: Sequence[Entry]) -> None:
    """Refuse a transaction that is empty or does not sum to zero for each point kind."""
    if len(entries) < 2:
        raise UnbalancedTransaction("A journal transaction needs at least two entries.")
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        totals[entry.kind] += entry.points
    unbalanced = {kind: total for kind, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"Entries do not sum to zero: {unbalanced}.", totals=unbalanced)


def spend_entries(
    allocations: Sequence[Allocation], *, member_id: int, kind: str, to_account: str
) -> list[Entry]:
    """The legs of a spend: one debit per lot taken, one credit to the receiving account."""
    legs = [
        Entry(MEMBER_AVAILABLE, kind, -a.points, member_id, lot_id=a.lot_id) for a in allocations
    ]
    legs.append(Entry(to_account, kind, sum(a.points for a in allocations)))
    return legs
