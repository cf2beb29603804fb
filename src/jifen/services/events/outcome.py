"""Use case: what became of an event, by its id (for senders that did not wait for the answer)."""

from __future__ import annotations

from jifen.domain.errors import NotFound
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.event_repository import StoredEvent


class EventNotApplied(NotFound):
    """No event with this id has been applied (not yet, or never received)."""

    code = "event_not_found"
    status = 404

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"No event {event_id!r} has been applied. An event sent with "
            "`Prefer: respond-async` is found here once a consumer has applied it; ask again "
            "later.",
            event_id=event_id,
        )


def event_outcome(uow: UnitOfWork, *, event_id: str) -> StoredEvent:
    """The applied event (ID numbers masked) and its outcome, or `EventNotApplied`."""
    with uow:
        stored = uow.events.get(event_id)
    if stored is None:
        raise EventNotApplied(event_id)
    return stored
