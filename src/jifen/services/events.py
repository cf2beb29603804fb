"""Apply source-system events to the ledger: tickets bought, travelled, refunded or changed.

Each event is applied in its own unit of work, keyed by its id: applying it again is a duplicate
and changes nothing. Ledger postings are keyed `<event id>:<point kind>`, so an event interrupted
half-way (a crash) completes, never doubles, when it is sent again. Events that arrive early (a
travel before its purchase) are kept and settled when the missing event comes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import IdempotencyConflict, JifenError
from jifen.domain.identity import mask_id_number
from jifen.domain.rules import Pricing
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.event_schema import (
    Activity,
    Change,
    Event,
    Order,
    Passenger,
    Ticket,
    parse_event,
)
from jifen.services.pricing import Pricer
from jifen.storage.crypto import IdentityVault
from jifen.storage.event_repository import StoredEvent, TicketRecord
from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.member_repository import MemberRecord
from jifen.storage.uow import UnitOfWork


class RiderNotMember(JifenError):
    """The rider is not a member: nothing is earned."""

    code = "rider_not_member"


class MemberNotActive(JifenError):
    """A frozen or closed member earns nothing."""

    code = "member_not_active"


class TicketConflict(JifenError):
    """The event does not fit the ticket's state (refund after travel, a second purchase…)."""

    code = "ticket_conflict"


class ClaimTooLate(JifenError):
    """A missing-points claim (补登) after the program's window."""

    code = "claim_too_late"


@dataclass(frozen=True, slots=True)
class EventResult:
    """What became of one event: `applied`, `duplicate` or `rejected` (with the error)."""

    id: str | None
    status: str
    error: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler needs: the open unit of work, the program, the vault and the event."""

    uow: UnitOfWork
    program: Program
    vault: IdentityVault
    event: Event

    def local(self, moment: datetime) -> datetime:
        """`moment` on the program's clock (its date is the day lots are credited)."""
        return local_datetime(moment, self.program.timezone)


def apply_events(
    uow: UnitOfWork, *, program: Program, vault: IdentityVault, raw_events: Iterable[Any]
) -> list[EventResult]:
    """Apply each event on its own; one bad event does not stop the others."""
    return [apply_event(uow, program=program, vault=vault, raw=raw) for raw in raw_events]


def apply_event(
    uow: UnitOfWork, *, program: Program, vault: IdentityVault, raw: Any
) -> EventResult:
    """Apply one event; never raises for a bad event, it is `rejected` with a stable code."""
    event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        event, data = parse_event(raw)
        for attempt in (1, 2):
            try:
                return _apply(Context(uow, program, vault, event), data)
            except KeyTaken:
                if attempt == 2:  # pragma: no cover - the second attempt finds the winner's event
                    raise
    except JifenError as error:
        return EventResult(event_id, "rejected", _error(error))
    raise AssertionError  # pragma: no cover - the loop always returns or raises


