"""What every event handler shares: its context, errors, results, the rider and credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jifen.domain.calendar import local_datetime
from jifen.domain.errors import JifenError
from jifen.domain.identity import mask_id_number
from jifen.domain.rules import Pricing
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.event_schema import (
    Event,
    Passenger,
)
from jifen.services.members import MemberNotActive
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.member_repository import MemberRecord


class RiderNotMember(JifenError):
    """The rider is not a member: nothing is earned."""

    code = "rider_not_member"


class TicketConflict(JifenError):
    """The event does not fit the ticket's state (refund after travel, a second purchase…)."""

    code = "ticket_conflict"


class ClaimTooLate(JifenError):
    """A missing-points claim (补登) after the program's window."""

    code = "claim_too_late"


class InvalidEventTime(JifenError):
    """A travel or claim dated before its ticket's departure: no trip is taken before it leaves."""

    code = "invalid_event_time"


class EventInFuture(JifenError):
    """An event dated further ahead of the server's clock than the tolerance allows."""

    code = "event_in_future"


FUTURE_TOLERANCE = timedelta(minutes=10)
"""How far ahead of the server's clock an event may be dated (`JIFEN_EVENT_FUTURE_TOLERANCE`)."""


def error_body(error: JifenError) -> dict[str, Any]:
    """A refusal as an event result gives it: its code, message and details."""
    return {"code": error.code, "message": error.message, "details": error.details}


@dataclass(frozen=True, slots=True)
class EventResult:
    """What became of one event: `applied`, `duplicate` or `rejected` (with the error)."""

    id: str | None
    status: str
    error: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What every handler needs: the open unit of work, the program, the vault and the event.

    `received_at` is when the event reached Jifen, by the server's clock (never the wall clock
    read here): the day a claim's window is counted to.
    """

    uow: UnitOfWork
    program: Program
    vault: IdentityVault
    event: Event
    received_at: datetime

    def local(self, moment: datetime) -> datetime:
        """`moment` on the program's clock (its date is the day lots are credited)."""
        return local_datetime(moment, self.program.timezone)


def masked(value: Any) -> Any:
    """`value` with every ID number in it masked, as events and tickets are kept at rest."""
    if isinstance(value, dict):
        return {
            k: mask_id_number(v)
            if k == "id_number" and isinstance(v, str)
            else masked(v)
            if isinstance(v, dict | list)
            else v
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) if isinstance(v, dict | list) else v for v in value]
    return value


# -- finding the rider and pricing a trip --------------------------------------------------------
def find_rider(ctx: Context, passenger: Passenger) -> MemberRecord:
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


def pricing_lines(pricing: Pricing) -> list[dict[str, Any]]:
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


def stored_pricing(stored: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    return stored["points"], stored["lines"]


# -- ledger movements ----------------------------------------------------------------------------
def credit_points(
    ctx: Context,
    member_id: int,
    points: dict[str, int],
    lines: list[dict[str, Any]],
    at: datetime,
    *,
    post: bool = True,
) -> list[ledger.Request]:
    """Credit each kind into a lot that expires as the kind says; record the rules behind it.

    With `post=False` the credits are returned, for the caller to post in one batch with the
    event's other postings (a travel's tier-only points with its confirmation).
    """
    local = ctx.local(at)
    requests = [
        ledger.ready(
            ledger.Credit(
                key=f"{ctx.event.id}:{kind}",
                member_id=member_id,
                kind=kind,
                points=amount,
                occurred_at=local,
                expires_on=ctx.program.kind(kind).expiry.expires_on(local.date()),
                memo={"event_id": ctx.event.id, "rules": [x for x in lines if x["kind"] == kind]},
            ).posting()
        )
        for kind, amount in sorted(points.items())
    ]
    by_rule: dict[str, int] = {}
    for line in lines:
        if line["kind"] in points and line.get("mirrored") is not True:
            by_rule[line["rule"]] = by_rule.get(line["rule"], 0) + line["points"]
    ctx.uow.events.add_earnings(
        member_id=member_id, day=local.date(), event_id=ctx.event.id, by_rule=by_rule
    )
    if post:
        ledger.post(ctx.uow, requests)
    return requests


Outcome = tuple[int | None, dict[str, Any]]
"""What a handler returns: the member the event was for, and what it did."""
