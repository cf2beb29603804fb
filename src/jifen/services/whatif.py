"""What-if: re-price a past period under draft rules against the live rules, writing nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from jifen.domain.rules import Pricing
from jifen.programs.schema import Program
from jifen.services.event_schema import Activity, Order, Ticket
from jifen.services.pricing import Pricer
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.member_repository import MemberRecord


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Points per kind and their cost under the live and the draft rules over one period."""

    start: date
    end: date
    priced: int
    live: Counter[str] = field(default_factory=Counter)
    draft: Counter[str] = field(default_factory=Counter)
    live_cost_fen: int = 0
    draft_cost_fen: int = 0
    members_affected: int = 0


def cost_fen(program: Program, points: Counter[str]) -> int:
    """What spendable points are worth at the program's redemption value, in fen (half-up)."""
    spendable = sum(n for kind, n in points.items() if program.kind(kind).spendable)
    per_yuan = program.redemption.points_per_yuan
    return (spendable * 100 * 2 + per_yuan) // (2 * per_yuan)


def what_if(uow: UnitOfWork, *, live: Program, draft: Program, start: date, end: date) -> WhatIf:
    """Re-price every trip travelled and every activity and order from `start` to `end`.

    Each is priced twice, with the live and the draft rules, on the same member facts; a member
    is affected when any of their points would differ.
    """
    zone = ZoneInfo(live.timezone)
    since = datetime.combine(start, time(0), tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    totals: dict[str, Counter[str]] = {"live": Counter(), "draft": Counter()}
    affected: set[int] = set()
    priced = 0
    with uow:
        pricers = {"live": Pricer(uow, live), "draft": Pricer(uow, draft)}
        for member, price in _priceable(uow, since, until):
            results = {name: price(pricer) for name, pricer in pricers.items()}
            for name, pricing in results.items():
                totals[name].update(pricing.points)
            if results["live"].points != results["draft"].points:
                affected.add(member.id)
            priced += 1
    return WhatIf(
        start,
        end,
        priced,
        totals["live"],
        totals["draft"],
        cost_fen(live, totals["live"]),
        cost_fen(draft, totals["draft"]),
        len(affected),
    )


PriceWith = Callable[[Pricer], Pricing]


def _priceable(
    uow: UnitOfWork, since: datetime, until: datetime
) -> Iterator[tuple[MemberRecord, PriceWith]]:
    """Each earning thing in the period, with the member and a function pricing it."""
    members: dict[int, MemberRecord | None] = {}

    def member(member_id: int) -> MemberRecord | None:
        if member_id not in members:
            members[member_id] = uow.members.get(member_id)
        return members[member_id]

    for ticket in uow.events.travelled_between(since, until):
        rider = None if ticket.member_id is None else member(ticket.member_id)
        data = Ticket.model_validate((ticket.data or {})["ticket"])
        if rider is not None:
            yield rider, partial(Pricer.trip, member=rider, ticket=data)
    for event in uow.events.events_between(("activity.completed", "order.paid"), since, until):
        rider = member(event.member_id) if event.member_id else None
        if rider is None:
            continue
        if event.type == "order.paid":
            order = Order.model_validate(event.payload["data"])
            yield rider, partial(Pricer.order, member=rider, order=order, at=event.occurred_at)
        else:
            act = Activity.model_validate(event.payload["data"])
            yield rider, partial(Pricer.activity, member=rider, activity=act, at=event.occurred_at)
