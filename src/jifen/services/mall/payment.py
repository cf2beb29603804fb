"""Paying with points from the program's mall kinds, refunds, and once-only use cases."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from jifen.domain.errors import InsufficientPoints, InvalidRequest, NotReversible
from jifen.domain.ledger import MEMBER_AVAILABLE
from jifen.services import ledger
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.mall_repository import MallRowTaken

T = TypeVar("T")


def run_once(
    uow: UnitOfWork, *, find: Callable[[], T | None], make: Callable[[], T]
) -> tuple[T, bool]:
    """`make` the result in one transaction unless `find` has it already; `(result, replayed)`.

    Both run inside the unit of work. When a concurrent request under the same id commits first,
    ours fails on a unique key, everything it did rolls back, and their stored result is returned.
    """
    outermost = uow.depth == 0
    try:
        with uow:
            found = find()
            if found is None:
                made = make()
                uow.commit()
                return made, False
    except (KeyTaken, MallRowTaken):
        if not outermost:
            raise  # the enclosing use case's transaction is spoilt; it retries as a whole
        with uow:
            found = find()
    assert found is not None  # noqa: S101 - the id is taken, so its row exists
    return found, True


def lock_balances_of(uow: UnitOfWork, member_id: int, kinds: Iterable[str]) -> None:
    """Take the member's balance rows of `kinds`, in one fixed order so two payers never deadlock.

    Callers lock a product row (if any) first: product, then member, never the reverse.
    """
    uow.ledger.lock_balances(sorted({(member_id, kind) for kind in kinds}))


def split_payment(
    points: int, available: Mapping[str, int], *, member_id: int
) -> list[tuple[str, int]]:
    """How much of `points` each kind pays: the first kind as far as it goes, then the next.

    `available` holds the spendable points per kind in paying order. Raises `InsufficientPoints`
    when all of them together fall short.
    """
    total = sum(available.values())
    if total < points:
        kinds = "+".join(available)
        raise InsufficientPoints(member_id=member_id, kind=kinds, needed=points, available=total)
    parts, left = [], points
    for kind, have in available.items():
        take = min(left, have)
        if take:
            parts.append((kind, take))
            left -= take
    return parts


def pay(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kinds: tuple[str, ...],
    points: int,
    occurred_at: datetime,
    to_account: str,
    memo: dict[str, Any],
) -> list[ledger.Posted]:
    """Spend `points` from `kinds` in order into `to_account`: one ledger spend per kind used.

    Each spend is keyed `<key>:<kind>`. The caller holds the member's lock (`lock_balances_of`), so
    what is counted here is still there when it is spent. Nothing is spent for zero points.
    """
    if not kinds:
        raise InvalidRequest(
            "The program names no point kinds to pay with (redemption.mall_kinds)."
        )
    available = ledger.spendable(uow, member_id, kinds, occurred_at.date())
    return [
        ledger.spend(
            uow,
            key=f"{key}:{kind}",
            member_id=member_id,
            kind=kind,
            points=part,
            occurred_at=occurred_at,
            to_account=to_account,
            memo=memo,
        )
        for kind, part in split_payment(points, available, member_id=member_id)
    ]


def refund(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kinds: tuple[str, ...],
    points: int,
    occurred_at: datetime,
    memo: dict[str, Any],
) -> list[ledger.Posted]:
    """Reverse what `pay` spent under `key`, putting the points back on the lots they came from.

    Refuses (`NotReversible`) unless the spends found add up to `points`, so a refund is never
    partial.
    """
    lock_balances_of(uow, member_id, kinds)
    spends = [t for kind in kinds if (t := uow.ledger.find_by_key(f"{key}:{kind}")) is not None]
    found = -sum(e.points for t in spends for e in t.entries if e.account == MEMBER_AVAILABLE)
    if found != points:
        raise NotReversible(
            f"The payment under {key!r} was {points} points but {found} were found to refund.",
            key=key,
        )
    return [
        ledger.reverse(
            uow,
            key=f"{spend.idempotency_key}:refund",
            transaction_id=spend.id,
            occurred_at=occurred_at,
            memo=memo,
        )
        for spend in spends
    ]