def masked(value: Any) -> Any:
    """`value` with every ID number in it masked, as events and tickets are kept at rest."""
    if isinstance(value, dict):
        return {
            k: mask_id_number(v) if k == "id_number" and isinstance(v, str) else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _error(error: JifenError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "details": error.details}


def _apply(ctx: Context, data: Any) -> EventResult:
    sent = ctx.event.model_dump(mode="json")
    fingerprint = ctx.vault.lookup_hash("event", json.dumps(sent, sort_keys=True))
    with ctx.uow:
        stored = ctx.uow.events.get(ctx.event.id)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyConflict(ctx.event.id)
            return EventResult(ctx.event.id, "duplicate", outcome=stored.outcome)
        member_id, outcome = HANDLERS[ctx.event.type](ctx, data)
        if member_id is not None:
            _unlock_redemption(ctx, member_id)
        record = StoredEvent(
            ctx.event.id,
            ctx.event.type,
            ctx.event.occurred_at,
            member_id,
            masked(sent),
            fingerprint,
            outcome,
        )
        try:
            ctx.uow.events.add(record)
        except IntegrityError as error:
            raise KeyTaken(ctx.event.id) from error
        ctx.uow.commit()
    return EventResult(ctx.event.id, "applied", outcome=outcome)


def _unlock_redemption(ctx: Context, member_id: int) -> None:
    """Redemption opens once the spendable balance has reached the program's threshold."""
    ctx.uow.statements.unlock_redemption(
        member_id,
        kinds=[k.code for k in ctx.program.point_kinds if k.spendable],
        threshold=ctx.program.redemption.eligibility_threshold,
        on=ctx.local(ctx.event.occurred_at).date(),
    )


# -- finding the rider and pricing a trip --------------------------------------------------------
def _rider(ctx: Context, passenger: Passenger) -> MemberRecord:
    if passenger.member_id is not None:
        member = ctx.uow.members.get(passenger.member_id)
    else:
        assert passenger.id_type is not None and passenger.id_number is not None  # noqa: S101, PT018
        id_hash = ctx.vault.lookup_hash(passenger.id_type, passenger.id_number)
        member = ctx.uow.members.find_by_identity(id_hash)
    if member is None:
        raise RiderNotMember("The rider is not a member of the program; nothing is earned.")
    if member.status != "active":
        raise MemberNotActive(
            f"Member {member.id} is {member.status}; a {member.status} member earns nothing.",
            member_id=member.id,
            status=member.status,
        )
    return member


def _lines(pricing: Pricing) -> list[dict[str, Any]]:
    return [
        {
            "rule": line.rule_code,
            "kind": line.kind,
            "points": line.points,
            "explanation": line.explanation,
            "mirrored": line.mirrored,
        }
        for line in pricing.lines
    ]


def _pricing_from(stored: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    return stored["points"], stored["lines"]


# -- ledger movements ----------------------------------------------------------------------------
def _credit(
    ctx: Context,
    member_id: int,
    points: dict[str, int],
    lines: list[dict[str, Any]],
    at: datetime,
) -> None:
    """Credit each kind into a lot that expires as the kind says; record the rules behind it."""
    local = ctx.local(at)
    for kind, amount in sorted(points.items()):
        ledger.credit(
            ctx.uow,
            key=f"{ctx.event.id}:{kind}",
            member_id=member_id,
            kind=kind,
            points=amount,
            occurred_at=local,
            expires_on=ctx.program.kind(kind).expiry.expires_on(local.date()),
            memo={"event_id": ctx.event.id, "rules": [x for x in lines if x["kind"] == kind]},
        )
    by_rule: dict[str, int] = {}
    for line in lines:
        if line["kind"] in points and line.get("mirrored") is not True:
            by_rule[line["rule"]] = by_rule.get(line["rule"], 0) + line["points"]
    ctx.uow.events.add_earnings(
        member_id=member_id, day=local.date(), event_id=ctx.event.id, by_rule=by_rule
    )


def _promise(ctx: Context, ticket: TicketRecord, pricing: Pricing) -> None:
    """Open a bought ticket: pending points for each spendable kind, kept on the ticket."""
    assert ticket.member_id is not None  # noqa: S101 - a bought ticket has its rider
    lines = _lines(pricing)
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
        "pricing": {"points": pricing.points, "lines": _lines(pricing)},
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


def _save(ctx: Context, ticket: TicketRecord, **changes: Any) -> TicketRecord:
    updated = replace(ticket, **changes)
    ctx.uow.events.save_ticket(updated)
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
Outcome = tuple[int | None, dict[str, Any]]


def purchased(ctx: Context, ticket: Ticket) -> Outcome:
    """A ticket bought: pending points, or straight to a lot if its travel came first."""
    existing = ctx.uow.events.ticket(ticket.ticket_id)
    if existing is not None and existing.status != "travelled_early":
        raise TicketConflict(
            f"Ticket {ticket.ticket_id} was already sent.", ticket_id=ticket.ticket_id
        )
    member = _rider(ctx, ticket.passenger)
    record, pricing = _new_ticket(ctx, ticket, member)
    lines = _lines(pricing)
    if existing is not None:  # travel arrived first: earn now, as of the travel
        assert existing.travelled_at is not None  # noqa: S101 - set with the early travel
        _credit(ctx, member.id, pricing.points, lines, existing.travelled_at)
        _save(ctx, record, status="travelled", travelled_at=existing.travelled_at)
        return member.id, {
            "ticket_id": ticket.ticket_id,
            "credited": pricing.points,
            "rules": lines,
        }
    _promise(ctx, record, pricing)
    return member.id, {"ticket_id": ticket.ticket_id, "pending": pricing.points, "rules": lines}


def travelled(ctx: Context, data: Any) -> Outcome:
    """A trip taken: pending points confirmed into lots; tier points credited; or a claim."""
    existing = ctx.uow.events.ticket(data.ticket_id)
    if isinstance(data, Ticket) and (existing is None or existing.status == "travelled_early"):
        return _claim(ctx, data)
    if existing is None:  # out of order: keep the travel until the purchase arrives
        stub = TicketRecord(
            data.ticket_id, None, "travelled_early", None, None, None, None, ctx.event.occurred_at
        )
        ctx.uow.events.save_ticket(stub)
        return None, {"ticket_id": data.ticket_id, "awaiting_purchase": True}
    if existing.status != "purchased":
        raise _not_open(existing, "travelled")
    assert existing.member_id is not None and existing.data is not None  # noqa: S101, PT018
    _settle(ctx, existing, confirm=True)
    points, lines = _pricing_from(existing.data["pricing"])
    tier_only = {k: n for k, n in points.items() if not ctx.program.kind(k).spendable}
    _credit(ctx, existing.member_id, tier_only, lines, ctx.event.occurred_at)
    _record_confirmed_earnings(ctx, existing.member_id, points, lines)
    _save(ctx, existing, status="travelled", travelled_at=ctx.event.occurred_at)
    return existing.member_id, {"ticket_id": existing.id, "credited": points, "rules": lines}


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


def _claim(ctx: Context, ticket: Ticket) -> Outcome:
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
    member = _rider(ctx, ticket.passenger)
    record, pricing = _new_ticket(ctx, ticket, member)
    lines = _lines(pricing)
    _credit(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    _save(ctx, record, status="travelled", travelled_at=ctx.event.occurred_at)
    return member.id, {
        "ticket_id": ticket.ticket_id,
        "claim": True,
        "credited": pricing.points,
        "rules": lines,
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
    _save(ctx, existing, status="refunded")
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
    _settle(ctx, existing, confirm=False)
    _save(ctx, existing, status="changed")
    member = ctx.uow.members.get(existing.member_id)
    assert member is not None  # noqa: S101 - tickets keep their member
    record, pricing = _new_ticket(ctx, new, member)
    _promise(ctx, record, pricing)
    return member.id, {
        "ticket_id": existing.id,
        "new_ticket_id": new.ticket_id,
        "pending": pricing.points,
        "rules": _lines(pricing),
    }


def activity_completed(ctx: Context, activity: Activity) -> Outcome:
    """An activity done: activity points credited into a lot, within the rules' caps."""
    member = _rider(ctx, activity.rider)
    pricing = Pricer(ctx.uow, ctx.program).activity(member, activity, ctx.event.occurred_at)
    lines = _lines(pricing)
    _credit(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    return member.id, {"credited": pricing.points, "rules": lines}


def order_paid(ctx: Context, order: Order) -> Outcome:
    """A shop order paid: points on the amount, with tier and birthday multipliers."""
    member = _rider(ctx, order.rider)
    pricing = Pricer(ctx.uow, ctx.program).order(member, order, ctx.event.occurred_at)
    lines = _lines(pricing)
    _credit(ctx, member.id, pricing.points, lines, ctx.event.occurred_at)
    return member.id, {"order_id": order.order_id, "credited": pricing.points, "rules": lines}


HANDLERS: dict[str, Callable[[Context, Any], Outcome]] = {
    "ticket.purchased": purchased,
    "ticket.travelled": travelled,
    "ticket.refunded": refunded,
    "ticket.changed": changed,
    "activity.completed": activity_completed,
    "order.paid": order_paid,
}
