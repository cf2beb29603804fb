"""Ticket events: bought → pending points, travelled → lots or a claim (补登), refunded, changed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jifen.domain.rules import Pricing
from jifen.services import ledger
from jifen.services.campaigns.earning import award_campaigns
from jifen.services.event_schema import (
    Change,
    Ticket,
)
from jifen.services.events.context import (
    ClaimTooLate,
    Context,
    Outcome,
    TicketConflict,
    credit_points,
    find_rider,
    masked,
    pricing_lines,
    stored_pricing,
)
from jifen.services.members import require_active_member
from jifen.services.pricing import Pricer
from jifen.storage.event_repository import TicketRecord
from jifen.storage.member_repository import MemberRecord


def _promise(ctx: Context, ticket: TicketRecord, pricing: Pricing) -> None:
    """Open a bought ticket: pending points for each spendable kind, kept on the ticket."""
    assert ticket.member_id is not None  # noqa: S101 - a bought ticket has its rider
    lines = pricing_lines(pricing)
    pending: dict[str, int] = {}
    for kind, amount in sorted(pricing.points.items()):
        if not ctx.program.kind(kind).spendable:
            continue  # tier-only points are credited on travel, never promised
        posted = ledger.add_pending(
            ctx.uow,
            key=f"{ctx.event.id}:{kind}",
            member_id=ticket.member_id,
            kind=kind,
            points=amount,
            occurred_at=ctx.local(ctx.event.occurred_at),
            reference=ticket.id,
            memo={"event_id": ctx.event.id, "rules": [x for x in lines if x["kind"] == kind]},
        )
        pending[kind] = posted.pending_id  # type: ignore[assignment] - a pending posting has one
    _save(
        ctx,
        ticket,
        was=None,
        data={**(ticket.data or {}), "pending": pending},
        pending_id=next(iter(pending.values()), None),
    )


def _settle(ctx: Context, ticket: TicketRecord, *, confirm: bool) -> None:
    """Confirm (travel) or void (refund, change) a ticket's pending points."""
    local = ctx.local(ctx.event.occurred_at)
    for kind, pending_id in sorted((ticket.data or {}).get("pending", {}).items()):
        key = f"{ctx.event.id}:{kind}:{'confirm' if confirm else 'void'}"
        if confirm:
            expires_on = ctx.program.kind(kind).expiry.expires_on(local.date())
            rules = [x for x in ticket.data["pricing"]["lines"] if x["kind"] == kind]
            ledger.confirm_pending(
                ctx.uow,
                key=key,
                pending_id=pending_id,
                occurred_at=local,
                expires_on=expires_on,
                memo={"event_id": ctx.event.id, "rules": rules},
            )
        else:
            ledger.void_pending(
                ctx.uow,
                key=key,
                pending_id=pending_id,
                occurred_at=local,
                memo={"event_id": ctx.event.id},
            )


def _new_ticket(ctx: Context, ticket: Ticket, member: MemberRecord) -> tuple[TicketRecord, Pricing]:
    pricing = Pricer(ctx.uow, ctx.program).trip(member, ticket)
    data = {
        "ticket": masked(ticket.model_dump(mode="json")),
        "pricing": {"points": pricing.points, "lines": pricing_lines(pricing)},
        "pending": {},
    }
    record = TicketRecord(
        ticket.ticket_id,
        member.id,
        "purchased",
        ticket.fare_fen,
        ticket.departure_at,
        data,
        None,
        None,
    )
    return record, pricing


def _save(ctx: Context, ticket: TicketRecord, *, was: str | None, **changes: Any) -> TicketRecord:
    """Write the ticket if it is still as this event found it; else the event is retried.

    `was` is its status then, None when it did not exist yet.
    """
    updated = replace(ticket, **changes)
    ctx.uow.events.save_ticket(updated, was=was)
    return updated


def _not_open(ticket: TicketRecord, action: str) -> TicketConflict:
    hints = {
        "travelled": "it was already travelled",
        "refunded": "it was refunded",
        "changed": "it was changed (改签); send events for the new ticket",
        "travelled_early": "only its travel has arrived; send the purchase",
    }
    return TicketConflict(
        f"Ticket {ticket.id} cannot be {action}: {hints.get(ticket.status, ticket.status)}.",
        ticket_id=ticket.id,
        status=ticket.status,
    )


# -- handlers ------------------------------------------------------------------------------------


def purchased(ctx: Context, ticket: Ticket) -> Outcome:
    """A ticket bought: pending points, or straight to a lot if its travel came first."""
    existing = ctx.uow.events.ticket(ticket.ticket_id)
    if existing is not None and existing.status != "travelled_early":
        raise TicketConflict(
            f"Ticket {ticket.ticket_id} was already sent.", ticket_id=ticket.ticket_id
        )
    member = find_rider(ctx, ticket.passenger)
    record, pricing = _new_ticket(ctx, ticket, member)
    lines = pricing_lines(pricing)
    if existing is not None:  # travel arrived first: earn now, as of the travel
        assert existing.travelled_at is not None  # noqa: S101 - set with the early travel
        credit_points(ctx, member.id, pricing.points, lines, existing.travelled_at)
        bonuses = award_campaigns(
            ctx, member=member, ticket=ticket, points=pricing.points, at=existing.travelled_at
        )
        _save(
            ctx,
            record,
            was="travelled_early",
            status="travelled",
            travelled_at=existing.travelled_at,
        )
        return member.id, {
            "ticket_id": ticket.ticket_id,
            "credited": pricing.points,
            "rules": lines,
            **bonuses,
        }
    _promise(ctx, record, pricing)
    return member.id, {"ticket_id": ticket.ticket_id, "pending": pricing.points, "rules": lines}


