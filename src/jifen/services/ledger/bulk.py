"""Many credits at once: the ledger's bulk path, for files of awards and balance migrations.

The credits go through the one door as one batch: one key check, the members' balances locked
in one statement, a statement per table for the rows. A batch the door refuses as a whole (a
member that does not exist, a key repeated in the batch, a concurrent writer) is posted one
credit at a time instead, so that each gets its own result as `credit` reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from jifen.domain.errors import JifenError, NotFound
from jifen.domain.postings import Posted
from jifen.services.ledger.earning import Credit
from jifen.services.ledger.posting import Request, post, post_one, ready
from jifen.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def credit_many(uow: UnitOfWork, batch: Sequence[Credit]) -> list[Posted | JifenError]:
    """Post `batch` in one transaction; each result is its posting or the error refusing it."""
    try:
        with uow:
            known = uow.ledger.members_known({c.member_id for c in batch})
            results = [_refused(c, known) for c in batch]
            requests = [r for r in results if isinstance(r, Request)]
            posted = iter(post(uow, requests))
            uow.commit()
    except Exception as error:  # noqa: BLE001 - the one-by-one path decides
        log.warning("%d credits are posted one at a time: %r", len(batch), error)
        return [_one(uow, c) for c in batch]
    return [_written(next(posted)) if isinstance(r, Request) else r for r in results]


def _refused(c: Credit, known: set[int]) -> Request | JifenError:
    """The credit's request, or the error refusing it before anything is locked."""
    try:
        if c.member_id not in known:
            raise NotFound(f"No member {c.member_id}.", member_id=c.member_id)
        return ready(c.posting())
    except JifenError as error:
        return error


def _written(posted: Posted | None) -> Posted:
    assert posted is not None  # noqa: S101 - a credit always posts
    return posted


def _one(uow: UnitOfWork, c: Credit) -> Posted | JifenError:
    try:
        return post_one(uow, ready(c.posting()))
    except JifenError as error:
        return error
