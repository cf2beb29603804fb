"""Ledger use cases: credit, pending points, spend, reverse and expire, each idempotent by key.

Every use case takes a unit of work, an idempotency `key` chosen by the caller, and the time the
movement happens (`occurred_at`, an aware datetime in the program's time zone: its date is the
day lots are credited, spent and expired on). The same key with the same request returns the
first result and changes nothing; the same key with another request raises
`IdempotencyConflict`. Each builds a `domain.postings.Posting` and writes it through the one
door, `post` (`posting.py`), which callers with many postings use directly.
"""

from __future__ import annotations

from jifen.domain.postings import Posted
from jifen.services.ledger.earning import (
    Credit,
    Promise,
    add_pending,
    confirm_pending,
    confirm_request,
    credit,
    void_item,
    void_pending,
    void_request,
)
from jifen.services.ledger.posting import Request, fingerprint, post, post_one, ready
from jifen.services.ledger.spending import (
    expire_lot,
    expire_lots,
    reverse,
    spend,
    spendable,
    transfer,
)

__all__ = [
    "Credit",
    "Posted",
    "Promise",
    "Request",
    "add_pending",
    "confirm_pending",
    "confirm_request",
    "credit",
    "expire_lot",
    "expire_lots",
    "fingerprint",
    "post",
    "post_one",
    "ready",
    "reverse",
    "spend",
    "spendable",
    "transfer",
    "void_item",
    "void_pending",
    "void_request",
]
