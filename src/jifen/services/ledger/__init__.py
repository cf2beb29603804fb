"""Ledger use cases: credit, pending points, spend, reverse and expire, each idempotent by key.

Every use case takes a unit of work, an idempotency `key` chosen by the caller, and the time the
movement happens (`occurred_at`, an aware datetime in the program's time zone: its date is the
day lots are credited, spent and expired on). The same key with the same request returns the
first result and changes nothing; the same key with another request raises
`IdempotencyConflict`.
"""

from __future__ import annotations

from jifen.services.ledger.earning import (
    add_pending,
    confirm_pending,
    credit,
    void_pending,
    void_request,
)
from jifen.services.ledger.posting import Posted, fingerprint
from jifen.services.ledger.spending import expire_lot, reverse, spend, transfer

__all__ = [
    "Posted",
    "add_pending",
    "confirm_pending",
    "credit",
    "expire_lot",
    "fingerprint",
    "reverse",
    "spend",
    "transfer",
    "void_pending",
    "void_request",
]
