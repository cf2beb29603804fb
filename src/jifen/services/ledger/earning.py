"""Points coming in: credits into lots, and pending points confirmed or voided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from jifen.domain import postings
from jifen.domain.errors import NotFound
from jifen.domain.ledger import PROGRAM_ISSUED
from jifen.domain.postings import Header, PendingItem, Posted, Posting
from jifen.services.ledger.posting import Request, fingerprint, post_one, ready
from jifen.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class _Incoming:
    """Points coming to a member: the key, whose, which kind, how many, when."""

    key: str
    member_id: int
    kind: str
    points: int
    occurred_at: datetime

    def _header(self, op: str) -> Header:
        """Fingerprinted by every field but the key, as the ledger has always hashed them."""
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "key"}
        memo = given.get("memo")
        return Header(self.key, fingerprint({"op": op, **given}), self.occurred_at, memo)

    def _of(self, *names: str) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("member_id", "kind", "points", *names)}


@dataclass(frozen=True, slots=True)
class Credit(_Incoming):
    """Spendable points into a new lot that expires on `expires_on` (None: never)."""

    expires_on: date | None
    source: str = PROGRAM_ISSUED
    memo: dict[str, Any] | None = None

    def posting(self) -> Posting:
        """The posting this credit writes."""
        return postings.credit(self._header("credit"), **self._of("expires_on", "source"))


@dataclass(frozen=True, slots=True)
class Promise(_Incoming):
    """Points promised, not yet spendable (a ticket bought, the trip not yet taken)."""

    reference: str | None = None
    memo: dict[str, Any] | None = None

    def posting(self) -> Posting:
        """The posting this promise writes: a new pending item."""
        return postings.pending(self._header("pending"), **self._of("reference"))


def credit(uow: UnitOfWork, **request: Any) -> Posted:
    """Post a `Credit` made of these keyword arguments, idempotent by its `key`."""
    return post_one(uow, ready(Credit(**request).posting()))


def add_pending(uow: UnitOfWork, **request: Any) -> Posted:
    """Post a `Promise` made of these keyword arguments, idempotent by its `key`."""
    return post_one(uow, ready(Promise(**request).posting()))


def settling(
    uow: UnitOfWork,
    header: Header,
    pending_id: int,
    build: Callable[[PendingItem], Posting],
    *,
    owner: tuple[int, str] | None = None,
) -> Request:
    """The request of a posting that settles a pending item, built from it under its lock.

    `owner` (member, kind) saves a read when the caller knows whose item it is; the item is
    read again under the lock either way, and a wrong owner refuses the posting at the door.
    """

    def item() -> PendingItem:
        found = uow.ledger.get_pending(pending_id)
        if found is None:
            raise NotFound(f"No pending points {pending_id}.", pending_id=pending_id)
        return found

    def owners() -> list[tuple[int, str]]:
        if owner is not None:
            return [owner]
        found = item()
        return [(found.member_id, found.kind)]

    return Request(header, owners, lambda: build(item()))


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
    return post_one(
        uow,
        confirm_request(
            uow,
            key=key,
            pending_id=pending_id,
            occurred_at=occurred_at,
            expires_on=expires_on,
            memo=memo,
        ),
    )


def confirm_request(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    expires_on: date | None,
    memo: dict[str, Any] | None = None,
    owner: tuple[int, str] | None = None,
) -> Request:
    """What `confirm_pending` asks the door, for callers that post many at once."""
    request = {
        "op": "confirm",
        "pending_id": pending_id,
        "occurred_at": occurred_at,
        "expires_on": expires_on,
        "memo": memo,
    }
    header = Header(key, fingerprint(request), occurred_at, memo)
    return settling(
        uow,
        header,
        pending_id,
        lambda item: postings.confirm(header, item, expires_on=expires_on),
        owner=owner,
    )


def void_pending(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Withdraw pending points (a ticket refunded before travel)."""
    return post_one(
        uow, void_request(uow, key=key, pending_id=pending_id, occurred_at=occurred_at, memo=memo)
    )


def void_request(
    uow: UnitOfWork,
    *,
    key: str,
    pending_id: int,
    occurred_at: datetime,
    memo: dict[str, Any] | None = None,
    owner: tuple[int, str] | None = None,
) -> Request:
    """What `void_pending` asks the door, for callers that post many at once."""
    header = _void_header(key=key, pending_id=pending_id, at=occurred_at, memo=memo)
    return settling(uow, header, pending_id, lambda item: postings.void(header, item), owner=owner)


def void_item(item: PendingItem, *, key: str, at: datetime, memo: dict[str, Any] | None) -> Request:
    """What `void_pending` posts, for an item read under its balance's lock (a job's chunk)."""
    header = _void_header(key=key, pending_id=item.id, at=at, memo=memo)
    return ready(postings.void(header, item))


def _void_header(*, key: str, pending_id: int, at: datetime, memo: dict[str, Any] | None) -> Header:
    request = {"op": "void", "pending_id": pending_id, "occurred_at": at, "memo": memo}
    return Header(key, fingerprint(request), at, memo)
