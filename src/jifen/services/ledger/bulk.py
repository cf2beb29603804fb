"""Many credits at once: the ledger's bulk path, for files of awards and balance migrations.

The credits run through `credit` itself against the batch's rows held in memory and are written
with one statement per table (`services/bulk.py`); the ledger ends exactly as if each had been
posted on its own. A batch with a key posted before (a resend) or a surprise is posted one credit
at a time instead, so repeats replay and conflicts are reported as `credit` reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jifen.domain.errors import JifenError
from jifen.domain.ledger import PROGRAM_ISSUED
from jifen.services.bulk import in_one_batch
from jifen.services.ledger.earning import credit
from jifen.services.ledger.posting import Posted
from jifen.storage.batch_repository import Wants
from jifen.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credit:
    """One credit of a batch: `credit`'s arguments."""

    key: str
    member_id: int
    kind: str
    points: int
    occurred_at: datetime
    expires_on: date | None
    source: str = PROGRAM_ISSUED
    memo: dict[str, Any] | None = None


def credit_many(uow: UnitOfWork, batch: Sequence[Credit]) -> list[Posted | JifenError]:
    """Post `batch` in one transaction; each result is its posting or the error refusing it."""

    def post_all(target: UnitOfWork) -> list[Posted | JifenError]:
        return [_post(target, c) for c in batch]

    wants = Wants(
        event_ids=(),
        ticket_ids=(),
        member_ids={c.member_id for c in batch},
        id_hashes=(),
        earnings_since=date.max,
        ids_needed={"ledger_transactions": len(batch), "lots": len(batch), "pending_points": 0},
        ledger_keys={c.key for c in batch},
    )
    try:
        return in_one_batch(uow, wants, post_all)
    except Exception as error:  # noqa: BLE001 - the one-by-one path decides
        log.warning("%d credits are posted one at a time: %r", len(batch), error)
    return post_all(uow)


def _post(uow: UnitOfWork, c: Credit) -> Posted | JifenError:
    try:
        return credit(
            uow,
            key=c.key,
            member_id=c.member_id,
            kind=c.kind,
            points=c.points,
            occurred_at=c.occurred_at,
            expires_on=c.expires_on,
            source=c.source,
            memo=c.memo,
        )
    except JifenError as error:
        return error
