"""Events sent without waiting (`Prefer: respond-async`, through the stream) and their outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from jifen.api.deps import StateDep, UowDep, require
from jifen.api.schemas.errors import Error, ErrorBody
from jifen.api.schemas.events import AcceptedOut, AcceptedResults, EventOutcomeOut
from jifen.services.events import EventResult, parse_or_refuse
from jifen.services.events.outcome import EventNotApplied, event_outcome

router = APIRouter(prefix="/v1", tags=["events"])


class EventStream(Protocol):
    """Where events go when a stream is configured (`jifen.stream.publisher.BlockingPublisher`)."""

    def publish(self, raw_events: Sequence[Any], *, received_at: datetime) -> list[bool]:
        """Publish events in order; for each, whether the stream had it already."""

    def dead_letter(self, event_id: str) -> dict[str, Any] | None:
        """The dead letter of an event (its error), or None."""


def prefers_async(prefer: str | None) -> bool:
    """Whether a `Prefer` header asks for `respond-async` (RFC 7240)."""
    tokens = (part.split(";")[0].strip().lower() for part in (prefer or "").split(","))
    return "respond-async" in tokens


def accept_async(stream: EventStream, raw_events: list[Any], *, received_at: datetime) -> Any:
    """202: well-formed events published to the stream, malformed ones refused at once."""
    results: list[AcceptedOut] = []
    valid = []
    for raw in raw_events:
        parsed = parse_or_refuse(raw)
        if isinstance(parsed, EventResult):
            error = Error(**parsed.error) if parsed.error else None
            results.append(AcceptedOut(id=parsed.id, status="rejected", error=error))
        else:
            valid.append(raw)
            results.append(AcceptedOut(id=parsed[0].id, status="accepted"))
    if valid:
        stream.publish(valid, received_at=received_at)
    body = AcceptedResults(results=results).model_dump(mode="json")
    return JSONResponse(body, status_code=202)


@router.get(
    "/events/{event_id}",
    response_model=EventOutcomeOut,
    dependencies=[Depends(require("integrator"))],
    responses={404: {"model": ErrorBody, "description": "`event_not_found`: not applied (yet)."}},
)
def get_event(
    event_id: Annotated[str, Path(min_length=1, max_length=200)], uow: UowDep, app: StateDep
) -> EventOutcomeOut:
    """What became of an event: applied (ID numbers masked), or refused by a stream consumer."""
    try:
        stored = event_outcome(uow, event_id=event_id)
    except EventNotApplied:
        letter = app.stream.dead_letter(event_id) if app.stream is not None else None
        if letter is None:
            raise
        event = letter.get("event") or {}
        return EventOutcomeOut(
            id=event_id,
            status="rejected",
            type=event.get("type"),
            error=Error(**letter["error"]),
        )
    return EventOutcomeOut(
        id=stored.id,
        status="applied",
        type=stored.type,
        occurred_at=stored.occurred_at,
        member_id=stored.member_id,
        outcome=stored.outcome,
    )
