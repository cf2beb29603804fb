"""Pricing of trips, activities and orders under a program's rules, for one member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jifen.domain.calendar import local_datetime
from jifen.domain.rules import EventFacts, MemberFacts, Pricing, conditions_hold, price_event
from jifen.programs.schema import Program
from jifen.services.event_schema import Activity, Order, Ticket
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.member_repository import MemberRecord

NO_POINTS = Pricing(points={}, lines=())


@dataclass(frozen=True, slots=True)
class Pricer:
    """Prices events for members under `program`, reading caps and budgets through `uow`.

    Runs inside an open unit of work. With `charge`, the points budgeted rules give are taken
    from their budgets, under each budget row's lock until the unit of work ends (events that
    post what they priced); without it nothing is written (the what-if report, with a draft).
    """

    uow: UnitOfWork
    program: Program
    charge: bool = False

    def local(self, moment: datetime) -> datetime:
        """`moment` on the program's clock."""
        return local_datetime(moment, self.program.timezone)

    def trip(self, member: MemberRecord, ticket: Ticket) -> Pricing:
        """Points for riding `ticket`; nothing for a trip that departs before the member joined."""
        if ticket.departure_at < member.joined_at:
            return NO_POINTS
        departure = self.local(ticket.departure_at)
        facts = EventFacts(
            type="ticket.travelled",
            occurred_at=departure,
            fare_fen=ticket.fare_fen,
            ticket_type=ticket.ticket_type,
            train_participating=ticket.train.participating,
            train_international=ticket.train.international,
            train_tourist=ticket.train.tourist,
            issue=ticket.issue,
            payment=ticket.payment,
            real_name=ticket.real_name,
        )
        return self.price(facts, member)

    def activity(self, member: MemberRecord, activity: Activity, at: datetime) -> Pricing:
        """Points for an activity done at `at`."""
        facts = EventFacts(
            type="activity.completed",
            occurred_at=self.local(at),
            activity=activity.activity,
            points=activity.points,
        )
        return self.price(facts, member)

    def order(self, member: MemberRecord, order: Order, at: datetime) -> Pricing:
        """Points for an order paid at `at`."""
        facts = EventFacts(type="order.paid", occurred_at=self.local(at), fare_fen=order.amount_fen)
        return self.price(facts, member)

    def price(self, facts: EventFacts, member: MemberRecord) -> Pricing:
        """Apply the program's rules to `facts`, budgeted ones within what is left of them."""
        rules = self.program.all_earning_rules()
        member_facts = self._facts(member, facts.occurred_at)
        budgets = {
            r.code: r.budget_points
            for r in rules
            if r.budget_points is not None
            and r.on == facts.type
            and conditions_hold(r.conditions, event=facts, member=member_facts)
        }
        if not budgets:
            return price_event(rules=rules, event=facts, member=member_facts)
        spent = self.uow.events.spent_budgets(budgets, lock=self.charge)
        left = {code: max(budget - spent.get(code, 0), 0) for code, budget in budgets.items()}
        pricing = price_event(rules=rules, event=facts, member=member_facts, budgets_left=left)
        if self.charge:
            given = pricing.by_rule()
            self.uow.events.spend_budgets({code: given.get(code, 0) for code in budgets})
        return pricing

    def _facts(self, member: MemberRecord, day: datetime) -> MemberFacts:
        today = day.date()
        earned = self.uow.events.earned
        by_segment = any(r.conditions.segment_in for r in self.program.all_earning_rules())
        return MemberFacts(
            member_id=member.id,
            birth_date=member.birth_date,  # type: ignore[arg-type] - enrolled members have one
            id_type=member.id_type or "",
            tier=member.tier.code if member.tier else None,
            segments=self.uow.segments.names(member.id) if by_segment else frozenset(),
            earned_today=earned(member_id=member.id, since=today, until=today),
            earned_this_month=earned(member_id=member.id, since=today.replace(day=1), until=today),
        )
