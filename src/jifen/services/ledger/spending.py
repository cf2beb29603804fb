"""Points going out: spends (oldest expiry first), reversals, expiry of lots, system transfers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from jifen.domain import postings
from jifen.domain.errors import InsufficientPoints, NotFound
from jifen.domain.ledger import PROGRAM_REDEEMED, Lot, require_positive
from jifen.domain.postings import Header, Posted, Posting
from jifen.services.ledger.posting import Request, fingerprint, post, post_one, ready
from jifen.services.unit_of_work import UnitOfWork


def spendable(uow: UnitOfWork, member_id: int, kinds: Sequence[str], day: date) -> dict[str, int]:
    """The points of each of `kinds` (in that order) the member can spend on `day`."""
    lots = {kind: uow.ledger.open_lots(member_id, kind) for kind in kinds}
    return {k: sum(lot.remaining for lot in lots[k] if lot.spendable_on(day)) for k in kinds}


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
    postings.require_system_account(to_account)
    request = {
        "op": "spend",
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "to_account": to_account,
        "memo": memo,
    }
    header = Header(key, fingerprint(request), occurred_at, memo)

    def build() -> Posting:
        lots = uow.ledger.open_lots(member_id, kind)
        available = sum(lot.remaining for lot in lots)  # the balance: its lots' remainders
        if available < points:
            raise InsufficientPoints(
                member_id=member_id, kind=kind, needed=points, available=available
            )
        return postings.spend(
            header,
            lots,
            member_id=member_id,
            kind=kind,
            points=points,
            to_account=to_account,
        )

    return post_one(uow, Request(header, lambda: [(member_id, kind)], build))


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
    header = Header(key, fingerprint(request), occurred_at, memo)

    @cache  # a transaction never changes: read once for its owners and its mirror
    def original() -> Any:
        found = uow.ledger.get_transaction(transaction_id)
        if found is None:
            raise NotFound(f"No transaction {transaction_id}.", transaction_id=transaction_id)
        return found

    def owners() -> set[tuple[int, str]]:
        return {(e.member_id, e.kind) for e in original().entries if e.member_id is not None}

    def build() -> Posting:
        found = original()
        lot_ids = {e.lot_id for e in found.entries if e.lot_id is not None}
        return postings.reversal(
            header,
            transaction_id=transaction_id,
            type_=found.type,
            member_id=found.member_id,
            legs=found.entries,
            lots=uow.ledger.lots_by_id(sorted(lot_ids)),
        )

    return post_one(uow, Request(header, owners, build))


def expire_lot(
    uow: UnitOfWork,
    *,
    key: str,
    lot_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Expire what is left of a lot whose expiry date has come by `occurred_at`'s date."""
    (posted,) = expire_lots(uow, [lot_id], key=lambda _lot: key, at=occurred_at, memo=memo)
    assert posted is not None  # noqa: S101 - a lot with nothing to expire raises
    return posted


def expire_lots(
    uow: UnitOfWork,
    lot_ids: Sequence[int],
    *,
    key: Callable[[int], str],
    at: datetime,
    memo: dict[str, Any] | None,
    skip_spent: bool = False,
) -> list[Posted | None]:
    """Expire many lots in one batch through the door, reading them in one query each side.

    Each lot's posting is keyed `key(lot_id)` and fingerprinted as `expire_lot` does. With
    `skip_spent` (the daily job), a lot that has nothing left to expire by then (spent or
    expired meanwhile) gets None instead of `LotNotExpirable`.
    """
    under_locks: dict[int, Lot] = {}

    def current(lot_id: int) -> Lot:
        if not under_locks:  # the first build runs with every owner locked: read them all once
            under_locks.update(uow.ledger.lots_by_id(lot_ids))
        return under_locks[lot_id]

    def request(lot: Lot) -> Request:
        fields = {"op": "expire", "lot_id": lot.id, "occurred_at": at, "memo": memo}
        header = Header(key(lot.id), fingerprint(fields), at, memo)

        def build() -> Posting | None:
            now = current(lot.id)
            if skip_spent and not now.expirable_on(at.date()):
                return None
            return postings.expiry(header, now)

        return Request(header, lambda: [(lot.member_id, lot.kind)], build)

    with uow:
        owners = uow.ledger.lots_by_id(lot_ids)  # a lot's member and kind never change
        for lot_id in lot_ids:
            if lot_id not in owners:
                raise NotFound(f"No lot {lot_id}.", lot_id=lot_id)
        results = post(uow, [request(owners[i]) for i in lot_ids])
        uow.commit()
    return results


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
    request = {
        "op": "transfer",
        "from_account": from_account,
        "to_account": to_account,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "memo": memo,
    }
    header = Header(key, fingerprint(request), occurred_at, memo)
    posting = postings.transfer(
        header, from_account=from_account, to_account=to_account, kind=kind, points=points
    )
    return post_one(uow, ready(posting))
