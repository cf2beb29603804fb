"""A travelled trip's campaign bonuses: posted with the event, within each campaign's budget.

Called by the ticket handlers once a trip's base points are credited, inside the event's unit of
work, so the bonus commits or rolls back with the event. For every active campaign whose window
holds the departure and whose target the trip meets:

- a member in the campaign's control group gets nothing, but the trip is recorded for the report;
- a treated member gets the campaign's bonus as its own ledger credit, keyed
  `<event id>:campaign:<campaign id>`, after taking it from the budget under the campaign row's
  lock. A bonus larger than what is left is cut to what is left, and the campaign turns
  `exhausted`: no trip earns it after that.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from jifen.domain.campaigns import TREATED, CampaignRules, Trip, arm, bonus, grant, targets
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.campaigns.definitions import rules_of
from jifen.services.event_schema import Event, Ticket
from jifen.services.ports import CampaignStore, EventUnitOfWork
from jifen.storage.campaign_repository import CampaignTrip
from jifen.storage.member_repository import MemberRecord


class EventBeingApplied(Protocol):
    """What awarding needs of the event being applied; the events package's `Context` is one.

    A protocol, so that this package does not import the events package that calls it.
    """

    @property
    def uow(self) -> EventUnitOfWork:
        """The event's open unit of work."""
        ...

    @property
    def program(self) -> Program:
        """The program the event is applied under."""
        ...

    @property
    def event(self) -> Event:
        """The event."""
        ...

    def local(self, moment: datetime) -> datetime:
        """`moment` on the program's clock."""
        ...


def posting_key(event_id: str, campaign_id: str) -> str:
    """The ledger key of an event's bonus from a campaign (hashed when it would be too long)."""
    key = f"{event_id}:campaign:{campaign_id}"
    if len(key) <= 200:  # the ledger's key limit
        return key
    return f"campaign:{campaign_id}:{hashlib.sha256(event_id.encode()).hexdigest()}"


def award_campaigns(
    ctx: EventBeingApplied,
    *,
    member: MemberRecord,
    ticket: Ticket,
    points: dict[str, int],
    at: datetime | None = None,
) -> dict[str, Any]:
    """Post the bonuses of the campaigns `ticket` qualifies for; `{"campaigns": [...]}` or `{}`.

    `points` are the base points the trip earned, by kind, credited `at` (the event's time unless
    told). Campaigns lock in id order, after the member's balance rows, so two events never wait
    for each other in opposite orders.
    """
    repo = ctx.uow.campaigns
    departure = ctx.local(ticket.departure_at)
    awarded = []
    segments: frozenset[str] | None = None  # read once, if a campaign targets segments
    for campaign_id, request_hash in repo.running_at(ticket.departure_at):
        rules, name = _definition(repo, campaign_id, request_hash)
        if rules.target.segments is not None and segments is None:
            segments = ctx.uow.segments.names(member.id)
        trip = Trip(
            member_id=member.id,
            tier=member.tier.code if member.tier else None,
            train_number=ticket.train.number,
            departure=departure,
            base_points=points.get(rules.effect.kind, 0),
            segments=segments or frozenset(),
        )
        if targets(rules, trip):
            given = _award(ctx, repo, rules, trip, fare_fen=ticket.fare_fen, name=name, at=at)
            if given is not None:
                awarded.append({"campaign_id": campaign_id, "bonus": given})
    return {"campaigns": awarded} if awarded else {}


_DEFINITIONS: dict[tuple[str, str], tuple[CampaignRules, str]] = {}


def _definition(
    repo: CampaignStore, campaign_id: str, request_hash: str
) -> tuple[CampaignRules, str]:
    """A campaign's rules and name, parsed once per process: a definition never changes."""
    key = (campaign_id, request_hash)
    found = _DEFINITIONS.get(key)  # one lookup: another thread may clear the cache meanwhile
    if found is None:
        stored = repo.get(campaign_id)
        assert stored is not None  # noqa: S101 - just listed in this transaction
        if len(_DEFINITIONS) >= 256:  # bounded: old campaigns drop out
            _DEFINITIONS.clear()
        found = _DEFINITIONS[key] = (rules_of(stored), stored.name)
    return found


def _award(
    ctx: EventBeingApplied,
    repo: CampaignStore,
    rules: CampaignRules,
    trip: Trip,
    *,
    fare_fen: int,
    name: str,
    at: datetime | None,
) -> int | None:
    """Record the trip and, for a treated member, post its bonus; the points given, if treated."""
    side = arm(rules.id, trip.member_id, rules.control_percent)
    given, transaction_id = 0, None
    if side == TREATED:
        budget = repo.lock_budget(rules.id)  # queues this campaign's bonuses until commit
        if budget is None:
            return None  # stopped or exhausted since the event began
        wanted = bonus(rules.effect, trip.base_points)
        given = grant(wanted, budget=budget.budget_points, spent=budget.spent_points)
        if given:
            transaction_id = _post(ctx, rules, trip, given, wanted=wanted, name=name, at=at)
            exhausted = budget.spent_points + given == budget.budget_points
            repo.spend(rules.id, given, exhausted=exhausted)
    repo.record_trip(
        CampaignTrip(
            campaign_id=rules.id,
            event_id=ctx.event.id,
            member_id=trip.member_id,
            arm=side,
            fare_fen=fare_fen,
            base_points=trip.base_points,
            bonus_points=given,
            transaction_id=transaction_id,
            at=ctx.event.occurred_at,
        )
    )
    return given if side == TREATED else None


def _post(
    ctx: EventBeingApplied,
    rules: CampaignRules,
    trip: Trip,
    points: int,
    *,
    wanted: int,
    name: str,
    at: datetime | None,
) -> int:
    effect = rules.effect
    how = f"+{effect.percent}% of {trip.base_points}" if effect.percent else f"+{effect.points}"
    cut = f", cut from {wanted} to what was left of the budget" if points < wanted else ""
    local = ctx.local(at or ctx.event.occurred_at)
    posted = ledger.credit(
        ctx.uow,
        key=posting_key(ctx.event.id, rules.id),
        member_id=trip.member_id,
        kind=effect.kind,
        points=points,
        occurred_at=local,
        expires_on=ctx.program.kind(effect.kind).expiry.expires_on(local.date()),
        memo={
            "event_id": ctx.event.id,
            "campaign_id": rules.id,
            "rules": [
                {
                    "rule": f"campaign:{rules.id}",
                    "kind": effect.kind,
                    "points": points,
                    "explanation": f"Campaign {name} (积分加成): {how}{cut}",
                }
            ],
        },
    )
    return posted.transaction_id
