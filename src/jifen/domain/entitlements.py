"""Entitlements (权益): countable tier benefits issued to members, used one at a time, lapsing.

A program grants each benefit per tier (`EntitlementGrant`: 6 lounge visits a year at 5★, a
birthday coupon), issued when a tier period starts or on the member's birthday. An issued
`Entitlement` is valid from the day it is issued to its `valid_until` (inclusive), never past the
end of the tier period it was issued under, and lapses when the member leaves that tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jifen.domain.errors import JifenError
from jifen.domain.tiers import TierState


class Trigger(StrEnum):
    """When a grant is issued."""

    TIER_START = "tier_start"
    """On the day a tier period starts (an upgrade, a requalification, a downgrade)."""
    BIRTHDAY = "birthday"
    """On the member's birthday (28 February for those born on 29 February, in other years)."""


class EntitlementState(StrEnum):
    """Where an issued entitlement stands on a day."""

    ACTIVE = "active"
    USED_UP = "used_up"
    EXPIRED = "expired"
    LAPSED = "lapsed"


@dataclass(frozen=True, slots=True)
class EntitlementGrant:
    """A countable benefit of a program: how many of it each tier gets, when, and for how long.

    `quantities` pairs tier codes with the count issued (tiers not named get none); an issue is
    valid `valid_days` days from its day (that day included), and never past its tier's end.
    """

    code: str
    trigger: Trigger
    quantities: tuple[tuple[str, int], ...]
    valid_days: int
    name_zh: str = ""
    name_en: str = ""

    def __post_init__(self) -> None:
        """Refuse a grant that could issue nothing sensible."""
        if self.valid_days < 1:
            msg = f"An entitlement is valid for at least one day, not {self.valid_days}."
            raise ValueError(msg)
        if any(count < 1 for _tier, count in self.quantities):
            msg = f"Each tier of {self.code!r} gets at least one, not {self.quantities}."
            raise ValueError(msg)

    def quantity_for(self, tier_code: str) -> int:
        """How many a member in `tier_code` is given (0 when the tier gets none)."""
        return dict(self.quantities).get(tier_code, 0)


@dataclass(frozen=True, slots=True)
class Issue:
    """An entitlement to issue: `issued_for` (the tier start or the birthday) makes it unique."""

    member_id: int
    code: str
    tier_code: str
    trigger: Trigger
    issued_for: date
    issued_on: date
    valid_until: date
    quantity: int


@dataclass(frozen=True, slots=True)
class Entitlement:
    """An issued entitlement with how much of it is used; `lapsed_on` once its tier ended."""

    id: int
    member_id: int
    code: str
    tier_code: str
    trigger: Trigger
    issued_for: date
    issued_on: date
    valid_until: date
    quantity: int
    used: int
    lapsed_on: date | None = None

    @property
    def remaining(self) -> int:
        """How many uses are left."""
        return self.quantity - self.used


class EntitlementUsedUp(JifenError):
    """Every use of the entitlement has been taken."""

    code = "entitlement_used_up"
    status = 409


class EntitlementNotValid(JifenError):
    """The entitlement cannot be used on that day: not yet issued, expired, or lapsed."""

    code = "entitlement_not_valid"
    status = 409


def is_birthday(birth_date: date, day: date) -> bool:
    """Whether `day` is the birthday of someone born on `birth_date` (29 Feb → 28 Feb)."""
    if (birth_date.month, birth_date.day) == (day.month, day.day):
        return True
    leap_day = (birth_date.month, birth_date.day) == (2, 29)
    return leap_day and (day.month, day.day) == (2, 28) and not _leap(day.year)


def valid_until(grant: EntitlementGrant, *, tier: TierState, issued_on: date) -> date:
    """The last day an issue of `grant` on `issued_on` may be used, within its tier's period."""
    own = issued_on + timedelta(days=grant.valid_days - 1)
    return own if tier.valid_until is None else min(own, tier.valid_until)


def due(
    grants: tuple[EntitlementGrant, ...],
    *,
    member_id: int,
    tier: TierState,
    trigger: Trigger,
    on: date,
) -> list[Issue]:
    """What a member in `tier` is issued on `on` for `trigger` (a tier start or a birthday).

    Nothing when the tier has already ended on `on`.
    """
    if tier.expired(on):
        return []
    return [
        Issue(
            member_id=member_id,
            code=grant.code,
            tier_code=tier.code,
            trigger=trigger,
            issued_for=on,
            issued_on=on,
            valid_until=valid_until(grant, tier=tier, issued_on=on),
            quantity=count,
        )
        for grant in grants
        if grant.trigger == trigger and (count := grant.quantity_for(tier.code)) > 0
    ]


def state_on(entitlement: Entitlement, *, day: date, tier_code: str | None) -> EntitlementState:
    """Where `entitlement` stands on `day` for a member now in `tier_code`.

    Lapsed once its tier ended (recorded as `lapsed_on`, or the member is in another tier now);
    expired after `valid_until`; used up when nothing remains.
    """
    if entitlement.lapsed_on is not None:
        if day >= entitlement.lapsed_on:
            return EntitlementState.LAPSED
    elif tier_code != entitlement.tier_code:
        return EntitlementState.LAPSED
    if day > entitlement.valid_until:
        return EntitlementState.EXPIRED
    if entitlement.remaining <= 0:
        return EntitlementState.USED_UP
    return EntitlementState.ACTIVE


def check_use(entitlement: Entitlement, *, day: date, tier_code: str | None) -> None:
    """Refuse a use on `day` that the entitlement does not allow.

    `EntitlementNotValid` before it was issued, after it expired or lapsed; `EntitlementUsedUp`
    when no use is left.
    """
    details = {
        "entitlement_id": entitlement.id,
        "issued_on": entitlement.issued_on.isoformat(),
        "valid_until": entitlement.valid_until.isoformat(),
    }
    if day < entitlement.issued_on:
        raise EntitlementNotValid(
            f"Entitlement {entitlement.id} was issued on {entitlement.issued_on}, after {day}.",
            **details,
        )
    state = state_on(entitlement, day=day, tier_code=tier_code)
    if state in (EntitlementState.LAPSED, EntitlementState.EXPIRED):
        reason = (
            f"lapsed with tier {entitlement.tier_code}"
            if state is EntitlementState.LAPSED
            else f"was valid until {entitlement.valid_until}"
        )
        raise EntitlementNotValid(
            f"Entitlement {entitlement.id} cannot be used on {day}: it {reason}.",
            state=str(state),
            **details,
        )
    if state is EntitlementState.USED_UP:
        raise EntitlementUsedUp(
            f"Entitlement {entitlement.id} is used up: all {entitlement.quantity} uses are taken.",
            quantity=entitlement.quantity,
            used=entitlement.used,
            **details,
        )


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