def travelled(ctx: Context, data: Any) -> Outcome:
    """A trip taken: pending points confirmed into lots; tier points credited; or a claim."""
    existing = ctx.uow.events.ticket(data.ticket_id)
    if isinstance(data, Ticket) and (existing is None or existing.status == "travelled_early"):
        return _claim(ctx, data, was=existing.status if existing else None)
    if existing is None:  # out of order: keep the travel until the purchase arrives
        stub = TicketRecord(
            data.ticket_id, None, "travelled_early", None, None, None, None, ctx.event.occurred_at
        )
        ctx.uow.events.save_ticket(stub, was=None)
        return None, {"ticket_id": data.ticket_id, "awaiting_purchase": True}
    if existing.status != "purchased":
        raise _not_open(existing, "travelled")
    assert existing.member_id is not None and existing.data is not None  # noqa: S101, PT018
    member = require_active_member(ctx.uow, existing.member_id)  # a frozen member earns nothing
    _settle(ctx, existing, confirm=True)
    points, lines = stored_pricing(existing.data["pricing"])
    tier_only = {k: n for k, n in points.items() if not ctx.program.kind(k).spendable}
    credit_points(ctx, existing.member_id, tier_only, lines, ctx.event.occurred_at)
    _record_confirmed_earnings(ctx, existing.member_id, points, lines)
    ticket = Ticket.model_validate(existing.data["ticket"])
    bonuses = award_campaigns(ctx, member=member, ticket=ticket, points=points)
    _save(ctx, existing, was="purchased", status="travelled", travelled_at=ctx.event.occurred_at)
    return existing.member_id, {
        "ticket_id": existing.id,
        "credited": points,
        "rules": lines,
        **bonuses,
    }


def _record_confirmed_earnings(
    ctx: Context, member_id: int, points: dict[str, int], lines: list[dict[str, Any]]
) -> None:
    spendable = {k for k in points if ctx.program.kind(k).spendable}
    by_rule: dict[str, int] = {}
    for line in lines:
        if line["kind"] in spendable:
            by_rule[line["rule"]] = by_rule.get(line["rule"], 0) + line["points"]
    ctx.uow.events.add_earnings(
        member_id=member_id,
        day=ctx.local(ctx.event.occurred_at).date(),
        event_id=f"{ctx.event.id}:confirm",
        by_rule=by_rule,
    )


def _claim(ctx: Context, ticket: Ticket, *, was: str | None) -> Outcome:
    """补登: a travel carrying the whole ticket, for a ticket the program never saw."""
    window = ctx.program.claims.window_days
    late = (ctx.local(ctx.event.occurred_at).date() - ctx.local(ticket.departure_at).date()).days
    if late > window:
        raise ClaimTooLate(
            f"Missing points can be claimed within {window} days of departure; this trip departed "
            f"{late} days before the claim.",
            ticket_id=ticket.ticket_id,
            days=late,
            window_days=window,
        )
    member = find_rider(ctx, ticket.passenger)
    record, pricing = _new_ticket(ctx, ticket, member)
    lines = pricing_lines(pricing)
    credit_points(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    bonuses = award_campaigns(ctx, member=member, ticket=ticket, points=pricing.points)
    _save(ctx, record, was=was, status="travelled", travelled_at=ctx.event.occurred_at)
    return member.id, {
        "ticket_id": ticket.ticket_id,
        "claim": True,
        "credited": pricing.points,
        "rules": lines,
        **bonuses,
    }


def _open_ticket(ctx: Context, ticket_id: str, action: str) -> TicketRecord:
    existing = ctx.uow.events.ticket(ticket_id)
    if existing is None:
        raise TicketConflict(
            f"Ticket {ticket_id} is unknown; send its ticket.purchased event first.",
            ticket_id=ticket_id,
        )
    if existing.status != "purchased":
        raise _not_open(existing, action)
    return existing


def refunded(ctx: Context, data: Any) -> Outcome:
    """A ticket refunded before travel: its pending points are voided."""
    existing = _open_ticket(ctx, data.ticket_id, "refunded")
    _settle(ctx, existing, confirm=False)
    _save(ctx, existing, was="purchased", status="refunded")
    return existing.member_id, {"ticket_id": existing.id, "voided": True}


def changed(ctx: Context, change: Change) -> Outcome:
    """改签: pending points move to the new ticket, priced on its fare and departure."""
    existing = _open_ticket(ctx, change.ticket_id, "changed")
    if ctx.uow.events.ticket(change.new_ticket_id) is not None:
        raise TicketConflict(
            f"Ticket {change.new_ticket_id} already exists.", ticket_id=change.new_ticket_id
        )
    assert existing.data is not None and existing.member_id is not None  # noqa: S101, PT018
    old = Ticket.model_validate(existing.data["ticket"])
    new = old.model_copy(
        update={
            "ticket_id": change.new_ticket_id,
            "fare_fen": change.fare_fen,
            "departure_at": change.departure_at,
            "arrival_at": change.arrival_at,
        }
    )
    member = require_active_member(ctx.uow, existing.member_id)
    _settle(ctx, existing, confirm=False)
    _save(ctx, existing, was="purchased", status="changed")
    record, pricing = _new_ticket(ctx, new, member)
    _promise(ctx, record, pricing)
    return member.id, {
        "ticket_id": existing.id,
        "new_ticket_id": new.ticket_id,
        "pending": pricing.points,
        "rules": pricing_lines(pricing),
    }
