"""Use case: points granted outright into a new lot, journaled so that a replay grants them again.

For history a program brings with it rather than earns under its rules: the demo's points from
before its season and the points it gives its mall shoppers, or opening balances migrated from an
older system. Everything else a member earns comes through events, partners or adjustments.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jifen.domain.postings import Posted
from jifen.services import journal, ledger
from jifen.services.unit_of_work import UnitOfWork


def grant_points(
    uow: UnitOfWork,
    *,
    key: str,
    member_id: int,
    kind: str,
    points: int,
    occurred_at: datetime,
    expires_on: date | None,
    memo: dict[str, Any] | None = None,
) -> Posted:
    """Credit `points` of `kind` at `occurred_at` into a lot lapsing on `expires_on`.

    Idempotent by `key`: the same grant again returns the first posting and journals nothing.
    """
    grant: dict[str, Any] = {
        "key": key,
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "occurred_at": occurred_at,
        "expires_on": expires_on,
        "memo": memo,
    }
    with uow:
        posted = ledger.credit(uow, **grant)
        if not posted.replayed:
            journal.record(uow, "grant_points", at=occurred_at, **grant)
        uow.commit()
    return posted
