"""A bought ticket's row and its points: priced, promised as pending, then confirmed or voided."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from jifen.domain.rules import Pricing
from jifen.domain.tickets import TicketState
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.event_schema import Ticket
from jifen.services.events.context import Context, masked, pricing_lines
from jifen.services.pricing import Pricer
from jifen.storage.event_repository import TicketRecord
from jifen.storage.member_repository import MemberRecord


def promise(ctx: Context, ticket: TicketRecord, pricing: Pricing, *, was: str | None) -> None:
    """Open a bought ticket: pending points for each spendable kind, kept on the ticket."""
    assert ticket.member_id is not None  # noqa: S101 - a bought ticket has its rider
    lines = pricing_lines(pricing)
    kinds = [k for k in sorted(pricing.points) if ctx.program.kind(k).spendable]
    posted = ledger.post(  # tier-only points are credited on travel, never promised
        ctx.uow,
        [
            ledger.ready(
                ledger.Promise(
                    key=f"{ctx.event.id}:{kind}",
                    member_id=ticket.member_id,
                    kind=kind,
                    points=pricing.points[kind],
                    occurred_at=ctx.local(ctx.event.occurred_at),
                    reference=ticket.id,
                    memo={
                        "event_id": ctx.event.id,
                        "rules": [x for x in lines if x["kind"] == kind],
                    },
                ).posting()
            )
            for kind in kinds
        ],
    )
    pending = {kind: w.pending_id for kind, w in zip(kinds, posted, strict=True) if w is not None}
    save_ticket(
        ctx,
        ticket,
        was=was,
        data={**(ticket.data or {}), "pending": pending},
        pending_id=next(iter(pending.values()), None),
    )


def settle(
    ctx: Context, ticket: TicketRecord, *, confirm: bool, also: Sequence[ledger.Request] = ()
) -> None:
    """Confirm (travel) or void (refund, change) a ticket's pending points.

    A void gives what the ticket was promised back to the budgets of its rules, first: budget
    rows are always locked before the member's balance rows. `also` are postings of the same
    event that go through the ledger's door in the same batch (a travel's tier-only credits).
    """
    local = ctx.local(ctx.event.occurred_at)
    if not confirm:
        _give_back(ctx, ticket)
    requests = []
    data = ticket.data or {}
    for kind, pending_id in sorted(data.get("pending", {}).items()):
        key = f"{ctx.event.id}:{kind}:{'confirm' if confirm else 'void'}"
        owner = None if ticket.member_id is None else (ticket.member_id, kind)
        if confirm:
            rules = [x for x in data["pricing"]["lines"] if x["kind"] == kind]
            request = ledger.confirm_request(
                ctx.uow,
                key=key,
                pending_id=pending_id,
                occurred_at=local,
                expires_on=ctx.program.kind(kind).expiry.expires_on(local.date()),
                memo={"event_id": ctx.event.id, "rules": rules},
                owner=owner,
            )
        else:
            memo = {"event_id": ctx.event.id}
            request = ledger.void_request(
                ctx.uow, key=key, pending_id=pending_id, occurred_at=local, memo=memo, owner=owner
            )
        requests.append(request)
    ledger.post(ctx.uow, [*requests, *also])


def _give_back(ctx: Context, ticket: TicketRecord) -> None:
    """Return a voided ticket's points to the budgets of the rules that promised them."""
    promised = given_back(ctx.program, [ticket.data])
    if promised:
        ctx.uow.events.spend_budgets(promised)


def budgeted_rules(program: Program) -> list[str]:
    """The codes of the program's earning rules that have a points budget."""
    return sorted(r.code for r in program.all_earning_rules() if r.budget_points is not None)


def given_back(program: Program, tickets_data: Iterable[dict[str, Any] | None]) -> dict[str, int]:
    """What voiding these tickets gives back to each budgeted rule (negative points)."""
    budgeted = set(budgeted_rules(program))
    promised: dict[str, int] = {}
    for data in tickets_data:
        for line in ((data or {}).get("pricing") or {}).get("lines", []):
            if line["rule"] in budgeted and line.get("mirrored") is not True:
                promised[line["rule"]] = promised.get(line["rule"], 0) - line["points"]
    return promised


def new_ticket(ctx: Context, ticket: Ticket, member: MemberRecord) -> tuple[TicketRecord, Pricing]:
    """A bought ticket's row, priced under the rules as a trip on its departure date."""
    pricing = Pricer(ctx.uow, ctx.program, charge=True).trip(member, ticket)
    data = {
        "ticket": masked(ticket.model_dump(mode="json")),
        "pricing": {"points": pricing.points, "lines": pricing_lines(pricing)},
        "pending": {},
    }
    record = TicketRecord(
        ticket.ticket_id,
        member.id,
        TicketState.PURCHASED,
        ticket.fare_fen,
        ticket.departure_at,
        data,
        None,
        None,
    )
    return record, pricing


def save_ticket(
    ctx: Context, ticket: TicketRecord, *, was: str | None, **changes: Any
) -> TicketRecord:
    """Write the ticket if it is still as this event found it; else the event is retried.

    `was` is its status then, None when it did not exist yet.
    """
    updated = replace(ticket, **changes)
    ctx.uow.events.save_ticket(updated, was=was)
    return updated


def record_confirmed_earnings(
    ctx: Context, member_id: int, points: dict[str, int], lines: list[dict[str, Any]]
) -> None:
    """Record the spendable points a travel confirmed, per rule, for caps and budgets."""
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
