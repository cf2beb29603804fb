"""Ticket events: bought → pending points, travelled → lots or a claim (补登), refunded, changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from jifen.domain.rules import Pricing
from jifen.domain.tickets import (
    EARLY,
    TicketConflict,
    TicketEvent,
    TicketState,
    awaiting_purchase,
    ticket_after,
    travel_event,
)
from jifen.services.campaigns.earning import award_campaigns
from jifen.services.event_schema import (
    Change,
    Ticket,
)
from jifen.services.events.context import (
    ClaimTooLate,
    Context,
    InvalidEventTime,
    Outcome,
    credit_points,
    error_body,
    find_rider,
    pricing_lines,
    stored_pricing,
)
from jifen.services.events.promises import (
    new_ticket,
    promise,
    record_confirmed_earnings,
    save_ticket,
    settle,
)
from jifen.services.members import require_active_member
from jifen.storage.event_repository import TicketRecord
from jifen.storage.member_repository import MemberRecord

# -- handlers ------------------------------------------------------------------------------------


def _state(ticket: TicketRecord | None) -> TicketState | None:
    return None if ticket is None else TicketState(ticket.status)


def purchased(ctx: Context, ticket: Ticket) -> Outcome:
    """A ticket bought: pending points, or settled at once by what arrived before it."""
    existing = ctx.uow.events.ticket(ticket.ticket_id)
    ticket_after(_state(existing), TicketEvent.PURCHASE, ticket_id=ticket.ticket_id)  # or refused
    member = find_rider(ctx, ticket.passenger)
    return member.id, {"ticket_id": ticket.ticket_id, **_open(ctx, ticket, member, existing)}


def _open(
    ctx: Context, ticket: Ticket, member: MemberRecord, early: TicketRecord | None
) -> dict[str, Any]:
    """A ticket now bought (a purchase, or a change's new ticket), settled by what came first.

    Nothing came first: its points are promised (pending). Its travel: they are earned now.
    Its refund: it ends refunded, nothing promised. Its change: it ends changed, and the
    change's new ticket is opened in turn.
    """
    record, pricing = new_ticket(ctx, ticket, member)
    was = _state(early)
    bought = ticket_after(was, TicketEvent.PURCHASE, ticket_id=ticket.ticket_id)
    waiting = None if was is None else EARLY.get(was)
    if waiting is TicketEvent.REFUND:
        save_ticket(ctx, record, was=was, status=ticket_after(bought, waiting, ticket_id=record.id))
        return {"refunded": True}
    if waiting is TicketEvent.CHANGE:
        assert early is not None and early.data is not None  # noqa: S101, PT018
        save_ticket(ctx, record, was=was, status=ticket_after(bought, waiting, ticket_id=record.id))
        change = Change.model_validate(early.data["change"])
        moved = _move(ctx, ticket, change, member)
        return {"changed_to": {"ticket_id": change.new_ticket_id, **moved}}
    refused = None
    if waiting is TicketEvent.TRAVEL:
        assert early is not None and early.travelled_at is not None  # noqa: S101, PT018
        refused = _before_departure(ctx, ticket.ticket_id, ticket.departure_at, early.travelled_at)
        if refused is None:
            return _earn_early(
                ctx, record, pricing, member, ticket, travelled_at=early.travelled_at
            )
    promise(ctx, record, pricing, was=was)
    opened: dict[str, Any] = {"pending": pricing.points, "rules": pricing_lines(pricing)}
    if refused is not None:  # the ticket stays open for a travel dated after its departure
        opened["early_travel_refused"] = error_body(refused)
    return opened


def _earn_early(
    ctx: Context,
    record: TicketRecord,
    pricing: Pricing,
    member: MemberRecord,
    ticket: Ticket,
    *,
    travelled_at: datetime,
) -> dict[str, Any]:
    """A ticket whose travel came first: its points are earned now, as of the travel."""
    lines = pricing_lines(pricing)
    credit_points(ctx, member.id, pricing.points, lines, travelled_at)
    bonuses = award_campaigns(
        ctx, member=member, ticket=ticket, points=pricing.points, at=travelled_at
    )
    travelled = ticket_after(TicketState.PURCHASED, TicketEvent.TRAVEL, ticket_id=record.id)
    save_ticket(
        ctx, record, was=TicketState.TRAVELLED_EARLY, status=travelled, travelled_at=travelled_at
    )
    return {"credited": pricing.points, "rules": lines, **bonuses}


def _keep_early(ctx: Context, ticket_id: str, status: TicketState, **fields: Any) -> Outcome:
    """Keep an event that came before its ticket's purchase, as a stub the purchase settles."""
    stub = TicketRecord(ticket_id, None, status, None, None, None, None, None)
    ctx.uow.events.save_ticket(replace(stub, **fields), was=None)
    return None, {"ticket_id": ticket_id, "awaiting_purchase": True}


def _before_departure(
    ctx: Context, ticket_id: str, departure: datetime, at: datetime
) -> InvalidEventTime | None:
    """The refusal of a travel dated `at`, when that is before the ticket's departure."""
    if at >= departure:
        return None
    departure, at = ctx.local(departure), ctx.local(at)  # as stored or as sent, alike
    return InvalidEventTime(
        f"Ticket {ticket_id} departs at {departure.isoformat()}; a travel dated {at.isoformat()} "
        "is before it. Send the travel dated when the trip was taken.",
        ticket_id=ticket_id,
        departure_at=departure.isoformat(),
        occurred_at=at.isoformat(),
    )


def travelled(ctx: Context, data: Any) -> Outcome:
    """A trip taken: pending points confirmed into lots; tier points credited; or a claim."""
    existing = ctx.uow.events.ticket(data.ticket_id)
    was = _state(existing)
    event = travel_event(was, carries_ticket=isinstance(data, Ticket))
    after = ticket_after(was, event, ticket_id=data.ticket_id)
    if event is TicketEvent.CLAIM:
        return _claim(ctx, data, was=was, after=after)
    if existing is None:  # out of order: keep the travel until the purchase arrives
        return _keep_early(ctx, data.ticket_id, after, travelled_at=ctx.event.occurred_at)
    assert existing.member_id is not None and existing.data is not None  # noqa: S101, PT018
    assert existing.departure_at is not None  # noqa: S101 - a bought ticket has its departure
    if refused := _before_departure(ctx, existing.id, existing.departure_at, ctx.event.occurred_at):
        raise refused
    member = require_active_member(ctx.uow, existing.member_id)  # a frozen member earns nothing
    points, lines = stored_pricing(existing.data["pricing"])
    tier_only = {k: n for k, n in points.items() if not ctx.program.kind(k).spendable}
    at = ctx.event.occurred_at
    tier_credits = credit_points(ctx, existing.member_id, tier_only, lines, at, post=False)
    settle(ctx, existing, confirm=True, also=tier_credits)  # one batch through the ledger's door
    record_confirmed_earnings(ctx, existing.member_id, points, lines)
    ticket = Ticket.model_validate(existing.data["ticket"])
    bonuses = award_campaigns(ctx, member=member, ticket=ticket, points=points)
    save_ticket(ctx, existing, was=was, status=after, travelled_at=ctx.event.occurred_at)
    return existing.member_id, {
        "ticket_id": existing.id,
        "credited": points,
        "rules": lines,
        **bonuses,
    }


def _claim(ctx: Context, ticket: Ticket, *, was: TicketState | None, after: TicketState) -> Outcome:
    """补登: a travel carrying the whole ticket, for a ticket the program never saw.

    Its window runs from the departure to the later of its own date and the day it reached
    Jifen (by the server's clock): a claim cannot be dated into the window after it has shut.
    """
    if refused := _before_departure(
        ctx, ticket.ticket_id, ticket.departure_at, ctx.event.occurred_at
    ):
        raise refused
    window = ctx.program.claims.window_days
    reached = max(ctx.local(ctx.event.occurred_at).date(), ctx.local(ctx.received_at).date())
    late = (reached - ctx.local(ticket.departure_at).date()).days
    if late > window:
        raise ClaimTooLate(
            f"Missing points can be claimed within {window} days of departure; this trip departed "
            f"{late} days before the claim reached Jifen.",
            ticket_id=ticket.ticket_id,
            days=late,
            window_days=window,
        )
    member = find_rider(ctx, ticket.passenger)
    record, pricing = new_ticket(ctx, ticket, member)
    lines = pricing_lines(pricing)
    credit_points(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    bonuses = award_campaigns(ctx, member=member, ticket=ticket, points=pricing.points)
    save_ticket(ctx, record, was=was, status=after, travelled_at=ctx.event.occurred_at)
    return member.id, {
        "ticket_id": ticket.ticket_id,
        "claim": True,
        "credited": pricing.points,
        "rules": lines,
        **bonuses,
    }


def _open_ticket(
    ctx: Context, ticket_id: str, event: TicketEvent
) -> tuple[TicketRecord | None, TicketState]:
    """The ticket a refund or change is for (None if not bought yet), and the state it moves to."""
    existing = ctx.uow.events.ticket(ticket_id)
    return existing, ticket_after(_state(existing), event, ticket_id=ticket_id)


def refunded(ctx: Context, data: Any) -> Outcome:
    """A ticket refunded before travel: its pending points are voided."""
    existing, after = _open_ticket(ctx, data.ticket_id, TicketEvent.REFUND)
    if existing is None:  # out of order: the purchase, when it comes, ends refunded
        return _keep_early(ctx, data.ticket_id, after, data={"refund": ctx.event.id})
    settle(ctx, existing, confirm=False)
    save_ticket(ctx, existing, was=existing.status, status=after)
    return existing.member_id, {"ticket_id": existing.id, "voided": True}


def changed(ctx: Context, change: Change) -> Outcome:
    """改签: pending points move to the new ticket, priced on its fare and departure."""
    if change.new_ticket_id == change.ticket_id:
        raise TicketConflict(
            f"A change (改签) moves ticket {change.ticket_id} to a new ticket id; send the new "
            "ticket's id as new_ticket_id.",
            ticket_id=change.ticket_id,
        )
    existing, after = _open_ticket(ctx, change.ticket_id, TicketEvent.CHANGE)
    if existing is None:  # out of order: the purchase, when it comes, opens the new ticket
        _new_ticket_free(ctx, change.new_ticket_id)
        data = {"change": change.model_dump(mode="json"), "event_id": ctx.event.id}
        return _keep_early(ctx, change.ticket_id, after, data=data)
    assert existing.data is not None and existing.member_id is not None  # noqa: S101, PT018
    member = require_active_member(ctx.uow, existing.member_id)
    settle(ctx, existing, confirm=False)
    save_ticket(ctx, existing, was=existing.status, status=after)
    old = Ticket.model_validate(existing.data["ticket"])
    return member.id, {
        "ticket_id": existing.id,
        "new_ticket_id": change.new_ticket_id,
        **_move(ctx, old, change, member),
    }


def _new_ticket_free(ctx: Context, ticket_id: str) -> TicketRecord | None:
    """A change's new ticket: unknown, or only a stub of events that came before the change."""
    existing = ctx.uow.events.ticket(ticket_id)
    if not awaiting_purchase(_state(existing)):
        raise TicketConflict(f"Ticket {ticket_id} already exists.", ticket_id=ticket_id)
    return existing


def _move(ctx: Context, old: Ticket, change: Change, member: MemberRecord) -> dict[str, Any]:
    """Open a change's new ticket: the old ticket's rider, on the new fare and departure."""
    early = _new_ticket_free(ctx, change.new_ticket_id)
    new = old.model_copy(
        update={
            "ticket_id": change.new_ticket_id,
            "fare_fen": change.fare_fen,
            "departure_at": change.departure_at,
            "arrival_at": change.arrival_at,
        }
    )
    return _open(ctx, new, member, early)
