"""The ledger's one door: `post(uow, requests)` writes a batch of postings, idempotent by key.

Every write of points comes through here, a single posting being a batch of one (as
TigerBeetle's `create_transfers`). For the whole batch the door checks the keys in one query (a
key posted before replays its first result, or conflicts if the request differs), locks every
member balance the batch touches in one canonical order (member, then kind), builds each
posting under those locks (the pure builders of `domain.postings`, fed what the locks protect),
writes them set-based, opens redemption for members the batch lifted to the threshold, and
puts a `points.credited` notification in the outbox for each credit to a spendable balance.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from jifen.domain.errors import IdempotencyConflict, InvalidRequest
from jifen.domain.ledger import MEMBER_AVAILABLE
from jifen.domain.postings import Header, Posted, Posting
from jifen.services.notifications import outbox
from jifen.services.ports import EventUnitOfWork
from jifen.storage.ledger_repository import KeyTaken, StoredTransaction

Owner = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Request:
    """A posting asked for: its header, the balances it touches, and how to build it.

    `owners` and `build` run inside the door's transaction, only for a key not posted before:
    `owners` may read rows whose owner never changes (a pending item's member and kind), `build`
    runs once every owner of the batch is locked and may read what those locks protect (lots,
    the pending item's status). `build` returns None when there is nothing left to post.
    """

    header: Header
    owners: Callable[[], Iterable[Owner]]
    build: Callable[[], Posting | None]


def ready(posting: Posting) -> Request:
    """The request of a posting that needs nothing read under the locks."""
    return Request(posting.header, lambda: posting.locks, lambda: posting)


def fingerprint(request: dict[str, Any]) -> str:
    """A stable hash of a request, to tell a repeat from a different request under one key."""
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def post_one(uow: EventUnitOfWork, request: Request) -> Posted:
    """`post` for one request, which always posts something."""
    (posted,) = post(uow, [request])
    assert posted is not None  # noqa: S101 - builders of single requests never return None
    return posted


def post(uow: EventUnitOfWork, requests: Sequence[Request]) -> list[Posted | None]:
    """Write a batch of postings in one transaction; each result in the order asked.

    A key posted before gets its first result (`replayed`), or `IdempotencyConflict` if it was
    another request; any error refuses the whole batch and changes nothing. When a concurrent
    writer claims one of the keys first, the batch is rolled back and, if this is the outermost
    unit of work, asked again (the raced key then replays); inside another use case the
    `KeyTaken` goes up so that use case retries as a whole.
    """
    if not requests:
        return []
    keys = [r.header.key for r in requests]
    if len(set(keys)) != len(keys):
        raise InvalidRequest("A batch of postings names each idempotency key once.")
    outermost = uow.depth == 0
    try:
        with uow:
            results = _post(uow, requests)
            uow.commit()
            return results
    except KeyTaken:
        if not outermost:
            raise
    return post(uow, requests)


def _post(uow: EventUnitOfWork, requests: Sequence[Request]) -> list[Posted | None]:
    taken = uow.ledger.find_by_keys([r.header.key for r in requests])
    for r in requests:
        stored = taken.get(r.header.key)
        if stored is not None and stored.request_hash != r.header.request_hash:
            raise IdempotencyConflict(r.header.key)
    fresh = [r for r in requests if r.header.key not in taken]
    if fresh:
        owners = {owner for r in fresh for owner in r.owners()}
        uow.ledger.lock_balances(sorted(owners))
        postings = [p for p in (r.build() for r in fresh) if p is not None]
        for p in postings:
            if not owners.issuperset(p.locks):  # locking now would break the canonical order
                raise RuntimeError(f"Posting {p.key} touches balances its request did not name.")
        written = {p.key: w for p, w in zip(postings, uow.ledger.write(postings), strict=True)}
        unlock_redemption(uow, postings)
        outbox.points_credited(uow, [(p, written[p.key]) for p in postings])
    return [
        _replayed(taken[r.header.key]) if r.header.key in taken else written.get(r.header.key)
        for r in requests
    ]


def _replayed(stored: StoredTransaction) -> Posted:
    return Posted(stored.id, stored.type, stored.member_id, stored.entries, replayed=True)


def unlock_redemption(uow: EventUnitOfWork, postings: Sequence[Posting]) -> None:
    """Open redemption for members whose spendable balance these postings lifted to the threshold.

    Every posting passes here, whatever its source (events, partners, adjustments, campaigns, a
    cancellation's return, a refund), so the unlock commits with the points that earned it, on
    the day of the posting that reached the threshold.
    """
    unlocked = uow.ledger.unlocked  # seen while locking: nothing to open for them
    raising = (
        leg.member_id is not None
        and leg.account == MEMBER_AVAILABLE
        and leg.points > 0
        and leg.member_id not in unlocked
        for p in postings
        for leg in p.legs
    )
    if not any(raising):
        return
    rule = uow.programs.redemption_unlock()
    if rule is None:
        return
    steps: dict[int, list[tuple[date, int]]] = {}  # member: (day, spendable delta) per posting
    for p in postings:
        moved: dict[int, int] = {}
        for leg in p.legs:
            if (
                leg.member_id is not None
                and leg.account == MEMBER_AVAILABLE
                and leg.kind in rule.kinds
            ):
                moved[leg.member_id] = moved.get(leg.member_id, 0) + leg.points
        for member_id, delta in moved.items():
            if member_id not in unlocked:
                steps.setdefault(member_id, []).append((p.header.occurred_at.date(), delta))
    unlocks: list[tuple[int, date, int]] = []  # member, day, threshold
    for member_id, moves in sorted(steps.items()):
        days = {day for day, delta in moves if delta > 0}
        if len(days) == 1:  # one day (nearly always): the stored balance decides
            unlocks.append((member_id, days.pop(), rule.threshold))
        elif days:  # the day the running balance reached the threshold, if it did
            running = uow.statements.spendable(member_id, sorted(rule.kinds))
            running -= sum(delta for _day, delta in moves)
            for day, delta in moves:
                running += delta
                if delta > 0 and running >= rule.threshold:
                    unlocks.append((member_id, day, 0))
                    break
    uow.statements.unlock_redemptions(unlocks, kinds=sorted(rule.kinds))
