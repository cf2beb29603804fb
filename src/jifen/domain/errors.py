"""The one error base of Jifen: each refusal has a stable code, its HTTP status, a message."""

from __future__ import annotations

from typing import Any, ClassVar


class JifenError(Exception):
    """A refusal a caller can act on; `code` is stable and part of the API contract.

    Every subclass that names a `code` also names the HTTP `status` the API answers it with (the
    base has none on purpose: a new code must be given its status, and a unit test checks that).
    """

    code: ClassVar[str] = "jifen_error"
    status: ClassVar[int]

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(JifenError):
    """The request makes no sense on its own (a negative amount, an empty posting)."""

    code = "invalid_request"
    status = 422


class NotFound(JifenError):
    """The thing asked for does not exist."""

    code = "not_found"
    status = 404


class IdempotencyConflict(JifenError):
    """The key was used before for a different request."""

    code = "idempotency_conflict"
    status = 409

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The key {key!r} was already used for a different request; "
            "send a new key for a new request, or the same request to get its first result.",
            key=key,
        )


class Contended(JifenError):
    """The database gave this transaction up to let a concurrent one through (a deadlock).

    Nothing of it was kept; it is safe to send again, and the use cases that own their
    transaction send it again once themselves before answering with this.
    """

    code = "contended"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "Another request was changing the same points at the same moment and this one gave "
            "way; nothing of it was kept. Send it again."
        )


class InsufficientPoints(JifenError):
    """A member has fewer spendable points than a spend needs."""

    code = "insufficient_points"
    status = 409

    def __init__(self, *, member_id: int, kind: str, needed: int, available: int) -> None:
        super().__init__(
            f"Member {member_id} has {available} {kind} points available; {needed} are needed.",
            member_id=member_id,
            kind=kind,
            needed=needed,
            available=available,
        )


class UnbalancedTransaction(JifenError):
    """A journal transaction whose entries do not sum to zero for every point kind."""

    code = "unbalanced_transaction"
    status = 422


class NotReversible(JifenError):
    """A transaction that cannot be reversed (already reversed, pending, or points spent since)."""

    code = "not_reversible"
    status = 409


class PendingAlreadySettled(JifenError):
    """Pending points that were already confirmed or voided."""

    code = "pending_settled"
    status = 409


class LotNotExpirable(JifenError):
    """A lot that is not yet due to expire, or has nothing left to expire."""

    code = "lot_not_expirable"
    status = 422
