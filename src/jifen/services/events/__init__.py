"""Apply source-system events to the ledger: tickets bought, travelled, refunded or changed.

Each event is applied in its own unit of work, keyed by its id: applying it again is a duplicate
and changes nothing. Ledger postings are keyed `<event id>:<point kind>`, so an event interrupted
half-way (a crash) completes, never doubles, when it is sent again. Events that arrive early (a
travel, refund or change before its purchase) are kept and settled when the purchase comes.

Callers say when the events reached Jifen (`received_at`, the server's clock): an event dated
more than `future_tolerance` after it is refused, and a claim's window runs to it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from jifen.domain.errors import Contended, IdempotencyConflict, JifenError
from jifen.domain.tickets import TicketConflict
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.event_schema import Activity, Event, Order, parse_event
from jifen.services.events.context import (
    FUTURE_TOLERANCE,
    ClaimTooLate,
    Context,
    EventInFuture,
    EventResult,
    InvalidEventTime,
    Outcome,
    RiderNotMember,
    credit_points,
    error_body,
    find_rider,
    masked,
    pricing_lines,
)
from jifen.services.events.tickets import changed, purchased, refunded, travelled
from jifen.services.members import MemberNotActive, require_active_member
from jifen.services.ports import EventUnitOfWork
from jifen.services.pricing import Pricer
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.event_repository import StoredEvent
from jifen.storage.ledger_repository import KeyTaken

log = logging.getLogger(__name__)


def apply_events(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    raw_events: Iterable[Any],
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> list[EventResult]:
    """Apply each event on its own; a bad event, or one failing unexpectedly, stops no other."""
    results = []
    for raw in raw_events:
        try:
            results.append(
                apply_event(
                    uow,
                    program=program,
                    vault=vault,
                    raw=raw,
                    received_at=received_at,
                    future_tolerance=future_tolerance,
                )
            )
        except Exception:
            log.exception("event could not be applied")
            event_id = raw.get("id") if isinstance(raw, dict) else None
            message = "Applying this event failed on our side; nothing of it was kept. Resend it."
            error = {"code": "internal_error", "message": message, "details": {}}
            results.append(
                EventResult(event_id if isinstance(event_id, str) else None, "rejected", error)
            )
    return results


def apply_event(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    raw: Any,
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> EventResult:
    """Apply one event that reached Jifen at `received_at`; never raises for a bad event.

    A bad event is `rejected` with a stable code.
    """
    parsed = parse_or_refuse(raw)
    if isinstance(parsed, EventResult):
        return parsed
    event, data = parsed
    return apply_parsed(
        uow,
        program=program,
        vault=vault,
        event=event,
        data=data,
        received_at=received_at,
        future_tolerance=future_tolerance,
    )


def parse_or_refuse(raw: Any) -> tuple[Event, Any] | EventResult:
    """The event and its data, or the `rejected` result that says what is wrong with it."""
    try:
        return parse_event(raw)
    except JifenError as error:
        event_id = raw.get("id") if isinstance(raw, dict) else None
        return EventResult(
            event_id if isinstance(event_id, str) else None, "rejected", error_body(error)
        )


def apply_parsed(
    uow: EventUnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    event: Event,
    data: Any,
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> EventResult:
    """Apply an event `parse_event` accepted; never raises for a bad event."""
    ctx = Context(uow, program, vault, event, received_at)
    owns_transaction = uow.depth == 0
    try:
        for attempt in (1, 2):
            try:
                return _apply(ctx, data, latest=received_at + future_tolerance)
            except KeyTaken:
                if attempt == 2:  # pragma: no cover - the second attempt finds the winner's event
                    raise
            except Contended:  # a deadlock's loser, rolled back whole: run it once more
                if attempt == 2 or not owns_transaction:
                    raise
    except JifenError as error:
        return EventResult(event.id, "rejected", error_body(error))
    raise AssertionError  # pragma: no cover - the loop always returns or raises


def _apply(ctx: Context, data: Any, *, latest: datetime) -> EventResult:
    sent = ctx.event.model_dump(mode="json")
    fingerprint = ctx.vault.lookup_hash("event", json.dumps(sent, sort_keys=True))
    with ctx.uow:
        stored = ctx.uow.events.get(ctx.event.id)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyConflict(ctx.event.id)
            return EventResult(ctx.event.id, "duplicate", outcome=stored.outcome)
        if ctx.event.occurred_at > latest:
            raise _in_future(ctx, latest)
        member_id, outcome = HANDLERS[ctx.event.type](ctx, data)
        if member_id is not None:
            # Again, now that the member's balance is locked: a freeze or close that committed
            # meanwhile wins, and this event is refused instead of crediting a closed member.
            require_active_member(ctx.uow, member_id)
        record = StoredEvent(
            ctx.event.id,
            ctx.event.type,
            ctx.event.occurred_at,
            member_id,
            masked(sent),
            fingerprint,
            outcome,
        )
        ctx.uow.events.add(record)  # KeyTaken if a concurrent request applied it first
        journal.record(ctx.uow, "event", at=ctx.received_at, event=journal.seal(sent, ctx.vault))
        ctx.uow.commit()
    return EventResult(ctx.event.id, "applied", outcome=outcome)


def _in_future(ctx: Context, latest: datetime) -> EventInFuture:
    tolerance = latest - ctx.received_at
    return EventInFuture(
        f"The event is dated {ctx.event.occurred_at.isoformat()}, more than {tolerance} after "
        f"Jifen's clock ({ctx.received_at.isoformat()}). Check the sending system's clock, and "
        "send the event once it has happened.",
        occurred_at=ctx.event.occurred_at.isoformat(),
        received_at=ctx.received_at.isoformat(),
        tolerance_seconds=int(tolerance.total_seconds()),
    )


def activity_completed(ctx: Context, activity: Activity) -> Outcome:
    """An activity done: activity points credited into a lot, within the rules' caps."""
    member = find_rider(ctx, activity.rider)
    pricing = Pricer(ctx.uow, ctx.program, charge=True).activity(
        member, activity, ctx.event.occurred_at
    )
    lines = pricing_lines(pricing)
    credit_points(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    return member.id, {"credited": pricing.points, "rules": lines}


def order_paid(ctx: Context, order: Order) -> Outcome:
    """A shop order paid: points on the amount, with tier and birthday multipliers."""
    member = find_rider(ctx, order.rider)
    pricing = Pricer(ctx.uow, ctx.program, charge=True).order(member, order, ctx.event.occurred_at)
    lines = pricing_lines(pricing)
    credit_points(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    return member.id, {"order_id": order.order_id, "credited": pricing.points, "rules": lines}


HANDLERS: dict[str, Callable[[Context, Any], Outcome]] = {
    "ticket.purchased": purchased,
    "ticket.travelled": travelled,
    "ticket.refunded": refunded,
    "ticket.changed": changed,
    "activity.completed": activity_completed,
    "order.paid": order_paid,
}

__all__ = [
    "FUTURE_TOLERANCE",
    "ClaimTooLate",
    "EventInFuture",
    "EventResult",
    "InvalidEventTime",
    "MemberNotActive",
    "RiderNotMember",
    "TicketConflict",
    "apply_event",
    "apply_events",
    "apply_parsed",
    "masked",
    "parse_or_refuse",
]
