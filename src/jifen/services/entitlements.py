"""Entitlements: issuing them in the daily job, listing a member's, and using one.

The daily job's `entitlements` step (`issue_due`) first lapses what members who left a tier still
held, then issues what the program grants to members whose tier period started that day and to
members whose birthday it is, a chunk per transaction; an issue is unique by member, benefit and
the day it was issued for, so a rerun adds nothing. A use (`use_entitlement`) counts one of an
entitlement under the caller's id (a retry replays it) and is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jifen.domain.calendar import local_date
from jifen.domain.entitlements import (
    Entitlement,
    EntitlementState,
    EntitlementUsedUp,
    Trigger,
    check_use,
    due,
    is_birthday,
    state_on,
)
from jifen.domain.errors import IdempotencyConflict, InvalidRequest, NotFound
from jifen.programs.schema import Program
from jifen.services import audit
from jifen.services.notifications import outbox
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.entitlement_repository import Candidate, EntitlementUse

CHUNK = 500
USE_CLOCK_SKEW = timedelta(minutes=5)
"""How far after the API's clock a use may be dated (a lounge's clock running a little ahead)."""


@dataclass(frozen=True, slots=True)
class Held:
    """An entitlement as a member sees it on a day: its state and what is left."""

    entitlement: Entitlement
    state: EntitlementState


@dataclass(frozen=True, slots=True)
class Used:
    """An entitlement after a use; `replayed` when this use id had been recorded before."""

    entitlement: Entitlement
    use: EntitlementUse
    state: EntitlementState
    replayed: bool = False


def issue_due(
    uow: UnitOfWork, program: Program, as_of: date, progress: Callable[[str, int], None]
) -> dict[str, Any]:
    """The daily step: lapse what left its tier, then issue tier-start and birthday benefits."""
    grants = program.entitlement_grants()
    with uow:
        lapsed = uow.entitlements.lapse(day=as_of)
        uow.commit()
    issued: dict[str, int] = {}
    at = datetime.combine(as_of, time(0), tzinfo=ZoneInfo(program.timezone))
    for trigger in Trigger:
        tiers = sorted({tier for g in grants if g.trigger == trigger for tier, _n in g.quantities})
        if not tiers:
            continue
        with uow:
            if trigger is Trigger.TIER_START:
                candidates = uow.entitlements.tier_starts(day=as_of, tiers=tiers)
            else:
                candidates = uow.entitlements.birthdays(day=as_of, tiers=tiers)
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            with uow:
                made = uow.entitlements.issue(_issues(uow, program, chunk, trigger, as_of))
                outbox.entitlements_issued(uow, issued=made, at=at)
                uow.commit()
            for entitlement in made:
                issued[entitlement.code] = issued.get(entitlement.code, 0) + 1
            progress("entitlements", len(chunk))
    return {"lapsed": lapsed, "issued": issued}


def _issues(
    uow: UnitOfWork, program: Program, chunk: list[Candidate], trigger: Trigger, as_of: date
) -> list[Any]:
    grants = program.entitlement_grants()
    if trigger is Trigger.BIRTHDAY:  # the query's 29 February on 28 February, refined
        born = uow.entitlements.birth_dates([c.member_id for c in chunk])
        chunk = [c for c in chunk if c.member_id in born and is_birthday(born[c.member_id], as_of)]
    return [
        issue
        for c in chunk
        for issue in due(grants, member_id=c.member_id, tier=c.tier, trigger=trigger, on=as_of)
    ]


def member_entitlements(
    uow: UnitOfWork, *, program: Program, member_id: int, now: datetime
) -> list[Held]:
    """A member's entitlements, newest first, each with where it stands on the program's day."""
    today = local_date(now, program.timezone)
    with uow:
        member = uow.members.get(member_id)
        if member is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        held = uow.entitlements.of_member(member_id)
    tier = None if member.tier is None else member.tier.code
    return [Held(e, state_on(e, day=today, tier_code=tier)) for e in held]


def use_entitlement(
    uow: UnitOfWork,
    *,
    program: Program,
    entitlement_id: int,
    use_id: str,
    at: datetime,
    location: str | None,
    actor: str,
    now: datetime,
) -> Used:
    """Count one use of an entitlement at `at` (where: `location`), audited.

    The same `use_id` again returns the first use (`replayed`); sent for another entitlement,
    time or place it is `IdempotencyConflict`. `NotFound` for an unknown entitlement,
    `EntitlementNotValid` outside its validity or once it lapsed, `EntitlementUsedUp` when
    nothing is left, `InvalidRequest` for a use dated after `now`.
    """
    if at > now + USE_CLOCK_SKEW:
        raise InvalidRequest(
            f"A use cannot be dated {at.isoformat()}, after now ({now.isoformat()}).",
            at=at.isoformat(),
        )
    with uow:
        entitlement = uow.entitlements.get(entitlement_id, lock=True)
        if entitlement is None:
            raise NotFound(f"No entitlement {entitlement_id}.", entitlement_id=entitlement_id)
        member = uow.members.get(entitlement.member_id)
        tier = None if member is None or member.tier is None else member.tier.code
        day = at.astimezone(ZoneInfo(program.timezone)).date()
        prior = uow.entitlements.get_use(use_id)  # read under the lock: a retry waits for it
        if prior is not None:
            if (prior.entitlement_id, prior.used_at, prior.location) != (
                entitlement_id,
                at,
                location,
            ):
                raise IdempotencyConflict(use_id)
            state = state_on(entitlement, day=day, tier_code=tier)
            return Used(entitlement, prior, state, replayed=True)
        check_use(entitlement, day=day, tier_code=tier)
        use = EntitlementUse(use_id, entitlement_id, at, location, now)
        if not uow.entitlements.record_use(use):  # the lock makes this a last line of defence
            raise EntitlementUsedUp(f"Entitlement {entitlement_id} is used up.")
        audit.record(
            uow,
            at=now,
            actor=actor,
            action="entitlement.used",
            subject=f"member:{entitlement.member_id}",
            details={
                "entitlement_id": entitlement_id,
                "code": entitlement.code,
                "use_id": use_id,
                "used_at": at.isoformat(),
                "location": location,
                "remaining": entitlement.remaining - 1,
            },
        )
        after = uow.entitlements.get(entitlement_id)
        uow.commit()
    assert after is not None  # noqa: S101 - just updated
    return Used(after, use, state_on(after, day=day, tier_code=tier))
